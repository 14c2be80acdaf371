/**
 * The specification's "high-load testing for circuit breaker and signal bus" (npm alias
 * `stress-test-day3`), a smaller cousin of `npm run stress`: the breaker-under-load check as the
 * specification writes it, 100+ requests/s sustained and
 * 1000 concurrent calls through the protected pool against the local cluster, 1000 concurrent
 * asks to a worker actor, and a 100× signal surge into worker and inline subscribers.
 * Prints PASS/FAIL per check and a final `N passed, N failed` line; exits non-zero on a failure.
 */
import { pino } from 'pino';
import { createLogger } from '../../src/log/index.ts';
import { LatencyHistogram } from '../../src/stats/latency.ts';
import { accountSubscribers } from '../../test/support/bus-accounting.ts';
import { CheckRunner, ensure } from '../../test/support/checks.ts';
import { testCircuitBreakerUnderLoad } from '../../test/fixtures/breaker/seed-checklist.ts';
import { sleep, waitFor, withDeadline } from '../../test/support/wait.ts';
import { Recorder } from '../demo/recorder.ts';
import { seededRandom } from '../../src/random.ts';
import { STRESS_SUBSCRIBER } from '../stress/bench.ts';
import { concurrent } from '../stress/concurrent.ts';
import { startStack, type Stack } from '../stress/stack.ts';
import { runSurge } from '../stress/surge.ts';

const level = process.argv.includes('--log-level') ? process.argv[process.argv.indexOf('--log-level') + 1] : 'silent';
const logger = createLogger({
  name: 'breaker-bus-load',
  level: level ?? 'silent',
  destination: pino.destination({ fd: 2, sync: true }),
});
const checks = new CheckRunner();
const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function main(): Promise<void> {
  await checks.run(
    'breaker under load (specification): 1000 concurrent requests through a breaker with maxConcurrent 100 (5% failures): > 900 succeed, stays CLOSED',
    async () => {
      const { successful, failed, maxRunning } = await testCircuitBreakerUnderLoad();
      return `${successful} succeeded, ${failed} failed, at most ${maxRunning} running at once, CLOSED`;
    },
  );

  console.log(
    'starting the stack: local Solana cluster, supervisor, pool with endpoint actors behind per-method breakers, bus ...',
  );
  let stack: Stack | undefined;
  try {
    stack = await startStack({ logger, maxQueueSize: 10_000, heartbeatMs: 250 });
    const { protectedPool, supervisor, bus } = stack;

    await checks.run(
      '100+ requests/s sustained for 3 s through the protected pool (local cluster): all served',
      async () => {
        const hist = new LatencyHistogram();
        const failed: string[] = [];
        const t0 = performance.now();
        const inflight: Promise<void>[] = [];
        let sent = 0;
        while (performance.now() - t0 < 3000) {
          // 200 requests/s: one every 5 ms.
          const s = performance.now();
          sent++;
          inflight.push(
            protectedPool.call('getSlot', []).then(
              () => hist.record(performance.now() - s),
              (err: Error) => void failed.push(err.message),
            ),
          );
          await sleep(5);
        }
        await Promise.all(inflight);
        const rate = (sent * 1000) / (performance.now() - t0);
        ensure(failed.length === 0, `${failed.length} failed: ${failed[0]}`);
        ensure(rate >= 100, `only ${rate.toFixed(0)} requests/s`);
        const l = hist.summary();
        return `${sent} requests at ${rate.toFixed(0)}/s, p50 ${ms(l.p50)}, p99 ${ms(l.p99)}`;
      },
    );

    await checks.run('1000 concurrent calls through the protected pool: all served', async () => {
      const r = await concurrent('pool', 1000, (i) => protectedPool.call(i % 2 ? 'getSlot' : 'getLatestBlockhash', []));
      ensure(r.ok === 1000, `failed: ${JSON.stringify(r.failed)}`);
      return `${r.ok} ok in ${ms(r.durationMs)} (${r.opsPerSec.toFixed(0)}/s), p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}`;
    });

    await checks.run('1000 concurrent asks to a worker actor: all answered', async () => {
      const ref = supervisor.spawn({ name: 'load-asks', module: STRESS_SUBSCRIBER, mailboxSize: 1000 });
      await withDeadline(ref.ready, 30_000, 'the ask actor start-up');
      const r = await concurrent('asks', 1000, (i) => ref.ask({ sequence: i, v: i }, { timeoutMs: 30_000 }));
      ensure(r.ok === 1000, `failed: ${JSON.stringify(r.failed)}`);
      return `${r.ok} answered in ${ms(r.durationMs)} (${r.opsPerSec.toFixed(0)}/s), p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}`;
    });

    await checks.run(
      '100× surge (500/s → 50,000/s for 1 s) into 4 worker and 3 inline subscribers: 0 critical lost, every drop counted, order kept',
      async () => {
        const recorder = new Recorder();
        const subs = [
          {
            name: 'orders-w0',
            sub: bus.subscribe('orders', { module: STRESS_SUBSCRIBER }, { name: 'orders-w0', mailboxSize: 5000 }),
          },
          {
            name: 'orders-w1',
            sub: bus.subscribe('orders', { module: STRESS_SUBSCRIBER }, { name: 'orders-w1', mailboxSize: 5000 }),
          },
          {
            name: 'ticks-w0',
            sub: bus.subscribe('ticks', { module: STRESS_SUBSCRIBER }, { name: 'ticks-w0', mailboxSize: 5000 }),
          },
          {
            name: 'metrics-w0',
            sub: bus.subscribe('metrics', { module: STRESS_SUBSCRIBER }, { name: 'metrics-w0', mailboxSize: 5000 }),
          },
          { name: 'orders-inline', sub: bus.subscribe('orders', recorder.handlerFor('orders')) },
          { name: 'ticks-inline', sub: bus.subscribe('ticks', recorder.handlerFor('ticks')) },
          { name: 'metrics-inline', sub: bus.subscribe('metrics', recorder.handlerFor('metrics')) },
        ];
        await withDeadline(Promise.all(subs.map((s) => s.sub.ready)), 30_000, 'subscribers start-up');
        const surge = await runSurge({
          bus,
          topics: [
            { topic: 'orders', priority: 'critical', share: 0.05 },
            { topic: 'ticks', priority: 'normal', share: 0.65 },
            { topic: 'metrics', priority: 'low', share: 0.3 },
          ],
          baseRate: 500,
          factor: 100,
          baseMs: 500,
          surgeMs: 1000,
          coolMs: 500,
          random: seededRandom(3),
        });
        await waitFor(
          () => {
            const s = bus.getStats();
            return s.topics.every((t) => t.depth === 0) && s.subscribers.every((x) => x.mailboxDepth === 0);
          },
          30_000,
          'the bus to drain',
        );
        const stats = bus.getStats();
        const refused: Record<string, number> = {};
        for (const [t, c] of Object.entries(surge.byTopic)) refused[t] = c.refused;
        const names = new Map(subs.map((s) => [s.sub.id, s.name]));
        const acc = accountSubscribers(stats, refused, (id) => names.get(id) ?? id);
        const bad = acc.filter((a) => a.unaccounted !== 0);
        ensure(bad.length === 0, `unaccounted: ${bad.map((a) => `${a.name} ${a.unaccounted}`).join(', ')}`);
        const orders = acc.filter((a) => a.topic === 'orders');
        const critAccepted = surge.byTopic['orders']!.accepted;
        ensure(
          critAccepted > 0 && orders.every((a) => a.owed === critAccepted && a.delivered + a.dropped === critAccepted),
          'every critical subscriber accounts for every accepted critical signal',
        );
        const critDropped = orders.reduce((a, s) => a + s.dropped, 0);
        ensure(critDropped === 0, `${critDropped} critical deliveries dropped (with a reason)`);
        ensure(recorder.orderViolations() === 0, `${recorder.orderViolations()} ordering violations`);
        const drops = Object.entries(stats.dropped)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${k} ${n}`);
        return `published ${surge.phases.surge.published} in the surge (${Math.round(surge.phases.surge.achievedRate)}/s); ${critAccepted} critical, all delivered to ${orders.length} subscribers; drops: ${drops.join(', ') || 'none'}`;
      },
    );
  } catch (err) {
    checks.record('set-up', false, (err as Error).message);
  } finally {
    await stack?.closer.closeAll(logger, 15_000);
  }
}

await main();
process.exit(checks.summary());
