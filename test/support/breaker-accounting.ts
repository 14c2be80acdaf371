import assert from 'node:assert/strict';
import type { CircuitBreakerStats } from '../../src/breaker/index.ts';

/** The breaker's accounting invariant: every call that reached it is in exactly one bucket. */
export function assertBreakerAccounting(s: CircuitBreakerStats, message?: string): void {
  assert.equal(
    s.calls,
    s.successes +
      s.failures +
      s.ignored +
      s.released +
      s.rejections.open +
      s.rejections.bulkhead +
      s.inFlight +
      s.queued,
    message,
  );
}
