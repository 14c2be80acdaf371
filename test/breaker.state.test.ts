// The breaker's state machine under a ManualClock: every transition and its reason, cooldown
// jitter and backoff, half-open admission, operator controls, stale outcomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertBreakerAccounting } from './support/breaker-accounting.ts';
import { ManualClock } from '../src/clock.ts';
import {
  CircuitBreaker,
  CircuitOpenError,
  type StateChange,
  type CircuitBreakerOptions,
} from '../src/breaker/index.ts';

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const fine = (): Promise<string> => Promise.resolve('ok');
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function make(extra: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  const changes: StateChange[] = [];
  const breaker = new CircuitBreaker({
    name: 't',
    failureThreshold: 3,
    cooldownMs: 1000,
    random: () => 0,
    clock,
    ...extra,
  });
  breaker.onStateChange((c) => changes.push(c));
  return { clock, breaker, changes };
}

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(breaker.execute(boom), /boom/);
}

/** A controllable operation: settle it by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('every transition is heard with its reason: CLOSED→OPEN→HALF_OPEN→OPEN→HALF_OPEN→CLOSED', async () => {
  const { clock, breaker, changes } = make();
  await failTimes(breaker, 3);
  assert.equal(breaker.getState(), 'OPEN');
  clock.advance(1000);
  await assert.rejects(
    breaker.execute(() => Promise.reject(new Error('still down'))),
    /still down/,
  );
  assert.equal(breaker.getState(), 'OPEN');
  clock.advance(2000); // second cooldown is doubled by the backoff
  assert.equal(await breaker.execute(fine), 'ok');
  assert.equal(breaker.getState(), 'CLOSED');

  assert.deepEqual(
    changes.map((c) => [c.from, c.to, c.reason]),
    [
      ['CLOSED', 'OPEN', 'FAILURE_THRESHOLD'],
      ['OPEN', 'HALF_OPEN', 'COOLDOWN_ELAPSED'],
      ['HALF_OPEN', 'OPEN', 'PROBE_FAILED'],
      ['OPEN', 'HALF_OPEN', 'COOLDOWN_ELAPSED'],
      ['HALF_OPEN', 'CLOSED', 'PROBE_SUCCEEDED'],
    ],
  );
  assert.match(changes[0]!.detail, /3 consecutive failures; last: Error: boom/);
  assert.match(changes[2]!.detail, /probe failed: Error: still down/);
  assert.equal(changes[0]!.breaker, 't');
  const stats = breaker.getStats();
  assert.equal(stats.transitions, 5);
  assert.deepEqual(stats.lastTransition, changes[4]);
});

test('trips on exactly failureThreshold consecutive failures; a success resets the count', async () => {
  const { breaker } = make();
  await failTimes(breaker, 2);
  assert.equal(breaker.getStats().consecutiveFailures, 2);
  await breaker.execute(fine);
  assert.equal(breaker.getStats().consecutiveFailures, 0);
  await failTimes(breaker, 2);
  assert.equal(breaker.getState(), 'CLOSED');
  await failTimes(breaker, 1);
  assert.equal(breaker.getState(), 'OPEN');
});

test('while OPEN, calls are refused with CircuitOpenError (retryAfterMs) without running fn', async () => {
  const { clock, breaker } = make();
  await failTimes(breaker, 3);
  clock.advance(400);
  let ran = false;
  const err = await breaker
    .execute(() => {
      ran = true;
      return 1;
    })
    .catch((e: unknown) => e);
  assert.equal(ran, false);
  assert.ok(err instanceof CircuitOpenError);
  assert.equal(err.code, 'CIRCUIT_OPEN');
  assert.equal(err.state, 'OPEN');
  assert.equal(err.breaker, 't');
  assert.equal(err.retryAfterMs, 600);
  assert.match(err.message, /circuit "t" is OPEN; retry after 600 ms/);
  assert.equal(breaker.getStats().rejections.open, 1);
  assert.equal(breaker.getStats().retryAfterMs, 600);
});

test('getState() reports HALF_OPEN once the cooldown has passed, even with no timer and no call', () => {
  // `now` without a clock: time moves only when we say so, and the breaker must still see it.
  let t = 0;
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 500, random: () => 0, now: () => t });
  const permit = breaker.tryAcquire()!;
  permit.onFailure(new Error('x'));
  assert.equal(breaker.getState(), 'OPEN');
  t = 499;
  assert.equal(breaker.getState(), 'OPEN');
  t = 500;
  assert.equal(breaker.getState(), 'HALF_OPEN');
});

test('the cooldown timer moves the breaker to HALF_OPEN and notifies listeners without any call', async () => {
  const { clock, breaker, changes } = make();
  await failTimes(breaker, 3);
  assert.equal(clock.pendingTimers, 1);
  clock.advance(999);
  assert.equal(changes.length, 1);
  clock.advance(1);
  assert.equal(changes.length, 2);
  assert.equal(changes[1]!.to, 'HALF_OPEN');
  assert.equal(changes[1]!.at, 1_700_000_000_000 + 1000);
  assert.equal(clock.pendingTimers, 0);
});

test('jitter never shortens the cooldown: random 0 gives exactly cooldownMs, 0.999… gives < (1 + ratio) × cooldownMs', async () => {
  const low = make({ random: () => 0, jitterRatio: 0.1 });
  await failTimes(low.breaker, 3);
  low.clock.advance(999);
  assert.equal(low.breaker.getState(), 'OPEN');
  low.clock.advance(1);
  assert.equal(low.breaker.getState(), 'HALF_OPEN');

  const high = make({ random: () => 0.9999999, jitterRatio: 0.1 });
  await failTimes(high.breaker, 3);
  const cooldown = high.breaker.getStats().cooldownMs;
  assert.ok(cooldown > 1099.99 && cooldown < 1100, `cooldown ${cooldown}`);
  high.clock.advance(1099);
  assert.equal(high.breaker.getState(), 'OPEN');
  high.clock.advance(1);
  assert.equal(high.breaker.getState(), 'HALF_OPEN');
});

test('a random source outside [0, 1) is clamped: it can neither shorten nor blow up the cooldown', async () => {
  for (const [r, expected] of [
    [-5, 1000],
    [Number.NaN, 1000],
    [7, 1100],
  ] as const) {
    const { breaker } = make({ random: () => r, jitterRatio: 0.1 });
    await failTimes(breaker, 3);
    assert.equal(breaker.getStats().cooldownMs, expected, `random ${r}`);
  }
});

test('each failed probe multiplies the cooldown by backoffMultiplier, up to maxCooldownMs; closing resets it', async () => {
  const { clock, breaker } = make({ backoffMultiplier: 2, maxCooldownMs: 5000 });
  await failTimes(breaker, 3);
  const seen: number[] = [breaker.getStats().cooldownMs];
  for (let i = 0; i < 4; i++) {
    clock.advance(seen[seen.length - 1]!);
    assert.equal(breaker.getState(), 'HALF_OPEN');
    await assert.rejects(breaker.execute(boom));
    seen.push(breaker.getStats().cooldownMs);
  }
  assert.deepEqual(seen, [1000, 2000, 4000, 5000, 5000]);
  assert.equal(breaker.getStats().failedProbes, 4);
  clock.advance(5000);
  await breaker.execute(fine);
  assert.equal(breaker.getStats().failedProbes, 0);
  await failTimes(breaker, 3);
  assert.equal(breaker.getStats().cooldownMs, 1000, 'back to the base cooldown after closing');
});

test('the default cap is 4 × cooldownMs and jitter applies on top of the capped base', async () => {
  const { clock, breaker } = make({ random: () => 0.5, jitterRatio: 0.1 });
  await failTimes(breaker, 3);
  const seen = [breaker.getStats().cooldownMs];
  for (let i = 0; i < 3; i++) {
    clock.advance(10_000);
    await assert.rejects(breaker.execute(boom));
    seen.push(breaker.getStats().cooldownMs);
  }
  assert.deepEqual(seen, [1050, 2100, 4200, 4200]);
});

test('HALF_OPEN admits at most halfOpenMaxCalls concurrent probes and refuses the rest at once', async () => {
  const { clock, breaker } = make({ halfOpenMaxCalls: 2 });
  await failTimes(breaker, 3);
  clock.advance(1000);
  const a = deferred<string>();
  const b = deferred<string>();
  let ran = 0;
  const p1 = breaker.execute(() => {
    ran++;
    return a.promise;
  });
  const p2 = breaker.execute(() => {
    ran++;
    return b.promise;
  });
  const refused = await breaker
    .execute(() => {
      ran++;
      return 'x';
    })
    .catch((e: unknown) => e);
  assert.equal(ran, 2);
  assert.ok(refused instanceof CircuitOpenError);
  assert.equal(refused.state, 'HALF_OPEN');
  assert.equal(refused.retryAfterMs, 0);
  assert.equal(breaker.getStats().probesInFlight, 2);
  a.resolve('first');
  assert.equal(await p1, 'first');
  assert.equal(breaker.getState(), 'CLOSED', 'one probe success closes the circuit');
  b.reject(new Error('late probe failure'));
  await assert.rejects(p2, /late probe failure/);
  assert.equal(breaker.getState(), 'CLOSED', 'an outcome from the HALF_OPEN epoch does not move the CLOSED circuit');
  assert.equal(breaker.getStats().consecutiveFailures, 0);
});

test('a probe whose error is not a failure frees its slot and leaves the circuit HALF_OPEN', async () => {
  const { clock, breaker } = make({ isFailure: (e) => !(e instanceof RangeError) });
  await failTimes(breaker, 3);
  clock.advance(1000);
  await assert.rejects(
    breaker.execute(() => Promise.reject(new RangeError('caller mistake'))),
    RangeError,
  );
  assert.equal(breaker.getState(), 'HALF_OPEN');
  assert.equal(breaker.getStats().probesInFlight, 0);
  assert.equal(await breaker.execute(fine), 'ok');
  assert.equal(breaker.getState(), 'CLOSED');
});

test('outcomes of calls admitted before the circuit opened never move the state machine', async () => {
  const { clock, breaker, changes } = make();
  const slow = deferred<string>();
  const pending = breaker.execute(() => slow.promise);
  await failTimes(breaker, 3);
  clock.advance(1000);
  assert.equal(breaker.getState(), 'HALF_OPEN');
  slow.resolve('stale');
  assert.equal(await pending, 'stale', 'the caller still gets its result');
  assert.equal(breaker.getState(), 'HALF_OPEN', 'a stale success is not a probe');
  assert.equal(changes.length, 2);
  assert.equal(breaker.getStats().successes, 1);
});

test('forceOpen holds the circuit open past any cooldown until reset', async () => {
  const { clock, breaker, changes } = make();
  breaker.forceOpen('maintenance at https://rpc.example/?api-key=SECRET');
  assert.equal(breaker.getState(), 'OPEN');
  clock.advance(10 * 60_000);
  assert.equal(breaker.getState(), 'OPEN');
  const err = await breaker.execute(fine).catch((e: unknown) => e);
  assert.ok(err instanceof CircuitOpenError);
  assert.equal(err.retryAfterMs, 1000, 'forced: the base cooldown as a hint');
  assert.equal(breaker.getStats().forced, true);
  assert.equal(breaker.isCallPermitted(), false);
  breaker.reset('maintenance over');
  assert.equal(breaker.getState(), 'CLOSED');
  assert.equal(await breaker.execute(fine), 'ok');
  assert.deepEqual(
    changes.map((c) => c.reason),
    ['FORCED_OPEN', 'RESET'],
  );
  assert.equal(changes[0]!.detail, 'maintenance at https://rpc.example/?api-key=***');
  assert.equal(breaker.getStats().forced, false);
});

test('forceOpen on an already OPEN circuit cancels its cooldown', async () => {
  const { clock, breaker } = make();
  await failTimes(breaker, 3);
  breaker.forceOpen();
  assert.equal(clock.pendingTimers, 0);
  clock.advance(60_000);
  assert.equal(breaker.getState(), 'OPEN');
  breaker.reset();
  assert.equal(breaker.getState(), 'CLOSED');
});

test('reset on a CLOSED circuit clears the failure count without a transition', async () => {
  const { breaker, changes } = make();
  await failTimes(breaker, 2);
  breaker.reset();
  assert.equal(breaker.getStats().consecutiveFailures, 0);
  await failTimes(breaker, 2);
  assert.equal(breaker.getState(), 'CLOSED');
  assert.equal(changes.length, 0);
});

test('a throwing listener is counted and does not stop other listeners or the transition', async () => {
  const { breaker } = make();
  const heard: string[] = [];
  breaker.onStateChange(() => {
    throw new Error('bad listener');
  });
  const off = breaker.onStateChange((c) => heard.push(c.to));
  await failTimes(breaker, 3);
  assert.equal(breaker.getState(), 'OPEN');
  assert.deepEqual(heard, ['OPEN']);
  assert.equal(breaker.getStats().listenerErrors, 1);
  off();
  breaker.reset();
  assert.deepEqual(heard, ['OPEN'], 'unsubscribed');
});

test('latency percentiles come from the injected clock; the stats invariant holds', async () => {
  const { clock, breaker } = make({ latencySampleEvery: 1 });
  for (const ms of [10, 20, 30, 40]) {
    await breaker.execute(async () => {
      clock.advance(ms);
      return ms;
    });
  }
  await breaker
    .execute(async () => {
      clock.advance(50);
      throw new Error('slow failure');
    })
    .catch(() => {});
  const s = breaker.getStats();
  assert.equal(s.latency.count, 5);
  assert.equal(s.latency.sampledEvery, 1);
  assert.equal(s.latency.min, 10);
  assert.equal(s.latency.max, 50);
  assert.ok(Math.abs(s.latency.p50 - 30) <= 1, `p50 ${s.latency.p50}`);
  assertBreakerAccounting(s);
  assert.equal(s.lastFailure?.message, 'Error: slow failure');
});

test('latency sampling adapts: every call at ordinary rates, 1 in latencySampleEvery at very high rates', async () => {
  // 1 ms between calls (1000 calls/s): every call is timed.
  const slow = make({ latencySampleEvery: 8 });
  for (let i = 0; i < 50; i++) {
    slow.clock.advance(1);
    await slow.breaker.execute(fine);
  }
  assert.equal(slow.breaker.getStats().latency.count, 50);
  assert.equal(slow.breaker.getStats().latency.sampledEvery, 1);

  // No time passing between calls (an unbounded rate): 1 call in 8 after the first.
  const fast = make({ latencySampleEvery: 8 });
  for (let i = 0; i < 81; i++) await fast.breaker.execute(fine);
  assert.equal(fast.breaker.getStats().latency.count, 11);
  assert.equal(fast.breaker.getStats().latency.sampledEvery, 8);
  assert.equal(fast.breaker.getStats().successes, 81);

  // The rate falls again: sampling returns to every call.
  for (let i = 0; i < 5; i++) {
    fast.clock.advance(1);
    await fast.breaker.execute(fine);
  }
  assert.equal(fast.breaker.getStats().latency.sampledEvery, 1);
});

test('latency sampling: 10 µs between calls (100k calls/s) times about 1 call in 20', async () => {
  const { clock, breaker } = make({ latencySampleEvery: 64 });
  for (let i = 0; i < 2000; i++) {
    clock.advance(0.01);
    await breaker.execute(fine);
  }
  const { count, sampledEvery } = breaker.getStats().latency;
  assert.equal(sampledEvery, 20);
  assert.ok(count >= 95 && count <= 110, `timed ${count} of 2000`);
});

test('synchronous functions and synchronous throws are handled like async ones', async () => {
  const { breaker } = make();
  assert.equal(await breaker.execute(() => 7), 7);
  const err = new Error('sync throw');
  await assert.rejects(
    breaker.execute(() => {
      throw err;
    }),
    (e) => e === err,
  );
  assert.equal(breaker.getStats().failures, 1);
  assert.equal(breaker.getStats().successes, 1);
});

test('execute(label, fn) names the call in failure details and stats', async () => {
  const { breaker, changes } = make({ failureThreshold: 1 });
  await assert.rejects(breaker.execute('rpc_getSlot', boom), /boom/);
  assert.equal(breaker.getStats().lastFailure?.label, 'rpc_getSlot');
  assert.match(changes[0]!.detail, /last: rpc_getSlot: Error: boom/);
});

test('execute without a function rejects with a TypeError and counts nothing', async () => {
  const { breaker } = make();
  await assert.rejects(breaker.execute('label' as never), TypeError);
  await assert.rejects(breaker.execute(42 as never), TypeError);
  assert.equal(breaker.getStats().calls, 0);
});

test('the fast path (no bulkhead, no timeout) passes one shared, never-aborted signal', async () => {
  const { breaker } = make();
  const signals: AbortSignal[] = [];
  for (let i = 0; i < 3; i++) await breaker.execute((signal) => void signals.push(signal));
  assert.equal(signals.length, 3);
  assert.ok(signals.every((s) => s === signals[0] && s instanceof AbortSignal && !s.aborted));
  await flush();
});
