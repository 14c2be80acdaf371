// The seed's P3.1–P3.5 (day3-circuit-breaker-signal-bus.md) as written there, on real timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../src/breaker/index.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function tripCircuitAndWaitForHalfOpen(breaker: CircuitBreaker): Promise<void> {
  try {
    await breaker.execute(() => Promise.reject(new Error('Trip circuit')));
  } catch {
    /* expected */
  }
  assert.equal(breaker.getState(), 'OPEN');
  const deadline = Date.now() + 2000;
  while (breaker.getState() !== 'HALF_OPEN') {
    assert.ok(Date.now() < deadline, 'breaker did not reach HALF_OPEN within 2 s');
    await sleep(10);
  }
}

test('P3.1: trips on N consecutive failures', async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 3 });
  for (let i = 0; i < 2; i++) {
    try {
      await breaker.execute(() => Promise.reject(new Error('Simulated failure')));
    } catch {
      /* expected */
    }
  }
  assert.equal(breaker.getState(), 'CLOSED', 'Should stay CLOSED after 2 failures');
  try {
    await breaker.execute(() => Promise.reject(new Error('Simulated failure')));
  } catch {
    /* expected */
  }
  assert.equal(breaker.getState(), 'OPEN', 'Should OPEN after 3 failures');
});

test('P3.2: respects the cooldown period', async () => {
  // The seed's defaults: jitterRatio 0.1, so the cooldown lies in [2000, 2200] ms; the seed's
  // check at 2500 ms is past it.
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 2000 });
  try {
    await breaker.execute(() => Promise.reject(new Error('Trip circuit')));
  } catch {
    /* expected */
  }
  assert.equal(breaker.getState(), 'OPEN', 'Should be OPEN after trip');
  await sleep(1000);
  assert.equal(breaker.getState(), 'OPEN', 'Should stay OPEN during cooldown');
  await sleep(1500);
  assert.equal(breaker.getState(), 'HALF_OPEN', 'Should be HALF_OPEN after cooldown');
});

test('P3.3: HALF_OPEN -> CLOSED on a successful probe', async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100 });
  await tripCircuitAndWaitForHalfOpen(breaker);
  const result = await breaker.execute(() => Promise.resolve('success'));
  assert.equal(result, 'success', 'Should return successful result');
  assert.equal(breaker.getState(), 'CLOSED', 'Should be CLOSED after successful recovery');
});

test('P3.4: intermittent failures do not trip the circuit', async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 5, resetTimeoutMs: 1000 });
  const results: string[] = [];
  for (let i = 0; i < 10; i++) {
    try {
      const result = await breaker.execute(() =>
        i % 3 === 0 ? Promise.reject(new Error('Intermittent failure')) : Promise.resolve(`success-${i}`),
      );
      results.push(result);
    } catch {
      results.push(`error-${i}`);
    }
  }
  assert.equal(breaker.getState(), 'CLOSED', 'Should stay CLOSED with intermittent failures');
  assert.ok(results.filter((r) => r.startsWith('success')).length >= 5, 'Should have successful calls');
  assert.equal(breaker.getStats().failures, 4);
});

test('P3.5: 1000 concurrent calls with maxConcurrent 100', async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 10, maxConcurrent: 100 });
  let running = 0;
  let maxRunning = 0;
  const promises: Promise<string>[] = [];
  for (let i = 0; i < 1000; i++) {
    promises.push(
      breaker.execute(async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          await sleep(Math.random() * 10);
          if (Math.random() < 0.05) throw new Error('Simulated failure under load');
          return `result-${i}`;
        } finally {
          running--;
        }
      }),
    );
  }
  const results = await Promise.allSettled(promises);
  const successful = results.filter((r) => r.status === 'fulfilled').length;
  const failed = results.filter((r) => r.status === 'rejected').length;
  assert.ok(successful > 900, `Should handle most requests successfully (got ${successful})`);
  assert.equal(successful + failed, 1000);
  assert.equal(breaker.getState(), 'CLOSED', 'Should remain stable under load');
  assert.ok(maxRunning <= 100, `never more than 100 running at once (saw ${maxRunning})`);
  assert.equal(maxRunning, 100, 'the bulkhead should fill up under this load');
  const stats = breaker.getStats();
  assert.equal(stats.calls, 1000);
  assert.equal(stats.successes, successful);
  assert.equal(stats.rejections.bulkhead, 0, 'the default queue (10 × maxConcurrent) holds the other 900');
});
