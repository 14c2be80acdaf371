/**
 * The actor-isolation stress bench: concurrent pool calls through breakers and endpoint actors
 * against the local cluster, concurrent asks to worker actors, then a signal surge (base rate ×
 * factor) into many worker subscribers while workers are killed at random. Every number in the
 * report is measured; the checks decide the exit code.
 */
import type { Logger } from '../../src/log/index.ts';
import { LatencyHistogram, type LatencySummary } from '../../src/stats/latency.ts';
import type { ActorRef, FaultKind } from '../../src/runtime/index.ts';
import type { Subscription } from '../../src/bus/index.ts';
import { killActor } from '../../src/runtime/index.ts';
import { accountSubscribers, type SubscriberAccount } from '../../test/support/bus-accounting.ts';
import { exitCodeOf, type CheckResult } from '../../test/support/checks.ts';
import { memoryMb } from '../lib/flags.ts';
import { waitFor, withDeadline } from '../../test/support/wait.ts';
import { Recorder } from '../demo/recorder.ts';
import { seededRandom } from '../../src/random.ts';
import { concurrent, type OpsResult } from './concurrent.ts';
import { startStack } from './stack.ts';
import { runSurge, type SurgeResult, type SurgeTopic } from './surge.ts';

export const STRESS_SUBSCRIBER = new URL('../../actors/demo/stress-subscriber.ts', import.meta.url);

export interface StressOptions {
  /** Worker subscribers on the bus (critical, normal and low topics in 1:2:1). */
  workers: number;
  /** Concurrent pool calls, and as many concurrent asks. */
  ops: number;
  /** Actors the asks are spread over. */
  askActors: number;
  baseRate: number;
  surgeFactor: number;
  baseMs: number;
  surgeMs: number;
  coolMs: number;
  /** A random worker subscriber is killed this often during the surge and the cool-down (0: never). */
  killEveryMs: number;
  seed: number;
  drainMs: number;
  /** The local cluster in this thread instead of its own worker thread (for comparison). */
  clusterInProcess?: boolean;
  logger: Logger;
  write: (line: string) => void;
}

export const STRESS_DEFAULTS = {
  workers: 16,
  ops: 2000,
  askActors: 4,
  baseRate: 1000,
  surgeFactor: 100,
  baseMs: 2000,
  surgeMs: 3000,
  coolMs: 2000,
  killEveryMs: 300,
  seed: 1,
  drainMs: 30_000,
} as const;

export interface KillRecord {
  actor: string;
  kind: FaultKind;
  atMs: number;
  recoveredMs: number | null;
}

export interface TimelineSample {
  atMs: number;
  rssMb: number;
  heapMb: number;
  published: number;
  delivered: number;
  dropped: number;
}

export interface StressReport {
  startedAt: string;
  options: Omit<StressOptions, 'logger' | 'write'>;
  concurrentOps: OpsResult[];
  surge: SurgeResult & {
    byPriority: Record<
      'critical' | 'normal' | 'low',
      { attempted: number; accepted: number; refused: number; delivered: number; failed: number; dropped: number }
    >;
    droppedByReason: Record<string, number>;
    criticalUnaccounted: number;
    drainedInMs: number;
    latency: { inline: LatencySummary; worker: LatencySummary };
  };
  subscribers: SubscriberAccount[];
  ordering: { violations: number };
  kills: {
    injected: number;
    notRunning: number;
    byKind: Record<string, number>;
    recovered: number;
    recovery: LatencySummary;
    list: KillRecord[];
  };
  runtime: {
    restarts: number;
    crashes: number;
    quarantined: number;
    deadLetters: number;
    deadLettersByReason: Record<string, number>;
    actors: number;
    liveWorkers: number;
  };
  memory: {
    rssStartMb: number;
    rssPeakMb: number;
    rssEndMb: number;
    heapStartMb: number;
    heapPeakMb: number;
    heapEndMb: number;
  };
  /** Every 250 ms from the start: memory and the bus's running totals (for the report's plots). */
  timeline: TimelineSample[];
  checks: CheckResult[];
  ok: boolean;
}

const TOPICS: SurgeTopic[] = [
  { topic: 'orders', priority: 'critical', share: 0.05 },
  { topic: 'ticks', priority: 'normal', share: 0.65 },
  { topic: 'metrics', priority: 'low', share: 0.3 },
];

export async function runStress(o: StressOptions): Promise<StressReport> {
  const say = o.write;
  const startedAt = new Date().toISOString();
  const random = seededRandom(o.seed);
  const mem0 = memoryMb();
  let rssPeak = mem0.rssMb;
  let heapPeak = mem0.heapUsedMb;
  const timeline: TimelineSample[] = [];
  const t0 = performance.now();
  let busForTimeline: { getStats(): { published: number; delivered: number; droppedEvents: number } } | undefined;
  const memTimer = setInterval(() => {
    const m = memoryMb();
    rssPeak = Math.max(rssPeak, m.rssMb);
    heapPeak = Math.max(heapPeak, m.heapUsedMb);
    const b = busForTimeline?.getStats();
    timeline.push({
      atMs: Math.round(performance.now() - t0),
      rssMb: m.rssMb,
      heapMb: m.heapUsedMb,
      published: b?.published ?? 0,
      delivered: b?.delivered ?? 0,
      dropped: b?.droppedEvents ?? 0,
    });
  }, 250);
  memTimer.unref();

  say(
    `starting the stack: local Solana cluster (${o.clusterInProcess ? 'in this thread' : 'in its own worker thread'}), supervisor, RPC pool (endpoint actors, per-method breakers), signal bus ...`,
  );
  const stack = await startStack({
    logger: o.logger,
    maxQueueSize: 10_000,
    heartbeatMs: 250,
    clusterInProcess: o.clusterInProcess === true,
  });
  const { supervisor, bus, protectedPool } = stack;
  busForTimeline = bus;
  try {
    // ------------------------------------------------------------ subscribers and ask actors
    const recorder = new Recorder();
    const split = { critical: Math.max(1, Math.round(o.workers / 4)), low: Math.max(1, Math.round(o.workers / 4)) };
    const counts: Record<string, number> = {
      orders: split.critical,
      metrics: split.low,
      ticks: Math.max(1, o.workers - split.critical - split.low),
    };
    const subs: { name: string; sub: Subscription }[] = [];
    for (const t of TOPICS) {
      for (let i = 0; i < counts[t.topic]!; i++) {
        const name = `stress-${t.topic}-${i}`;
        subs.push({
          name,
          sub: bus.subscribe(
            t.topic,
            { module: STRESS_SUBSCRIBER },
            { name, heartbeatMs: 250, mailboxSize: 20_000, maxAttempts: 3 },
          ),
        });
      }
      subs.push({ name: `recorder:${t.topic}`, sub: bus.subscribe(t.topic, recorder.handlerFor(t.topic)) });
    }
    const askers: ActorRef[] = [];
    for (let i = 0; i < o.askActors; i++)
      askers.push(
        supervisor.spawn({ name: `stress-ask-${i}`, module: STRESS_SUBSCRIBER, heartbeatMs: 250, mailboxSize: o.ops }),
      );
    const workerNames = subs.filter((s) => s.sub.kind === 'worker').map((s) => s.name);
    say(`spawning ${workerNames.length} worker subscribers and ${o.askActors} ask actors ...`);
    await withDeadline(
      Promise.all([...subs.map((s) => s.sub.ready), ...askers.map((a) => a.ready)]),
      120_000,
      'actors start-up',
    );
    const idToName = new Map(subs.map((s) => [s.sub.id, s.name]));

    // ------------------------------------------------------------ concurrent operations
    say(`${o.ops} concurrent pool calls and ${o.ops} concurrent asks, at once ...`);
    const reads: [string, unknown[]][] = [
      ['getSlot', []],
      ['getLatestBlockhash', [{ commitment: 'confirmed' }]],
      ['getBalance', ['11111111111111111111111111111111']],
      ['getVersion', []],
    ];
    const [poolOps, askOps] = await Promise.all([
      concurrent('pool calls (per-method breakers → pool → endpoint actors → local cluster)', o.ops, (i) => {
        const [m, p] = reads[i % reads.length]!;
        return protectedPool.call(m, p);
      }),
      concurrent(`actor asks (${o.askActors} worker actors)`, o.ops, (i) =>
        askers[i % askers.length]!.ask({ sequence: i, v: i }, { timeoutMs: 30_000 }),
      ),
    ]);

    // ------------------------------------------------------------ surge with random kills
    const kills: KillRecord[] = [];
    let notRunning = 0;
    const recovery = new LatencyHistogram();
    const pendingKill = new Map<string, KillRecord & { t: number }>();
    for (const n of workerNames) {
      supervisor.get(n)?.on('state', (state: string) => {
        const k = pendingKill.get(n);
        if (k && state === 'running') {
          k.recoveredMs = performance.now() - k.t;
          recovery.record(k.recoveredMs);
          pendingKill.delete(n);
        }
      });
    }
    const kinds: FaultKind[] = ['uncaught', 'exit', 'terminate', 'async-uncaught', 'unhandled-rejection'];
    let lastKill = 0;
    const t0 = performance.now();
    say(
      `surge: ${o.baseRate}/s for ${o.baseMs} ms → ×${o.surgeFactor} (${o.baseRate * o.surgeFactor}/s) for ${o.surgeMs} ms → ${o.baseRate}/s for ${o.coolMs} ms; killing a random worker every ${o.killEveryMs} ms from the surge on ...`,
    );
    const surge = await runSurge({
      bus,
      topics: TOPICS,
      baseRate: o.baseRate,
      factor: o.surgeFactor,
      baseMs: o.baseMs,
      surgeMs: o.surgeMs,
      coolMs: o.coolMs,
      random,
      onTick: (phase, elapsed) => {
        if (o.killEveryMs <= 0 || phase === 'base' || elapsed - lastKill < o.killEveryMs) return;
        lastKill = elapsed;
        const name = workerNames[Math.floor(random() * workerNames.length)]!;
        // One hang in ten: found by missed heartbeats rather than by the worker dying.
        const kind: FaultKind = random() < 0.1 ? 'hang' : kinds[Math.floor(random() * kinds.length)]!;
        if (pendingKill.has(name) || !killActor(supervisor, name, kind)) {
          notRunning++;
          return;
        }
        const rec: KillRecord = { actor: name, kind, atMs: Math.round(performance.now() - t0), recoveredMs: null };
        kills.push(rec);
        pendingKill.set(name, Object.assign(rec, { t: performance.now() }));
      },
    });
    say(
      `surge done: published ${surge.phases.surge.published.toLocaleString('en-US')} in the surge (${Math.round(surge.phases.surge.achievedRate).toLocaleString('en-US')}/s achieved); draining ...`,
    );
    const d0 = performance.now();
    await waitFor(
      () => {
        const s = bus.getStats();
        return (
          s.topics.every((t) => t.depth === 0) &&
          s.subscribers.every((x) => x.mailboxDepth === 0) &&
          pendingKill.size === 0
        );
      },
      o.drainMs,
      'the bus to drain and killed workers to recover',
    ).catch((err: unknown) => say(`  ${(err as Error).message}`));
    const drainedInMs = performance.now() - d0;

    // ------------------------------------------------------------ accounting
    const stats = bus.getStats();
    const sup = supervisor.getStats();
    const refused: Record<string, number> = {};
    for (const [t, c] of Object.entries(surge.byTopic)) refused[t] = c.refused;
    const subscribers = accountSubscribers(stats, refused, (id) => idToName.get(id) ?? id);
    const criticalUnaccounted = subscribers
      .filter((s) => s.topic === 'orders')
      .reduce((a, s) => a + Math.abs(s.unaccounted), 0);
    const byPriority = {} as StressReport['surge']['byPriority'];
    for (const p of ['critical', 'normal', 'low'] as const) {
      const g = Object.values(surge.byTopic).filter((t) => t.priority === p);
      byPriority[p] = {
        attempted: g.reduce((a, t) => a + t.attempted, 0),
        accepted: g.reduce((a, t) => a + t.accepted, 0),
        refused: g.reduce((a, t) => a + t.refused, 0),
        delivered: stats.byPriority[p].delivered,
        failed: stats.byPriority[p].failed,
        dropped: stats.byPriority[p].dropped,
      };
    }
    const droppedByReason: Record<string, number> = {};
    for (const [k, v] of Object.entries(stats.dropped)) if (v > 0) droppedByReason[k] = v;
    const byKind: Record<string, number> = {};
    for (const k of kills) byKind[k.kind] = (byKind[k.kind] ?? 0) + 1;
    const mem1 = memoryMb();
    const stressActors = sup.actors.filter((a) => a.name.startsWith('stress-'));

    const partial: Omit<StressReport, 'checks' | 'ok'> = {
      startedAt,
      options: {
        workers: o.workers,
        ops: o.ops,
        askActors: o.askActors,
        baseRate: o.baseRate,
        surgeFactor: o.surgeFactor,
        baseMs: o.baseMs,
        surgeMs: o.surgeMs,
        coolMs: o.coolMs,
        killEveryMs: o.killEveryMs,
        seed: o.seed,
        drainMs: o.drainMs,
        clusterInProcess: o.clusterInProcess === true,
      },
      concurrentOps: [poolOps, askOps],
      surge: {
        ...surge,
        byPriority,
        droppedByReason,
        criticalUnaccounted,
        drainedInMs,
        latency: { inline: stats.latency, worker: stats.workerLatency },
      },
      subscribers,
      ordering: { violations: recorder.orderViolations() },
      kills: {
        injected: kills.length,
        notRunning,
        byKind,
        recovered: kills.filter((k) => k.recoveredMs !== null).length,
        recovery: recovery.summary(),
        list: kills,
      },
      runtime: {
        restarts: sup.restarts,
        crashes: sup.crashes,
        quarantined: sup.quarantined,
        deadLetters: sup.deadLetters,
        deadLettersByReason: sup.deadLettersByReason as Record<string, number>,
        actors: sup.actors.length,
        liveWorkers: sup.workers.live,
      },
      memory: {
        rssStartMb: mem0.rssMb,
        rssPeakMb: rssPeak,
        rssEndMb: mem1.rssMb,
        heapStartMb: mem0.heapUsedMb,
        heapPeakMb: heapPeak,
        heapEndMb: mem1.heapUsedMb,
      },
      timeline,
    };
    const checks = stressChecks(
      partial,
      stressActors.every((a) => a.state === 'running'),
    );
    return { ...partial, checks, ok: exitCodeOf(checks) === 0 };
  } finally {
    clearInterval(memTimer);
    await stack.closer.closeAll(o.logger, 15_000);
  }
}

export function stressChecks(r: Omit<StressReport, 'checks' | 'ok'>, allRunning: boolean): CheckResult[] {
  const out: CheckResult[] = [];
  const add = (name: string, ok: boolean, detail: string): void => void out.push({ name, ok, detail });
  const ops = r.concurrentOps.reduce((a, x) => a + x.ops, 0);
  const failedOps = r.concurrentOps.reduce((a, x) => a + (x.ops - x.ok), 0);
  add(
    '1000+ concurrent operations all succeed',
    ops >= 1000 && failedOps === 0,
    `${ops} operations, ${failedOps} failed${failedOps ? ` (${r.concurrentOps.map((x) => JSON.stringify(x.failed)).join(' ')})` : ''}`,
  );
  const crit = r.surge.byPriority.critical;
  add(
    'critical signals lost = 0',
    r.surge.criticalUnaccounted === 0 && crit.accepted > 0,
    `${crit.accepted} accepted; every critical subscriber's owed = delivered + failed + dropped with a reason (unaccounted ${r.surge.criticalUnaccounted}); critical dropped with a reason: ${crit.dropped - crit.refused}`,
  );
  const unacc = r.subscribers.filter((s) => s.unaccounted !== 0);
  add(
    'every drop counted with a reason',
    unacc.length === 0 && r.surge.errors === 0,
    unacc.length
      ? unacc.map((s) => `${s.name} ${s.unaccounted}`).join(', ')
      : `${Object.values(r.surge.droppedByReason).reduce((a, b) => a + b, 0)} drops, all with a reason`,
  );
  add(
    'ordering violations = 0',
    r.ordering.violations === 0,
    `${r.ordering.violations} (inline recorders on every topic)`,
  );
  add(
    'every killed worker recovered, none quarantined',
    r.kills.recovered === r.kills.injected && r.runtime.quarantined === 0 && allRunning,
    `${r.kills.injected} kills, ${r.kills.recovered} recovered (p50 ${r.kills.recovery.p50.toFixed(1)} ms, p99 ${r.kills.recovery.p99.toFixed(1)} ms), ${r.runtime.quarantined} quarantined`,
  );
  add(
    'surge reached the factor',
    r.surge.phases.surge.achievedRate >= 0.5 * r.surge.phases.surge.targetRate,
    `target ${Math.round(r.surge.phases.surge.targetRate)}/s, achieved ${Math.round(r.surge.phases.surge.achievedRate)}/s (≥ half the target counts)`,
  );
  return out;
}
