// The specification's breaker checklist (its five numbered checks) as written there, on real timers. The
// bodies live in test/fixtures/breaker/seed-checklist.ts, shared with scripts/checks/breaker-checklist.ts and breaker-bus-load.ts;
// what is asserted here beyond them is marked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  testCircuitBreakerUnderLoad,
  testCooldownPeriod,
  testFailureThreshold,
  testFalseTripPrevention,
  testRecoveryTransition,
} from './fixtures/breaker/seed-checklist.ts';

test('breaker checklist: trips on N consecutive failures', async () => {
  await testFailureThreshold();
});

test('breaker checklist: respects the cooldown period', async () => {
  await testCooldownPeriod();
});

test('breaker checklist: HALF_OPEN -> CLOSED on a successful probe', async () => {
  await testRecoveryTransition();
});

test('breaker checklist: intermittent failures do not trip the circuit', async () => {
  const { breaker } = await testFalseTripPrevention();
  // Beyond the seed: calls 0, 3, 6 and 9 failed, and each was counted.
  assert.equal(breaker.getStats().failures, 4);
});

test('breaker checklist: 1000 concurrent calls with maxConcurrent 100', async () => {
  const { breaker, successful, failed, maxRunning } = await testCircuitBreakerUnderLoad();
  // Beyond the seed: every call settled, the bulkhead filled, and the stats agree.
  assert.equal(successful + failed, 1000);
  assert.equal(maxRunning, 100, 'the bulkhead should fill up under this load');
  const stats = breaker.getStats();
  assert.equal(stats.calls, 1000);
  assert.equal(stats.successes, successful);
  assert.equal(stats.rejections.bulkhead, 0, 'the default queue (10 × maxConcurrent) holds the other 900');
});
