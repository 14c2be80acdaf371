/**
 * Worker entry of the off-thread signer (run by piscina, bundled to plain ESM by the runtime's
 * resolveActorModule). One task is one ed25519 signature over a message's bytes: a Solana
 * signature is nothing more, so the worker needs neither web3.js nor any state of its own.
 *
 * The key arrives as a node:crypto KeyObject: cloning one across threads shares the native key
 * instead of copying bytes, and a KeyObject prints as `PrivateKeyObject { ... }`, never as its
 * bytes, so no log line on either side can leak it.
 */
import { sign, KeyObject } from 'node:crypto';

export interface SignTask {
  message: Uint8Array;
  key: KeyObject;
}

/**
 * Failures come back as a value, not a throw: piscina rejects a task both for a throw and for
 * a dying worker, and the host must tell the two apart (a failed task vs. SIGNER_WORKER_DIED).
 */
export default function signMessage(task: SignTask): Uint8Array | { error: string } {
  const { message, key } = task;
  // The host checks both at its boundary; a task that still arrives malformed is a bug, and
  // a clear message here beats an OpenSSL one.
  if (!(message instanceof Uint8Array)) return { error: 'message is not a Uint8Array' };
  if (!(key instanceof KeyObject) || key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    return { error: 'key is not an ed25519 private KeyObject' };
  }
  try {
    return sign(null, message, key);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
