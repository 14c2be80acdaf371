// The bulkhead: bounded concurrency, FIFO queue, queue limit, and how it meets the state machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertBreakerAccounting } from './support/breaker-accounting.ts';
import { ManualClock } from '../src/clock.ts';
import {
  BulkheadFullError,
  CircuitBreaker,
  CircuitOpenError,
  type CircuitBreakerOptions,
} from '../src/breaker/index.ts';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function make(extra: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  return {
    clock,
    breaker: new CircuitBreaker({
      name: 'bh',
      failureThreshold: 2,
      cooldownMs: 1000,
      random: () => 0,
      clock,
      ...extra,
    }),
  };
}

test('calls beyond maxConcurrent wait and start in FIFO order', async () => {
  const { breaker } = make({ maxConcurrent: 2, maxQueue: 10 });
  const started: number[] = [];
  const gates = Array.from({ length: 6 }, gate);
  const results = gates.map((g, i) =>
    breaker.execute(async () => {
      started.push(i);
      await g.promise;
      return i;
    }),
  );
  await flush();
  assert.deepEqual(started, [0, 1]);
  assert.equal(breaker.getStats().queued, 4);
  assert.equal(breaker.getStats().inFlight, 2);
  gates[1]!.open();
  await flush();
  assert.deepEqual(started, [0, 1, 2]);
  gates[0]!.open();
  await flush();
  assert.deepEqual(started, [0, 1, 2, 3]);
  for (const g of gates) g.open();
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  const s = breaker.getStats();
  assert.equal(s.successes, 6);
  assert.equal(s.queued, 0);
  assert.equal(s.inFlight, 0);
});

test('a full queue refuses at once with BulkheadFullError, counted as a bulkhead rejection', async () => {
  const { breaker } = make({ maxConcurrent: 1, maxQueue: 2 });
  const g = gate();
  let ran = 0;
  const op = async (): Promise<void> => {
    ran++;
    await g.promise;
  };
  const admitted = [breaker.execute(op), breaker.execute(op), breaker.execute(op)];
  const err = await breaker.execute(op).catch((e: unknown) => e);
  assert.ok(err instanceof BulkheadFullError);
  assert.equal(err.code, 'BULKHEAD_FULL');
  assert.equal(err.maxConcurrent, 1);
  assert.equal(err.maxQueue, 2);
  assert.match(err.message, /bulkhead of "bh" is full \(1 running, 2 queued\)/);
  const s = breaker.getStats();
  assert.equal(s.rejections.bulkhead, 1);
  assert.equal(s.calls, 4);
  assertBreakerAccounting(s);
  g.open();
  await Promise.all(admitted);
  assert.equal(ran, 3);
  assert.equal(breaker.getState(), 'CLOSED', 'bulkhead refusals are not failures');
});

test('maxQueue 0: no waiting at all', async () => {
  const { breaker } = make({ maxConcurrent: 1, maxQueue: 0 });
  const g = gate();
  const first = breaker.execute(() => g.promise);
  await assert.rejects(
    breaker.execute(() => 1),
    BulkheadFullError,
  );
  g.open();
  await first;
  assert.equal(await breaker.execute(() => 2), 2);
});

test('the default queue is 10 × maxConcurrent', async () => {
  const { breaker } = make({ maxConcurrent: 2 });
  const g = gate();
  const admitted = Array.from({ length: 22 }, () => breaker.execute(() => g.promise));
  await assert.rejects(
    breaker.execute(() => g.promise),
    BulkheadFullError,
  );
  assert.equal(breaker.getStats().queued, 20);
  g.open();
  await Promise.all(admitted);
});

test('when the circuit opens, queued calls are refused at once with CircuitOpenError', async () => {
  const { breaker } = make({ maxConcurrent: 2, maxQueue: 10, failureThreshold: 2 });
  const g = gate();
  let ran = 0;
  const failing = [0, 1].map(() =>
    breaker.execute(async () => {
      ran++;
      await g.promise;
      throw new Error('down');
    }),
  );
  const queued = [0, 1, 2, 3].map(() =>
    breaker.execute(async () => {
      ran++;
      await g.promise;
      throw new Error('down too');
    }),
  );
  await flush();
  assert.equal(breaker.getStats().queued, 4);
  g.open();
  for (const p of failing) await assert.rejects(p, /down/);
  // The first failure freed a slot before the circuit opened, so one queued call ran (and failed);
  // the second failure opened the circuit, which refused the three still waiting.
  const outcomes = await Promise.allSettled(queued);
  const refused = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof CircuitOpenError).length;
  assert.equal(refused, 3);
  assert.equal(ran, 3, 'refused calls never ran');
  const s = breaker.getStats();
  assert.equal(s.state, 'OPEN');
  assert.equal(s.rejections.open, 3);
  assert.equal(s.queued, 0);
  assertBreakerAccounting(s);
});

test('a HALF_OPEN probe never queues: with the bulkhead full it is refused at once', async () => {
  const { clock, breaker } = make({ maxConcurrent: 2, maxQueue: 5, failureThreshold: 1, halfOpenMaxCalls: 2 });
  const stale = gate();
  const staleCall = breaker.execute(() => stale.promise); // admitted while CLOSED, holds a slot throughout
  await assert.rejects(
    breaker.execute(() => Promise.reject(new Error('trip'))),
    /trip/,
  );
  assert.equal(breaker.getState(), 'OPEN');
  clock.advance(1000);
  const probeGate = gate();
  const probe = breaker.execute(() => probeGate.promise); // first probe takes the second slot
  let ran = false;
  const refused = await breaker.execute(() => (ran = true)).catch((e: unknown) => e);
  assert.ok(
    refused instanceof BulkheadFullError,
    'a second probe slot exists, but no bulkhead slot: refused, not queued',
  );
  assert.equal(ran, false);
  assert.equal(breaker.getStats().queued, 0);
  assert.equal(breaker.getStats().probesInFlight, 1, 'the refused probe gave its probe slot back');
  stale.open();
  await staleCall;
  assert.equal(breaker.getState(), 'HALF_OPEN', 'the stale success decided nothing');
  probeGate.open();
  await probe;
  assert.equal(breaker.getState(), 'CLOSED');
});

test('tryAcquire never queues: a full bulkhead returns null and counts a bulkhead rejection', async () => {
  const { breaker } = make({ maxConcurrent: 1, maxQueue: 5 });
  const held = breaker.tryAcquire();
  assert.ok(held);
  assert.equal(breaker.isCallPermitted(), false);
  assert.equal(breaker.tryAcquire(), null);
  assert.throws(() => breaker.acquire(), BulkheadFullError);
  assert.equal(breaker.getStats().rejections.bulkhead, 2);
  held.onSuccess(1);
  assert.equal(breaker.isCallPermitted(), true);
  assert.ok(breaker.tryAcquire());
});

test('a bulkhead slot is released whether the call succeeds, fails or throws synchronously', async () => {
  const { breaker } = make({ maxConcurrent: 1, maxQueue: 0, failureThreshold: 100 });
  await breaker.execute(() => 1);
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('x'))));
  await assert.rejects(
    breaker.execute(() => {
      throw new Error('sync');
    }),
  );
  assert.equal(await breaker.execute(() => 'still admits'), 'still admits');
  assert.equal(breaker.getStats().inFlight, 0);
});

test('many queued calls that fail synchronously do not recurse through the stack', async () => {
  const { breaker } = make({ maxConcurrent: 1, maxQueue: 50_000, failureThreshold: 1_000_000 });
  const g = gate();
  const first = breaker.execute(() => g.promise);
  const rest = Array.from({ length: 20_000 }, () =>
    breaker
      .execute(() => {
        throw new Error('sync');
      })
      .catch(() => 'caught'),
  );
  g.open();
  await first;
  const settled = await Promise.all(rest);
  assert.equal(settled.length, 20_000);
  assert.equal(breaker.getStats().failures, 20_000);
});
