/**
 * An ed25519 signing key prepared once for the off-thread signer.
 *
 * Importing a raw key into node:crypto costs about 0.5 ms of CPU on this machine (more than a
 * signature, ~40 µs), so it is done once per key on the host, not per task. What crosses to a
 * worker per task is the KeyObject: structured clone shares the native key rather than copying
 * bytes into the JS heap, and it prints without its bytes, so a log line cannot leak it.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { SignerKeyError } from './errors.ts';

// DER prefix of a PKCS#8 ed25519 private key; the 32-byte seed follows it (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX_LENGTH = 12;

export class SigningKey {
  /** The 32-byte ed25519 public key (a Solana address's bytes). */
  readonly publicKey: Uint8Array;
  /** @internal The key handed to workers; never export its bytes. */
  readonly keyObject: KeyObject;

  private constructor(keyObject: KeyObject, publicKey: Uint8Array) {
    this.keyObject = keyObject;
    this.publicKey = publicKey;
  }

  /**
   * From a Solana secret key (64 bytes: seed then public key, as in `Keypair.secretKey` and CLI
   * keypair files) or a bare 32-byte seed. A 64-byte key whose second half is not the public
   * key of its seed is refused: signing with it would produce signatures the cluster rejects.
   */
  static fromSecretKey(secretKey: Uint8Array): SigningKey {
    if (!(secretKey instanceof Uint8Array)) throw new SignerKeyError('expected a Uint8Array');
    if (secretKey.length !== 64 && secretKey.length !== 32) {
      throw new SignerKeyError(
        `expected 64 bytes (seed + public key) or a 32-byte seed, got ${secretKey.length} bytes`,
      );
    }
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, secretKey.subarray(0, 32)]);
    let keyObject: KeyObject;
    try {
      keyObject = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
    const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
    const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX_LENGTH));
    if (secretKey.length === 64 && !Buffer.from(secretKey.subarray(32)).equals(publicKey)) {
      throw new SignerKeyError('the last 32 bytes are not the public key of the first 32');
    }
    return new SigningKey(keyObject, publicKey);
  }

  toJSON(): { publicKey: string } {
    return { publicKey: Buffer.from(this.publicKey).toString('hex') };
  }

  [inspect.custom](): string {
    return `SigningKey { publicKey: ${Buffer.from(this.publicKey).toString('hex')} }`;
  }
}
