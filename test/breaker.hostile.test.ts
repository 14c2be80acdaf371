// Hostile input at the breaker's public boundary and at CircuitBreakerManager.protect: non-finite
// and huge options, cooldowns past Node's timer limit, functions that never settle (with and
// without a deadline), thrown values that are not Errors, and method names that are not strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, type Clock, type TimerHandle } from '../src/clock.ts';
import { ConfigError } from '../src/errors.ts';
import { MAX_TIMER_MS } from '../src/validate.ts';
import {
  BreakerOptionError,
  BulkheadFullError,
  CircuitBreaker,
  CircuitBreakerManager,
  TimeoutError,
  type RpcCallable,
} from '../src/breaker/index.ts';

/** A clock that records every delay it is asked for, over a real or a manual clock. */
function recording(base: Clock): Clock & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    now: () => base.now(),
    setTimeout: (fn: () => void, ms: number): TimerHandle => {
      delays.push(ms);
      return base.setTimeout(fn, ms);
    },
    clearTimeout: (h: TimerHandle) => base.clearTimeout(h),
  };
}

test('numeric options refuse NaN, ±Infinity, huge and unsafe values (Infinity only where it means unbounded)', () => {
  const numeric = [
    'failureThreshold',
    'cooldownMs',
    'jitterRatio',
    'halfOpenMaxCalls',
    'backoffMultiplier',
    'maxCooldownMs',
    'maxConcurrent',
    'timeoutMs',
    'latencySampleEvery',
  ];
  const unbounded = new Set(['maxConcurrent', 'timeoutMs']);
  for (const key of numeric) {
    for (const v of [NaN, -Infinity, Infinity, 2 ** 53, 1e308, -1, {}, null, true]) {
      if (v === Infinity && unbounded.has(key)) {
        assert.doesNotThrow(() => new CircuitBreaker({ [key]: v }), key);
        continue;
      }
      if (v === null) continue; // null is refused like any non-number, but covered below with the rate options
      if (key === 'backoffMultiplier' && typeof v === 'number' && v > 1) continue; // a huge multiplier is capped by maxCooldownMs
      assert.throws(
        () => new CircuitBreaker({ [key]: v }),
        (e: unknown) =>
          e instanceof BreakerOptionError && e instanceof ConfigError && e.option === key && e.message.includes(key),
        `${key}=${String(v)}`,
      );
    }
  }
  for (const v of [NaN, Infinity, null, 2 ** 53]) {
    assert.throws(() => new CircuitBreaker({ failureRateThreshold: 0.5, windowSize: v as number }), BreakerOptionError);
    assert.throws(() => new CircuitBreaker({ failureRateThreshold: v as number }), BreakerOptionError);
  }
});

test('a cooldown that backoff and jitter push past 2^31−1 ms arms no timer beyond the limit and still waits it all (fails before: the timer was armed with the whole cooldown)', () => {
  const manual = new ManualClock();
  const clock = recording(manual);
  const breaker = new CircuitBreaker({
    failureThreshold: 1,
    cooldownMs: MAX_TIMER_MS,
    jitterRatio: 1,
    clock,
    random: () => 0.99,
  });
  breaker.acquire().onFailure(new Error('down'));
  assert.equal(breaker.getState(), 'OPEN');
  const cooldown = breaker.getStats().cooldownMs;
  assert.ok(cooldown > MAX_TIMER_MS);
  assert.ok(
    clock.delays.every((d) => d <= MAX_TIMER_MS),
    `delays ${clock.delays.join(', ')}`,
  );
  manual.advance(MAX_TIMER_MS);
  assert.equal(breaker.getState(), 'OPEN', 'woken early by the capped timer, it waits the rest');
  assert.ok(
    clock.delays.every((d) => d <= MAX_TIMER_MS),
    `delays ${clock.delays.join(', ')}`,
  );
  manual.advance(cooldown - MAX_TIMER_MS);
  assert.equal(breaker.getState(), 'HALF_OPEN');
});

test('a function that never settles, without a deadline: the call stays in flight, counted, and holds a bulkhead slot', async () => {
  const breaker = new CircuitBreaker({ maxConcurrent: 1, maxQueue: 0 });
  let settled = false;
  void breaker.execute(() => new Promise<never>(() => {})).finally(() => (settled = true));
  await assert.rejects(
    breaker.execute(async () => 1),
    BulkheadFullError,
  );
  const s = breaker.getStats();
  assert.equal(s.inFlight, 1);
  assert.equal(s.rejections.bulkhead, 1);
  assert.equal(s.state, 'CLOSED');
  assert.equal(settled, false);
});

test('a function that never settles, with timeoutMs: a TimeoutError, an aborted signal, a lingering slot that is still held', async () => {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ timeoutMs: 100, maxConcurrent: 1, maxQueue: 0, clock });
  let signal: AbortSignal | undefined;
  const p = breaker.execute((s) => {
    signal = s;
    return new Promise<never>(() => {});
  });
  clock.advance(100);
  await assert.rejects(p, TimeoutError);
  assert.equal(signal?.aborted, true);
  assert.ok(signal?.reason instanceof TimeoutError);
  await assert.rejects(
    breaker.execute(async () => 1),
    BulkheadFullError,
    'the slot is held until the function really ends',
  );
  const s = breaker.getStats();
  assert.deepEqual([s.timeouts, s.failures, s.lingering, s.inFlight], [1, 1, 1, 0]);
});

test('thrown values that are not Errors are passed through unchanged, counted, and described without throwing', async () => {
  const hostile: unknown[] = [
    'a string',
    undefined,
    null,
    42,
    Symbol('sym'),
    Object.create(null),
    {
      get message(): string {
        throw new Error('getter');
      },
    },
    {
      toString(): string {
        throw new Error('toString');
      },
    },
    new Proxy(
      {},
      {
        get() {
          throw new Error('revoked');
        },
        getPrototypeOf() {
          throw new Error('revoked');
        },
      },
    ),
  ];
  for (const thrown of hostile) {
    for (const timeoutMs of [undefined, 1000]) {
      const transitions: string[] = [];
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeoutMs });
      breaker.onStateChange((c) => transitions.push(c.to));
      const sync = breaker.execute(() => {
        throw thrown;
      });
      await sync.then(
        () => assert.fail('resolved'),
        (e: unknown) => assert.equal(e, thrown),
      );
      assert.deepEqual(transitions, ['OPEN'], `opened on ${typeof thrown}`);
      const s = breaker.getStats();
      assert.equal(s.failures, 1);
      assert.equal(typeof s.lastFailure?.message, 'string');
      assert.equal(typeof s.lastTransition?.detail, 'string');
      breaker.reset();
      // The same value as a rejection.
      // (Not assert.rejects: node's assert itself trips over a Proxy whose traps throw.)
      await breaker
        .execute(() => Promise.reject(thrown))
        .then(
          () => assert.fail('resolved'),
          (e: unknown) => assert.ok(e === thrown),
        );
      assert.equal(breaker.getState(), 'OPEN');
    }
  }
});

test('protect: a method that is not a non-empty string rejects with a ConfigError and counts against no breaker', async () => {
  let called = 0;
  const pool: RpcCallable = {
    call: async () => {
      called++;
      return 1;
    },
  };
  const manager = new CircuitBreakerManager({ defaults: { failureThreshold: 1 } });
  const p = manager.protect(pool);
  for (const method of [
    Symbol('m'),
    '',
    {
      toString: () => {
        throw new Error('no');
      },
    },
    42,
    undefined,
  ]) {
    let result: Promise<unknown> | undefined;
    assert.doesNotThrow(() => (result = p.call(method as never)), 'rejects, never throws synchronously');
    await assert.rejects(result!, (e: unknown) => e instanceof ConfigError && e.key === 'method');
  }
  assert.equal(called, 0);
  assert.equal(manager.getStats().count, 0);
  assert.equal(await p.call('getSlot'), 1);
});

test('protect: a pool whose call throws synchronously or returns a non-promise is still one counted outcome', async () => {
  const manager = new CircuitBreakerManager({ defaults: { failureThreshold: 2 } });
  const throwing = manager.protect<RpcCallable>({
    call: () => {
      throw new Error('sync');
    },
  });
  await assert.rejects(throwing.call('a'), /sync/);
  const plain = manager.protect<RpcCallable>({ call: () => 7 as never });
  assert.equal(await plain.call('b'), 7);
  const s = manager.getStats();
  assert.equal(s.breakers['rpc_a']?.failures, 1);
  assert.equal(s.breakers['rpc_b']?.successes, 1);
});
