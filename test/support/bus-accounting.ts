/**
 * Proves from a signal bus's own stats that nothing went missing: for every subscriber, the
 * events the bus owed it (accepted on its topic, minus topic-level drops after acceptance) equal
 * what it delivered, what failed, what it dropped with a reason, and what is still queued.
 * Refusals at publish are not owed: the publisher saw `false` and counts them itself.
 */
import type { SignalBusStats } from '../../src/bus/index.ts';

export interface SubscriberAccount {
  name: string;
  kind: 'inline' | 'worker';
  topic: string;
  /** Events the bus owed this subscriber. */
  owed: number;
  delivered: number;
  failed: number;
  dropped: number;
  queuedAtEnd: number;
  /** owed − (delivered + failed + dropped + queued): 0 when every event is accounted for. */
  unaccounted: number;
  state: string;
  restarts: number;
  quarantines: number;
}

/**
 * @param refusedAtPublish per topic, the publishes the bus refused (the publisher's own count)
 * @param nameOf display name of a subscriber id
 */
export function accountSubscribers(
  stats: SignalBusStats,
  refusedAtPublish: Record<string, number>,
  nameOf: (id: string) => string = (id) => id,
): SubscriberAccount[] {
  return stats.subscribers.map((s) => {
    const t = stats.topics.find((x) => x.topic === s.topic);
    // The topic's drops include refusals at publish; the rest happened after acceptance.
    const afterAccept = t ? Math.max(0, t.dropped - (refusedAtPublish[s.topic] ?? 0)) : 0;
    const owed = (t?.published ?? 0) - afterAccept;
    return {
      name: nameOf(s.id),
      kind: s.kind,
      topic: s.topic,
      owed,
      delivered: s.delivered,
      failed: s.failed,
      dropped: s.dropped,
      queuedAtEnd: s.mailboxDepth,
      unaccounted: owed - (s.delivered + s.failed + s.dropped + s.mailboxDepth),
      state: s.state,
      restarts: s.restarts,
      quarantines: s.quarantines,
    };
  });
}

/** Topic-level drops after acceptance on `topic` (NO_SUBSCRIBERS, SHED_FOR_PRIORITY, ...). */
export function dropsAfterAccept(stats: SignalBusStats, topic: string, refusedAtPublish: number): number {
  const t = stats.topics.find((x) => x.topic === topic);
  return t ? Math.max(0, t.dropped - refusedAtPublish) : 0;
}
