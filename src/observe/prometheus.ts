/**
 * Prometheus metrics for a supervisor, a bus, a pool and breaker registries, read from their
 * `getStats()` at scrape time: the hot paths (`execute`, `publish`, dispatch, `call`) pay nothing.
 *
 * prom-client is an optional peer dependency. Pass your own `Registry`; without one, the default
 * registry of the prom-client your process resolves is used (imported only then). Each family is a
 * plain metric object that the registry asks for its values when scraped, so no prom-client class
 * is needed here and a registry from any prom-client ≥ 13 works.
 *
 * Cardinality stays bounded: at most `maxTopics` topics and `maxActors` actors get their own
 * label value (the busiest first); the rest are summed under `"_other"`.
 */
import type { CircuitBreakerManagerStats } from '../breaker/manager.ts';
import type { CircuitBreakerStats } from '../breaker/circuit-breaker.ts';
import type { SignalBusStats, TopicStats } from '../bus/types.ts';
import type { PoolStats } from '../rpc/stats.ts';
import type { SupervisorStats } from '../runtime/supervisor.ts';
import { ConfigError } from '../errors.ts';
import { integer } from '../validate.ts';

/** The part of prom-client's Registry used here. */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
}

export interface MetricsSources {
  supervisor?: { getStats(): SupervisorStats };
  bus?: { getStats(): SignalBusStats };
  pool?: { getStats(): PoolStats; latencyBuckets?(boundsMs: readonly number[]): Record<string, LatencyBuckets> };
  /** Breaker registries (`CircuitBreakerManager`, `protect(pool).breakers`) or single breakers. */
  breakers?: ReadonlyArray<{ getStats(): CircuitBreakerManagerStats | CircuitBreakerStats }>;
}

export interface RegisterMetricsOptions extends MetricsSources {
  registry?: MetricsRegistry;
  /** Topics with a label of their own; the rest are summed as "_other". Default 50. */
  maxTopics?: number;
  /** Actors with a label of their own; the rest are summed as "_other". Default 100. */
  maxActors?: number;
}

export interface RegisteredMetrics {
  /** The families registered, in order. */
  readonly names: readonly string[];
  /** Removes them from the registry. */
  unregister(): void;
}

type Labels = Record<string, string>;
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}
type MetricType = 'gauge' | 'counter' | 'histogram';

export const OTHER_LABEL = '_other';
export const BREAKER_STATE_VALUE = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;
export const ACTOR_STATE_VALUE = { starting: 0, running: 1, restarting: 2, quarantined: 3, stopped: 4 } as const;
/** Upper bounds (seconds) of the request-duration histogram. */
export const RPC_DURATION_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RPC_DURATION_BOUNDS_MS = RPC_DURATION_BUCKETS_S.map((s) => s * 1000);

/** Cumulative counts at bucket bounds (ms), as `LatencyHistogram.cumulative` gives them. */
export interface LatencyBuckets {
  cumulative: readonly number[];
  count: number;
  sumMs: number;
}

/**
 * Registers palisade's metric families. Resolves once registered; scraping the registry then
 * reads the sources' stats (one `getStats()` per source per scrape).
 */
export async function registerPalisadeMetrics(options: RegisterMetricsOptions): Promise<RegisteredMetrics> {
  if (options === null || typeof options !== 'object') throw new ConfigError('metrics', options, 'an options object');
  const maxTopics = integer('metrics.maxTopics', options.maxTopics ?? 50, 1, 10_000);
  const maxActors = integer('metrics.maxActors', options.maxActors ?? 100, 1, 10_000);
  for (const key of ['supervisor', 'bus', 'pool'] as const) {
    const src = options[key];
    if (src !== undefined && typeof (src as { getStats?: unknown }).getStats !== 'function') {
      throw new ConfigError(`metrics.${key}`, src, 'an object with getStats()');
    }
  }
  const breakers = options.breakers ?? [];
  if (!Array.isArray(breakers) || breakers.some((b) => typeof b?.getStats !== 'function')) {
    throw new ConfigError('metrics.breakers', breakers, 'an array of breakers or breaker registries');
  }
  const registry = options.registry ?? (await defaultRegistry());
  if (typeof registry?.registerMetric !== 'function' || typeof registry.removeSingleMetric !== 'function') {
    throw new ConfigError('metrics.registry', registry, 'a prom-client Registry');
  }

  const snap = new ScrapeSnapshot(options);
  const families = defineFamilies(snap, breakers, maxTopics, maxActors, options);
  const names: string[] = [];
  try {
    for (const f of families) {
      registry.registerMetric(toPromMetric(f) as never);
      names.push(f.name);
    }
  } catch (err) {
    for (const n of names) registry.removeSingleMetric(n);
    throw err;
  }
  return {
    names,
    unregister: () => {
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}

async function defaultRegistry(): Promise<MetricsRegistry> {
  try {
    const mod = (await import('prom-client')) as unknown as {
      register?: MetricsRegistry;
      default?: { register: MetricsRegistry };
    };
    const reg = mod.register ?? mod.default?.register;
    if (!reg) throw new Error('prom-client exports no default registry');
    return reg;
  } catch (err) {
    throw new ConfigError(
      'metrics.registry',
      undefined,
      `a prom-client Registry (prom-client could not be loaded: ${(err as Error).message})`,
    );
  }
}

/**
 * One scrape asks every family for its values in the same turn of the event loop; the stats of
 * each source are read once per turn and shared.
 */
class ScrapeSnapshot {
  private cache = new Map<object, unknown>();
  private clearing = false;
  constructor(private readonly sources: MetricsSources) {}

  of<T>(source: { getStats(): T } | undefined): T | undefined {
    if (!source) return undefined;
    if (this.cache.has(source)) return this.cache.get(source) as T;
    const stats = source.getStats();
    this.cache.set(source, stats);
    if (!this.clearing) {
      this.clearing = true;
      setImmediate(() => {
        this.cache.clear();
        this.clearing = false;
      });
    }
    return stats;
  }

  get supervisor() {
    return this.of(this.sources.supervisor);
  }
  get bus() {
    return this.of(this.sources.bus);
  }
  get pool() {
    return this.of(this.sources.pool);
  }
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  collect(): Sample[];
}

function toPromMetric(f: Family) {
  const metric = {
    name: f.name,
    help: f.help,
    type: f.type,
    aggregator: 'sum',
    get: async () => ({ name: f.name, help: f.help, type: f.type, aggregator: 'sum', values: f.collect() }),
    reset: () => {},
  };
  return metric;
}

function defineFamilies(
  snap: ScrapeSnapshot,
  breakers: ReadonlyArray<{ getStats(): CircuitBreakerManagerStats | CircuitBreakerStats }>,
  maxTopics: number,
  maxActors: number,
  sources: MetricsSources,
): Family[] {
  const families: Family[] = [];
  const allBreakers = (): Array<{
    name: string;
    state: string;
    transitionsTo?: Record<string, number> | undefined;
  }> => {
    const out: Array<{ name: string; state: string; transitionsTo?: Record<string, number> | undefined }> = [];
    for (const src of breakers) {
      const s = snap.of(src) as CircuitBreakerManagerStats | CircuitBreakerStats;
      if ('breakers' in s) for (const b of Object.values(s.breakers)) out.push(breakerRow(b));
      else out.push(breakerRow(s));
    }
    const pool = snap.pool;
    if (pool)
      for (const e of pool.endpoints)
        out.push({ name: `endpoint:${e.name}`, state: e.state, transitionsTo: e.transitionsTo });
    return out;
  };

  if (breakers.length > 0 || sources.pool) {
    families.push({
      name: 'palisade_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open. Endpoint breakers are named endpoint:<name>.',
      type: 'gauge',
      collect: () =>
        allBreakers().map((b) => ({
          labels: { breaker: b.name },
          value: BREAKER_STATE_VALUE[b.state as keyof typeof BREAKER_STATE_VALUE] ?? -1,
        })),
    });
    families.push({
      name: 'palisade_breaker_transitions_total',
      help: 'Circuit breaker transitions, by the state entered.',
      type: 'counter',
      collect: () =>
        allBreakers().flatMap((b) =>
          Object.entries(b.transitionsTo ?? {}).map(([to, n]) => ({ labels: { breaker: b.name, to }, value: n })),
        ),
    });
  }

  if (sources.pool) {
    families.push({
      name: 'palisade_rpc_requests_total',
      help: 'RPC attempts per endpoint by outcome: success, caller_error, aborted, or the failure class.',
      type: 'counter',
      collect: () => {
        const pool = snap.pool;
        if (!pool) return [];
        const out: Sample[] = [];
        for (const e of pool.endpoints) {
          out.push({ labels: { endpoint: e.name, outcome: 'success' }, value: e.successes });
          out.push({ labels: { endpoint: e.name, outcome: 'caller_error' }, value: e.callerErrors });
          out.push({ labels: { endpoint: e.name, outcome: 'aborted' }, value: e.aborted });
          for (const [cls, n] of Object.entries(e.failuresByClass))
            out.push({ labels: { endpoint: e.name, outcome: cls }, value: n });
        }
        return out;
      },
    });
    families.push({
      name: 'palisade_rpc_request_duration_seconds',
      help: 'RPC attempt latency per endpoint (successful and failed attempts).',
      type: 'histogram',
      collect: () => {
        const read = sources.pool?.latencyBuckets;
        if (!read) return [];
        const out: Sample[] = [];
        const byEndpoint = read.call(sources.pool, RPC_DURATION_BOUNDS_MS);
        for (const [endpoint, h] of Object.entries(byEndpoint)) {
          histogramSamples(out, 'palisade_rpc_request_duration_seconds', { endpoint }, h);
        }
        return out;
      },
    });
  }

  if (sources.bus) {
    // Per topic (capped), a breakdown summed over the topics that share a label.
    const perTopic =
      (key: string, breakdown: (t: TopicStats) => Partial<Record<string, number>>, zeroes: readonly string[]) => () => {
        const bus = snap.bus;
        if (!bus) return [];
        const out: Sample[] = [];
        for (const [topic, list] of capRows(
          bus.topics,
          maxTopics,
          (t) => t.published,
          (t) => t.topic,
        )) {
          const sum: Record<string, number> = Object.fromEntries(zeroes.map((z) => [z, 0]));
          for (const t of list) for (const [k, n] of Object.entries(breakdown(t))) sum[k] = (sum[k] ?? 0) + (n ?? 0);
          for (const [k, n] of Object.entries(sum)) out.push({ labels: { topic, [key]: k }, value: n });
        }
        return out;
      };
    families.push({
      name: 'palisade_bus_published_total',
      help: 'Events accepted by publish, by topic and priority.',
      type: 'counter',
      collect: perTopic('priority', (t) => t.publishedByPriority, ['critical', 'normal', 'low']),
    });
    families.push({
      name: 'palisade_bus_dropped_total',
      help: 'Events dropped, by topic and reason (every drop has a reason).',
      type: 'counter',
      collect: perTopic('reason', (t) => t.droppedByReason, []),
    });
    families.push({
      name: 'palisade_bus_queue_depth',
      help: 'Events accepted and not yet dispatched, by topic.',
      type: 'gauge',
      collect: () => {
        const bus = snap.bus;
        if (!bus) return [];
        return [
          ...capRows(
            bus.topics,
            maxTopics,
            (t) => t.published,
            (t) => t.topic,
          ),
        ].map(([topic, list]) => ({
          labels: { topic },
          value: list.reduce((a, t) => a + t.depth, 0),
        }));
      },
    });
  }

  if (sources.supervisor) {
    const actorRows = () => {
      const sup = snap.supervisor;
      return sup
        ? capRows(
            sup.actors,
            maxActors,
            (a) => a.accepted,
            (a) => a.name,
          )
        : new Map();
    };
    families.push({
      name: 'palisade_mailbox_depth',
      help: 'Messages queued on the host plus handed to the worker and not finished, by actor.',
      type: 'gauge',
      collect: () =>
        [...actorRows()].map(([actor, list]) => ({
          labels: { actor },
          value: list.reduce((a: number, s: SupervisorStats['actors'][number]) => a + s.mailboxDepth + s.inFlight, 0),
        })),
    });
    families.push({
      name: 'palisade_actor_restarts_total',
      help: 'Actor restarts by the kind of crash that caused them.',
      type: 'counter',
      collect: () => {
        const out: Sample[] = [];
        for (const [actor, list] of actorRows()) {
          const sum: Record<string, number> = {};
          for (const s of list as SupervisorStats['actors'])
            for (const [k, n] of Object.entries(s.crashesByKind)) sum[k] = (sum[k] ?? 0) + (n ?? 0);
          for (const [kind, n] of Object.entries(sum)) out.push({ labels: { actor, kind }, value: n });
        }
        return out;
      },
    });
    families.push({
      name: 'palisade_actor_state',
      help: 'Actor state: 0 starting, 1 running, 2 restarting, 3 quarantined, 4 stopped (for "_other": the worst).',
      type: 'gauge',
      collect: () =>
        [...actorRows()].map(([actor, list]) => ({
          labels: { actor },
          value: Math.max(...(list as SupervisorStats['actors']).map((s) => ACTOR_STATE_VALUE[s.state] ?? -1)),
        })),
    });
  }
  return families;
}

function breakerRow(b: CircuitBreakerStats) {
  return { name: b.name, state: b.state, transitionsTo: b.transitionsTo };
}

/** The `cap` busiest rows keep their own label; the rest are grouped under "_other". */
function capRows<T>(
  rows: readonly T[],
  cap: number,
  weight: (r: T) => number,
  label: (r: T) => string,
): Map<string, T[]> {
  const out = new Map<string, T[]>();
  const sorted = rows.length > cap ? [...rows].sort((a, b) => weight(b) - weight(a)) : rows;
  sorted.forEach((r, i) => {
    const key = i < cap ? label(r) : OTHER_LABEL;
    const list = out.get(key);
    if (list) list.push(r);
    else out.set(key, [r]);
  });
  return out;
}

function histogramSamples(out: Sample[], name: string, labels: Labels, h: LatencyBuckets): void {
  RPC_DURATION_BUCKETS_S.forEach((le, i) => {
    out.push({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(le) },
      value: h.cumulative[i] ?? h.count,
    });
  });
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sumMs / 1000 });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
}
