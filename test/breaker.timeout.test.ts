// Per-call timeouts: the AbortSignal fires, the caller gets TimeoutError, it counts as a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { CircuitBreaker, TimeoutError, type CircuitBreakerOptions } from '../src/breaker/index.ts';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

function make(extra: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  return {
    clock,
    breaker: new CircuitBreaker({
      name: 'to',
      failureThreshold: 2,
      cooldownMs: 1000,
      timeoutMs: 100,
      random: () => 0,
      clock,
      ...extra,
    }),
  };
}

/** An operation that settles only when its signal aborts (like a well-behaved fetch). */
function abortable(seen: AbortSignal[]) {
  return (signal: AbortSignal): Promise<never> =>
    new Promise((_, reject) => {
      seen.push(signal);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
}

test('a call past timeoutMs rejects with TimeoutError, aborts its signal with it, and counts as a failure', async () => {
  const { clock, breaker } = make();
  const signals: AbortSignal[] = [];
  const pending = breaker.execute('rpc_getSlot', abortable(signals));
  await flush();
  assert.equal(signals[0]!.aborted, false);
  clock.advance(99);
  assert.equal(signals[0]!.aborted, false);
  clock.advance(1);
  const err = await pending.catch((e: unknown) => e);
  assert.ok(err instanceof TimeoutError);
  assert.equal(err.code, 'TIMEOUT');
  assert.equal(err.timeoutMs, 100);
  assert.equal(err.label, 'rpc_getSlot');
  assert.equal(err.breaker, 'to');
  assert.match(err.message, /call rpc_getSlot through "to" timed out after 100 ms/);
  assert.equal(signals[0]!.aborted, true);
  assert.equal(signals[0]!.reason, err);
  const s = breaker.getStats();
  assert.equal(s.timeouts, 1);
  assert.equal(s.failures, 1);
  assert.equal(s.consecutiveFailures, 1);
  assert.equal(s.lastFailure?.code, 'TIMEOUT');
  await flush();
  assert.equal(breaker.getStats().lateSettlements, 1, 'the aborted operation settled after the timeout');
  assert.equal(breaker.getStats().lingering, 0);
});

test('timeouts trip the circuit like any failure, even when isFailure would pass the error', async () => {
  const { clock, breaker } = make({ isFailure: () => false });
  const signals: AbortSignal[] = [];
  for (let i = 0; i < 2; i++) {
    const p = breaker.execute(abortable(signals));
    clock.advance(100);
    await assert.rejects(p, TimeoutError);
  }
  assert.equal(breaker.getState(), 'OPEN');
  assert.equal(breaker.getStats().lastTransition?.reason, 'FAILURE_THRESHOLD');
});

test('a call that finishes in time clears its timer and gets a live, unaborted signal', async () => {
  const { clock, breaker } = make();
  let signal: AbortSignal | undefined;
  const value = await breaker.execute(async (s) => {
    signal = s;
    return 'fast';
  });
  assert.equal(value, 'fast');
  assert.equal(clock.pendingTimers, 0);
  assert.equal(signal?.aborted, false);
  const other = await breaker.execute(async (s) => s);
  assert.notEqual(other, signal, 'with a timeout, each call gets its own signal');
});

test('an operation that ignores its signal keeps its bulkhead slot until it settles (lingering)', async () => {
  const { clock, breaker } = make({ maxConcurrent: 1, maxQueue: 1, failureThreshold: 10 });
  let finish!: () => void;
  const stubborn = breaker.execute(() => new Promise<void>((resolve) => (finish = resolve)));
  const waiting = breaker.execute(async () => 'second');
  clock.advance(100);
  await assert.rejects(stubborn, TimeoutError);
  assert.equal(breaker.getStats().lingering, 1);
  assert.equal(breaker.getStats().queued, 1, 'the slot is still held: the operation is still running');
  finish();
  assert.equal(await waiting, 'second');
  const s = breaker.getStats();
  assert.equal(s.lingering, 0);
  assert.equal(s.lateSettlements, 1);
  assert.equal(s.successes, 1, 'the late result is discarded, not counted as a success');
});

test('a synchronous throw under a timeout is a plain failure and leaves no timer', async () => {
  const { clock, breaker } = make();
  await assert.rejects(
    breaker.execute(() => {
      throw new Error('sync');
    }),
    /sync/,
  );
  assert.equal(clock.pendingTimers, 0);
  assert.equal(breaker.getStats().timeouts, 0);
  assert.equal(breaker.getStats().failures, 1);
});

test('real timers: a 20 ms timeout fires', async () => {
  const breaker = new CircuitBreaker({ timeoutMs: 20 });
  const signals: AbortSignal[] = [];
  await assert.rejects(breaker.execute(abortable(signals)), TimeoutError);
  assert.equal(signals[0]?.aborted, true);
});
