/**
 * Off-thread transaction signing: ed25519 signatures on a piscina pool so the host thread's
 * event loop (bus router, inline subscribers) is never blocked by signing CPU.
 *
 *   const signer = new OffThreadSigner({ logger });
 *   await signer.ready();
 *   const key = SigningKey.fromSecretKey(keypair.secretKey);   // once per key (~0.5 ms)
 *   const message = tx.compileMessage().serialize();
 *   const { wire } = await signMessageToWire(signer, message, [key]);
 *   await connection.sendRawTransaction(wire);
 *   await signer.close();
 */
export {
  OffThreadSigner,
  type OffThreadSignerOptions,
  type OffThreadSignerStats,
  type SignOptions,
  type SignerFailure,
} from './off-thread-signer.ts';
export { SigningKey } from './key.ts';
export { wireTransaction, requiredSigners, PACKET_DATA_SIZE } from './wire.ts';
export { signMessageToWire, type SignedWire } from './transaction.ts';
export {
  SignerError,
  SignerQueueFullError,
  SignerTimeoutError,
  SignerAbortedError,
  SignerWorkerDiedError,
  SignerClosedError,
  SignerTaskError,
  SignerStartError,
  SignerKeyError,
  SignerInputError,
  type SignerErrorCode,
} from './errors.ts';
