// The synchronous admission API (isCallPermitted / tryAcquire / acquire) shares execute's state machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertBreakerAccounting } from './support/breaker-accounting.ts';
import { ManualClock } from '../src/clock.ts';
import { CircuitBreaker, CircuitOpenError } from '../src/breaker/index.ts';

function make() {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({
    name: 'pm',
    failureThreshold: 2,
    cooldownMs: 1000,
    random: () => 0,
    clock,
    latencySampleEvery: 1,
  });
  return { clock, breaker };
}

test('permits report outcomes that drive the same state machine as execute', async () => {
  const { clock, breaker } = make();
  breaker.tryAcquire()!.onFailure(new Error('a'));
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('b'))));
  assert.equal(breaker.getState(), 'OPEN', 'one permit failure + one execute failure = threshold');
  assert.equal(breaker.isCallPermitted(), false);
  assert.equal(breaker.tryAcquire(), null);
  const err = (() => {
    try {
      breaker.acquire();
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof CircuitOpenError);
  assert.equal(err.retryAfterMs, 1000);
  assert.equal(breaker.getStats().rejections.open, 2);

  clock.advance(1000);
  assert.equal(breaker.isCallPermitted(), true, 'HALF_OPEN with a free probe slot');
  const probe = breaker.tryAcquire()!;
  assert.equal(probe.probe, true);
  assert.equal(breaker.isCallPermitted(), false, 'the only probe slot is taken');
  assert.equal(breaker.tryAcquire(), null);
  probe.onSuccess();
  assert.equal(breaker.getState(), 'CLOSED');
  const normal = breaker.tryAcquire()!;
  assert.equal(normal.probe, false);
  normal.release();
});

test('a permit settles once; later settlements are no-ops that return false', () => {
  const { breaker } = make();
  const p = breaker.tryAcquire()!;
  assert.equal(p.onFailure(new Error('x')), true);
  assert.equal(p.onFailure(new Error('x')), false);
  assert.equal(p.onSuccess(), false);
  assert.equal(p.release(), false);
  const s = breaker.getStats();
  assert.equal(s.failures, 1);
  assert.equal(s.successes, 0);
});

test('latency: the reported value wins, otherwise the time since the permit was granted', () => {
  const { clock, breaker } = make();
  breaker.tryAcquire()!.onSuccess(42);
  const p = breaker.tryAcquire()!;
  clock.advance(7);
  p.onSuccess();
  const lat = breaker.getStats().latency;
  assert.equal(lat.count, 2);
  assert.equal(lat.max, 42);
  assert.equal(lat.min, 7);
});

test('release() gives a probe slot back without deciding anything, and is counted', async () => {
  const { clock, breaker } = make();
  breaker.forceOpen();
  breaker.reset();
  for (let i = 0; i < 2; i++) breaker.tryAcquire()!.onFailure(new Error('x'));
  clock.advance(1000);
  const probe = breaker.tryAcquire()!;
  probe.release();
  assert.equal(breaker.getState(), 'HALF_OPEN');
  assert.ok(breaker.tryAcquire(), 'the slot is free again');
  const s = breaker.getStats();
  assert.equal(s.released, 1);
  assertBreakerAccounting(s);
  assert.equal(s.inFlight, 1);
});

test('permit failures go through isFailure (caller errors pass)', () => {
  const { breaker } = make();
  for (let i = 0; i < 3; i++)
    breaker.tryAcquire()!.onFailure(Object.assign(new Error('-32602'), { isCallerError: true }));
  assert.equal(breaker.getState(), 'CLOSED');
  assert.equal(breaker.getStats().ignored, 3);
});

test('isCallPermitted counts nothing', () => {
  const { breaker } = make();
  for (let i = 0; i < 5; i++) breaker.isCallPermitted();
  assert.equal(breaker.getStats().calls, 0);
});
