/**
 * The seed's Phase 3 breaker checks (P3.1–P3.5 in day3-circuit-breaker-signal-bus.md), written
 * once under the seed's own names and run by test/breaker.seed.test.ts (node:test),
 * scripts/test-phase3-checklist.ts and scripts/stress-test-day3.ts. Each asserts what the seed
 * asserts, on real timers as the seed does, and throws on the first miss; each returns what it saw
 * so a caller can report it or assert more.
 */
import { CircuitBreaker } from '../../src/breaker/index.ts';
import { ensure } from './checks.ts';
import { sleep } from './wait.ts';

async function failOnce(breaker: CircuitBreaker, message: string): Promise<void> {
  try {
    await breaker.execute(() => Promise.reject(new Error(message)));
  } catch {
    /* expected */
  }
}

/** P3.1: the circuit trips on exactly N consecutive failures. */
export async function testFailureThreshold(): Promise<CircuitBreaker> {
  const breaker = new CircuitBreaker({ failureThreshold: 3 });
  for (let i = 0; i < 2; i++) await failOnce(breaker, 'Simulated failure');
  ensure(breaker.getState() === 'CLOSED', `Should stay CLOSED after 2 failures (is ${breaker.getState()})`);
  await failOnce(breaker, 'Simulated failure');
  ensure(breaker.getState() === 'OPEN', `Should OPEN after 3 failures (is ${breaker.getState()})`);
  return breaker;
}

/** P3.2: the circuit stays OPEN for the cooldown, then goes HALF_OPEN. */
export async function testCooldownPeriod(): Promise<CircuitBreaker> {
  // The default jitterRatio is 0.1, so the cooldown lies in [2000, 2200] ms; the seed's check at
  // 2500 ms is past it.
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 2000 });
  await failOnce(breaker, 'Trip circuit');
  ensure(breaker.getState() === 'OPEN', `Should be OPEN after trip (is ${breaker.getState()})`);
  await sleep(1000);
  ensure(breaker.getState() === 'OPEN', `Should stay OPEN during cooldown (is ${breaker.getState()})`);
  await sleep(1500);
  ensure(breaker.getState() === 'HALF_OPEN', `Should be HALF_OPEN after cooldown (is ${breaker.getState()})`);
  return breaker;
}

/** The seed's helper for P3.3 (named there, not defined): trip, then wait (at most 2 s) for HALF_OPEN. */
export async function tripCircuitAndWaitForHalfOpen(breaker: CircuitBreaker): Promise<void> {
  await failOnce(breaker, 'Trip circuit');
  ensure(breaker.getState() === 'OPEN', `Should be OPEN after trip (is ${breaker.getState()})`);
  const deadline = Date.now() + 2000;
  while (breaker.getState() !== 'HALF_OPEN') {
    ensure(Date.now() < deadline, `breaker did not reach HALF_OPEN within 2 s (is ${breaker.getState()})`);
    await sleep(10);
  }
}

/** P3.3: a successful call in HALF_OPEN closes the circuit. */
export async function testRecoveryTransition(): Promise<CircuitBreaker> {
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100 });
  await tripCircuitAndWaitForHalfOpen(breaker);
  const result = await breaker.execute(() => Promise.resolve('success'));
  ensure(result === 'success', `Should return successful result (got ${String(result)})`);
  ensure(breaker.getState() === 'CLOSED', `Should be CLOSED after successful recovery (is ${breaker.getState()})`);
  return breaker;
}

/** P3.4: failures mixed with successes (every third call fails) do not trip the circuit. */
export async function testFalseTripPrevention(): Promise<{ breaker: CircuitBreaker; results: string[] }> {
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
  ensure(breaker.getState() === 'CLOSED', `Should stay CLOSED with intermittent failures (is ${breaker.getState()})`);
  const successes = results.filter((r) => r.startsWith('success')).length;
  ensure(successes >= 5, `Should have successful calls (got ${successes})`);
  return { breaker, results };
}

export interface LoadOutcome {
  breaker: CircuitBreaker;
  successful: number;
  failed: number;
  /** The most calls seen running at once (the bulkhead allows 100). */
  maxRunning: number;
}

/**
 * P3.5: 1000 concurrent calls (each 0–10 ms, 5% failing) through a breaker with maxConcurrent 100:
 * more than 900 succeed and the circuit stays CLOSED; beyond the seed, never more than 100 run at
 * once. `random` drives the delays and failures (the seed's Math.random by default).
 */
export async function testCircuitBreakerUnderLoad(random: () => number = Math.random): Promise<LoadOutcome> {
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
          await sleep(random() * 10);
          if (random() < 0.05) throw new Error('Simulated failure under load');
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
  ensure(successful > 900, `Should handle most requests successfully (got ${successful})`);
  ensure(breaker.getState() === 'CLOSED', `Should remain stable under load (is ${breaker.getState()})`);
  ensure(maxRunning <= 100, `never more than 100 running at once (saw ${maxRunning})`);
  return { breaker, successful, failed, maxRunning };
}
