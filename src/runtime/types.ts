import type { ResourceLimits } from 'node:worker_threads';
import type { LatencySummary } from '../stats/latency.ts';
import type { CrashKind } from './errors.ts';
import type { Overflow, Priority } from './mailbox.ts';

export type { Priority, Overflow } from './mailbox.ts';
export type { CrashKind } from './errors.ts';

export type ActorState = 'starting' | 'running' | 'restarting' | 'quarantined' | 'stopped';
export type RestartStrategy = 'one_for_one' | 'one_for_all';

/** Why a message will not be processed. Stable strings: use them in dashboards and alerts. */
export type DeadLetterReason =
  | 'mailbox-full' // refused on arrival (overflow 'reject', or nothing lower to evict)
  | 'dropped-oldest' // evicted by a newer message (overflow 'drop-oldest')
  | 'dropped-lowest' // evicted by a higher-priority message (overflow 'drop-lowest')
  | 'max-attempts' // the worker crashed while processing it on its last allowed attempt
  | 'quarantined' // the actor was quarantined with the message still queued, or it arrived after
  | 'stopped' // the actor was stopped
  | 'shutdown' // the supervisor shut down before it was processed
  | 'start-failed' // the actor never started
  | 'ask-timeout' // the ask timed out before the message was handed to the worker
  | 'ask-aborted' // the ask's signal aborted before the message was handed to the worker
  | 'not-cloneable'; // the message cannot cross the thread boundary

export interface DeadLetter {
  actor: string;
  message: unknown;
  reason: DeadLetterReason;
  priority: Priority;
  /** Deliveries that crashed (max-attempts) or 0 when never delivered. */
  attempts: number;
  /** Supervisor clock time. */
  at: number;
  error?: Error;
}

/** What became of one message; emitted as 'outcome' on the ActorRef when someone listens. */
export interface Outcome {
  kind: 'processed' | 'failed' | 'dead-letter';
  message: unknown;
  priority: Priority;
  /** For 'failed' (an ActorHandlerError) and 'dead-letter'. */
  error?: Error;
  reason?: DeadLetterReason;
}

/**
 * Outcomes in batches, for a producer that tracks every message it told (cheaper than the
 * per-message 'outcome' event under load: no object per message). One sink per actor.
 */
export interface OutcomeSink {
  /**
   * `messages[0]` … `messages[count - 1]` were processed, in the order they were handed to the
   * worker (for one priority, the order told). The array is reused: read it during the call only.
   */
  processed(messages: readonly unknown[], count: number): void;
  /** A message failed or was dead-lettered; in order with the processed batches around it. */
  settled(outcome: Outcome): void;
}

export interface CrashInfo {
  actor: string;
  kind: CrashKind;
  detail: string;
  incarnation: number;
  at: number;
}

export interface RestartBackoff {
  /** Delay before the second restart within the intensity window. Default 50. */
  initialMs?: number;
  /** Cap. Default 5000. */
  maxMs?: number;
  /** Growth per further restart. Default 2. */
  multiplier?: number;
  /** Relative jitter, delay × (1 ± jitter). Default 0.2. */
  jitter?: number;
}

export interface SpawnOptions {
  /** Unique within the supervisor. */
  name: string;
  /** Path (relative to cwd) or file URL of the actor module; .ts modules are bundled for the worker. */
  module: string | URL;
  /** Export holding the handler `(message) => reply | Promise<reply>`. Default 'default'. */
  export?: string;
  /** Messages the mailbox holds (not counting those handed to the worker). Default 1024. */
  mailboxSize?: number;
  overflow?: Overflow;
  /** Heartbeat period; a worker that misses 3 in a row is a hang (terminated, restarted). 0 disables. Default 1000. */
  heartbeatMs?: number;
  /**
   * Deadline of one message once the worker has started it: a message still running this long
   * (found within 1.25 × it) makes the actor hung: its worker is terminated and restarted (crash
   * kind 'hang'), and the message is handled as any crash's (retried up to maxAttempts, then
   * dead-lettered 'max-attempts'). Catches a handler whose promise never settles, which
   * heartbeats do not see. 0 or Infinity: no limit. Default: the supervisor's messageTimeoutMs (60000).
   */
  messageTimeoutMs?: number;
  /** Worker memory limits; exceeding them is a crash of kind 'oom'. */
  resourceLimits?: ResourceLimits;
  /** Deliveries per message when the worker crashes while processing it. Default 2. */
  maxAttempts?: number;
  /** Passed to the module's exported `init(data)` before the first message, on every incarnation. Structured-cloneable; SharedArrayBuffers are shared. */
  init?: unknown;
  /** Time allowed for module load + init. Default 30000. */
  startTimeoutMs?: number;
  /**
   * Shared-memory ring for envelopes to a busy worker (rounded up to a power of two). Default
   * 256 KiB; 0 sends every envelope by postMessage (batched per tick).
   */
  ringBytes?: number;
}

export interface TellOptions {
  priority?: Priority;
}

export interface AskOptions {
  priority?: Priority;
  /**
   * How long the caller waits, from now: then the ask rejects with AskTimeoutError, and the
   * message never runs if the worker has not started it yet. Default: the supervisor's
   * askTimeoutMs. 0 or Infinity: no timeout.
   */
  timeoutMs?: number;
  /** This message's run deadline in the worker (see SpawnOptions.messageTimeoutMs). Default: the actor's. */
  messageTimeoutMs?: number;
  /** Aborting it rejects the ask with AskAbortedError; like a timeout, the message then never starts. */
  signal?: AbortSignal;
}

export interface ActorStats {
  name: string;
  state: ActorState;
  incarnation: number;
  /** Messages queued on the host. */
  mailboxDepth: number;
  /** Messages handed to the worker and not yet finished. */
  inFlight: number;
  accepted: number;
  processed: number;
  failed: number;
  restarts: number;
  crashes: number;
  crashesByKind: Partial<Record<CrashKind, number>>;
  deadLetters: number;
  deadLettersByReason: Partial<Record<DeadLetterReason, number>>;
  lastCrash: CrashInfo | null;
  /** Replies that arrived after their ask had timed out or been aborted. */
  lateReplies: number;
  /**
   * Messages that went by postMessage although the actor has a ring: over half the ring, or a
   * value the ring cannot encode (a Map, a class instance, a typed array…). Each costs a
   * structured clone and a message; a steady count here is a reason to resize the ring or the
   * messages. Always 0 with `ringBytes: 0`, where every message goes that way by design.
   */
  sentOffRing: number;
  /** Heartbeat pings sent and pongs received, over all incarnations. */
  heartbeats: { sent: number; answered: number };
  /** Ask round trip, ms. */
  ask: LatencySummary;
  /** Crash detected → the new incarnation finished its first message (or was ready with nothing to do), ms. */
  recovery: LatencySummary;
  /** Module import + init inside the worker, per incarnation, ms. */
  load: LatencySummary;
}
