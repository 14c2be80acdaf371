/**
 * One actor: its host-side mailbox, the envelopes handed to its current worker, and the life
 * cycle of its incarnations. The supervisor decides restarts; the cell carries them out.
 *
 * The cell coordinates; its parts live beside it: delivery.ts moves envelopes to the worker
 * (ring, batches, window sizing), asks.ts keeps pending asks (options, deadlines, settling,
 * withdrawal), incarnation.ts watches a running worker (heartbeats, message deadlines, exit
 * classification), actor-stats.ts counts, actor-ref.ts is the users' handle, spawn-options.ts
 * checks and resolves the options.
 *
 * Ownership of a message: it sits in the mailbox, then in `window` once handed to the worker,
 * and leaves the window only when the worker reports it finished (reply, failure or ack). If
 * the worker dies, the control block tells exactly which envelope was executing: that one is
 * retried (or dead-lettered on its last attempt), the others go back to the mailbox front in
 * their original order, and the next incarnation gets them.
 */
import type { ResourceLimits, Worker } from 'node:worker_threads';
import type { Clock, TimerHandle } from '../clock.ts';
import { ConfigError, withoutStack } from '../errors.ts';
import type { Logger } from '../log/index.ts';
import { ActorRef, type ActorHandle } from './actor-ref.ts';
import type { ResolvedModule } from './bundle.ts';
import { Deque } from './deque.ts';
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
  type CrashKind,
  type RemoteErrorInfo,
  type StartFailureReason,
} from './errors.ts';
import { LANES, Mailbox, OFFER_ACCEPTED, OFFER_REFUSED, laneOf } from './mailbox.ts';
import * as P from './protocol.ts';
import { ringCapacity } from './ring.ts';
import { ActorCounters } from './actor-stats.ts';
import { Asks, readAskOptions, withdrawInWorker, type AskLimits } from './asks.ts';
import { Delivery, FULL, REFUSED, checkCloneableShallow } from './delivery.ts';
import type { AskState, Envelope } from './envelope.ts';
import { Heartbeat, MessageWatch, classifyExit, type KillIntent } from './incarnation.ts';
import type { ResolvedSpawnOptions } from './spawn-options.ts';
import type {
  ActorState,
  ActorStats,
  AskOptions,
  CrashInfo,
  DeadLetter,
  DeadLetterReason,
  Outcome,
  OutcomeSink,
  TellOptions,
} from './types.ts';

/** What the cell needs from its supervisor. */
export interface CellContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly askTimeoutMs: number;
  /** A worker for the next incarnation; null once the supervisor has closed its pool (shut down). */
  acquireWorker(limits: ResourceLimits | undefined, moduleUrl: string): Worker | null;
  prewarmModule(limits: ResourceLimits | undefined, moduleUrl: string): void;
  scheduleIdleCheck(cell: ActorCell): void;
  recordDeadLetter(dl: DeadLetter): void;
  onCrash(cell: ActorCell, kind: CrashKind | 'sibling', detail: string): void;
  onStateChange(cell: ActorCell, state: ActorState, previous: ActorState): void;
  isAccepting(): boolean;
  /** Keeps the process alive (or lets go) while the actor has no worker whose handle could. */
  holdProcess(cell: ActorCell, hold: boolean): void;
  /** The actor stopped for good: the supervisor may forget it. */
  onStopped(cell: ActorCell): void;
}

export class ActorCell implements ActorHandle {
  readonly name: string;
  readonly ref: ActorRef;
  readonly mailbox: Mailbox<Envelope>;
  private readonly window = new Deque<Envelope>(64);
  private readonly delivery: Delivery;
  state: ActorState = 'starting';
  /** Restart times inside the intensity window (supervisor clock). */
  restartTimes: number[] = [];

  private module: ResolvedModule | null = null;
  private worker: Worker | null = null;
  private ctrl: Int32Array = new Int32Array(P.C_SLOTS);
  private cancelSlots: Int32Array = new Int32Array(P.CANCEL_SLOTS);
  private incarnation = 0;
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

  private readonly heartbeat: Heartbeat;
  private readonly watch: MessageWatch;
  private startTimer: TimerHandle | null = null;
  private restartTimer: TimerHandle | null = null;
  private recoveringSince = 0;
  private idleWaiters: (() => void)[] = [];
  private unrefPending = false;
  private holding = false;
  private readonly asks: Asks;

  private readonly readyResolve: () => void;
  private readonly readyReject: (e: Error) => void;
  readonly ready: Promise<void>;

  private readonly counts = new ActorCounters();

  constructor(
    readonly opts: ResolvedSpawnOptions,
    private readonly ctx: CellContext,
  ) {
    this.name = opts.name;
    this.mailbox = new Mailbox<Envelope>(opts.mailboxSize, opts.overflow);
    this.delivery = new Delivery(
      this.name,
      this.mailbox,
      this.window,
      () => this.worker,
      (env, err) => this.deadLetter(env, 'not-cloneable', err),
    );
    const running = (): boolean => this.worker !== null && this.loaded && !this.halted;
    this.heartbeat = new Heartbeat(
      ctx.clock,
      opts.heartbeatMs,
      running,
      (n) => {
        const w = this.worker!;
        w.postMessage([P.H_PING, n]);
        // postMessage re-refs the worker's port (Node 20): a ping to an idle actor must not hold the process.
        if (!this.refd) w.unref();
      },
      (missed) => {
        this.ctx.logger.error(
          { actor: this.name, missed, heartbeatMs: this.opts.heartbeatMs },
          'palisade runtime: actor missed heartbeats, terminating it as hung',
        );
        this.kill('hang');
      },
    );
    this.watch = new MessageWatch(ctx.clock, this.window, opts.messageTimeoutMs, running, (limit, attempt) => {
      this.ctx.logger.error(
        { actor: this.name, messageTimeoutMs: limit, attempt },
        'palisade runtime: a message ran past its deadline, terminating the actor as hung',
      );
      this.kill('stuck');
    });
    this.asks = new Asks(ctx.clock, (env) =>
      this.abandonAsk(
        env,
        withoutStack(() => new AskTimeoutError(this.name, env.ask!.timeoutMs)),
        'ask-timeout',
      ),
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
    this.syncHold();
  }

  // ---------------------------------------------------------------- sending

  tell(message: unknown, options?: TellOptions): boolean {
    const lane = laneOf(options?.priority);
    if (lane < 0) throw new ConfigError('priority', options?.priority, "'critical' | 'normal' | 'low'");
    checkCloneableShallow(this.name, message);
    const env: Envelope = {
      message,
      lane,
      cancelled: false,
      seq: 0,
      attempt: 1,
      ask: null,
      gaveUp: null,
      skipped: false,
      runLimitMs: this.opts.messageTimeoutMs,
    };
    return this.accept(env);
  }

  ask(message: unknown, options?: AskOptions): Promise<unknown> {
    const lane = laneOf(options?.priority);
    if (lane < 0)
      return Promise.reject(new ConfigError('priority', options?.priority, "'critical' | 'normal' | 'low'"));
    try {
      checkCloneableShallow(this.name, message);
    } catch (e) {
      return Promise.reject(e);
    }
    let limits: AskLimits;
    try {
      limits = readAskOptions(options, { timeoutMs: this.ctx.askTimeoutMs, runLimitMs: this.opts.messageTimeoutMs });
    } catch (e) {
      return Promise.reject(e);
    }
    const { timeoutMs, runLimitMs, signal } = limits;
    if (signal?.aborted) return Promise.reject(new AskAbortedError(this.name, signal.reason));
    return new Promise<unknown>((resolve, reject) => {
      const ask: AskState = { resolve, reject, deadline: 0, timeoutMs, t0: performance.now(), signal, onAbort: null };
      const env: Envelope = {
        message,
        lane,
        cancelled: false,
        seq: 0,
        attempt: 1,
        ask,
        gaveUp: null,
        skipped: false,
        runLimitMs,
      };
      if (!this.accept(env)) return; // rejected inside accept (dead-lettered with its reason)
      if (env.ask === null) return; // settled synchronously
      this.asks.watch(env, () => this.abandonAsk(env, new AskAbortedError(this.name, signal!.reason), 'ask-aborted'));
    });
  }

  private accept(env: Envelope): boolean {
    // Refusals are expected under overload and can come by the thousand: errors without stack capture.
    if (this.state === 'quarantined') {
      this.deadLetter(
        env,
        'quarantined',
        withoutStack(
          () => new ActorQuarantinedError(this.name, this.counts.lastCrash?.detail ?? 'restart intensity exceeded'),
        ),
      );
      return false;
    }
    if (this.state === 'stopped' || this.halted) {
      this.deadLetter(
        env,
        'stopped',
        withoutStack(() => new ActorStoppedError(this.name, 'the actor is stopped')),
      );
      return false;
    }
    if (!this.ctx.isAccepting()) {
      this.deadLetter(
        env,
        'shutdown',
        withoutStack(() => new ActorStoppedError(this.name, 'the supervisor is shutting down')),
      );
      return false;
    }
    // Fast path: nothing queued ahead and room in the window, so hand it over now (ring or message).
    const w = this.worker;
    const d = this.delivery;
    if (w !== null && d.ring !== null && this.mailbox.size === 0 && this.window.length < d.windowLimit) {
      const sent = d.send(w, env);
      if (sent !== FULL) {
        d.publish(w);
        this.updateRef();
        if (sent === REFUSED) return false;
        this.counts.accepted++;
        return true;
      }
    }
    const r = this.mailbox.offer(env);
    if (r === OFFER_REFUSED) {
      this.deadLetter(
        env,
        'mailbox-full',
        withoutStack(() => new MailboxFullError(this.name, this.mailbox.capacity)),
      );
      return false;
    }
    this.counts.accepted++;
    if (r !== OFFER_ACCEPTED) {
      const victim = this.mailbox.evicted!;
      this.mailbox.evicted = undefined;
      const reason = this.mailbox.overflow === 'drop-oldest' ? 'dropped-oldest' : 'dropped-lowest';
      this.deadLetter(
        victim,
        reason,
        withoutStack(() => new MessageDroppedError(this.name, reason)),
      );
    }
    if (!this.flushScheduled && this.worker !== null) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
    return true;
  }

  /**
   * An ask that timed out or was aborted never runs after that: withdrawn from the mailbox if
   * still queued, withdrawn in the worker if handed over but not started. One the worker has
   * already started runs to its end (its reply is discarded) and is not retried after a crash.
   */
  private abandonAsk(env: Envelope, err: Error, reason: 'ask-timeout' | 'ask-aborted'): void {
    // Its deadline entry is dropped lazily (this may run from the deadline queue's own timer).
    const a = this.asks.detach(env, false);
    if (a === null) return;
    if (env.seq === 0) {
      if (!env.cancelled) {
        this.mailbox.cancel(env);
        this.deadLetter(env, reason, err);
        this.notifyIfIdle();
      }
    } else {
      env.gaveUp = reason;
      if (withdrawInWorker(this.cancelSlots, env.seq)) {
        env.skipped = true;
        this.deadLetter(env, reason, err);
      }
    }
    a.reject(err);
  }

  /** Hands queued envelopes to the worker: into the ring, or batched into one message per tick. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const w = this.worker;
    if (w === null || this.halted) return;
    // A full window may be mostly finished already (a trickle's acknowledgements are deferred): account for that first.
    if (this.window.length >= this.delivery.windowLimit && this.mailbox.size > 0) this.reap();
    if (this.delivery.ring !== null) this.delivery.flushRing(w);
    else this.delivery.flushBatch(w);
    if (this.mailbox.size > 0 && this.window.length > 0) {
      // Blocked with a backlog: ask for an ack once half the window is done, so the next batch is on its way before the worker runs dry.
      Atomics.store(this.ctrl, P.C_WANT_ACK, this.window.peek()!.seq + (this.window.length >> 1));
    }
    this.updateRef();
  };

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
        this.counts.processed++;
        if (!this.asks.resolve(env, m[2])) this.counts.lateReplies++;
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
        this.counts.failed++;
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
        this.heartbeat.pong();
        return;
      case P.W_LOADED:
        this.counts.loadLatency.record(m[2] as number);
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
    if (m[0] !== P.W_LOADED) this.delivery.resizeWindow();
    // Recovery ends when the new incarnation finishes its first message, or is ready with nothing to do.
    if (
      this.recoveringSince !== 0 &&
      this.loaded &&
      (m[0] !== P.W_LOADED || (this.window.length === 0 && this.mailbox.size === 0))
    ) {
      this.counts.recoveryLatency.record(performance.now() - this.recoveringSince);
      this.recoveringSince = 0;
    }
    if (this.mailbox.size > 0 && this.window.length < this.delivery.windowLimit) this.scheduleFlush();
    else this.updateRef();
    if (this.idleWaiters.length > 0) this.notifyIfIdle();
  }

  /** Envelopes up to `seq` finished without a reply of their own (tells). */
  private completeThrough(seq: number): void {
    for (let env = this.window.peek(); env !== undefined && env.seq <= seq; env = this.window.peek()) {
      this.window.shift();
      if (env.skipped) continue; // never ran; dead-lettered when withdrawn
      this.counts.processed++;
      if (env.ask !== null) {
        // Cannot happen with a well-behaved worker (asks always reply); never leave a caller hanging.
        this.settleAsk(
          env,
          new ActorCrashedError(this.name, 'exit', 'the worker finished the message without a reply', env.attempt),
        );
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
    if (left !== undefined && Atomics.load(this.ctrl, P.C_WANT_ACK) === 0)
      Atomics.store(this.ctrl, P.C_WANT_ACK, left.seq + (this.window.length >> 1));
    if (n === 0) return 0;
    if (this.mailbox.size > 0 && this.window.length < this.delivery.windowLimit) this.scheduleFlush();
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
    // Stops at an ask (its reply carries the value), also one given up on while running (a reply is still coming).
    for (
      let env: Envelope | undefined = head;
      env !== undefined && env.seq <= done && env.ask === null && (env.gaveUp === null || env.skipped);
      env = this.window.peek()
    ) {
      this.window.shift();
      if (env.skipped) continue;
      this.counts.processed++;
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
    if (this.ref.outcomeListeners)
      this.ref.emit('outcome', {
        kind: 'processed',
        message: env.message,
        priority: LANES[env.lane]!,
      } satisfies Outcome);
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
    this.asks.reject(env, err);
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
      this.failFirstStart(
        new ActorStartError(
          this.name,
          'missing-export',
          `export "${this.opts.exportName}" not found in ${module.path}; exports: ${names}`,
        ),
      );
      return;
    }
    this.startIncarnation();
  }

  /** The module could not be resolved or bundled. */
  failToResolve(err: Error): void {
    if (this.halted) return;
    this.failFirstStart(
      err instanceof ActorStartError
        ? err
        : new ActorStartError(this.name, 'bundle-failed', err.message, { cause: err }),
    );
  }

  private startIncarnation(): void {
    const module = this.module!;
    let acquired: Worker | null;
    try {
      acquired = this.ctx.acquireWorker(this.opts.resourceLimits, module.url);
    } catch (err) {
      // Node refused to create the worker (resources, limits): a start failure, not a crash of the host.
      const detail = `no worker could be created: ${(err as Error).message}`;
      if (this.firstStart)
        this.failFirstStart(new ActorStartError(this.name, 'worker-crashed', detail, { cause: err }));
      else this.startFailed('worker-crashed', detail, null);
      return;
    }
    if (acquired === null) {
      // The supervisor closed its worker pool: it is shutting down.
      void this.stop('shutdown');
      return;
    }
    const w = acquired;
    const inc = ++this.incarnation;
    this.failsSeen = 0;
    this.loaded = false;
    this.killIntent = null;
    this.lastError = null;
    this.heartbeat.reset();
    const sab = new SharedArrayBuffer(P.CTRL_BYTES);
    this.ctrl = new Int32Array(sab, 0, P.C_SLOTS);
    this.cancelSlots = new Int32Array(sab, P.C_CANCEL_BYTE_OFFSET, P.CANCEL_SLOTS);
    this.watch.reset(this.ctrl);
    const ringSab = this.opts.ringBytes > 0 ? new SharedArrayBuffer(ringCapacity(this.opts.ringBytes)) : null;
    this.delivery.reset(this.ctrl, new Float64Array(sab, P.C_BUSY_BYTE_OFFSET, 1), ringSab);
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
          this.startFailed(
            'start-timeout',
            `module load and init did not finish within ${this.opts.startTimeoutMs} ms`,
            null,
          );
        }
      }, this.opts.startTimeoutMs);
    }
    // Envelopes go out with the load request: the worker serves them once loaded, saving a round trip on recovery.
    if (this.mailbox.size > 0) this.flush();
    this.updateRef();
    this.syncHold();
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
    this.heartbeat.start();
  }

  /** Terminates the current worker on purpose; its exit is then handled as `intent`. */
  kill(intent: KillIntent): boolean {
    const w = this.worker;
    if (w === null) return false;
    if (this.killIntent === null) this.killIntent = intent;
    this.holdWorker(w);
    void w.terminate();
    return true;
  }

  /** A crash under way is pending work: the process stays up until the worker is gone and the restart begins. */
  private holdWorker(w: Worker): void {
    if (this.refd) return;
    this.refd = true;
    w.ref();
  }

  /** Sends a fault to the worker so it dies the way a real actor would. */
  injectFault(kind: P.FaultKind): boolean {
    const w = this.worker;
    if (w === null) return false;
    if (kind === 'terminate') return this.kill('terminated');
    if (kind === 'hang' && this.opts.heartbeatMs <= 0)
      throw new ConfigError('fault', kind, 'an actor with heartbeats (heartbeatMs > 0) so the hang is detected');
    if (kind === 'oom' && !this.opts.resourceLimits?.maxOldGenerationSizeMb)
      throw new ConfigError('fault', kind, 'an actor with resourceLimits.maxOldGenerationSizeMb');
    this.holdWorker(w);
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
    const exit = classifyExit(intent, this.lastError, code, {
      heartbeatMs: this.opts.heartbeatMs,
      stuckDetail: this.watch.detail,
    });
    if (exit !== null) this.crashed(exit.kind, exit.detail);
  }

  private crashed(kind: CrashKind | 'sibling', detail: string): void {
    const done = Atomics.load(this.ctrl, P.C_DONE);
    const current = Atomics.load(this.ctrl, P.C_CURRENT);
    const requeue: Envelope[] = [];
    const crashErrorKind: CrashKind = kind === 'sibling' ? 'terminated' : kind;
    for (let env = this.window.shift(); env !== undefined; env = this.window.shift()) {
      if (env.skipped) continue; // withdrawn before it ran: already dead-lettered
      if (env.seq <= done) {
        this.counts.processed++;
        if (env.ask !== null)
          this.settleAsk(
            env,
            new ActorCrashedError(
              this.name,
              crashErrorKind,
              'the message was processed but its reply was lost in the crash',
              env.attempt,
            ),
          );
        this.noteProcessed(env);
      } else if (env.gaveUp !== null) {
        // Its caller gave up after the worker started it: at most this one run, never a retry.
        env.seq = 0;
        this.deadLetter(
          env,
          env.gaveUp,
          new ActorCrashedError(
            this.name,
            crashErrorKind,
            `${detail} (its ask had already ${env.gaveUp === 'ask-timeout' ? 'timed out' : 'been aborted'}: not retried)`,
            env.attempt,
          ),
        );
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
      this.failFirstStart(
        new ActorStartError(this.name, 'worker-crashed', `the worker died while starting (${kind}): ${detail}`),
      );
      return;
    }
    const info: CrashInfo = {
      actor: this.name,
      kind: crashErrorKind,
      detail,
      incarnation: this.incarnation,
      at: this.ctx.clock.now(),
    };
    if (kind !== 'sibling') {
      this.counts.countCrash(info);
      this.ctx.logger.error(
        { actor: this.name, kind, detail, incarnation: this.incarnation },
        'palisade runtime: actor crashed',
      );
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
    // Nothing was executed by this incarnation: every envelope handed to it goes back in order
    // (but for asks withdrawn meanwhile, already dead-lettered).
    const back: Envelope[] = [];
    for (const env of this.window.drain()) {
      if (env.skipped) continue;
      env.seq = 0;
      if (env.gaveUp !== null)
        this.deadLetter(
          env,
          env.gaveUp,
          new ActorStartError(this.name, reason, `${detail} (its ask had already given up: not re-sent)`),
        );
      else back.push(env);
    }
    this.mailbox.requeueFront(back);
    if (this.firstStart) {
      this.failFirstStart(new ActorStartError(this.name, reason, detail, { cause: remote ?? undefined }));
      return;
    }
    const info: CrashInfo = {
      actor: this.name,
      kind: 'start-failed',
      detail: `${reason}: ${detail}`,
      incarnation: this.incarnation,
      at: this.ctx.clock.now(),
    };
    this.counts.countCrash(info);
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
    this.syncHold();
  }

  /** Called by the supervisor: start the next incarnation now or after `delayMs` of backoff. */
  restart(delayMs: number): void {
    if (this.halted) return;
    this.setState('restarting');
    this.counts.restarts++;
    if (delayMs <= 0) {
      this.startIncarnation();
      return;
    }
    this.restartTimer = this.ctx.clock.setTimeout(() => {
      this.restartTimer = null;
      if (!this.halted && this.state === 'restarting') this.startIncarnation();
    }, delayMs);
    // The clock's timers do not hold the process; a restart under way must (messages wait for it).
    this.syncHold();
  }

  quarantine(detail: string): void {
    if (this.halted) return;
    if (this.restartTimer !== null) {
      this.ctx.clock.clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    this.ctx.logger.error(
      { actor: this.name, detail, restarts: this.restartTimes.length },
      'palisade runtime: actor quarantined (restart intensity exceeded)',
    );
    this.setState('quarantined');
    this.deadLetterAll('quarantined', new ActorQuarantinedError(this.name, detail));
    this.recoveringSince = 0;
    this.notifyIfIdle();
    this.syncHold();
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
    const err = new ActorStoppedError(
      this.name,
      reason === 'shutdown' ? 'the supervisor shut down' : 'the actor was stopped',
    );
    const back = this.window.drain().filter((env) => !env.skipped);
    for (const env of back) env.seq = 0;
    for (const env of back) this.deadLetter(env, reason, err);
    this.deadLetterAll(reason, err);
    this.asks.clear();
    if (this.firstStart) {
      this.firstStart = false;
      this.readyReject(err);
    }
    if (!wasHalted || this.state !== 'stopped') this.setState('stopped');
    this.notifyIfIdle();
    this.syncHold();
    return exited;
  }

  /** Resolves when nothing is queued or in flight (or the actor can no longer process anything). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return (
      (this.mailbox.size === 0 && this.window.length === 0) || this.state === 'quarantined' || this.state === 'stopped'
    );
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const ws = this.idleWaiters.splice(0);
    for (const w of ws) w();
  }

  private clearIncarnationTimers(): void {
    this.watch.stop();
    this.heartbeat.stop();
    if (this.startTimer !== null) {
      this.ctx.clock.clearTimeout(this.startTimer);
      this.startTimer = null;
    }
  }

  private deadLetterAll(reason: DeadLetterReason, err: Error): void {
    for (const env of this.mailbox.drain()) this.deadLetter(env, reason, err);
  }

  private deadLetter(env: Envelope, reason: DeadLetterReason, err: Error): void {
    this.counts.countDeadLetter(reason);
    const priority = LANES[env.lane]!;
    const attempts = reason === 'max-attempts' ? env.attempt : env.attempt - 1;
    this.ctx.recordDeadLetter({
      actor: this.name,
      message: env.message,
      reason,
      priority,
      attempts,
      at: this.ctx.clock.now(),
      error: err,
    });
    if (this.sink !== null || this.ref.outcomeListeners)
      this.reportOther({ kind: 'dead-letter', message: env.message, priority, error: err, reason });
    this.settleAsk(env, err);
  }

  private setState(s: ActorState): void {
    const prev = this.state;
    if (prev === s) return;
    this.state = s;
    this.ctx.onStateChange(this, s, prev);
    this.ref.emit('state', s, prev);
    if (s === 'stopped') this.ctx.onStopped(this);
  }

  /**
   * Pending work keeps the process alive. A worker with work is ref'd (updateRef); while the
   * actor has no worker but is getting one (starting, restarting, waiting out a backoff) it holds
   * the process through the supervisor, so a caller awaiting an ask is not left with an empty
   * event loop. An idle, running actor holds nothing.
   */
  private syncHold(): void {
    const hold = this.worker === null && !this.halted && (this.state === 'starting' || this.state === 'restarting');
    if (hold === this.holding) return;
    this.holding = hold;
    this.ctx.holdProcess(this, hold);
  }

  /**
   * A worker with work outstanding keeps the process alive; an idle one does not. Ref at once;
   * unref only once the actor has stayed idle until the supervisor's next idle sweep, so a
   * steady stream of asks does not toggle the handle (~0.2 µs) on every reply.
   */
  private updateRef(): void {
    const w = this.worker;
    if (w === null) return;
    if (this.loaded) this.watch.armIfIdle();
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
    return this.counts.snapshot(
      this.name,
      this.state,
      this.incarnation,
      this.mailbox.size,
      this.window.length,
      this.asks.latency,
      { sent: this.heartbeat.sent, answered: this.heartbeat.answered },
      this.delivery.sentOffRing,
    );
  }
}
