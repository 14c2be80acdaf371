import type { Clock } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import type { BusTracing } from '../observe/trace.ts';
import type { BusCounters } from './counters.ts';
import type { SubscriberStats } from './types.ts';

/** What subscribers share with the bus that owns them. */
export interface BusContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: BusCounters;
  /** Delivery spans; null unless the bus was created with `tracing: true` (then nothing looks up a context). */
  readonly tracing: BusTracing | null;
  /** Called when a subscriber finishes its backlog, so a closing bus can see it is drained. */
  subscriberIdle(): void;
}

/**
 * One subscriber of a topic, as the router sees it. `deliver` is called in sequence order for
 * each event of the topic; the subscriber owns what happens next (run now, queue, shed, drop).
 */
export interface Subscriber {
  readonly id: string;
  readonly topic: string;
  readonly kind: 'inline' | 'worker';
  deliver(event: object, prio: number, exp: number, t0: number): void;
  /** Nothing queued and nothing running. */
  readonly idle: boolean;
  /** Stops accepting events and drops what is queued, counted under `reason`. */
  detach(reason: number): void;
  /** Releases resources (a worker actor); after detach. */
  dispose(): Promise<void>;
  stats(): SubscriberStats;
}
