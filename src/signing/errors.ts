import { PalisadeError } from '../errors.ts';

export type SignerErrorCode =
  | 'SIGNER_QUEUE_FULL'
  | 'SIGNER_TIMEOUT'
  | 'SIGNER_ABORTED'
  | 'SIGNER_WORKER_DIED'
  | 'SIGNER_CLOSED'
  | 'SIGNER_TASK_FAILED'
  | 'SIGNER_START_FAILED'
  | 'SIGNER_BAD_KEY'
  | 'SIGNER_BAD_INPUT';

/** Base class of every error the signer raises; branch on `code`. */
export class SignerError extends PalisadeError {
  declare readonly code: SignerErrorCode;
  constructor(code: SignerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** More signatures were asked for than running plus queued slots allow; nothing was queued. */
export class SignerQueueFullError extends SignerError {
  constructor(readonly capacity: number) {
    super('SIGNER_QUEUE_FULL', `signer queue full: ${capacity} signatures already pending`);
  }
}

/** The signature did not come back within the task deadline; a worker running it was replaced. */
export class SignerTimeoutError extends SignerError {
  constructor(readonly timeoutMs: number) {
    super('SIGNER_TIMEOUT', `signature not produced within ${timeoutMs} ms`);
  }
}

/** The caller's AbortSignal fired before the signature came back. */
export class SignerAbortedError extends SignerError {
  constructor(reason: unknown) {
    super('SIGNER_ABORTED', `signing aborted by the caller: ${describe(reason)}`, { cause: reason });
  }
}

/** The worker thread running this task died (exit, uncaught error, terminated); piscina replaces it. */
export class SignerWorkerDiedError extends SignerError {
  constructor(cause: unknown) {
    super('SIGNER_WORKER_DIED', `signing worker died with the task: ${describe(cause)}`, { cause });
  }
}

/** The signer was closed before (or while) this signature was asked for. */
export class SignerClosedError extends SignerError {
  constructor() {
    super('SIGNER_CLOSED', 'signer is closed');
  }
}

/** The worker ran the task and reported a failure (OpenSSL refused the key or message). */
export class SignerTaskError extends SignerError {
  constructor(detail: string) {
    super('SIGNER_TASK_FAILED', `signing failed in the worker: ${detail}`);
  }
}

/** The worker module could not be prepared (bundling failed, file missing). */
export class SignerStartError extends SignerError {
  constructor(cause: unknown) {
    super('SIGNER_START_FAILED', `signer could not start: ${describe(cause)}`, { cause });
  }
}

/** A secret key that is not an ed25519 key of the expected shape. The message never contains key bytes. */
export class SignerKeyError extends SignerError {
  constructor(detail: string) {
    super('SIGNER_BAD_KEY', `bad signing key: ${detail}`);
  }
}

/** A message or signature list that cannot be signed or assembled. */
export class SignerInputError extends SignerError {
  constructor(detail: string) {
    super('SIGNER_BAD_INPUT', detail);
  }
}

function describe(x: unknown): string {
  if (x instanceof Error) return x.message;
  return String(x);
}
