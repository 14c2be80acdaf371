/**
 * One actor: its host-side mailbox, the envelopes handed to its current worker, and the life
 * cycle of its incarnations. The supervisor decides restarts; the cell carries them out.
 *
 * Ownership of a message: it sits in the mailbox, then in `window` once handed to the worker,
 * and leaves the window only when the worker reports it finished (reply, failure or ack). If
 * the worker dies, the control block tells exactly which envelope was executing: that one is
 * retried (or dead-lettered on its last attempt), the others go back to the mailbox front in
 * their original order, and the next incarnation gets them.
 */
import { EventEmitter } from 'node:events';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import type { Clock, TimerHandle } from '../clock.ts';
import { ConfigError, withoutStack } from '../errors.ts';
import { RUNTIME_DEFAULTS } from '../defaults.ts';
import { timeoutMs as checkTimeoutMs, timeoutOrOffMs } from '../validate.ts';
import type { Logger } from '../log/index.ts';
import { LatencyHistogram } from '../stats/latency.ts';
import type { ResolvedModule } from './bundle.ts';
import { Deque } from './deque.ts';
import { DeadlineQueue } from './deadlines.ts';
import {
  ActorCrashedError,
  ActorHandlerError,
  ActorQuarantinedError,
  ActorStartError,
  ActorStoppedError,
  AskAbortedError,
  AskTimeoutError,
  MailboxFullError,
  MessageDroppedError,
  MessageNotCloneableError,
  type CrashKind,
  type RemoteErrorInfo,
  type StartFailureReason,
} from './errors.ts';
import { LANES, Mailbox, OFFER_ACCEPTED, OFFER_REFUSED, laneOf, type MailboxItem } from './mailbox.ts';
import * as P from './protocol.ts';
import { RingWriter, WRITE_FULL, WRITE_OK, ringCapacity } from './ring.ts';
import type {
  ActorState,
  ActorStats,
  AskOptions,
  CrashInfo,
  DeadLetter,
  DeadLetterReason,
  Outcome,
  OutcomeSink,
  SpawnOptions,
  TellOptions,
} from './types.ts';

/** Consecutive unanswered heartbeats that make a hang. */
export const HEARTBEAT_MISSES = 3;
/**
 * Envelopes handed to a worker ahead of completion. Once handed over, an envelope's place is
 * fixed, so the window is what a critical message may have to wait behind. It adapts to the
 * measured service time: about WINDOW_TARGET_MS of work, between 1 and MAX_IN_FLIGHT envelopes
 * (fast handlers get deep pipelining, slow ones strict priority order).
 */
const MAX_IN_FLIGHT = 4096;
const WINDOW_TARGET_MS = 2;
/** Records waiting for a sleeping worker that make the host wake it at once rather than at the end of the tick. */
const WAKE_BATCH = 256;
const SENT = 0;
const FULL = 1;
const REFUSED = 2;

interface AskState {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** Clock time the ask times out, 0 for none. */
  deadline: number;
  timeoutMs: number;
  t0: number;
  signal: AbortSignal | null;
  onAbort: (() => void) | null;
}

export interface Envelope extends MailboxItem {
  message: unknown;
  /** Sequence number within the current incarnation; 0 while in the mailbox. */
  seq: number;
  /** 1 on first delivery; +1 each time the worker crashed while executing it. */
  attempt: number;
  ask: AskState | null;
}

/** What the cell needs from its supervisor. */
export interface CellContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly askTimeoutMs: number;
  acquireWorker(limits: ResourceLimits | undefined, moduleUrl: string): Worker;
  prewarmModule(limits: ResourceLimits | undefined, moduleUrl: string): void;
  scheduleIdleCheck(cell: ActorCell): void;
  recordDeadLetter(dl: DeadLetter): void;
  onCrash(cell: ActorCell, kind: CrashKind | 'sibling', detail: string): void;
  onStateChange(cell: ActorCell, state: ActorState, previous: ActorState): void;
  isAccepting(): boolean;
}

type KillIntent = 'hang' | 'terminated' | 'sibling' | 'stop' | 'start-failed';

export interface ResolvedSpawnOptions {
  name: string;
  exportName: string;
  mailboxSize: number;
  overflow: 'reject' | 'drop-oldest' | 'drop-lowest';
  heartbeatMs: number;
  resourceLimits: ResourceLimits | undefined;
  maxAttempts: number;
  init: unknown;
  startTimeoutMs: number;
  ringBytes: number;
}

export class ActorCell {
  readonly name: string;
  readonly ref: ActorRef;
  readonly mailbox: Mailbox<Envelope>;
  private readonly window = new Deque<Envelope>(64);
  state: ActorState = 'starting';
  /** Restart times inside the intensity window (supervisor clock). */
  restartTimes: number[] = [];

  private module: ResolvedModule | null = null;
  private worker: Worker | null = null;
  private ctrl: Int32Array = new Int32Array(P.C_SLOTS);
  private busyIn: Float64Array = new Float64Array(1);
  private ring: RingWriter | null = null;
  private ringDirty = false;
  private sleepingRecords = 0;
  private wakeScheduled = false;
  /** Current in-flight limit; starts at 1 until the service time is known. */
  private windowLimit = 1;
  private sampleBusy = 0;
  private sampleDone = 0;
  private serviceMs = -1;
  private incarnation = 0;
  private seq = 0;
  /** W_FAILED reports received from the current incarnation (compared with its C_FAILS). */
  private failsSeen = 0;
  private sink: OutcomeSink | null = null;
  /** Processed messages not yet handed to the sink, and the batch array being handed over. */
  private doneMsgs: unknown[] = [];
  private doneN = 0;
  private spareMsgs: unknown[] = [];
  private loaded = false;
  /** True until the first incarnation has loaded: a failure then is a start failure, not a crash. */
  private firstStart = true;
  private killIntent: KillIntent | null = null;
  private lastError: Error | null = null;
  private flushScheduled = false;
  private refd = false;
  private halted = false;

  private hbTimer: TimerHandle | null = null;
  private pingOutstanding = false;
  private missed = 0;
  private pingN = 0;
  private pongs = 0;
  private startTimer: TimerHandle | null = null;
  private restartTimer: TimerHandle | null = null;
  private recoveringSince = 0;
  private idleWaiters: (() => void)[] = [];
  private unrefPending = false;
  private readonly deadlines: DeadlineQueue<Envelope>;

  private readonly readyResolve: () => void;
  private readonly readyReject: (e: Error) => void;
  readonly ready: Promise<void>;

  // stats
  private accepted = 0;
  private processed = 0;
  private failed = 0;
  private restarts = 0;
  private crashes = 0;
  private readonly crashesByKind: Partial<Record<CrashKind, number>> = {};
  private deadLetters = 0;
  private readonly deadLettersByReason: Partial<Record<DeadLetterReason, number>> = {};
  private lastCrash: CrashInfo | null = null;
  private lateReplies = 0;
  private readonly askLatency = new LatencyHistogram();
  private readonly recoveryLatency = new LatencyHistogram();
  private readonly loadLatency = new LatencyHistogram();

  constructor(
    readonly opts: ResolvedSpawnOptions,
    private readonly ctx: CellContext,
  ) {
    this.name = opts.name;
    this.mailbox = new Mailbox<Envelope>(opts.mailboxSize, opts.overflow);
    this.deadlines = new DeadlineQueue<Envelope>(
      ctx.clock,
      (env) => (env.ask === null ? -1 : env.ask.deadline),
      (env) => this.abandonAsk(env, withoutStack(() => new AskTimeoutError(this.name, env.ask!.timeoutMs)), 'ask-timeout'),
    );
    let res!: () => void;
    let rej!: (e: Error) => void;
    this.ready = new Promise<void>((a, b) => {
      res = a;
      rej = b;
    });
    // The failure is also logged, counted and visible in state: an unobserved `ready` must not crash the process.
    this.ready.catch(() => {});
    this.readyResolve = res;
    this.readyReject = rej;
    this.ref = new ActorRef(this);
  }

  // ---------------------------------------------------------------- sending

  tell(message: unknown, options?: TellOptions): boolean {
    const lane = laneOf(options?.priority);
    if (lane < 0) throw new ConfigError('priority', options?.priority, "'critical' | 'normal' | 'low'");
    checkCloneableShallow(this.name, message);
    const env: Envelope = { message, lane, cancelled: false, seq: 0, attempt: 1, ask: null };
    return this.accept(env);
  }

  ask(message: unknown, options?: AskOptions): Promise<unknown> {
    const lane = laneOf(options?.priority);
    if (lane < 0) return Promise.reject(new ConfigError('priority', options?.priority, "'critical' | 'normal' | 'low'"));
    try {
      checkCloneableShallow(this.name, message);
    } catch (e) {
      return Promise.reject(e);
    }
    const signal = options?.signal ?? null;
    if (signal?.aborted) return Promise.reject(new AskAbortedError(this.name, signal.reason));
    let timeoutMs: number;
    try {
      timeoutMs = options?.timeoutMs === undefined ? this.ctx.askTimeoutMs : timeoutOrOffMs('timeoutMs', options.timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<unknown>((resolve, reject) => {
      const ask: AskState = { resolve, reject, deadline: 0, timeoutMs, t0: performance.now(), signal, onAbort: null };
      const env: Envelope = { message, lane, cancelled: false, seq: 0, attempt: 1, ask };
      if (!this.accept(env)) return; // rejected inside accept (dead-lettered with its reason)
      if (env.ask === null) return; // settled synchronously
      if (timeoutMs > 0) {
        ask.deadline = this.ctx.clock.now() + timeoutMs;
        this.deadlines.add(env, timeoutMs);
      }
      if (signal) {
        ask.onAbort = () => this.abandonAsk(env, new AskAbortedError(this.name, signal.reason), 'ask-aborted');
        signal.addEventListener('abort', ask.onAbort, { once: true });
      }
    });
  }

  private accept(env: Envelope): boolean {
    // Refusals are expected under overload and can come by the thousand: errors without stack capture.
    if (this.state === 'quarantined') {
      this.deadLetter(env, 'quarantined', withoutStack(() => new ActorQuarantinedError(this.name, this.lastCrash?.detail ?? 'restart intensity exceeded')));
      return false;
    }
    if (this.state === 'stopped' || this.halted) {
      this.deadLetter(env, 'stopped', withoutStack(() => new ActorStoppedError(this.name, 'the actor is stopped')));
      return false;
    }
    if (!this.ctx.isAccepting()) {
      this.deadLetter(env, 'shutdown', withoutStack(() => new ActorStoppedError(this.name, 'the supervisor is shutting down')));
      return false;
    }
    // Fast path: nothing queued ahead and room in the window, so hand it over now (ring or message).
    const w = this.worker;
    if (w !== null && this.ring !== null && this.mailbox.size === 0 && this.window.length < this.windowLimit) {
      const sent = this.send(w, env);
      if (sent !== FULL) {
        this.publish(w);
        this.updateRef();
        if (sent === REFUSED) return false;
        this.accepted++;
        return true;
      }
    }
    const r = this.mailbox.offer(env);
    if (r === OFFER_REFUSED) {
      this.deadLetter(env, 'mailbox-full', withoutStack(() => new MailboxFullError(this.name, this.mailbox.capacity)));
      return false;
    }
    this.accepted++;
    if (r !== OFFER_ACCEPTED) {
      const victim = this.mailbox.evicted!;
      this.mailbox.evicted = undefined;
      const reason = this.mailbox.overflow === 'drop-oldest' ? 'dropped-oldest' : 'dropped-lowest';
      this.deadLetter(victim, reason, withoutStack(() => new MessageDroppedError(this.name, reason)));
    }
    if (!this.flushScheduled && this.worker !== null) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
    return true;
  }

  /** An ask that timed out or was aborted: withdrawn if still queued, otherwise its reply will be discarded. */
  private abandonAsk(env: Envelope, err: Error, reason: DeadLetterReason): void {
    const a = env.ask;
    if (a === null) return;
    env.ask = null;
    if (a.signal && a.onAbort) a.signal.removeEventListener('abort', a.onAbort);
    if (env.seq === 0 && !env.cancelled) {
      this.mailbox.cancel(env);
      this.deadLetter(env, reason, err);
      this.notifyIfIdle();
    }
    a.reject(err);
  }

  /** Hands queued envelopes to the worker: into the ring, or batched into one message per tick. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const w = this.worker;
    if (w === null || this.halted) return;
    // A full window may be mostly finished already (a trickle's acknowledgements are deferred): account for that first.
    if (this.window.length >= this.windowLimit && this.mailbox.size > 0) this.reap();
    if (this.ring !== null) this.flushRing(w);
    else this.flushBatch(w);
    if (this.mailbox.size > 0 && this.window.length > 0) {
      // Blocked with a backlog: ask for an ack once half the window is done, so the next batch is on its way before the worker runs dry.
      Atomics.store(this.ctrl, P.C_WANT_ACK, this.window.peek()!.seq + (this.window.length >> 1));
    }
    this.updateRef();
  };

  private flushRing(w: Worker): void {
    while (this.window.length < this.windowLimit) {
      const env = this.mailbox.shift();
      if (env === undefined) break;
      if (this.send(w, env) === FULL) {
        this.mailbox.requeueFront([env]);
        break;
      }
    }
    this.publish(w);
  }

  /**
   * One envelope to the worker: into the ring; by message when the ring cannot encode it or it
   * would take more than half the ring (after publishing earlier records, so it cannot overtake
   * them: the worker orders by seq). Sending a large message by postMessage rather than
   * refusing it keeps what a caller may send the same with or without a ring (structured clone
   * has no size limit of its own); it costs one clone.
   */
  private send(w: Worker, env: Envelope): number {
    const meta = (env.attempt << 1) | (env.ask !== null ? 1 : 0);
    const seq = this.seq + 1;
    let r: number;
    try {
      r = this.ring!.write(seq, meta, env.message);
    } catch (err) {
      // Reading the message threw (a getter, a revoked Proxy); the ring has undone the attempt.
      this.deadLetter(env, 'not-cloneable', new MessageNotCloneableError(this.name, `reading it threw: ${describeError(err)}`));
      return REFUSED;
    }
    if (r === WRITE_OK) {
      this.ringDirty = true;
      this.seq = seq;
      env.seq = seq;
      this.window.push(env);
      return SENT;
    }
    if (r === WRITE_FULL) return FULL;
    if (this.ringDirty) {
      this.ringDirty = false;
      this.ring!.publish();
    }
    try {
      w.postMessage([P.H_DELIVER1, seq, meta, env.message]);
    } catch (err) {
      this.deadLetter(env, 'not-cloneable', new MessageNotCloneableError(this.name, (err as Error).message));
      return REFUSED;
    }
    this.seq = seq;
    env.seq = seq;
    this.window.push(env);
    return SENT;
  }

  /**
   * Makes ring records visible and wakes the worker if it sleeps: at once when a batch is
   * waiting, otherwise at the end of this tick, so a burst of tells costs one wake-up message
   * rather than one per tell, and a lone ask still goes out in the same tick.
   */
  private publish(w: Worker): void {
    if (!this.ringDirty) return;
    this.ringDirty = false;
    this.ring!.publish();
    if (Atomics.load(this.ctrl, P.C_SLEEPING) !== 1) return;
    if (++this.sleepingRecords >= WAKE_BATCH) this.wake(w);
    else if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      queueMicrotask(this.wakeLater);
    }
  }

  private readonly wakeLater = (): void => {
    this.wakeScheduled = false;
    const w = this.worker;
    if (w !== null && Atomics.load(this.ctrl, P.C_SLEEPING) === 1) this.wake(w);
  };

  private wake(w: Worker): void {
    this.sleepingRecords = 0;
    if (Atomics.compareExchange(this.ctrl, P.C_SLEEPING, 1, 0) === 1) w.postMessage([P.H_WAKE]);
  }

  private flushBatch(w: Worker): void {
    let room = this.windowLimit - this.window.length;
    if (room <= 0 || this.mailbox.size === 0) return;
    const first = this.seq + 1;
    if (room === 1 || this.mailbox.size === 1) {
      const env = this.mailbox.shift()!;
      env.seq = ++this.seq;
      this.window.push(env);
      try {
        w.postMessage([P.H_DELIVER1, env.seq, (env.attempt << 1) | (env.ask ? 1 : 0), env.message]);
      } catch (err) {
        this.window.pop();
        this.seq--;
        env.seq = 0;
        this.deadLetter(env, 'not-cloneable', new MessageNotCloneableError(this.name, (err as Error).message));
      }
      return;
    }
    const metas: number[] = [];
    const payloads: unknown[] = [];
    for (; room > 0; room--) {
      const env = this.mailbox.shift();
      if (env === undefined) break;
      env.seq = ++this.seq;
      this.window.push(env);
      metas.push((env.attempt << 1) | (env.ask ? 1 : 0));
      payloads.push(env.message);
    }
    try {
      w.postMessage([P.H_DELIVER, first, metas, payloads]);
    } catch {
      this.resendOneByOne(w, payloads.length);
    }
  }

  /** A batch failed to clone: send its envelopes one at a time so only the bad ones are refused. */
  private resendOneByOne(w: Worker, count: number): void {
    const batch: Envelope[] = [];
    for (let i = 0; i < count; i++) batch.unshift(this.window.pop()!);
    this.seq -= count;
    for (const env of batch) {
      env.seq = ++this.seq;
      try {
        w.postMessage([P.H_DELIVER1, env.seq, (env.attempt << 1) | (env.ask ? 1 : 0), env.message]);
        this.window.push(env);
      } catch (err) {
        this.seq--;
        env.seq = 0;
        this.deadLetter(env, 'not-cloneable', new MessageNotCloneableError(this.name, (err as Error).message));
      }
    }
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled && this.worker !== null && this.mailbox.size > 0) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
  }

  // ---------------------------------------------------------------- worker messages

  private onWorkerMessage(inc: number, m: unknown[]): void {
    if (inc !== this.incarnation) return;
    switch (m[0]) {
      case P.W_REPLY: {
        const seq = m[1] as number;
        this.completeThrough(seq - 1);
        const env = this.window.shift();
        if (env === undefined || env.seq !== seq) {
          this.protocolError(`reply for ${seq} does not match the window`);
          return;
        }
        this.processed++;
        const a = env.ask;
        if (a !== null) {
          env.ask = null;
          if (a.deadline !== 0) this.deadlines.trim(a.timeoutMs);
          if (a.signal && a.onAbort) a.signal.removeEventListener('abort', a.onAbort);
          this.askLatency.record(performance.now() - a.t0);
          a.resolve(m[2]);
        } else {
          this.lateReplies++;
        }
        this.noteProcessed(env);
        break;
      }
      case P.W_FAILED: {
        const seq = m[1] as number;
        this.completeThrough(seq - 1);
        const env = this.window.shift();
        if (env === undefined || env.seq !== seq) {
          this.protocolError(`failure for ${seq} does not match the window`);
          return;
        }
        this.failed++;
        this.failsSeen++;
        const err = new ActorHandlerError(this.name, m[2] as RemoteErrorInfo);
        this.ctx.logger.warn({ actor: this.name, err: m[2] }, 'palisade runtime: actor handler failed');
        this.settleAsk(env, err);
        this.reportOther({ kind: 'failed', message: env.message, priority: LANES[env.lane]!, error: err });
        break;
      }
      case P.W_ACK:
        this.completeThrough(m[1] as number);
        break;
      case P.W_PONG:
        this.pongs++;
        this.pingOutstanding = false;
        this.missed = 0;
        return;
      case P.W_LOADED:
        this.loadLatency.record(m[2] as number);
        this.onLoaded();
        break;
      case P.W_LOAD_FAILED:
        this.startFailed(m[2] as StartFailureReason, (m[3] as RemoteErrorInfo).message, m[3] as RemoteErrorInfo);
        return;
      case P.W_DYING:
        this.onDying(m[1] as 'uncaught' | 'exit', m[2] as string);
        return;
      case P.W_LOG: {
        const level = m[1] as P.LogLevel;
        const fields = (m[3] as Record<string, unknown> | null) ?? {};
        const log = this.ctx.logger[level] as ((o: object, msg: string) => void) | undefined;
        log?.call(this.ctx.logger, { ...fields, actor: this.name, incarnation: this.incarnation }, String(m[2]));
        return;
      }
      default:
        return;
    }
    this.flushProcessed();
    if (m[0] !== P.W_LOADED) this.resizeWindow();
    // Recovery ends when the new incarnation finishes its first message, or is ready with nothing to do.
    if (this.recoveringSince !== 0 && this.loaded && (m[0] !== P.W_LOADED || (this.window.length === 0 && this.mailbox.size === 0))) {
      this.recoveryLatency.record(performance.now() - this.recoveringSince);
      this.recoveringSince = 0;
    }
    if (this.mailbox.size > 0 && this.window.length < this.windowLimit) this.scheduleFlush();
    else this.updateRef();
    if (this.idleWaiters.length > 0) this.notifyIfIdle();
  }

  /** Sizes the in-flight window from the worker's busy time per finished message (EWMA). */
  private resizeWindow(): void {
    const done = Atomics.load(this.ctrl, P.C_DONE);
    const dn = done - this.sampleDone;
    if (dn <= 0) return;
    const busy = this.busyIn[0]!;
    const per = (busy - this.sampleBusy) / dn;
    this.sampleBusy = busy;
    this.sampleDone = done;
    this.serviceMs = this.serviceMs < 0 ? per : this.serviceMs * 0.7 + per * 0.3;
    const w = this.serviceMs > 0 ? Math.ceil(WINDOW_TARGET_MS / this.serviceMs) : MAX_IN_FLIGHT;
    this.windowLimit = w < 1 ? 1 : w > MAX_IN_FLIGHT ? MAX_IN_FLIGHT : w;
  }

  /** Envelopes up to `seq` finished without a reply of their own (tells). */
  private completeThrough(seq: number): void {
    for (let env = this.window.peek(); env !== undefined && env.seq <= seq; env = this.window.peek()) {
      this.window.shift();
      this.processed++;
      if (env.ask !== null) {
        // Cannot happen with a well-behaved worker (asks always reply); never leave a caller hanging.
        this.settleAsk(env, new ActorCrashedError(this.name, 'exit', 'the worker finished the message without a reply', env.attempt));
      }
      this.noteProcessed(env);
    }
  }

  /**
   * Accounts now for the tells the worker has finished, read from the control block, without
   * waiting for its acknowledgement message (which comes once per event-loop turn at best, or
   * is saved altogether). Stops at the first ask (its reply carries the value) and while a
   * failure report is still on its way (that message must not be counted as processed).
   */
  reapFinished(): number {
    if (this.window.length === 0 || this.worker === null) return 0;
    const n = this.reap();
    // The caller is short of credit: if it stops producing and waits, credit must come back by
    // message, and before the worker runs dry. Ask for an acknowledgement halfway through what is left.
    const left = this.window.peek();
    if (left !== undefined && Atomics.load(this.ctrl, P.C_WANT_ACK) === 0) Atomics.store(this.ctrl, P.C_WANT_ACK, left.seq + (this.window.length >> 1));
    if (n === 0) return 0;
    if (this.mailbox.size > 0 && this.window.length < this.windowLimit) this.scheduleFlush();
    else this.updateRef();
    if (this.idleWaiters.length > 0) this.notifyIfIdle();
    return n;
  }

  /** Completes the window's finished tells (see reapFinished) and reports them. */
  private reap(): number {
    const head = this.window.peek();
    if (head === undefined || this.worker === null) return 0;
    const done = Atomics.load(this.ctrl, P.C_DONE);
    if (head.seq > done || Atomics.load(this.ctrl, P.C_FAILS) !== this.failsSeen) return 0;
    let n = 0;
    for (let env: Envelope | undefined = head; env !== undefined && env.seq <= done && env.ask === null; env = this.window.peek()) {
      this.window.shift();
      this.processed++;
      n++;
      this.noteProcessed(env);
    }
    if (n === 0) return 0;
    Atomics.store(this.ctrl, P.C_SEEN, done);
    this.flushProcessed();
    return n;
  }

  /** A processed message: batched for the sink (flushed by flushProcessed), emitted per message to 'outcome' listeners. */
  private noteProcessed(env: Envelope): void {
    if (this.sink !== null) this.doneMsgs[this.doneN++] = env.message;
    if (this.ref.outcomeListeners) this.ref.emit('outcome', { kind: 'processed', message: env.message, priority: LANES[env.lane]! } satisfies Outcome);
  }

  private flushProcessed(): void {
    const n = this.doneN;
    if (n === 0) return;
    // Swap first: the sink may tell more (and so reach here again) while it reads this batch.
    const batch = this.doneMsgs;
    this.doneMsgs = this.spareMsgs;
    this.spareMsgs = batch;
    this.doneN = 0;
    try {
      this.sink?.processed(batch, n);
    } finally {
      for (let i = 0; i < n; i++) batch[i] = undefined;
    }
  }

  /** A failed or dead-lettered message; processed ones before it are reported first, so order holds. */
  private reportOther(o: Outcome): void {
    if (this.sink !== null) {
      this.flushProcessed();
      this.sink.settled(o);
    }
    if (this.ref.outcomeListeners) this.ref.emit('outcome', o);
  }

  setOutcomeSink(sink: OutcomeSink | null): void {
    this.flushProcessed();
    this.sink = sink;
  }

  private settleAsk(env: Envelope, err: Error): void {
    const a = env.ask;
    if (a === null) return;
    env.ask = null;
    if (a.deadline !== 0) this.deadlines.trim(a.timeoutMs);
    if (a.signal && a.onAbort) a.signal.removeEventListener('abort', a.onAbort);
    a.reject(err);
  }

  private protocolError(detail: string): void {
    this.ctx.logger.error({ actor: this.name, detail }, 'palisade runtime: protocol error, restarting the actor');
    this.kill('terminated');
  }

  // ---------------------------------------------------------------- life cycle

  /** First start: the module is resolved (bundled) by the supervisor. */
  start(module: ResolvedModule): void {
    if (this.halted) return;
    this.module = module;
    if (module.exports !== null && !module.exports.includes(this.opts.exportName)) {
      const names = module.exports.join(', ') || '(none)';
      this.failFirstStart(new ActorStartError(this.name, 'missing-export', `export "${this.opts.exportName}" not found in ${module.path}; exports: ${names}`));
      return;
    }
    this.startIncarnation();
  }

  /** The module could not be resolved or bundled. */
  failToResolve(err: Error): void {
    if (this.halted) return;
    this.failFirstStart(err instanceof ActorStartError ? err : new ActorStartError(this.name, 'bundle-failed', err.message, { cause: err }));
  }

  private startIncarnation(): void {
    const module = this.module!;
    const inc = ++this.incarnation;
    this.seq = 0;
    this.failsSeen = 0;
    this.loaded = false;
    this.killIntent = null;
    this.lastError = null;
    this.pingOutstanding = false;
    this.missed = 0;
    const sab = new SharedArrayBuffer(P.CTRL_BYTES);
    this.ctrl = new Int32Array(sab, 0, P.C_SLOTS);
    this.busyIn = new Float64Array(sab, P.C_BUSY_BYTE_OFFSET, 1);
    this.sampleBusy = 0;
    this.sampleDone = 0;
    const ringSab = this.opts.ringBytes > 0 ? new SharedArrayBuffer(ringCapacity(this.opts.ringBytes)) : null;
    this.ring = ringSab ? new RingWriter(ringSab, this.ctrl) : null;
    this.ringDirty = false;
    this.sleepingRecords = 0;
    const w = this.ctx.acquireWorker(this.opts.resourceLimits, module.url);
    w.on('message', (m: unknown[]) => this.onWorkerMessage(inc, m));
    w.on('error', (e: Error) => {
      if (inc === this.incarnation) this.lastError = e;
    });
    w.on('exit', (code: number) => this.onExit(inc, w, code));
    this.worker = w;
    this.refd = false;
    const req: P.LoadRequest = {
      url: module.url,
      exportName: this.opts.exportName,
      init: this.opts.init,
      ctrl: sab,
      ring: ringSab,
      name: this.name,
      incarnation: inc,
    };
    w.postMessage([P.H_LOAD, req]);
    if (this.opts.startTimeoutMs > 0) {
      this.startTimer = this.ctx.clock.setTimeout(() => {
        this.startTimer = null;
        if (inc === this.incarnation && !this.loaded && this.worker !== null) {
          this.startFailed('start-timeout', `module load and init did not finish within ${this.opts.startTimeoutMs} ms`, null);
        }
      }, this.opts.startTimeoutMs);
    }
    // Envelopes go out with the load request: the worker serves them once loaded, saving a round trip on recovery.
    if (this.mailbox.size > 0) this.flush();
    this.updateRef();
  }

  private onLoaded(): void {
    this.loaded = true;
    if (this.startTimer !== null) {
      this.ctx.clock.clearTimeout(this.startTimer);
      this.startTimer = null;
    }
    this.setState('running');
    if (this.firstStart) {
      this.firstStart = false;
      this.readyResolve();
      // The module loads: keep a spare with it preloaded, so a restart skips the import.
      this.ctx.prewarmModule(this.opts.resourceLimits, this.module!.url);
    }
    if (this.opts.heartbeatMs > 0) this.hbTimer = this.ctx.clock.setTimeout(this.beat, this.opts.heartbeatMs);
  }

  private readonly beat = (): void => {
    this.hbTimer = null;
    const w = this.worker;
    if (w === null || !this.loaded || this.halted) return;
    if (this.pingOutstanding) {
      if (++this.missed >= HEARTBEAT_MISSES) {
        this.ctx.logger.error({ actor: this.name, missed: this.missed, heartbeatMs: this.opts.heartbeatMs }, 'palisade runtime: actor missed heartbeats, terminating it as hung');
        this.kill('hang');
        return;
      }
    } else {
      this.pingOutstanding = true;
      w.postMessage([P.H_PING, ++this.pingN]);
      // postMessage re-refs the worker's port (Node 20): a ping to an idle actor must not hold the process.
      if (!this.refd) w.unref();
    }
    this.hbTimer = this.ctx.clock.setTimeout(this.beat, this.opts.heartbeatMs);
  };

  /** Terminates the current worker on purpose; its exit is then handled as `intent`. */
  kill(intent: KillIntent): boolean {
    const w = this.worker;
    if (w === null) return false;
    if (this.killIntent === null) this.killIntent = intent;
    void w.terminate();
    return true;
  }

  /** Sends a fault to the worker so it dies the way a real actor would. */
  injectFault(kind: P.FaultKind): boolean {
    const w = this.worker;
    if (w === null) return false;
    if (kind === 'terminate') return this.kill('terminated');
    if (kind === 'hang' && this.opts.heartbeatMs <= 0) throw new ConfigError('fault', kind, 'an actor with heartbeats (heartbeatMs > 0) so the hang is detected');
    if (kind === 'oom' && !this.opts.resourceLimits?.maxOldGenerationSizeMb) throw new ConfigError('fault', kind, 'an actor with resourceLimits.maxOldGenerationSizeMb');
    w.postMessage([P.H_FAULT, kind]);
    return true;
  }

  /**
   * The worker announced its death (uncaught error, process.exit): its last handler has run, so
   * the control block is final and recovery starts now, while the isolate is still being torn
   * down. Its later exit event is ignored. Kills the host asked for wait for the exit instead:
   * the worker may still finish a handler between terminate() and stopping.
   */
  private onDying(kind: 'uncaught' | 'exit', detail: string): void {
    if (this.killIntent !== null || this.worker === null) return;
    this.worker = null;
    this.clearIncarnationTimers();
    this.crashed(kind, detail);
  }

  private onExit(inc: number, w: Worker, code: number): void {
    if (w !== this.worker || inc !== this.incarnation) return;
    this.worker = null;
    this.clearIncarnationTimers();
    const intent = this.killIntent;
    this.killIntent = null;
    if (intent === 'stop') return;
    let kind: CrashKind | 'sibling';
    let detail: string;
    if (intent === 'hang') {
      kind = 'hang';
      detail = `no heartbeat answer within ${HEARTBEAT_MISSES + 1} × ${this.opts.heartbeatMs} ms`;
    } else if (intent === 'sibling') {
      kind = 'sibling';
      detail = 'restarted with a sibling (one_for_all)';
    } else if (intent === 'terminated') {
      kind = 'terminated';
      detail = 'worker terminated';
    } else if (this.lastError) {
      const e = this.lastError as Error & { code?: string };
      kind = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'uncaught';
      detail = `${e.name}: ${e.message}`;
    } else {
      kind = 'exit';
      detail = `worker exited with code ${code}`;
    }
    this.crashed(kind, detail);
  }

  private crashed(kind: CrashKind | 'sibling', detail: string): void {
    const done = Atomics.load(this.ctrl, P.C_DONE);
    const current = Atomics.load(this.ctrl, P.C_CURRENT);
    const requeue: Envelope[] = [];
    const crashErrorKind: CrashKind = kind === 'sibling' ? 'terminated' : kind;
    for (let env = this.window.shift(); env !== undefined; env = this.window.shift()) {
      if (env.seq <= done) {
        this.processed++;
        if (env.ask !== null) this.settleAsk(env, new ActorCrashedError(this.name, crashErrorKind, 'the message was processed but its reply was lost in the crash', env.attempt));
        this.noteProcessed(env);
      } else if (env.seq === current && kind !== 'sibling') {
        if (env.attempt >= this.opts.maxAttempts) {
          env.seq = 0;
          this.deadLetter(env, 'max-attempts', new ActorCrashedError(this.name, crashErrorKind, detail, env.attempt));
        } else {
          env.attempt++;
          requeue.push(env);
        }
      } else {
        requeue.push(env);
      }
    }
    this.flushProcessed();
    for (const env of requeue) env.seq = 0;
    this.mailbox.requeueFront(requeue);

    if (this.firstStart) {
      this.failFirstStart(new ActorStartError(this.name, 'worker-crashed', `the worker died while starting (${kind}): ${detail}`));
      return;
    }
    const info: CrashInfo = { actor: this.name, kind: crashErrorKind, detail, incarnation: this.incarnation, at: this.ctx.clock.now() };
    if (kind !== 'sibling') {
      this.crashes++;
      this.crashesByKind[kind] = (this.crashesByKind[kind] ?? 0) + 1;
      this.lastCrash = info;
      this.ctx.logger.error({ actor: this.name, kind, detail, incarnation: this.incarnation }, 'palisade runtime: actor crashed');
      this.ref.emit('crash', info);
    }
    this.recoveringSince = performance.now();
    this.ctx.onCrash(this, kind, detail);
    this.notifyIfIdle();
  }

  /** A later incarnation could not load or init: handled like a crash (restart intensity applies). */
  private startFailed(reason: StartFailureReason, detail: string, remote: RemoteErrorInfo | null): void {
    const w = this.worker;
    if (w !== null) {
      this.killIntent = 'stop';
      void w.terminate();
    }
    this.worker = null;
    this.clearIncarnationTimers();
    // Nothing was executed by this incarnation: every envelope handed to it goes back in order.
    const back = this.window.drain();
    for (const env of back) env.seq = 0;
    this.mailbox.requeueFront(back);
    if (this.firstStart) {
      this.failFirstStart(new ActorStartError(this.name, reason, detail, { cause: remote ?? undefined }));
      return;
    }
    const info: CrashInfo = { actor: this.name, kind: 'start-failed', detail: `${reason}: ${detail}`, incarnation: this.incarnation, at: this.ctx.clock.now() };
    this.crashes++;
    this.crashesByKind['start-failed'] = (this.crashesByKind['start-failed'] ?? 0) + 1;
    this.lastCrash = info;
    this.ctx.logger.error({ actor: this.name, reason, detail }, 'palisade runtime: actor failed to restart');
    this.ref.emit('crash', info);
    this.recoveringSince = performance.now();
    this.ctx.onCrash(this, 'start-failed', info.detail);
  }

  private failFirstStart(err: ActorStartError): void {
    this.firstStart = false;
    this.halted = true;
    this.clearIncarnationTimers();
    const w = this.worker;
    if (w !== null) {
      this.killIntent = 'stop';
      void w.terminate();
      this.worker = null;
    }
    this.ctx.logger.error({ actor: this.name, reason: err.reason, err }, 'palisade runtime: actor failed to start');
    this.setState('stopped');
    this.deadLetterAll('start-failed', err);
    this.readyReject(err);
  }

  /** Called by the supervisor: start the next incarnation now or after `delayMs` of backoff. */
  restart(delayMs: number): void {
    if (this.halted) return;
    this.setState('restarting');
    this.restarts++;
    if (delayMs <= 0) {
      this.startIncarnation();
      return;
    }
    this.restartTimer = this.ctx.clock.setTimeout(() => {
      this.restartTimer = null;
      if (!this.halted && this.state === 'restarting') this.startIncarnation();
    }, delayMs);
  }

  quarantine(detail: string): void {
    if (this.halted) return;
    if (this.restartTimer !== null) {
      this.ctx.clock.clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    this.ctx.logger.error({ actor: this.name, detail, restarts: this.restartTimes.length }, 'palisade runtime: actor quarantined (restart intensity exceeded)');
    this.setState('quarantined');
    this.deadLetterAll('quarantined', new ActorQuarantinedError(this.name, detail));
    this.recoveringSince = 0;
    this.notifyIfIdle();
  }

  revive(): boolean {
    if (this.state !== 'quarantined' || this.halted) return false;
    this.restartTimes = [];
    this.ctx.logger.warn({ actor: this.name }, 'palisade runtime: actor revived');
    this.setState('starting');
    this.startIncarnation();
    return true;
  }

  /**
   * Stops for good: everything not finished is dead-lettered with `reason`, the worker is
   * terminated. Resolves when the worker has exited.
   */
  stop(reason: 'stopped' | 'shutdown'): Promise<void> {
    const wasHalted = this.halted;
    this.halted = true;
    if (this.restartTimer !== null) {
      this.ctx.clock.clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    this.clearIncarnationTimers();
    const w = this.worker;
    this.worker = null;
    let exited: Promise<void> = Promise.resolve();
    if (w !== null) {
      this.killIntent = 'stop';
      exited = new Promise<void>((r) => w.once('exit', () => r()));
      void w.terminate();
    }
    const err = new ActorStoppedError(this.name, reason === 'shutdown' ? 'the supervisor shut down' : 'the actor was stopped');
    const back = this.window.drain();
    for (const env of back) env.seq = 0;
    for (const env of back) this.deadLetter(env, reason, err);
    this.deadLetterAll(reason, err);
    this.deadlines.clear();
    if (this.firstStart) {
      this.firstStart = false;
      this.readyReject(err);
    }
    if (!wasHalted || this.state !== 'stopped') this.setState('stopped');
    this.notifyIfIdle();
    return exited;
  }

  /** Resolves when nothing is queued or in flight (or the actor can no longer process anything). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return (this.mailbox.size === 0 && this.window.length === 0) || this.state === 'quarantined' || this.state === 'stopped';
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const ws = this.idleWaiters.splice(0);
    for (const w of ws) w();
  }

  private clearIncarnationTimers(): void {
    if (this.hbTimer !== null) {
      this.ctx.clock.clearTimeout(this.hbTimer);
      this.hbTimer = null;
    }
    if (this.startTimer !== null) {
      this.ctx.clock.clearTimeout(this.startTimer);
      this.startTimer = null;
    }
  }

  private deadLetterAll(reason: DeadLetterReason, err: Error): void {
    for (const env of this.mailbox.drain()) this.deadLetter(env, reason, err);
  }

  private deadLetter(env: Envelope, reason: DeadLetterReason, err: Error): void {
    this.deadLetters++;
    this.deadLettersByReason[reason] = (this.deadLettersByReason[reason] ?? 0) + 1;
    const priority = LANES[env.lane]!;
    const attempts = reason === 'max-attempts' ? env.attempt : env.attempt - 1;
    this.ctx.recordDeadLetter({ actor: this.name, message: env.message, reason, priority, attempts, at: this.ctx.clock.now(), error: err });
    if (this.sink !== null || this.ref.outcomeListeners) this.reportOther({ kind: 'dead-letter', message: env.message, priority, error: err, reason });
    this.settleAsk(env, err);
  }

  private setState(s: ActorState): void {
    const prev = this.state;
    if (prev === s) return;
    this.state = s;
    this.ctx.onStateChange(this, s, prev);
    this.ref.emit('state', s, prev);
  }

  /**
   * A worker with work outstanding keeps the process alive; an idle one does not. Ref at once;
   * unref only once the actor has stayed idle until the supervisor's next idle sweep, so a
   * steady stream of asks does not toggle the handle (~0.2 µs) on every reply.
   */
  private updateRef(): void {
    const w = this.worker;
    if (w === null) return;
    if (this.window.length > 0 || this.mailbox.size > 0 || !this.loaded) {
      if (!this.refd) {
        this.refd = true;
        w.ref();
      }
    } else if (this.refd && !this.unrefPending) {
      this.unrefPending = true;
      this.ctx.scheduleIdleCheck(this);
    }
  }

  /** Supervisor's idle sweep: unref the worker if the actor is still idle. */
  idleCheck(): void {
    this.unrefPending = false;
    const w = this.worker;
    if (w !== null && this.refd && this.window.length === 0 && this.mailbox.size === 0 && this.loaded) {
      this.refd = false;
      w.unref();
    }
  }

  /** Messages accepted and not finished: queued on the host plus handed to the worker. */
  get pending(): number {
    return this.mailbox.size + this.window.length;
  }

  /** Has a live worker that has loaded at least once (so a one_for_all restart cannot turn into a start failure). */
  canRestartWithSibling(): boolean {
    return this.worker !== null && !this.halted && !this.firstStart;
  }

  stats(): ActorStats {
    return {
      name: this.name,
      state: this.state,
      incarnation: this.incarnation,
      mailboxDepth: this.mailbox.size,
      inFlight: this.window.length,
      accepted: this.accepted,
      processed: this.processed,
      failed: this.failed,
      restarts: this.restarts,
      crashes: this.crashes,
      crashesByKind: { ...this.crashesByKind },
      deadLetters: this.deadLetters,
      deadLettersByReason: { ...this.deadLettersByReason },
      lastCrash: this.lastCrash,
      lateReplies: this.lateReplies,
      heartbeats: { sent: this.pingN, answered: this.pongs },
      ask: this.askLatency.summary(),
      recovery: this.recoveryLatency.summary(),
      load: this.loadLatency.summary(),
    };
  }
}

function describeError(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    return 'an error that cannot be described';
  }
}

/** Functions and symbols can never cross a thread boundary: refuse them where the caller can see. */
function checkCloneableShallow(actor: string, message: unknown): void {
  const t = typeof message;
  if (t === 'function' || t === 'symbol') throw new MessageNotCloneableError(actor, `a ${t} cannot be sent to a worker`);
}

/**
 * The handle users hold. Events:
 * - 'state' (state, previous): 'starting' | 'running' | 'restarting' | 'quarantined' | 'stopped'
 * - 'outcome' (Outcome): every message's fate (processed / failed / dead-letter); only computed while listened to
 * - 'crash' (CrashInfo)
 */
export class ActorRef extends EventEmitter {
  readonly name: string;
  /** Resolves once the first incarnation has loaded; rejects with ActorStartError on a start-up failure. */
  readonly ready: Promise<void>;
  /** @internal cached `listenerCount('outcome') > 0`, so the hot path does not count listeners per message. */
  outcomeListeners = false;
  readonly #cell: ActorCell;

  constructor(cell: ActorCell) {
    super();
    this.#cell = cell;
    this.name = cell.name;
    this.ready = cell.ready;
    this.on('newListener', (event: string) => {
      if (event === 'outcome') this.outcomeListeners = true;
    });
    this.on('removeListener', (event: string) => {
      if (event === 'outcome') this.outcomeListeners = this.listenerCount('outcome') > 0;
    });
  }

  get state(): ActorState {
    return this.#cell.state;
  }

  /** Messages accepted and not yet finished (queued + handed to the worker); cheap, for producer backpressure. */
  get pending(): number {
    return this.#cell.pending;
  }

  /**
   * Receives outcomes in batches instead of (or besides) 'outcome' events; null removes it.
   * One sink per actor: setting another replaces it.
   */
  setOutcomeSink(sink: OutcomeSink | null): void {
    this.#cell.setOutcomeSink(sink);
  }

  /**
   * Reports (to the sink and 'outcome' listeners) the tells the worker has already finished,
   * read from shared memory, instead of waiting for its acknowledgement message. Cheap (a few
   * atomic loads); for producers that want their credit back within the same event-loop turn.
   * Returns the number reported. Not meant for outcome callbacks (a nested batch would reach
   * the sink before the one it is reading has been handled).
   */
  reapFinished(): number {
    return this.#cell.reapFinished();
  }

  /** Queues a message; false when the mailbox refuses it (counted and dead-lettered with the reason). */
  tell(message: unknown, options?: TellOptions): boolean {
    return this.#cell.tell(message, options);
  }

  /** The handler's reply. Rejects with a typed ActorError when it cannot be had. */
  ask<R = unknown>(message: unknown, options?: AskOptions): Promise<R> {
    return this.#cell.ask(message, options) as Promise<R>;
  }

  /** Brings a quarantined actor back (fresh restart-intensity window). False if it was not quarantined. */
  revive(): boolean {
    return this.#cell.revive();
  }

  /** Stops this actor for good: unfinished messages are dead-lettered ('stopped'); resolves when its worker has exited. */
  stop(): Promise<void> {
    return this.#cell.stop('stopped');
  }

  get stats(): ActorStats {
    return this.#cell.stats();
  }
}

export function resolveSpawnOptions(o: SpawnOptions, defaults: { heartbeatMs: number }): ResolvedSpawnOptions {
  if (o === null || typeof o !== 'object') throw new ConfigError('spawn', o, 'an options object');
  if (typeof o.name !== 'string' || o.name.length === 0) throw new ConfigError('name', o.name, 'a non-empty string');
  if (!(typeof o.module === 'string' && o.module.length > 0) && !(o.module instanceof URL)) throw new ConfigError('module', o.module, 'a path or file URL');
  const exportName = o.export ?? 'default';
  if (typeof exportName !== 'string' || exportName.length === 0) throw new ConfigError('export', o.export, 'an export name');
  const mailboxSize = o.mailboxSize ?? 1024;
  if (!Number.isInteger(mailboxSize) || mailboxSize < 1) throw new ConfigError('mailboxSize', o.mailboxSize, 'an integer >= 1');
  const overflow = o.overflow ?? 'reject';
  if (overflow !== 'reject' && overflow !== 'drop-oldest' && overflow !== 'drop-lowest') throw new ConfigError('overflow', o.overflow, "'reject' | 'drop-oldest' | 'drop-lowest'");
  const heartbeatMs = o.heartbeatMs === undefined ? defaults.heartbeatMs : checkTimeoutMs('heartbeatMs', o.heartbeatMs, { min: 0 });
  const maxAttempts = o.maxAttempts ?? 2;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new ConfigError('maxAttempts', o.maxAttempts, 'an integer >= 1');
  const ringBytes = o.ringBytes ?? 256 * 1024;
  if (!Number.isInteger(ringBytes) || ringBytes < 0 || ringBytes > 64 * 1024 * 1024) throw new ConfigError('ringBytes', o.ringBytes, 'an integer number of bytes, 0 (no ring) to 64 MiB');
  const startTimeoutMs = o.startTimeoutMs === undefined ? RUNTIME_DEFAULTS.startTimeoutMs : timeoutOrOffMs('startTimeoutMs', o.startTimeoutMs);
  if (o.init !== undefined) {
    try {
      structuredClone(o.init);
    } catch (e) {
      throw new ConfigError('init', o.init, `structured-cloneable data (${(e as Error).message})`);
    }
  }
  return {
    name: o.name,
    exportName,
    mailboxSize,
    overflow,
    heartbeatMs,
    resourceLimits: o.resourceLimits,
    maxAttempts,
    init: o.init,
    startTimeoutMs,
    ringBytes,
  };
}
