/**
 * The seed's Phase 3 checklist (P3.1–P3.5) as a script: one pass/fail line per check, a final
 * "N passed, N failed" line, exit code 1 on any failure.   npm run test-phase3-checklist
 * (The same checks run under node:test in test/breaker.seed.test.ts.)
 */
import { CircuitBreaker } from '../src/index.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function fail(breaker: CircuitBreaker, message = 'Simulated failure'): Promise<void> {
  try {
    await breaker.execute(() => Promise.reject(new Error(message)));
  } catch {
    /* expected */
  }
}

const checks: [string, () => Promise<void>][] = [
  ['P3.1 trips on exactly N consecutive failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3 });
    for (let i = 0; i < 2; i++) await fail(breaker);
    assert(breaker.getState() === 'CLOSED', 'Should stay CLOSED after 2 failures');
    await fail(breaker);
    assert(breaker.getState() === 'OPEN', 'Should OPEN after 3 failures');
  }],
  ['P3.2 respects the cooldown period before recovery', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 2000 });
    await fail(breaker, 'Trip circuit');
    assert(breaker.getState() === 'OPEN', 'Should be OPEN after trip');
    await sleep(1000);
    assert(breaker.getState() === 'OPEN', 'Should stay OPEN during cooldown');
    await sleep(1500);
    assert(breaker.getState() === 'HALF_OPEN', 'Should be HALF_OPEN after cooldown');
  }],
  ['P3.3 HALF_OPEN -> CLOSED on successful recovery', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100 });
    await fail(breaker, 'Trip circuit');
    const deadline = Date.now() + 2000;
    while (breaker.getState() !== 'HALF_OPEN') {
      assert(Date.now() < deadline, 'did not reach HALF_OPEN within 2 s');
      await sleep(10);
    }
    const result = await breaker.execute(() => Promise.resolve('success'));
    assert(result === 'success', 'Should return successful result');
    assert(breaker.getState() === 'CLOSED', 'Should be CLOSED after successful recovery');
  }],
  ['P3.4 no false trip on intermittent failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5, resetTimeoutMs: 1000 });
    const results: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        results.push(await breaker.execute(() => (i % 3 === 0 ? Promise.reject(new Error('Intermittent failure')) : Promise.resolve(`success-${i}`))));
      } catch {
        results.push(`error-${i}`);
      }
    }
    assert(breaker.getState() === 'CLOSED', 'Should stay CLOSED with intermittent failures');
    assert(results.filter((r) => r.startsWith('success')).length >= 5, 'Should have successful calls');
  }],
  ['P3.5 1000 concurrent calls, maxConcurrent 100', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 10, maxConcurrent: 100 });
    let running = 0;
    let maxRunning = 0;
    const promises = Array.from({ length: 1000 }, (_, i) =>
      breaker.execute(async () => {
        maxRunning = Math.max(maxRunning, ++running);
        try {
          await sleep(Math.random() * 10);
          if (Math.random() < 0.05) throw new Error('Simulated failure under load');
          return `result-${i}`;
        } finally {
          running--;
        }
      }),
    );
    const results = await Promise.allSettled(promises);
    const successful = results.filter((r) => r.status === 'fulfilled').length;
    assert(successful > 900, `Should handle most requests successfully (got ${successful})`);
    assert(breaker.getState() === 'CLOSED', 'Should remain stable under load');
    assert(maxRunning <= 100, `never more than 100 running at once (saw ${maxRunning})`);
  }],
];

let passed = 0;
let failed = 0;
for (const [name, check] of checks) {
  const t0 = Date.now();
  try {
    await check();
    passed++;
    console.log(`PASS  ${name}  (${Date.now() - t0} ms)`);
  } catch (err) {
    failed++;
    console.log(`FAIL  ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
