import { PalisadeError } from '../errors.ts';

/** Base class of every error the actor runtime raises; `actor` names the actor involved. */
export class ActorError extends PalisadeError {
  readonly actor: string;
  constructor(code: string, actor: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.actor = actor;
  }
}

export type StartFailureReason =
  | 'module-not-found'
  | 'bundle-failed'
  | 'syntax-error'
  | 'module-threw'
  | 'missing-export'
  | 'init-failed'
  | 'start-timeout'
  | 'worker-crashed';

/** The actor could not start: bad path, syntax error, missing export, init threw. Never retried in a loop. */
export class ActorStartError extends ActorError {
  readonly reason: StartFailureReason;
  constructor(actor: string, reason: StartFailureReason, detail: string, options?: { cause?: unknown }) {
    super('ACTOR_START_FAILED', actor, `actor "${actor}" failed to start (${reason}): ${detail}`, options);
    this.reason = reason;
  }
}

/** The shape in which an error thrown inside a worker crosses back to the host. */
export interface RemoteErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/**
 * The handler threw or rejected for this message. The actor keeps running: a failed message is
 * not a crash. `remote` is the worker-side error as it crossed the thread boundary.
 */
export class ActorHandlerError extends ActorError {
  readonly remote: RemoteErrorInfo;
  constructor(actor: string, remote: RemoteErrorInfo) {
    super('ACTOR_HANDLER_FAILED', actor, `actor "${actor}" handler failed: ${remote.name}: ${remote.message}`);
    this.remote = remote;
    if (remote.stack) this.stack = `${this.name}: ${this.message}\n  -- worker stack --\n${remote.stack}`;
  }
}

export type CrashKind = 'uncaught' | 'exit' | 'terminated' | 'oom' | 'hang' | 'start-failed';

/** The worker died while processing this message, on its last allowed attempt. */
export class ActorCrashedError extends ActorError {
  readonly kind: CrashKind;
  readonly attempts: number;
  constructor(actor: string, kind: CrashKind, detail: string, attempts: number) {
    super(
      'ACTOR_CRASHED',
      actor,
      `actor "${actor}" crashed (${kind}) while processing the message on attempt ${attempts}: ${detail}`,
    );
    this.kind = kind;
    this.attempts = attempts;
  }
}

export class AskTimeoutError extends ActorError {
  readonly timeoutMs: number;
  constructor(actor: string, timeoutMs: number) {
    super('ACTOR_ASK_TIMEOUT', actor, `ask to actor "${actor}" timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export class AskAbortedError extends ActorError {
  constructor(actor: string, cause?: unknown) {
    super('ACTOR_ASK_ABORTED', actor, `ask to actor "${actor}" was aborted`, { cause });
  }
}

/** The mailbox refused the message (full under 'reject', or nothing lower to evict). */
export class MailboxFullError extends ActorError {
  constructor(actor: string, capacity: number) {
    super('ACTOR_MAILBOX_FULL', actor, `mailbox of actor "${actor}" is full (${capacity})`);
  }
}

/** The message was accepted, then evicted by the overflow policy to make room for another. */
export class MessageDroppedError extends ActorError {
  readonly reason: string;
  constructor(actor: string, reason: string) {
    super('ACTOR_MESSAGE_DROPPED', actor, `message to actor "${actor}" was dropped (${reason})`);
    this.reason = reason;
  }
}

export class ActorQuarantinedError extends ActorError {
  constructor(actor: string, detail: string) {
    super('ACTOR_QUARANTINED', actor, `actor "${actor}" is quarantined: ${detail}`);
  }
}

/** The actor or its supervisor is stopping or stopped; the message will not be processed. */
export class ActorStoppedError extends ActorError {
  constructor(actor: string, detail: string) {
    super('ACTOR_STOPPED', actor, `actor "${actor}" is stopped: ${detail}`);
  }
}

/** The message (or a reply) cannot cross the thread boundary (functions, symbols, ...). */
export class MessageNotCloneableError extends ActorError {
  constructor(actor: string, detail: string) {
    super('ACTOR_MESSAGE_NOT_CLONEABLE', actor, `message to actor "${actor}" cannot be cloned to a worker: ${detail}`);
  }
}
