import type { Logger } from '../log/index.ts';
import type { Clock } from '../clock.ts';
import { LatencyHistogram } from '../stats/latency.ts';
import { DROP_REASONS, PRIORITY_NAMES, type DropReason, type Priority, type SignalBusStats } from './types.ts';

const REASON_INDEX = new Map<DropReason, number>(DROP_REASONS.map((r, i) => [r, i]));
export const R = Object.fromEntries(DROP_REASONS.map((r, i) => [r, i])) as { readonly [K in DropReason]: number };

const LOG_INTERVAL_MS = 1000;

/**
 * The bus's counters in flat typed arrays so that counting on the hot path is one increment.
 * Drops are logged per reason: the first at once, then at most one summary line per second
 * with the count since the last line, so a storm of drops cannot become a storm of log lines.
 */
export class BusCounters {
  readonly published = new Float64Array(3);
  readonly delivered = new Float64Array(3);
  readonly failed = new Float64Array(3);
  /** [reason * 4 + priority]; slot 3 is spare (every drop today has a priority). */
  readonly dropped = new Float64Array(DROP_REASONS.length * 4);
  readonly latency = new LatencyHistogram();
  readonly workerLatency = new LatencyHistogram();
  gaps = 0;
  sequencesSkipped = 0;
  topicsEvicted = 0;
  private lastSkipLogAt = -Infinity;
  private skippedSinceLog = 0;
  private readonly lastLogAt = new Float64Array(DROP_REASONS.length).fill(-Infinity);
  private readonly sinceLog = new Float64Array(DROP_REASONS.length);

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Drops by reason per topic (no priority split), for per-topic stats and metrics. */
  private readonly topicDrops = new Map<string, Float64Array>();

  /** `where` names the topic or subscriber in logs; `topic` defaults to it (the router's case). */
  drop(reason: number, prio: number, where: string, count = 1, topic = where): void {
    this.dropped[reason * 4 + prio]! += count;
    let perTopic = this.topicDrops.get(topic);
    if (perTopic === undefined) {
      perTopic = new Float64Array(DROP_REASONS.length);
      this.topicDrops.set(topic, perTopic);
    }
    perTopic[reason]! += count;
    this.sinceLog[reason]! += count;
    const now = this.clock.now();
    if (now - this.lastLogAt[reason]! < LOG_INTERVAL_MS) return;
    this.lastLogAt[reason] = now;
    const n = this.sinceLog[reason]!;
    this.sinceLog[reason] = 0;
    this.logger.warn(
      { reason: DROP_REASONS[reason], where, count: n, priority: PRIORITY_NAMES[prio] ?? null },
      'signal bus dropped events',
    );
  }

  /** A gap given up on: `count` sequence numbers that never arrived (logged like drops, rate-limited). */
  skipped(count: number, where: string): void {
    this.gaps++;
    this.sequencesSkipped += count;
    this.skippedSinceLog += count;
    const now = this.clock.now();
    if (now - this.lastSkipLogAt < LOG_INTERVAL_MS) return;
    this.lastSkipLogAt = now;
    this.logger.warn(
      { where, sequencesSkipped: this.skippedSinceLog },
      'signal bus gave up on missing sequence numbers',
    );
    this.skippedSinceLog = 0;
  }

  /** Logs the drops counted since each reason's last log line (called on close). */
  flushLog(): void {
    for (let r = 0; r < DROP_REASONS.length; r++) {
      const n = this.sinceLog[r]!;
      if (n === 0) continue;
      this.sinceLog[r] = 0;
      this.logger.warn({ reason: DROP_REASONS[r], count: n }, 'signal bus dropped events');
    }
  }

  /** The reasons this topic's events were dropped for (only reasons with a count). */
  topicDropsByReason(topic: string): Partial<Record<DropReason, number>> {
    const out: Partial<Record<DropReason, number>> = {};
    const perTopic = this.topicDrops.get(topic);
    if (perTopic === undefined) return out;
    for (let r = 0; r < DROP_REASONS.length; r++) if (perTopic[r]! > 0) out[DROP_REASONS[r]!] = perTopic[r]!;
    return out;
  }

  /** A topic the bus forgets: its drop tally goes with it (the bus-wide counts keep it). */
  forgetTopic(topic: string): void {
    this.topicDrops.delete(topic);
  }

  droppedFor(reason: DropReason): number {
    const r = REASON_INDEX.get(reason)!;
    let n = 0;
    for (let p = 0; p < 4; p++) n += this.dropped[r * 4 + p]!;
    return n;
  }

  snapshot(sampleEvery: number): Omit<SignalBusStats, 'topics' | 'subscribers' | 'closed' | 'topicCount'> {
    const dropped = {} as Record<DropReason, number>;
    let droppedEvents = 0;
    DROP_REASONS.forEach((reason) => {
      const n = this.droppedFor(reason);
      dropped[reason] = n;
      droppedEvents += n;
    });
    const byPriority = {} as SignalBusStats['byPriority'];
    let published = 0;
    let delivered = 0;
    let failed = 0;
    PRIORITY_NAMES.forEach((name: Priority, p) => {
      let d = 0;
      for (let r = 0; r < DROP_REASONS.length; r++) d += this.dropped[r * 4 + p]!;
      byPriority[name] = {
        published: this.published[p]!,
        delivered: this.delivered[p]!,
        failed: this.failed[p]!,
        dropped: d,
      };
      published += this.published[p]!;
      delivered += this.delivered[p]!;
      failed += this.failed[p]!;
    });
    return {
      published,
      delivered,
      failed,
      droppedEvents,
      dropped,
      gaps: this.gaps,
      sequencesSkipped: this.sequencesSkipped,
      topicsEvicted: this.topicsEvicted,
      byPriority,
      latency: { ...this.latency.summary(), sampleEvery },
      workerLatency: { ...this.workerLatency.summary(), sampleEvery },
    };
  }
}
