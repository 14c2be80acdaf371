/**
 * A whole transaction signed off-thread: every required signature of a compiled message (as
 * web3.js's `tx.compileMessage().serialize()` or `VersionedMessage.serialize()` gives it) in
 * parallel on the signer, assembled into wire bytes for `sendRawTransaction`.
 */
import { SignerInputError } from './errors.ts';
import type { SigningKey } from './key.ts';
import type { OffThreadSigner, SignOptions } from './off-thread-signer.ts';
import { requiredSigners, wireTransaction } from './wire.ts';

export interface SignedWire {
  /** The wire transaction. */
  wire: Buffer;
  /** The first signature: the transaction's id. */
  signature: Uint8Array;
}

/** Signs `message` with `keys` (any order; each must be a required signer, all signers covered). */
export async function signMessageToWire(
  signer: OffThreadSigner,
  message: Uint8Array,
  keys: readonly SigningKey[],
  options?: SignOptions,
): Promise<SignedWire> {
  const signers = requiredSigners(message);
  if (signers.length === 0) throw new SignerInputError('message has no required signers');
  const ordered = signers.map((pub) => {
    const key = keys.find((k) => equalBytes(k.publicKey, pub));
    if (!key) throw new SignerInputError(`no key given for required signer ${Buffer.from(pub).toString('hex')}`);
    return key;
  });
  const signatures = await Promise.all(ordered.map((k) => signer.sign(message, k, options)));
  return { wire: wireTransaction(message, signatures), signature: signatures[0]! };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
