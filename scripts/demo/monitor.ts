/**
 * What a person sees while the demo runs: the memory samples, the snapshot the live view draws
 * and the control server serves, the live view itself, and the control server (stats, actor and
 * provider faults over HTTP on loopback).
 */
import type { Clock } from '../../src/clock.ts';
import { faultKindsFor, killActor } from '../../src/runtime/index.ts';
import { memoryMb } from '../lib/flags.ts';
import type { DemoContext, DemoIo } from './context.ts';
import { Registry } from 'prom-client';
import { registerPalisadeMetrics } from '../../src/observe/prometheus.ts';
import { startControlServer } from './control-server.ts';
import type { DemoLoad } from './load.ts';
import type { DemoStack } from './stack.ts';
import { HEARTBEAT_MS, RISK, VALIDATOR, type DemoSubscribers } from './subscribers.ts';
import { LiveView, type ViewSnapshot } from './view.ts';

/** When the trading run started (0 during start-up): the view's and the samples' time origin. */
export interface RunWindow {
  startedAt: number;
}

export interface MemorySample {
  atMs: number;
  rssMb: number;
  heapMb: number;
}

export class MemorySampler {
  readonly series: MemorySample[] = [];
  peakRssMb = 0;

  constructor(
    private readonly clock: Clock,
    private readonly run: RunWindow,
  ) {}

  sample(): void {
    const m = memoryMb();
    this.peakRssMb = Math.max(this.peakRssMb, m.rssMb);
    this.series.push({ atMs: this.clock.now() - this.run.startedAt, rssMb: m.rssMb, heapMb: m.heapUsedMb });
  }
}

export function snapshotter(
  ctx: DemoContext,
  stack: DemoStack,
  subs: DemoSubscribers,
  load: DemoLoad,
  run: RunWindow,
  lastEvent: () => string,
): () => ViewSnapshot {
  const { o, clock } = ctx;
  const { bus, pool, supervisor, rpc } = stack;
  const { executor, nameOf } = subs;
  const { generator } = load;
  return () => {
    const b = bus.getStats();
    const p = pool.getStats();
    const s = supervisor.getStats();
    const x = executor.stats();
    const m = memoryMb();
    const now = clock.now();
    return {
      atMs: now,
      elapsedMs: run.startedAt ? now - run.startedAt : 0,
      durationMs: o.durationMs,
      phase: generator.phase,
      targetRate: generator.stats().rateNow,
      published: {
        critical: b.byPriority.critical.published,
        normal: b.byPriority.normal.published,
        low: b.byPriority.low.published,
      },
      delivered: b.delivered,
      dropped: b.dropped,
      latency: { p50: b.latency.p50, p99: b.latency.p99, count: b.latency.count },
      workerLatency: { p50: b.workerLatency.p50, p99: b.workerLatency.p99, count: b.workerLatency.count },
      endpoints: p.endpoints.map((e) => ({
        name: e.name,
        state: e.state,
        alive: e.alive,
        calls: e.calls,
        failures: e.failures,
        resting: e.rateLimitedUntil > 0,
      })),
      subscribers: b.subscribers.map((sub) => ({
        name: nameOf(sub.id),
        kind: sub.kind,
        state: sub.state,
        depth: sub.mailboxDepth,
        delivered: sub.delivered,
        restarts: sub.restarts,
      })),
      restarts: s.restarts,
      quarantined: s.quarantined,
      tx: {
        started: x.started,
        confirmed: x.confirmed,
        failed: Object.values(x.failed).reduce((a, c) => a + c, 0),
        inFlight: x.inFlight,
      },
      rpc: { calls: rpc.calls, failed: rpc.failedTotal },
      rssMb: m.rssMb,
      heapMb: m.heapUsedMb,
      lastEvent: lastEvent(),
    };
  };
}

/** The live view, or null with --quiet. */
export function liveView(ctx: DemoContext, io: DemoIo, snapshot: () => ViewSnapshot): LiveView | null {
  const { o, clock } = ctx;
  return o.quiet
    ? null
    : new LiveView(snapshot, io.write, io.tty, o.viewMs ?? (io.tty ? 1000 : 5000), clock, io.columns);
}

export async function startControl(
  ctx: DemoContext,
  stack: DemoStack,
  subs: DemoSubscribers,
  load: DemoLoad,
  snapshot: () => ViewSnapshot,
): Promise<void> {
  const { o, logger, closer, say, note } = ctx;
  const { bus, supervisor, pool, cluster, breakers } = stack;
  const { generator, faults } = load;
  const registry = new Registry();
  await registerPalisadeMetrics({ registry, supervisor, bus, pool, breakers: [breakers] });
  const control = await startControlServer(
    {
      stats: () => ({
        view: snapshot(),
        bus: bus.getStats(),
        supervisor: supervisor.getStats(),
        pool: pool.getStats(),
        generator: generator.stats(),
        executor: subs.executor.stats(),
        faults: faults.report(),
      }),
      actors: () =>
        supervisor.getStats().actors.map((a) => ({
          name: a.name,
          state: a.state,
          incarnation: a.incarnation,
          restarts: a.restarts,
          kinds: faultKindsFor({ heartbeatMs: a.name === VALIDATOR || a.name === RISK ? HEARTBEAT_MS : 1000 }),
        })),
      killActor: (n, k) => killActor(supervisor, n, k),
      ...(cluster
        ? {
            providers: {
              list: () => cluster.faults.list(),
              set: (n: string, f: unknown) => cluster.faults.set(n, f as never),
              clear: (n?: string) => cluster.faults.clear(n),
              kill: (n: string) => cluster.faults.kill(n),
              revive: (n: string) => cluster.faults.revive(n),
            },
          }
        : {}),
      logger,
      onAction: (what) => note(what),
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
      ...(process.env.PALISADE_CONTROL_TOKEN ? { token: process.env.PALISADE_CONTROL_TOKEN } : {}),
    },
    o.controlPort,
  );
  closer.add('control server', () => control.close());
  say(
    `control server: ${control.url}  (dashboard: ${control.url}/  GET /metrics /stats /actors /providers; POST /actors/kill /providers/fault|clear|kill|revive)`,
  );
  say(`control token: ${control.token}  (acting routes need: -H 'authorization: Bearer ${control.token}')`);
  say(
    `  e.g. curl -s -XPOST ${control.url}/actors/kill -H 'authorization: Bearer ${control.token}' -d '{"actor":"${VALIDATOR}","kind":"uncaught"}'`,
  );
  say(`  or  npm run fault-inject -- --target ${control.url} --token ${control.token}`);
}
