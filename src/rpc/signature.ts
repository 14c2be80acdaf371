/**
 * Reads the first signature (the transaction id) of a wire-format transaction as sendTransaction
 * receives it, so a failover can ask other endpoints whether the transaction already landed.
 */
import { decodeBase58, encodeBase58 } from '../encoding/base58.ts';

/** The base58 first signature of sendTransaction's params, or undefined when unreadable. */
export function signatureOfSendParams(params: unknown): string | undefined {
  if (!Array.isArray(params) || typeof params[0] !== 'string') return undefined;
  const opts = params[1] as { encoding?: unknown } | undefined;
  const encoding = opts && typeof opts === 'object' ? opts.encoding : undefined;
  let wire: Uint8Array | undefined;
  if (encoding === 'base64') wire = Buffer.from(params[0], 'base64');
  else if (encoding === undefined || encoding === 'base58') wire = decodeBase58(params[0]) ?? undefined;
  if (!wire || wire.length === 0) return undefined;
  // compact-u16 signature count, then 64-byte signatures
  let count = 0;
  let offset = 0;
  for (let shift = 0; offset < 3 && offset < wire.length; shift += 7) {
    const b = wire[offset++]!;
    count |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
  }
  if (count < 1 || wire.length < offset + 64) return undefined;
  const sig = wire.subarray(offset, offset + 64);
  if (sig.every((b) => b === 0)) return undefined; // unsigned: nothing to look up
  return encodeBase58(sig);
}
