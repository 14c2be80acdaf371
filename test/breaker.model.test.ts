// The breaker against a small model of its state machine (fast-check's commands API), tripping on
// consecutive failures and, in some runs, on a failure rate: random sequences of successes,
// counted failures, timeouts, ignored (caller) errors, held half-open
// probes settled later, operator force-open/reset and clock advances, with an injected clock and
// jitter source. After every command the breaker's state, counts and cooldown must match the model.
//
// Replay a failure: PALISADE_FUZZ_SEED=<seed> PALISADE_FUZZ_PATH=<path> node --import tsx --test test/breaker.model.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertBreakerAccounting } from './support/breaker-accounting.ts';
import fc from 'fast-check';
import { ManualClock } from '../src/clock.ts';
import {
  CircuitBreaker,
  CircuitOpenError,
  TimeoutError,
  type BreakerPermit,
  type CircuitState,
} from '../src/breaker/index.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';

const FILE = 'test/breaker.model.test.ts';

interface Config {
  failureThreshold: number;
  cooldownMs: number;
  jitterRatio: number;
  backoffMultiplier: number;
  maxCooldownMs: number;
  halfOpenMaxCalls: number;
  /** 0: no failure-rate trip; else failureRateThreshold over the last windowSize outcomes. */
  failureRateThreshold: number;
  windowSize: number;
  minimumCalls: number;
  /** 0: no per-call deadline (the CLOSED fast path); else the breaker's timeoutMs. */
  timeoutMs: number;
  /** What the jitter source returns, in turn (some outside [0, 1): a misbehaving source). */
  randoms: number[];
}

interface HeldPermit {
  epoch: number;
}

/** What the breaker should be, kept by the rules the README states, not by its code. */
class Model {
  state: CircuitState = 'CLOSED';
  epoch = 0;
  forced = false;
  consecutive = 0;
  /** The last windowSize CLOSED outcomes (true = failure), when a failure rate is configured. */
  window: boolean[] = [];
  failedProbes = 0;
  probesInFlight = 0;
  openUntil = 0;
  cooldownMs = 0;
  now: number;
  nextRandom = 0;
  transitions = 0;
  lastReason: string | null = null;
  calls = 0;
  successes = 0;
  failures = 0;
  ignored = 0;
  released = 0;
  timeouts = 0;
  rejectedOpen = 0;
  held: HeldPermit[] = [];

  constructor(
    readonly cfg: Config,
    start: number,
  ) {
    this.now = start;
  }

  private transition(to: CircuitState, reason: string): void {
    this.state = to;
    this.epoch++;
    this.transitions++;
    this.lastReason = reason;
    this.probesInFlight = 0;
    if (to === 'OPEN') {
      if (this.forced) {
        this.openUntil = Infinity;
        this.cooldownMs = 0;
      } else {
        const c = this.cfg;
        const base = Math.min(c.maxCooldownMs, c.cooldownMs * c.backoffMultiplier ** this.failedProbes);
        const r = c.randoms[this.nextRandom++ % c.randoms.length]!;
        // The cooldown never gets shorter than its base nor longer than base × (1 + ratio).
        const unit = Number.isNaN(r) || r <= 0 ? 0 : Math.min(r, 1);
        this.cooldownMs = base + unit * c.jitterRatio * base;
        this.openUntil = this.now + this.cooldownMs;
      }
    } else if (to === 'CLOSED') {
      this.forced = false;
      this.consecutive = 0;
      this.window = [];
      this.failedProbes = 0;
      this.openUntil = 0;
    }
  }

  private record(failure: boolean): void {
    if (this.cfg.failureRateThreshold === 0) return;
    this.window.push(failure);
    if (this.window.length > this.cfg.windowSize) this.window.shift();
  }

  private rateReached(): boolean {
    const w = this.window;
    if (this.cfg.failureRateThreshold === 0 || w.length < this.cfg.minimumCalls) return false;
    return w.filter(Boolean).length / w.length >= this.cfg.failureRateThreshold;
  }

  /** A call arrives: admitted (true) or refused as open (false). */
  admit(): boolean {
    this.calls++;
    if (this.state === 'OPEN') {
      if (this.forced || this.now < this.openUntil) {
        this.rejectedOpen++;
        return false;
      }
      this.transition('HALF_OPEN', 'COOLDOWN_ELAPSED');
    }
    if (this.state === 'HALF_OPEN') {
      if (this.probesInFlight >= this.cfg.halfOpenMaxCalls) {
        this.rejectedOpen++;
        return false;
      }
      this.probesInFlight++;
    }
    return true;
  }

  success(epoch: number): void {
    this.successes++;
    if (epoch !== this.epoch) return;
    if (this.state === 'CLOSED') {
      this.consecutive = 0;
      this.record(false);
    } else if (this.state === 'HALF_OPEN') this.transition('CLOSED', 'PROBE_SUCCEEDED');
  }

  failure(epoch: number): void {
    this.failures++;
    if (epoch !== this.epoch) return;
    if (this.state === 'CLOSED') {
      this.consecutive++;
      this.record(true);
      if (this.consecutive >= this.cfg.failureThreshold) this.transition('OPEN', 'FAILURE_THRESHOLD');
      else if (this.rateReached()) this.transition('OPEN', 'FAILURE_RATE');
    } else if (this.state === 'HALF_OPEN') {
      this.failedProbes++;
      this.transition('OPEN', 'PROBE_FAILED');
    }
  }

  /** An ignored error or a released permit: it frees its probe slot and decides nothing. */
  noOutcome(epoch: number, kind: 'ignored' | 'released'): void {
    this[kind]++;
    if (epoch === this.epoch && this.state === 'HALF_OPEN') this.probesInFlight--;
  }

  advance(ms: number): void {
    this.now += ms;
    this.refresh();
  }

  /** The cooldown timer, or any read of the state, moves an elapsed OPEN circuit to HALF_OPEN. */
  refresh(): void {
    if (this.state === 'OPEN' && !this.forced && this.now >= this.openUntil)
      this.transition('HALF_OPEN', 'COOLDOWN_ELAPSED');
  }

  forceOpen(): void {
    this.forced = true;
    if (this.state === 'OPEN') {
      this.openUntil = Infinity;
      return;
    }
    this.transition('OPEN', 'FORCED_OPEN');
  }

  reset(): void {
    if (this.state === 'CLOSED') {
      this.forced = false;
      this.consecutive = 0;
      this.window = [];
      this.failedProbes = 0;
      return;
    }
    this.transition('CLOSED', 'RESET');
  }
}

interface Real {
  breaker: CircuitBreaker;
  clock: ManualClock;
  held: BreakerPermit[];
}

function compare(m: Model, r: Real): void {
  const s = r.breaker.getStats();
  m.refresh();
  const where = `model ${JSON.stringify({ state: m.state, consecutive: m.consecutive, failedProbes: m.failedProbes, probes: m.probesInFlight, cooldownMs: m.cooldownMs })}`;
  assert.equal(s.state, m.state, where);
  assert.equal(s.forced, m.forced, where);
  assert.equal(s.consecutiveFailures, m.consecutive, where);
  assert.equal(s.failedProbes, m.failedProbes, where);
  assert.equal(s.probesInFlight, m.state === 'HALF_OPEN' ? m.probesInFlight : 0, where);
  assert.equal(s.transitions, m.transitions, where);
  assert.equal(s.lastTransition?.reason ?? null, m.lastReason, where);
  assert.equal(s.calls, m.calls, where);
  assert.equal(s.successes, m.successes, where);
  assert.equal(s.failures, m.failures, where);
  assert.equal(s.ignored, m.ignored, where);
  assert.equal(s.released, m.released, where);
  assert.equal(s.timeouts, m.timeouts, where);
  assert.equal(s.rejections.open, m.rejectedOpen, where);
  assert.equal(s.rejections.bulkhead, 0, where);
  if (m.cfg.failureRateThreshold > 0) {
    assert.deepEqual(
      s.window && [s.window.calls, s.window.failures],
      [m.window.length, m.window.filter(Boolean).length],
      where,
    );
  } else assert.equal(s.window, null);
  if (m.state === 'OPEN') {
    assert.equal(s.cooldownMs, m.cooldownMs, where);
    assert.equal(s.retryAfterMs, m.forced ? m.cfg.cooldownMs : Math.max(0, m.openUntil - m.now), where);
  }
  // Timed-out calls never settle here: each has its outcome (a failure) and lingers.
  assert.equal(s.lingering, m.timeouts);
  assert.equal(s.inFlight, m.held.length, where);
  assertBreakerAccounting(s);
}

type Outcome = 'success' | 'failure' | 'ignored';

const callerError = (): Error => Object.assign(new Error('bad params'), { isCallerError: true });

/** One call through execute() that settles at once with the given outcome. */
class CallCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly outcome: Outcome) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const admitted = m.admit();
    // Read after admission, which may itself have moved an elapsed OPEN circuit to HALF_OPEN.
    const admittedEpoch = m.epoch;
    const p = r.breaker.execute(() =>
      this.outcome === 'success'
        ? Promise.resolve('ok')
        : Promise.reject(this.outcome === 'ignored' ? callerError() : new Error('down')),
    );
    if (!admitted) {
      await assert.rejects(p, CircuitOpenError);
    } else if (this.outcome === 'success') {
      assert.equal(await p, 'ok');
      m.success(admittedEpoch);
    } else {
      await assert.rejects(p, /bad params|down/);
      if (this.outcome === 'ignored') m.noOutcome(admittedEpoch, 'ignored');
      else m.failure(admittedEpoch);
    }
    compare(m, r);
  }
  toString(): string {
    return `call(${this.outcome})`;
  }
}

/** A call that never settles: the breaker's deadline fails it (only with timeoutMs). */
class TimeoutCommand implements fc.AsyncCommand<Model, Real> {
  check(m: Readonly<Model>): boolean {
    return m.cfg.timeoutMs > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const admitted = m.admit();
    const epoch = m.epoch;
    const p = r.breaker.execute(() => new Promise<never>(() => {}));
    if (!admitted) {
      await assert.rejects(p, CircuitOpenError);
    } else {
      r.clock.advance(m.cfg.timeoutMs);
      await assert.rejects(p, TimeoutError);
      m.now += m.cfg.timeoutMs;
      m.timeouts++;
      m.failure(epoch);
    }
    compare(m, r);
  }
  toString(): string {
    return 'timeout';
  }
}

/** Takes a permit and holds it (a slow call, a HALF_OPEN probe in flight). */
class HoldCommand implements fc.AsyncCommand<Model, Real> {
  check(m: Readonly<Model>): boolean {
    return m.held.length < 4;
  }
  async run(m: Model, r: Real): Promise<void> {
    const admitted = m.admit();
    const permit = r.breaker.tryAcquire('held');
    assert.equal(permit !== null, admitted);
    if (permit !== null) {
      assert.equal(permit.probe, m.state === 'HALF_OPEN');
      r.held.push(permit);
      m.held.push({ epoch: m.epoch });
    }
    compare(m, r);
  }
  toString(): string {
    return 'hold';
  }
}

/** Settles the oldest held permit. */
class SettleCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly how: Outcome | 'release') {}
  check(m: Readonly<Model>): boolean {
    return m.held.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const { epoch } = m.held.shift()!;
    const permit = r.held.shift()!;
    if (this.how === 'success') {
      assert.equal(permit.onSuccess(), true);
      m.success(epoch);
    } else if (this.how === 'failure') {
      assert.equal(permit.onFailure(new Error('down')), true);
      m.failure(epoch);
    } else if (this.how === 'ignored') {
      assert.equal(permit.onFailure(callerError()), true);
      m.noOutcome(epoch, 'ignored');
    } else {
      assert.equal(permit.release(), true);
      m.noOutcome(epoch, 'released');
    }
    // A second settlement is a no-op.
    assert.equal(permit.release(), false);
    compare(m, r);
  }
  toString(): string {
    return `settle(${this.how})`;
  }
}

class AdvanceCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    r.clock.advance(this.ms);
    m.advance(this.ms);
    compare(m, r);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

class OperatorCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly action: 'forceOpen' | 'reset') {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    r.breaker[this.action]();
    m[this.action]();
    compare(m, r);
  }
  toString(): string {
    return this.action;
  }
}

const configArb: fc.Arbitrary<Config> = fc
  .record({
    failureThreshold: fc.integer({ min: 1, max: 4 }),
    cooldownMs: fc.constantFrom(0, 50, 100),
    jitterRatio: fc.constantFrom(0, 0.1, 0.5),
    backoffMultiplier: fc.constantFrom(1, 2, 3),
    maxFactor: fc.constantFrom(1, 4),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
    failureRateThreshold: fc.constantFrom(0, 0, 0.25, 0.5, 1),
    windowSize: fc.integer({ min: 1, max: 6 }),
    minimumFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    timeoutMs: fc.constantFrom(0, 30),
    randoms: fc.array(
      fc.oneof(
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.constantFrom(-0.5, 1, 1.5, Number.NaN),
      ),
      { minLength: 1, maxLength: 8 },
    ),
  })
  .map(({ maxFactor, minimumFraction, ...c }) => ({
    ...c,
    maxCooldownMs: c.cooldownMs * maxFactor,
    minimumCalls: Math.max(1, Math.ceil(minimumFraction * c.windowSize)),
  }));

const commandsArb = fc.commands(
  [
    fc.constantFrom<Outcome>('success', 'failure', 'ignored').map((o) => new CallCommand(o)),
    fc.constant(new TimeoutCommand()),
    fc.constant(new HoldCommand()),
    fc.constantFrom<Outcome | 'release'>('success', 'failure', 'ignored', 'release').map((h) => new SettleCommand(h)),
    fc.constantFrom(1, 20, 49, 50, 120, 400).map((ms) => new AdvanceCommand(ms)),
    fc.constantFrom<'forceOpen' | 'reset'>('forceOpen', 'reset').map((a) => new OperatorCommand(a)),
  ],
  { maxCommands: 60 },
);

test('the breaker follows its state-machine model under random calls, probes, timeouts and time', async () => {
  await assertProperty(
    FILE,
    fc.asyncProperty(configArb, commandsArb, async (cfg, cmds) => {
      const clock = new ManualClock();
      let i = 0;
      const breaker = new CircuitBreaker({
        name: 'model',
        failureThreshold: cfg.failureThreshold,
        cooldownMs: cfg.cooldownMs,
        jitterRatio: cfg.jitterRatio,
        backoffMultiplier: cfg.backoffMultiplier,
        maxCooldownMs: cfg.maxCooldownMs,
        halfOpenMaxCalls: cfg.halfOpenMaxCalls,
        ...(cfg.failureRateThreshold > 0
          ? {
              failureRateThreshold: cfg.failureRateThreshold,
              windowSize: cfg.windowSize,
              minimumCalls: cfg.minimumCalls,
            }
          : {}),
        ...(cfg.timeoutMs > 0 ? { timeoutMs: cfg.timeoutMs } : {}),
        clock,
        random: () => cfg.randoms[i++ % cfg.randoms.length]!,
      });
      await fc.asyncModelRun(() => ({ model: new Model(cfg, clock.now()), real: { breaker, clock, held: [] } }), cmds);
    }),
    fuzzParams(150),
  );
});
