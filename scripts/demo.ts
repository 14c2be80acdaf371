/**
 * `npm start` (temporary, until the full demo replaces it): a real circuit breaker in front of a
 * flaky async operation. The operation fails for a while (an "outage"); the breaker trips, refuses
 * calls at once while it cools down (with jitter), admits a probe, and closes once the operation
 * recovers. Every transition and the final stats are printed. Exits 0 when the story happened.
 */
import { CircuitBreaker, CircuitOpenError } from '../src/index.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const t = () => `${String(Date.now() - started).padStart(5)} ms`;

// The "endpoint": healthy, then down for 900 ms, then healthy again.
const outage = { from: 200, to: 1100 };
async function flakyRpc(): Promise<string> {
  await sleep(5 + Math.random() * 10);
  const now = Date.now() - started;
  if (now >= outage.from && now < outage.to) throw new Error('503 Service Unavailable');
  return `slot ${Math.floor(now)}`;
}

const breaker = new CircuitBreaker({
  name: 'demo-endpoint',
  failureThreshold: 3,
  cooldownMs: 300,
  jitterRatio: 0.2,
  timeoutMs: 250,
});
const seen: string[] = [];
breaker.onStateChange((c) => {
  seen.push(`${c.from}->${c.to}`);
  console.log(`${t()}  ${c.from.padEnd(9)} -> ${c.to.padEnd(9)} ${c.reason}: ${c.detail}`);
});

console.log(`palisade breaker demo: outage between ${outage.from} and ${outage.to} ms; threshold 3, cooldown 300 ms + up to 20% jitter\n`);
const tally = { ok: 0, failed: 0, refused: 0 };
while (Date.now() - started < 1800) {
  try {
    await breaker.execute('getSlot', flakyRpc);
    tally.ok++;
  } catch (err) {
    if (err instanceof CircuitOpenError) {
      tally.refused++;
      // Refused at once: this is where a pool would fail over to the next endpoint.
      await sleep(Math.min(50, err.retryAfterMs || 10));
    } else tally.failed++;
  }
  await sleep(20);
}

const s = breaker.getStats();
console.log(`\ncalls ${s.calls}: ${s.successes} ok, ${s.failures} failed, ${s.rejections.open} refused while open (caller saw ${tally.ok}/${tally.failed}/${tally.refused})`);
console.log(`state ${s.state}, transitions ${s.transitions}, last cooldown ${s.cooldownMs.toFixed(0)} ms, failed probes ${s.failedProbes}`);
console.log(`latency (sampled 1 in ${s.latency.sampledEvery}): p50 ${s.latency.p50.toFixed(1)} ms, p99 ${s.latency.p99.toFixed(1)} ms, max ${s.latency.max.toFixed(1)} ms`);

const story = seen.includes('CLOSED->OPEN') && seen.includes('OPEN->HALF_OPEN') && seen.includes('HALF_OPEN->CLOSED');
if (!story || s.state !== 'CLOSED' || s.rejections.open === 0) {
  console.error('\ndemo did not show trip -> cooldown -> probe -> close; transitions:', seen.join(', '));
  process.exit(1);
}
console.log('\nthe breaker tripped, refused calls while cooling down, probed, and closed again.');
