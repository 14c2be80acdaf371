/**
 * The life of one incarnation (one worker running the actor), apart from the messages it
 * carries: heartbeats, the watch on a message that runs past its deadline, and what a worker's
 * exit means (crash classification). The cell starts and ends incarnations; these parts tell it
 * when one is hung and why one ended.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { Deque } from './deque.ts';
import type { Envelope } from './envelope.ts';
import type { CrashKind } from './errors.ts';
import * as P from './protocol.ts';

/** Consecutive unanswered heartbeats that make a hang. */
export const HEARTBEAT_MISSES = 3;
/** Looks per message deadline at the message being executed: a hang is found within 1.25 × the deadline. */
const STUCK_CHECKS_PER_LIMIT = 4;

/** Why the host terminated a worker on purpose; decides what its exit means. */
export type KillIntent = 'hang' | 'stuck' | 'terminated' | 'sibling' | 'stop' | 'start-failed';

/** What a worker's exit means, given why the host killed it (if it did). Null for a stop: not a crash. */
export function classifyExit(
  intent: KillIntent | null,
  lastError: Error | null,
  code: number,
  why: { heartbeatMs: number; stuckDetail: string },
): { kind: CrashKind | 'sibling'; detail: string } | null {
  if (intent === 'stop') return null;
  if (intent === 'hang')
    return { kind: 'hang', detail: `no heartbeat answer within ${HEARTBEAT_MISSES + 1} × ${why.heartbeatMs} ms` };
  if (intent === 'stuck') return { kind: 'hang', detail: why.stuckDetail };
  if (intent === 'sibling') return { kind: 'sibling', detail: 'restarted with a sibling (one_for_all)' };
  if (intent === 'terminated') return { kind: 'terminated', detail: 'worker terminated' };
  if (lastError) {
    const e = lastError as Error & { code?: string };
    return { kind: e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'uncaught', detail: `${e.name}: ${e.message}` };
  }
  return { kind: 'exit', detail: `worker exited with code ${code}` };
}

/**
 * Heartbeats: a ping every period; HEARTBEAT_MISSES periods in a row without a pong is a hang
 * (a worker whose event loop is blocked). Counts survive incarnations (they are stats).
 */
export class Heartbeat {
  sent = 0;
  answered = 0;
  private timer: TimerHandle | null = null;
  private outstanding = false;
  private missed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    /** True while the incarnation can be pinged (a loaded worker, the actor not stopped). */
    private readonly alive: () => boolean,
    private readonly ping: (n: number) => void,
    private readonly onHang: (missed: number) => void,
  ) {}

  /** A new incarnation: nothing outstanding. */
  reset(): void {
    this.outstanding = false;
    this.missed = 0;
  }

  start(): void {
    if (this.periodMs > 0) this.timer = this.clock.setTimeout(this.beat, this.periodMs);
  }

  stop(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  pong(): void {
    this.answered++;
    this.outstanding = false;
    this.missed = 0;
  }

  private readonly beat = (): void => {
    this.timer = null;
    if (!this.alive()) return;
    if (this.outstanding) {
      if (++this.missed >= HEARTBEAT_MISSES) {
        this.onHang(this.missed);
        return;
      }
    } else {
      this.outstanding = true;
      this.ping(++this.sent);
    }
    this.timer = this.clock.setTimeout(this.beat, this.periodMs);
  };
}

/**
 * Message deadlines. A handler whose promise never settles keeps answering heartbeats, so the
 * host watches the envelope the worker is executing (the control block names it): one that is
 * still running `runLimitMs` after the host first saw it start makes the actor hung. Checked a
 * few times per limit while messages are in flight, by one timer, so a message costs nothing.
 */
export class MessageWatch {
  /** Why the last stuck message was found stuck (for the crash detail). */
  detail = '';
  private timer: TimerHandle | null = null;
  private watchSeq = 0;
  private watchSince = 0;
  private ctrl: Int32Array = new Int32Array(P.C_SLOTS);

  constructor(
    private readonly clock: Clock,
    private readonly window: Deque<Envelope>,
    /** The actor's deadline for messages that set none of their own; 0: none. */
    private readonly defaultLimitMs: number,
    /** True while the incarnation runs messages (a loaded worker, the actor not stopped). */
    private readonly alive: () => boolean,
    private readonly onStuck: (limitMs: number, attempt: number) => void,
  ) {}

  /** A new incarnation, with its control block. */
  reset(ctrl: Int32Array): void {
    this.ctrl = ctrl;
    this.watchSeq = 0;
  }

  /** Messages are in flight: make sure someone looks (cheap when already armed). */
  armIfIdle(): void {
    if (this.timer !== null || this.window.length === 0) return;
    const limit = this.window.peek()!.runLimitMs || this.defaultLimitMs;
    if (limit > 0) this.arm(limit);
  }

  stop(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private arm(limitMs: number): void {
    this.timer = this.clock.setTimeout(this.check, Math.max(1, Math.ceil(limitMs / STUCK_CHECKS_PER_LIMIT)));
  }

  private readonly check = (): void => {
    this.timer = null;
    const head = this.window.peek();
    if (!this.alive() || head === undefined) {
      this.watchSeq = 0;
      return;
    }
    const current = Atomics.load(this.ctrl, P.C_CURRENT);
    const running =
      current > Atomics.load(this.ctrl, P.C_DONE) && current >= head.seq
        ? this.window.at(current - head.seq)
        : undefined;
    if (running === undefined || running.seq !== current) {
      // Between messages: look again while some are in flight.
      this.watchSeq = 0;
      if (head.runLimitMs > 0) this.arm(head.runLimitMs);
      else if (this.defaultLimitMs > 0) this.arm(this.defaultLimitMs);
      return;
    }
    const now = this.clock.now();
    if (current !== this.watchSeq) {
      this.watchSeq = current;
      this.watchSince = now;
    }
    const limit = running.runLimitMs;
    if (limit > 0 && now - this.watchSince >= limit) {
      this.detail = `a message ran past its deadline (messageTimeoutMs ${limit} ms)`;
      this.onStuck(limit, running.attempt);
      return;
    }
    if (limit > 0)
      this.timer = this.clock.setTimeout(
        this.check,
        Math.max(1, Math.min(Math.ceil(limit / STUCK_CHECKS_PER_LIMIT), this.watchSince + limit - now)),
      );
    else if (this.defaultLimitMs > 0) this.arm(this.defaultLimitMs);
  };
}
