/**
 * The soak: millions of events through a signal bus with worker and inline subscribers, as fast
 * as the subscribers keep up (the publisher backs off when their backlog grows, so the queues
 * stay bounded and memory measures leaks, not backlog). RSS and heap are sampled every second
 * (after a full GC when node runs with --expose-gc, as `npm run soak` does); growth compares the
 * first and the second half of the samples taken after warm-up.
 */
import type { Logger } from '../../src/log/index.ts';
import { SignalBus } from '../../src/bus/index.ts';
import { Supervisor } from '../../src/runtime/index.ts';
import { accountSubscribers, type SubscriberAccount } from '../../test/support/bus-accounting.ts';
import { exitCodeOf, type CheckResult } from '../../test/support/checks.ts';
import { Closer } from '../lib/closer.ts';
import { memoryMb } from '../lib/flags.ts';
import { waitFor, withDeadline } from '../../test/support/wait.ts';
import { STRESS_SUBSCRIBER } from './bench.ts';

export interface SoakOptions {
  events: number;
  /** Hard bound on the run (the soak stops there even if fewer events went through). */
  maxMs: number;
  /** Share of the run (by events) treated as warm-up before the baseline is taken. */
  warmupShare: number;
  /** Growth goal, percent of the post-warm-up RSS. */
  goalPercent: number;
  logger: Logger;
  write: (line: string) => void;
}

export const SOAK_DEFAULTS = { events: 10_000_000, maxMs: 300_000, warmupShare: 0.2, goalPercent: 5 } as const;

export interface MemorySample {
  atMs: number;
  events: number;
  rssMb: number;
  heapMb: number;
}

export interface SoakReport {
  startedAt: string;
  options: Omit<SoakOptions, 'logger' | 'write'>;
  events: number;
  durationMs: number;
  eventsPerSec: number;
  stoppedBy: 'events' | 'time';
  delivered: number;
  droppedByReason: Record<string, number>;
  subscribers: SubscriberAccount[];
  memory: {
    /** A full GC ran before each sample (node --expose-gc). */
    gcBeforeSample: boolean;
    /** Lowest RSS of the first and of the second half of the samples after warm-up. */
    baselineRssMb: number;
    finalRssMb: number;
    rssGrowthPercent: number;
    /** Median RSS of the first and of the second half, for comparison. */
    medianRssMb: [number, number];
    /** Lowest heap sample of each half (the heap's floor between collections). */
    baselineHeapMb: number;
    finalHeapMb: number;
    heapGrowthPercent: number;
    peakRssMb: number;
    /** At most ~60 points, evenly spaced. */
    series: MemorySample[];
  };
  checks: CheckResult[];
  ok: boolean;
}

const BATCH = 2000;
/** Backlog (events queued in topics and subscribers) above which the publisher yields. */
const MAX_BACKLOG = 20_000;
const WINDOW = 5;

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const say = o.write;
  const startedAt = new Date().toISOString();
  const closer = new Closer();
  try {
    const supervisor = new Supervisor({ logger: o.logger, heartbeatMs: 1000 });
    closer.add('supervisor', () => supervisor.shutdown({ drainMs: 0 }));
    const bus = new SignalBus({ maxQueueSize: 50_000, supervisor, logger: o.logger });
    closer.add('signal bus', () => bus.close({ timeoutMs: 0 }));
    const subs = [
      {
        name: 'soak-ticks-0',
        sub: bus.subscribe('ticks', { module: STRESS_SUBSCRIBER }, { name: 'soak-ticks-0', mailboxSize: 50_000 }),
      },
      {
        name: 'soak-ticks-1',
        sub: bus.subscribe('ticks', { module: STRESS_SUBSCRIBER }, { name: 'soak-ticks-1', mailboxSize: 50_000 }),
      },
      {
        name: 'soak-orders-0',
        sub: bus.subscribe('orders', { module: STRESS_SUBSCRIBER }, { name: 'soak-orders-0', mailboxSize: 50_000 }),
      },
      { name: 'inline-ticks', sub: bus.subscribe('ticks', (e: { v?: number }) => void e.v) },
      { name: 'inline-orders', sub: bus.subscribe('orders', (e: { v?: number }) => void e.v) },
    ];
    await withDeadline(Promise.all(subs.map((s) => s.sub.ready)), 60_000, 'soak subscribers start-up');
    const idToName = new Map(subs.map((s) => [s.sub.id, s.name]));
    say(
      `soak: ${o.events.toLocaleString('en-US')} events (bounded by ${Math.round(o.maxMs / 1000)} s) into 3 worker and 2 inline subscribers; memory sampled every second ...`,
    );

    const refused: Record<string, number> = { ticks: 0, orders: 0 };
    const samples: MemorySample[] = [];
    let published = 0;
    const t0 = performance.now();
    // With --expose-gc (the npm script passes it) a full collection runs before each sample, so
    // the samples are the live floor, not a point on the allocation sawtooth.
    const gc = (globalThis as { gc?: () => void }).gc;
    const sample = (): void => {
      gc?.();
      const m = memoryMb();
      samples.push({
        atMs: Math.round(performance.now() - t0),
        events: published,
        rssMb: m.rssMb,
        heapMb: m.heapUsedMb,
      });
    };
    sample();
    const timer = setInterval(sample, 1000);
    timer.unref();
    let nextReport = o.events / 10;
    let stoppedBy: 'events' | 'time' = 'events';
    const backlog = (): number => {
      const s = bus.getStats();
      let n = 0;
      for (const t of s.topics) n += t.depth;
      for (const x of s.subscribers) n += x.mailboxDepth;
      return n;
    };
    let v = 0;
    while (published < o.events) {
      if (performance.now() - t0 > o.maxMs) {
        stoppedBy = 'time';
        break;
      }
      const n = Math.min(BATCH, o.events - published);
      for (let i = 0; i < n; i++) {
        const critical = (v & 31) === 0;
        const topic = critical ? 'orders' : 'ticks';
        if (!bus.publish(topic, { v: v++, token: 'BONK' }, critical ? 'critical' : 'normal')) refused[topic]!++;
      }
      published += n;
      if (published >= nextReport) {
        say(
          `  ${published.toLocaleString('en-US')} events, ${Math.round((published * 1000) / (performance.now() - t0)).toLocaleString('en-US')}/s, rss ${samples.at(-1)?.rssMb} MB`,
        );
        nextReport += o.events / 10;
      }
      // Let the router and the workers run; wait while the subscribers are behind.
      await new Promise<void>((r) => setImmediate(r));
      while (backlog() > MAX_BACKLOG) await new Promise<void>((r) => setTimeout(r, 1));
    }
    await waitFor(() => backlog() === 0, 60_000, 'the soak backlog to drain').catch((err: unknown) =>
      say(`  ${(err as Error).message}`),
    );
    const durationMs = performance.now() - t0;
    sample();
    clearInterval(timer);

    const stats = bus.getStats();
    const subscribers = accountSubscribers(stats, refused, (id) => idToName.get(id) ?? id);
    const droppedByReason: Record<string, number> = {};
    for (const [k, x] of Object.entries(stats.dropped)) if (x > 0) droppedByReason[k] = x;

    // After warm-up the samples are split in two halves. RSS includes the workers' own heaps and
    // the allocator's arenas, which the host's gc() does not reach: it jumps between levels tens
    // of MB apart. A leak raises the floor, so the verdict compares each half's lowest RSS (and
    // lowest heap); the medians are reported beside it.
    const warm = samples.filter((s) => s.events >= o.warmupShare * published);
    const half = Math.floor(warm.length / 2);
    const base = warm.slice(0, half);
    const last = warm.slice(warm.length - half);
    const median = (xs: MemorySample[]): number => {
      if (!xs.length) return NaN;
      const v = xs.map((s) => s.rssMb).sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const floor = (xs: MemorySample[], k: 'rssMb' | 'heapMb'): number =>
      xs.length ? Math.min(...xs.map((s) => s[k])) : NaN;
    const baselineRss = floor(base, 'rssMb');
    const finalRss = floor(last, 'rssMb');
    const baselineHeap = floor(base, 'heapMb');
    const finalHeap = floor(last, 'heapMb');
    const step = Math.max(1, Math.ceil(samples.length / 60));
    const memory = {
      gcBeforeSample: gc !== undefined,
      baselineRssMb: round(baselineRss),
      finalRssMb: round(finalRss),
      rssGrowthPercent: round(((finalRss - baselineRss) / baselineRss) * 100),
      medianRssMb: [round(median(base)), round(median(last))] as [number, number],
      baselineHeapMb: round(baselineHeap),
      finalHeapMb: round(finalHeap),
      heapGrowthPercent: round(((finalHeap - baselineHeap) / baselineHeap) * 100),
      peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
      series: samples.filter((_, i) => i % step === 0 || i === samples.length - 1),
    };
    const checks: CheckResult[] = [];
    const enough = half >= WINDOW;
    checks.push({
      name: `RSS growth after warm-up < ${o.goalPercent}%`,
      ok: enough && memory.rssGrowthPercent < o.goalPercent,
      detail: enough
        ? `RSS floor ${memory.baselineRssMb} → ${memory.finalRssMb} MB (${memory.rssGrowthPercent}%; medians ${memory.medianRssMb[0]} → ${memory.medianRssMb[1]} MB), heap floor ${memory.baselineHeapMb} → ${memory.finalHeapMb} MB (${memory.heapGrowthPercent}%)`
        : `only ${warm.length} samples after warm-up; need ${2 * WINDOW} (run more events or a longer --max-ms)`,
    });
    const unacc = subscribers.filter((s) => s.unaccounted !== 0);
    checks.push({
      name: 'every event accounted for',
      ok: unacc.length === 0,
      detail: unacc.length
        ? unacc.map((s) => `${s.name} ${s.unaccounted}`).join(', ')
        : `${stats.delivered.toLocaleString('en-US')} deliveries, drops ${JSON.stringify(droppedByReason)}`,
    });
    checks.push({
      name: 'all events published',
      ok: stoppedBy === 'events',
      detail:
        stoppedBy === 'events'
          ? `${published.toLocaleString('en-US')} events`
          : `stopped by the ${o.maxMs} ms bound after ${published.toLocaleString('en-US')} events`,
    });
    return {
      startedAt,
      options: { events: o.events, maxMs: o.maxMs, warmupShare: o.warmupShare, goalPercent: o.goalPercent },
      events: published,
      durationMs: Math.round(durationMs),
      eventsPerSec: Math.round((published * 1000) / durationMs),
      stoppedBy,
      delivered: stats.delivered,
      droppedByReason,
      subscribers,
      memory,
      checks,
      ok: exitCodeOf(checks) === 0,
    };
  } finally {
    await closer.closeAll(o.logger, 15_000);
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
