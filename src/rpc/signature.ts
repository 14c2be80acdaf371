/**
 * Reads the first signature (the transaction id) of a wire-format transaction as sendTransaction
 * receives it, so a failover can ask other endpoints whether the transaction already landed.
 */
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits: number[] = [];
  for (let k = zeros; k < bytes.length; k++) {
    let carry = bytes[k]!;
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j]! << 8;
      digits[j] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  let out = '1'.repeat(zeros);
  for (let k = digits.length - 1; k >= 0; k--) out += ALPHABET[digits[k]!];
  return out;
}

export function base58Decode(text: string): Uint8Array | undefined {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  const bytes: number[] = [];
  for (let k = zeros; k < text.length; k++) {
    let carry = INDEX.get(text[k]!);
    if (carry === undefined) return undefined;
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j]! * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  for (let k = 0; k < bytes.length; k++) out[zeros + k] = bytes[bytes.length - 1 - k]!;
  return out;
}

/** The base58 first signature of sendTransaction's params, or undefined when unreadable. */
export function signatureOfSendParams(params: unknown): string | undefined {
  if (!Array.isArray(params) || typeof params[0] !== 'string') return undefined;
  const opts = params[1] as { encoding?: unknown } | undefined;
  const encoding = opts && typeof opts === 'object' ? opts.encoding : undefined;
  let wire: Uint8Array | undefined;
  if (encoding === 'base64') wire = Buffer.from(params[0], 'base64');
  else if (encoding === undefined || encoding === 'base58') wire = base58Decode(params[0]);
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
  return base58Encode(sig);
}
