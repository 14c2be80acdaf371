/**
 * A circuit breaker: CLOSED → (failures) → OPEN → (cooldown + jitter) → HALF_OPEN → (probe) →
 * CLOSED or OPEN again, with an optional bulkhead (bounded concurrency + FIFO queue) and per-call
 * timeout (bulkhead.ts, timeout.ts; the decision to open is a strategy in trip.ts). One state
 * machine serves both `execute(fn)` and the synchronous permit API
 * (`isCallPermitted`, `tryAcquire`/`acquire`) used by callers that do their own I/O.
 *
 * Hot-path choices (see bench/results/breaker.md): the CLOSED path of a breaker without bulkhead
 * or timeout is one async function with no per-call closure or AbortController (a shared
 * never-aborting signal is passed); latency is sampled adaptively (every call at ordinary rates,
 * at most 1 in `latencySampleEvery` at very high rates: timing + recording costs ~0.2 µs); the refusal
 * errors are built without stack capture; refusals settle through a thenable so Node's
 * unhandled-rejection bookkeeping (≈0.6 µs per `Promise.reject`, measured) is skipped.
 *
 * Outcomes of calls admitted in an earlier state (an "epoch") are counted in the stats but never
 * move the state machine: a slow call started before the circuit opened says nothing about the
 * resource now.
 */
import type { Clock, Random, TimerHandle } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { redactText } from '../log/redact.ts';
import { LatencyHistogram } from '../stats/latency.ts';
import { MAX_TIMER_MS } from '../validate.ts';
import {
  bulkheadFullError,
  circuitOpenError,
  timeoutError,
  type CircuitOpenError,
  type CircuitState,
} from './errors.ts';
import { Bulkhead } from './bulkhead.ts';
import { resolveOptions, type CircuitBreakerOptions, type FailurePredicate, type ResolvedOptions } from './options.ts';
import { Permit } from './permit.ts';
import { runWithDeadline } from './timeout.ts';
import { ConsecutiveFailures, EitherTrips, FailureRate, type TripStrategy } from './trip.ts';
import type {
  BreakerPermit,
  CircuitBreakerStats,
  Operation,
  StateChange,
  StateChangeListener,
  TransitionReason,
} from './types.ts';

export type { CircuitBreakerOptions, FailurePredicate } from './options.ts';
export type { CircuitState } from './errors.ts';
export type {
  BreakerPermit,
  CircuitBreakerStats,
  Operation,
  StateChange,
  StateChangeListener,
  TransitionReason,
} from './types.ts';

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
type StateCode = typeof CLOSED | typeof OPEN | typeof HALF_OPEN;
const STATE_NAMES: readonly CircuitState[] = ['CLOSED', 'OPEN', 'HALF_OPEN'];

/** Target spacing of latency samples: ≤ 5000 timed calls/s, ≈ 0.1% of a core. */
const SAMPLE_GAP_MS = 0.2;

const REFUSED_OPEN = 0;
const REFUSED_BULKHEAD = 1;

/** Handed to operations when there is no timeout: one shared signal instead of a controller per call. */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * Settles a promise as rejected one microtask later, after the caller has attached its handler,
 * so V8 never reports it as an unhandled rejection that is later handled (Node's bookkeeping for
 * that pair costs more than the whole rest of a refusal). Unobserved, it still surfaces as an
 * unhandled rejection.
 */
class Rejection {
  constructor(private readonly reason: unknown) {}
  then(_resolve: unknown, reject: (reason: unknown) => void): void {
    reject(this.reason);
  }
}
function rejectSoon<T>(reason: unknown): Promise<T> {
  return Promise.resolve(new Rejection(reason) as unknown as PromiseLike<T>);
}

interface Waiter {
  fn: Operation<unknown>;
  label: string | undefined;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export class CircuitBreaker {
  readonly name: string;
  private readonly opts: ResolvedOptions;
  private readonly clock: Clock;
  private readonly now: () => number;
  private readonly hrNow: () => number;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly isFailure: FailurePredicate;
  /** No bulkhead and no timeout: CLOSED calls take the one-function fast path. */
  private readonly plain: boolean;
  /** The decision to open, and its two parts (kept for stats). */
  private readonly trip: TripStrategy;
  private readonly consecutive: ConsecutiveFailures;
  private readonly rate: FailureRate | null;
  private readonly bulkhead: Bulkhead<Waiter>;
  private readonly latency = new LatencyHistogram();
  private readonly listeners: StateChangeListener[] = [];
  private readonly onCooldownTimer: () => void;
  private closedHandlers: ClosedHandlers;

  private state: StateCode = CLOSED;
  /** Bumped on every transition; outcomes from an older epoch do not move the state machine. */
  private epoch = 0;
  private forced = false;
  private probesInFlight = 0;
  private failedProbes = 0;
  private openUntil = 0;
  private currentCooldownMs = 0;
  private refusedAt = 0;
  private cooldownTimer: TimerHandle | undefined = undefined;
  private pumping = false;
  private sampleCountdown = 1;
  private sampleEvery = 1;
  private lastSampleAt = -Infinity;

  private calls = 0;
  private successes = 0;
  private failures = 0;
  private ignored = 0;
  private released = 0;
  private timeouts = 0;
  private rejectedOpen = 0;
  private rejectedBulkhead = 0;
  private lingering = 0;
  private lateSettlements = 0;
  private transitionCount = 0;
  /** Transitions by the state entered (indexed by state code). */
  private readonly transitionsByTarget = [0, 0, 0];
  private listenerErrors = 0;
  private classifierErrors = 0;
  private lastChange: StateChange | null = null;
  private lastError: unknown = undefined;
  private lastErrorLabel: string | undefined = undefined;
  private lastErrorAt = 0;
  private hasFailed = false;

  constructor(options: CircuitBreakerOptions = {}) {
    const o = resolveOptions(options);
    this.opts = o;
    this.name = redactText(o.name);
    this.clock = o.clock;
    this.now = o.now;
    this.hrNow = o.hrNow;
    this.random = o.random;
    this.logger = o.logger;
    this.isFailure = o.isFailure;
    this.plain = o.maxConcurrent === Infinity && o.timeoutMs === 0;
    this.consecutive = new ConsecutiveFailures(o.failureThreshold);
    this.rate =
      o.failureRateThreshold > 0 ? new FailureRate(o.failureRateThreshold, o.windowSize, o.minimumCalls) : null;
    this.trip = this.rate === null ? this.consecutive : new EitherTrips(this.consecutive, this.rate);
    this.bulkhead = new Bulkhead(o.maxConcurrent, o.maxQueue);
    this.onCooldownTimer = () => this.wake();
    this.closedHandlers = closedHandlers(this, this.epoch);
  }

  /**
   * Runs `fn` through the breaker. Rejects with CircuitOpenError without calling `fn` while OPEN
   * (or HALF_OPEN with every probe slot taken), BulkheadFullError when the bulkhead and its queue
   * are full, TimeoutError after `timeoutMs`; otherwise settles as `fn` does. The label names the
   * call in failure details and timeout errors.
   */
  execute<T>(fn: Operation<T>): Promise<T>;
  execute<T>(label: string, fn: Operation<T>): Promise<T>;
  execute<T>(a: string | Operation<T>, b?: Operation<T>): Promise<T> {
    let fn: Operation<T> | undefined;
    let label: string | undefined;
    if (typeof a === 'function') fn = a;
    else if (typeof a === 'string') {
      label = a;
      fn = b;
    }
    if (typeof fn !== 'function') {
      return Promise.reject(new TypeError(`CircuitBreaker "${this.name}": execute([label,] fn) needs a function`));
    }
    if (this.state === CLOSED && this.plain) return this.executeClosed(fn, label);
    return this.executeGuarded(fn, label);
  }

  /** The per-call deadline (ms), or undefined when calls have none. */
  get timeoutMs(): number | undefined {
    return this.opts.timeoutMs > 0 ? this.opts.timeoutMs : undefined;
  }

  /** 'CLOSED' | 'OPEN' | 'HALF_OPEN'; reports HALF_OPEN as soon as the cooldown has passed. */
  getState(): CircuitState {
    this.refresh();
    return STATE_NAMES[this.state]!;
  }

  /**
   * Whether a call would be admitted right now, without admitting it or counting anything
   * (a full bulkhead answers false: this is the no-queue view that tryAcquire has).
   */
  isCallPermitted(): boolean {
    this.refresh();
    if (this.state === OPEN) return false;
    if (this.state === HALF_OPEN && this.probesInFlight >= this.opts.halfOpenMaxCalls) return false;
    return !this.bulkhead.full;
  }

  /** Admits one call the caller will perform itself, or returns null (counted as a rejection). Never queues. */
  tryAcquire(label?: string): BreakerPermit | null {
    const r = this.acquireCore(label);
    return r === REFUSED_OPEN || r === REFUSED_BULKHEAD ? null : r;
  }

  /** As tryAcquire, but throws CircuitOpenError or BulkheadFullError instead of returning null. */
  acquire(label?: string): BreakerPermit {
    const r = this.acquireCore(label);
    if (r === REFUSED_OPEN) throw this.openError();
    if (r === REFUSED_BULKHEAD) throw bulkheadFullError(this.name, this.opts.maxConcurrent, this.opts.maxQueue);
    return r;
  }

  /** Holds the circuit OPEN (refusing every call) until reset(); no cooldown, no probes. */
  forceOpen(reason = 'forced open by operator'): void {
    const detail = redactText(reason);
    this.forced = true;
    if (this.state === OPEN) {
      this.cancelCooldownTimer();
      this.openUntil = Infinity;
      this.logger.warn({ breaker: this.name, detail }, 'circuit held open');
      return;
    }
    this.transition(OPEN, 'FORCED_OPEN', detail);
  }

  /** Closes the circuit and clears its failure counts (also ends a forceOpen). */
  reset(reason = 'reset by operator'): void {
    const detail = redactText(reason);
    if (this.state === CLOSED) {
      this.forced = false;
      this.failedProbes = 0;
      this.trip.reset();
      this.logger.info({ breaker: this.name, detail }, 'circuit counters reset');
      return;
    }
    this.transition(CLOSED, 'RESET', detail);
  }

  /** Listens to every transition (with its reason). Returns the function that unsubscribes. */
  onStateChange(listener: StateChangeListener): () => void {
    if (typeof listener !== 'function')
      throw new TypeError(`CircuitBreaker "${this.name}": onStateChange needs a function`);
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  getStats(): CircuitBreakerStats {
    this.refresh();
    const queued = this.bulkhead.queued;
    const settled =
      this.successes + this.failures + this.ignored + this.released + this.rejectedOpen + this.rejectedBulkhead;
    const w = this.rate?.window;
    return {
      name: this.name,
      state: STATE_NAMES[this.state]!,
      forced: this.forced,
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      ignored: this.ignored,
      released: this.released,
      timeouts: this.timeouts,
      rejections: { open: this.rejectedOpen, bulkhead: this.rejectedBulkhead },
      consecutiveFailures: this.consecutive.count,
      inFlight: this.calls - settled - queued,
      queued,
      lingering: this.lingering,
      lateSettlements: this.lateSettlements,
      probesInFlight: this.state === HALF_OPEN ? this.probesInFlight : 0,
      failedProbes: this.failedProbes,
      cooldownMs: this.currentCooldownMs,
      retryAfterMs: this.state === OPEN ? this.retryAfter(this.now()) : 0,
      window: w ? { size: w.size, calls: w.calls, failures: w.failures, failureRate: w.failureRate } : null,
      transitions: this.transitionCount,
      transitionsTo: {
        CLOSED: this.transitionsByTarget[CLOSED]!,
        OPEN: this.transitionsByTarget[OPEN]!,
        HALF_OPEN: this.transitionsByTarget[HALF_OPEN]!,
      },
      lastTransition: this.lastChange ? { ...this.lastChange } : null,
      lastFailure: this.hasFailed
        ? {
            label: this.lastErrorLabel,
            code: codeOf(this.lastError),
            message: describeError(this.lastError),
            at: this.lastErrorAt,
          }
        : null,
      latency: { ...this.latency.summary(), sampledEvery: this.sampleEvery },
      listenerErrors: this.listenerErrors,
      classifierErrors: this.classifierErrors,
    };
  }

  // ---- execution paths ------------------------------------------------------------------

  /**
   * CLOSED, no bulkhead, no timeout: the hot path. The outcome handlers are built once per
   * CLOSED epoch (they carry it), so an unsampled call allocates only its promise (and, with a
   * label, one small failure closure).
   */
  private executeClosed<T>(fn: Operation<T>, label: string | undefined): Promise<T> {
    this.calls++;
    const t0 = this.sample();
    if (t0 >= 0) return this.runPlain(fn, label, this.epoch, false, t0);
    let result: T | PromiseLike<T>;
    try {
      result = fn(NEVER_ABORTED);
    } catch (err) {
      this.settleFailure(err, this.epoch, -1, label, true);
      return rejectSoon(err);
    }
    const h = this.closedHandlers;
    return Promise.resolve(result).then(h.ok, label === undefined ? h.fail : h.failWith(label)) as Promise<T>;
  }

  /**
   * Starts a latency sample every `sampleEvery` calls: returns its start time, else -1. The
   * interval adapts so samples are about SAMPLE_GAP_MS apart: at ordinary call rates every call
   * is timed; only at very high rates are calls skipped (never more than latencySampleEvery - 1).
   */
  private sample(): number {
    if (--this.sampleCountdown !== 0) return -1;
    const t = this.hrNow();
    const gap = t - this.lastSampleAt;
    this.lastSampleAt = t;
    const max = this.opts.latencySampleEvery;
    let every = gap > 0 ? Math.ceil((this.sampleEvery * SAMPLE_GAP_MS) / gap) : max;
    if (every > max) every = max;
    else if (every < 1) every = 1;
    this.sampleEvery = every;
    this.sampleCountdown = every;
    return t;
  }

  private executeGuarded<T>(fn: Operation<T>, label: string | undefined): Promise<T> {
    this.calls++;
    if (!this.admit()) return this.refuseOpen();
    if (this.bulkhead.full) {
      // A probe never waits: it is refused like any call beyond the probe slots.
      const probe = this.state === HALF_OPEN;
      if (probe) this.probesInFlight--;
      if (probe || !this.bulkhead.canQueue()) {
        this.rejectedBulkhead++;
        return rejectSoon(bulkheadFullError(this.name, this.opts.maxConcurrent, this.opts.maxQueue));
      }
      return new Promise<T>((resolve, reject) => {
        this.bulkhead.enqueue({ fn, label, resolve: resolve as (v: unknown) => void, reject });
      });
    }
    return this.start(fn, label);
  }

  private start<T>(fn: Operation<T>, label: string | undefined): Promise<T> {
    const slotted = this.bulkhead.limited;
    if (slotted) this.bulkhead.take();
    return this.opts.timeoutMs > 0
      ? this.runTimed(fn, label, this.epoch, slotted)
      : this.runPlain(fn, label, this.epoch, slotted, this.sample());
  }

  private async runPlain<T>(
    fn: Operation<T>,
    label: string | undefined,
    epoch: number,
    slotted: boolean,
    t0: number,
  ): Promise<T> {
    let value: T;
    try {
      value = await fn(NEVER_ABORTED);
    } catch (err) {
      this.settleFailure(err, epoch, t0 < 0 ? -1 : this.hrNow() - t0, label, true);
      if (slotted) this.freeSlot();
      throw err;
    }
    this.settleSuccess(epoch, t0 < 0 ? -1 : this.hrNow() - t0);
    if (slotted) this.freeSlot();
    return value;
  }

  private runTimed<T>(fn: Operation<T>, label: string | undefined, epoch: number, slotted: boolean): Promise<T> {
    const t0 = this.sample();
    const elapsed = (): number => (t0 < 0 ? -1 : this.hrNow() - t0);
    return runWithDeadline(this.clock, this.opts.timeoutMs, fn, {
      timedOut: () => {
        const err = timeoutError(this.name, this.opts.timeoutMs, label);
        this.timeouts++;
        this.lingering++;
        // A timeout always counts: the caller's isFailure is for errors the resource returned.
        this.settleFailure(err, epoch, elapsed(), label, false);
        return err;
      },
      settled: (ok, outcome) => {
        if (ok) this.settleSuccess(epoch, elapsed());
        else this.settleFailure(outcome, epoch, elapsed(), label, true);
        if (slotted) this.freeSlot();
      },
      late: () => {
        // The caller already has its TimeoutError; the slot was held until now on purpose.
        this.lingering--;
        this.lateSettlements++;
        if (slotted) this.freeSlot();
      },
    });
  }

  private acquireCore(label: string | undefined): Permit | typeof REFUSED_OPEN | typeof REFUSED_BULKHEAD {
    this.calls++;
    if (!this.admit()) {
      this.rejectedOpen++;
      return REFUSED_OPEN;
    }
    const probe = this.state === HALF_OPEN;
    if (this.bulkhead.full) {
      if (probe) this.probesInFlight--;
      this.rejectedBulkhead++;
      return REFUSED_BULKHEAD;
    }
    const slotted = this.bulkhead.limited;
    if (slotted) this.bulkhead.take();
    return new Permit(this, this.epoch, this.hrNow(), probe, slotted, label);
  }

  private refuseOpen<T>(): Promise<T> {
    this.rejectedOpen++;
    return rejectSoon(this.openError());
  }

  private openError(): CircuitOpenError {
    if (this.state === HALF_OPEN) return circuitOpenError(this.name, 'HALF_OPEN', 0);
    return circuitOpenError(this.name, 'OPEN', this.retryAfter(this.refusedAt));
  }

  private retryAfter(at: number): number {
    if (this.forced) return this.opts.cooldownMs;
    const left = this.openUntil - at;
    return Math.max(left, 0);
  }

  private freeSlot(): void {
    if (this.bulkhead.release()) this.pump();
  }

  private pump(): void {
    // Re-entrancy (a started call failing synchronously frees its slot) is absorbed by the loop.
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let w = this.bulkhead.next(); w !== undefined; w = this.bulkhead.next()) {
        if (!this.admit()) {
          this.rejectedOpen++;
          w.reject(this.openError());
          continue;
        }
        this.start(w.fn, w.label).then(w.resolve, w.reject);
      }
    } finally {
      this.pumping = false;
    }
  }

  // ---- the state machine ----------------------------------------------------------------

  /** Admits a call in the current state (taking a probe slot when HALF_OPEN) or refuses it. */
  private admit(): boolean {
    if (this.state === CLOSED) return true;
    if (this.state === OPEN) {
      const t = this.now();
      if (this.forced || t < this.openUntil) {
        this.refusedAt = t;
        return false;
      }
      this.transition(HALF_OPEN, 'COOLDOWN_ELAPSED', 'cooldown elapsed; admitting probes');
      // A listener may have moved the circuit on.
      const now = this.state as StateCode;
      if (now !== HALF_OPEN) return now === CLOSED;
    }
    if (this.probesInFlight >= this.opts.halfOpenMaxCalls) return false;
    this.probesInFlight++;
    return true;
  }

  private refresh(): void {
    if (this.state === OPEN && !this.forced && this.now() >= this.openUntil) {
      this.transition(HALF_OPEN, 'COOLDOWN_ELAPSED', 'cooldown elapsed; admitting probes');
    }
  }

  private wake(): void {
    this.cooldownTimer = undefined;
    if (this.state !== OPEN || this.forced) return;
    const left = this.openUntil - this.now();
    // A timer may fire a little early against a wall clock that was adjusted: wait the rest.
    if (left > 0) this.cooldownTimer = this.clock.setTimeout(this.onCooldownTimer, timerDelay(left));
    else this.transition(HALF_OPEN, 'COOLDOWN_ELAPSED', 'cooldown elapsed; admitting probes');
  }

  /** @internal Outcome bookkeeping shared by execute and permits. */
  settleSuccess(epoch: number, latencyMs: number): void {
    this.successes++;
    if (latencyMs >= 0) this.latency.record(latencyMs);
    if (epoch !== this.epoch) return;
    if (this.state === CLOSED) {
      this.trip.success();
    } else if (this.state === HALF_OPEN) {
      this.transition(CLOSED, 'PROBE_SUCCEEDED', 'a probe succeeded');
    }
  }

  /** @internal Returns whether the error was counted as a failure. */
  settleFailure(err: unknown, epoch: number, latencyMs: number, label: string | undefined, classify: boolean): boolean {
    if (latencyMs >= 0) this.latency.record(latencyMs);
    if (classify && !this.counts(err)) {
      this.ignored++;
      if (epoch === this.epoch && this.state === HALF_OPEN) this.probesInFlight--;
      return false;
    }
    this.failures++;
    this.hasFailed = true;
    this.lastError = err;
    this.lastErrorLabel = label;
    this.lastErrorAt = this.now();
    if (epoch !== this.epoch) return true;
    if (this.state === CLOSED) {
      const trip = this.trip.failure();
      if (trip !== null) this.transition(OPEN, trip.reason, `${trip.detail}; last: ${failureText(err, label)}`);
    } else if (this.state === HALF_OPEN) {
      this.failedProbes++;
      this.transition(OPEN, 'PROBE_FAILED', `probe failed: ${failureText(err, label)}`);
    }
    return true;
  }

  /** @internal A permit given back without an outcome. */
  settleReleased(epoch: number): void {
    this.released++;
    if (epoch === this.epoch && this.state === HALF_OPEN) this.probesInFlight--;
  }

  /** @internal */
  freePermitSlot(): void {
    this.freeSlot();
  }

  /** @internal */
  elapsedSince(t0: number): number {
    return this.hrNow() - t0;
  }

  private counts(err: unknown): boolean {
    try {
      // Only an explicit `false` passes an error through: a predicate that forgets to return
      // must not silently stop the breaker from ever tripping.
      return this.isFailure(err) !== false;
    } catch (classifierError) {
      this.classifierErrors++;
      this.logger.error(
        { breaker: this.name, err: classifierError },
        'isFailure threw; counting the error as a failure',
      );
      return true;
    }
  }

  private transition(to: StateCode, reason: TransitionReason, detail: string): void {
    const from = this.state;
    const at = this.now();
    this.state = to;
    this.epoch++;
    this.transitionCount++;
    this.transitionsByTarget[to]!++;
    this.probesInFlight = 0;
    this.cancelCooldownTimer();
    if (to === OPEN) {
      if (this.forced) {
        this.openUntil = Infinity;
        this.currentCooldownMs = 0;
      } else {
        const o = this.opts;
        const base = Math.min(o.maxCooldownMs, o.cooldownMs * o.backoffMultiplier ** this.failedProbes);
        const r = this.random();
        // Clamped so a misbehaving random source can neither shorten the cooldown nor break it.
        const unit = r > 0 ? Math.min(r, 1) : 0;
        this.currentCooldownMs = base + unit * o.jitterRatio * base;
        this.openUntil = at + this.currentCooldownMs;
        this.cooldownTimer = this.clock.setTimeout(this.onCooldownTimer, timerDelay(this.currentCooldownMs));
      }
    } else if (to === CLOSED) {
      this.closedHandlers = closedHandlers(this, this.epoch);
      this.forced = false;
      this.failedProbes = 0;
      this.openUntil = 0;
      this.trip.reset();
    }
    const change: StateChange = {
      breaker: this.name,
      from: STATE_NAMES[from]!,
      to: STATE_NAMES[to]!,
      reason,
      detail,
      at,
    };
    this.lastChange = change;
    const fields = {
      breaker: this.name,
      from: change.from,
      to: change.to,
      reason,
      detail,
      cooldownMs: to === OPEN ? this.currentCooldownMs : undefined,
    };
    if (to === OPEN) this.logger.warn(fields, 'circuit opened');
    else this.logger.info(fields, to === CLOSED ? 'circuit closed' : 'circuit half-open');
    if (to === OPEN) this.dropQueue();
    this.emit(change);
  }

  /** Queued calls would only be refused later: refuse them now so they fail over at once. */
  private dropQueue(): void {
    if (this.bulkhead.queued === 0) return;
    const waiters = this.bulkhead.drain();
    this.rejectedOpen += waiters.length;
    const err = circuitOpenError(this.name, 'OPEN', this.retryAfter(this.now()));
    for (const w of waiters) w.reject(err);
  }

  private emit(change: StateChange): void {
    if (this.listeners.length === 0) return;
    for (const listener of this.listeners.slice()) {
      try {
        listener(change);
      } catch (err) {
        this.listenerErrors++;
        this.logger.error({ breaker: this.name, err }, 'state-change listener threw');
      }
    }
  }

  private cancelCooldownTimer(): void {
    if (this.cooldownTimer !== undefined) {
      this.clock.clearTimeout(this.cooldownTimer);
      this.cooldownTimer = undefined;
    }
  }
}

interface ClosedHandlers {
  ok: (value: unknown) => unknown;
  fail: (err: unknown) => Rejection;
  failWith: (label: string) => (err: unknown) => Rejection;
}

/**
 * Outcome handlers of the fast path for one CLOSED epoch. The failure handler returns a
 * Rejection instead of rethrowing: a throw inside a promise reaction costs several hundred ns.
 */
function closedHandlers(breaker: CircuitBreaker, epoch: number): ClosedHandlers {
  return {
    ok: (value) => {
      breaker.settleSuccess(epoch, -1);
      return value;
    },
    fail: (err) => {
      breaker.settleFailure(err, epoch, -1, undefined, true);
      return new Rejection(err);
    },
    failWith: (label) => (err) => {
      breaker.settleFailure(err, epoch, -1, label, true);
      return new Rejection(err);
    },
  };
}

/**
 * A cooldown with backoff and jitter may exceed what a timer honours (2^31−1 ms; beyond it Node
 * fires at once). The timer then wakes early and wake() waits the rest.
 */
function timerDelay(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}

function describeError(err: unknown): string {
  let text: string;
  try {
    if (err instanceof Error) text = `${err.name}: ${err.message}`;
    else if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
      text = (err as { message: string }).message;
    } else text = String(err);
  } catch {
    // Anything may be thrown: a null-prototype object, a revoked Proxy, a throwing getter.
    text = `(a thrown ${typeof err} that cannot be shown)`;
  }
  text = redactText(text);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** The error's string `code`, if reading it is safe. */
function codeOf(err: unknown): string | undefined {
  try {
    const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function failureText(err: unknown, label: string | undefined): string {
  return label ? `${redactText(label)}: ${describeError(err)}` : describeError(err);
}
