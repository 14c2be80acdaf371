/**
 * The specification's breaker checklist (its five numbered checks) as a script: one PASS/FAIL
 * line per check with its duration, a final "N passed, N failed" line, exit code 1 on any failure.
 *   npm run test-phase3-checklist   (the npm name the specification asks for)
 * (The same check bodies, test/fixtures/breaker/seed-checklist.ts, run under node:test in test/breaker.seed.test.ts.)
 */
import { CheckRunner } from '../../test/support/checks.ts';
import {
  testCircuitBreakerUnderLoad,
  testCooldownPeriod,
  testFailureThreshold,
  testFalseTripPrevention,
  testRecoveryTransition,
} from '../../test/fixtures/breaker/seed-checklist.ts';

const checks = new CheckRunner(undefined, { timing: true });
await checks.run('1. trips on exactly N consecutive failures', testFailureThreshold);
await checks.run('2. respects the cooldown period before recovery', testCooldownPeriod);
await checks.run('3. HALF_OPEN -> CLOSED on successful recovery', testRecoveryTransition);
await checks.run('4. no false trip on intermittent failures', testFalseTripPrevention);
await checks.run('5. 1000 concurrent calls, maxConcurrent 100', async () => {
  const r = await testCircuitBreakerUnderLoad();
  return `${r.successful} succeeded, ${r.failed} failed, at most ${r.maxRunning} running at once`;
});
console.log('');
process.exit(checks.summary());
