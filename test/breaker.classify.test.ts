// Which errors count: isFailure, the isCallerError convention, failure-rate tripping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { CircuitBreaker, countAllButCallerErrors, type CircuitBreakerOptions } from '../src/breaker/index.ts';

function make(extra: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  return new CircuitBreaker({ name: 'cl', failureThreshold: 2, cooldownMs: 1000, random: () => 0, clock, ...extra });
}

class JsonRpcError extends Error {
  constructor(
    readonly rpcCode: number,
    readonly isCallerError: boolean,
  ) {
    super(`json-rpc ${rpcCode}`);
  }
}

test('by default an error carrying isCallerError === true passes through uncounted', async () => {
  const breaker = make();
  for (let i = 0; i < 5; i++) {
    await assert.rejects(
      breaker.execute(() => Promise.reject(new JsonRpcError(-32602, true))),
      JsonRpcError,
    );
  }
  assert.equal(breaker.getState(), 'CLOSED');
  const s = breaker.getStats();
  assert.equal(s.ignored, 5);
  assert.equal(s.failures, 0);
  assert.equal(s.lastFailure, null);
  await assert.rejects(breaker.execute(() => Promise.reject(new JsonRpcError(-32005, false))));
  await assert.rejects(breaker.execute(() => Promise.reject(new JsonRpcError(-32005, false))));
  assert.equal(breaker.getState(), 'OPEN', 'server-side errors count');
});

test('the default classifier counts everything else, including non-Error throws', () => {
  assert.equal(countAllButCallerErrors(new Error('x')), true);
  assert.equal(countAllButCallerErrors('string'), true);
  assert.equal(countAllButCallerErrors(null), true);
  assert.equal(countAllButCallerErrors(undefined), true);
  assert.equal(countAllButCallerErrors({ isCallerError: 'yes' }), true, 'only exactly true');
  assert.equal(countAllButCallerErrors({ isCallerError: true }), false);
});

test('ignored errors neither reset nor extend the consecutive-failure count', async () => {
  const breaker = make({ failureThreshold: 3 });
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('a'))));
  await assert.rejects(breaker.execute(() => Promise.reject(new JsonRpcError(-32602, true))));
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('b'))));
  assert.equal(breaker.getStats().consecutiveFailures, 2);
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('c'))));
  assert.equal(breaker.getState(), 'OPEN');
});

test('a custom isFailure decides; only an explicit false passes an error through', async () => {
  const breaker = make({ isFailure: (e) => (e instanceof TypeError ? false : (undefined as unknown as boolean)) });
  await assert.rejects(
    breaker.execute(() => Promise.reject(new TypeError('mine'))),
    TypeError,
  );
  assert.equal(breaker.getStats().ignored, 1);
  // A predicate returning undefined (a forgotten return) must not disable the breaker.
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('theirs'))));
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('theirs'))));
  assert.equal(breaker.getState(), 'OPEN');
});

test('an isFailure that throws counts the error as a failure and is itself counted', async () => {
  const breaker = make({
    isFailure: () => {
      throw new Error('classifier bug');
    },
  });
  const original = new Error('original');
  await assert.rejects(
    breaker.execute(() => Promise.reject(original)),
    (e) => e === original,
  );
  assert.equal(breaker.getStats().failures, 1);
  assert.equal(breaker.getStats().classifierErrors, 1);
});

test('failure rate: opens when failures over the window reach the threshold, once minimumCalls are in', async () => {
  const breaker = make({ failureThreshold: 100, failureRateThreshold: 0.5, windowSize: 10, minimumCalls: 4 });
  const ok = () => Promise.resolve(1);
  const bad = () => Promise.reject(new Error('flaky'));
  // Alternate: never two consecutive failures, but a 50% rate.
  await breaker.execute(ok);
  await assert.rejects(breaker.execute(bad));
  await breaker.execute(ok);
  assert.equal(breaker.getState(), 'CLOSED', 'only 3 calls so far');
  await assert.rejects(breaker.execute(bad));
  assert.equal(breaker.getState(), 'OPEN');
  const s = breaker.getStats();
  assert.equal(s.lastTransition?.reason, 'FAILURE_RATE');
  assert.match(s.lastTransition!.detail, /failure rate 50\.0% over the last 4 calls/);
});

test('failure rate: the window slides; old failures age out', async () => {
  const breaker = make({ failureThreshold: 100, failureRateThreshold: 0.5, windowSize: 4 });
  const ok = () => Promise.resolve(1);
  const bad = () => Promise.reject(new Error('flaky'));
  await assert.rejects(breaker.execute(bad));
  for (let i = 0; i < 4; i++) await breaker.execute(ok);
  assert.deepEqual(breaker.getStats().window, { size: 4, calls: 4, failures: 0, failureRate: 0 });
  await assert.rejects(breaker.execute(bad));
  assert.equal(breaker.getStats().window?.failures, 1);
  await assert.rejects(breaker.execute(bad));
  assert.equal(breaker.getState(), 'OPEN', '2 of the last 4');
});

test('failure rate: the window is cleared when the circuit closes again', async () => {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({
    failureThreshold: 100,
    failureRateThreshold: 0.5,
    windowSize: 2,
    cooldownMs: 10,
    jitterRatio: 0,
    clock,
  });
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('x'))));
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('x'))));
  assert.equal(breaker.getState(), 'OPEN');
  clock.advance(10);
  await breaker.execute(() => 1);
  assert.equal(breaker.getState(), 'CLOSED');
  assert.deepEqual(breaker.getStats().window, { size: 2, calls: 0, failures: 0, failureRate: 0 });
});
