/**
 * The Solana wire format around a message, without web3.js: a transaction on the wire is
 * shortvec(signature count) + the signatures in signer order + the message bytes. Building it
 * here spares the host web3.js's `serialize()`, which compiles the message a second time and
 * verifies every signature with a pure-JS ed25519 (about a millisecond of host CPU each).
 */
import { SignerInputError } from './errors.ts';

/** Largest transaction a Solana node accepts (an IPv6 MTU minus headers). */
export const PACKET_DATA_SIZE = 1232;
const VERSION_PREFIX_MASK = 0x80;

/** The public keys that must sign `message` (legacy or versioned), in the order their signatures go. */
export function requiredSigners(message: Uint8Array): Uint8Array[] {
  let at = (message[0] ?? 0) & VERSION_PREFIX_MASK ? 1 : 0;
  const numRequired = message[at];
  if (numRequired === undefined) throw new SignerInputError('message too short: no header');
  at += 3;
  const [numKeys, width] = decodeShortVec(message, at);
  at += width;
  if (numRequired > numKeys)
    throw new SignerInputError(`message header wants ${numRequired} signers but lists ${numKeys} keys`);
  if (at + numRequired * 32 > message.length) throw new SignerInputError('message too short for its account keys');
  const out: Uint8Array[] = [];
  for (let i = 0; i < numRequired; i++) out.push(message.subarray(at + i * 32, at + (i + 1) * 32));
  return out;
}

/** The wire transaction for `message` with `signatures` in signer order (as `requiredSigners` lists them). */
export function wireTransaction(message: Uint8Array, signatures: readonly Uint8Array[]): Buffer {
  const want = requiredSigners(message).length;
  if (signatures.length !== want)
    throw new SignerInputError(`message needs ${want} signature(s), got ${signatures.length}`);
  const count = encodeShortVec(signatures.length);
  const wire = Buffer.allocUnsafe(count.length + signatures.length * 64 + message.length);
  wire.set(count, 0);
  let at = count.length;
  for (const s of signatures) {
    if (s.length !== 64) throw new SignerInputError(`a signature is 64 bytes, got ${s.length}`);
    wire.set(s, at);
    at += 64;
  }
  wire.set(message, at);
  if (wire.length > PACKET_DATA_SIZE)
    throw new SignerInputError(`transaction too large: ${wire.length} > ${PACKET_DATA_SIZE} bytes`);
  return wire;
}

/** Solana's compact-u16: 7 bits per byte, high bit set on all but the last. */
function encodeShortVec(n: number): Uint8Array {
  const out: number[] = [];
  let rest = n;
  for (;;) {
    const low = rest & 0x7f;
    rest >>= 7;
    if (rest === 0) {
      out.push(low);
      return Uint8Array.from(out);
    }
    out.push(low | 0x80);
  }
}

function decodeShortVec(bytes: Uint8Array, at: number): [value: number, width: number] {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const b = bytes[at + i];
    if (b === undefined) throw new SignerInputError('message too short: truncated account-key count');
    value |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw new SignerInputError('message has a malformed account-key count');
}
