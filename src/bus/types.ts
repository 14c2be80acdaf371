import type { ResourceLimits } from 'node:worker_threads';
import type { LatencySummary } from '../stats/latency.ts';

import type { Priority } from '../runtime/mailbox.ts';

/** Signal importance (the runtime's mailbox lanes): critical events are served first and shed last. */
export type { Priority };

/** Priority codes used internally: lower is more important, so `a < b` reads "a beats b". */
export const CRITICAL = 0;
export const NORMAL = 1;
export const LOW = 2;
export type PriorityCode = typeof CRITICAL | typeof NORMAL | typeof LOW;
export const PRIORITY_NAMES: readonly Priority[] = ['critical', 'normal', 'low'];

/**
 * Why an event (or one delivery of it) did not reach a handler. Topic-level reasons count once
 * per event; subscriber-level reasons (EXPIRED and the SUBSCRIBER_* / UNSUBSCRIBED / WORKER_*
 * ones) count once per subscriber that missed it. Sequence numbers that never arrived are not
 * events: they are counted apart (`sequencesSkipped`).
 */
export const DROP_REASONS = [
  'QUEUE_FULL',
  'SHED_FOR_PRIORITY',
  'DUPLICATE',
  'STALE',
  'EXPIRED',
  'NO_SUBSCRIBERS',
  'SUBSCRIBER_MAILBOX_FULL',
  'SUBSCRIBER_QUARANTINED',
  'SUBSCRIBER_STOPPED',
  'UNSUBSCRIBED',
  'WORKER_REFUSED',
  'WORKER_DEAD_LETTER',
  'EVENT_NOT_CLONEABLE',
  'BUS_CLOSED',
  /** A new topic past maxTopics while no topic could be evicted. */
  'TOO_MANY_TOPICS',
  /** A sequence more than maxSequenceJump beyond the topic's (see SignalBusOptions). */
  'SEQUENCE_TOO_FAR',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What a handler receives: the publisher's fields plus the bus's own. */
export type SignalEvent<T extends object = Record<string, unknown>> = Readonly<T> & {
  readonly topic: string;
  readonly sequence: number;
  readonly timestamp: number;
  readonly priority: Priority;
};

export type InlineHandler<T extends object = Record<string, unknown>> = (event: SignalEvent<T>) => unknown;

/** A subscriber that runs as a supervised worker actor: `module` exports the handler. */
export interface WorkerHandlerSpec {
  module: string | URL;
  export?: string;
}

export interface QuarantineOptions {
  /** Outcomes remembered per subscriber (sliding window by count). Default 20. */
  windowSize?: number;
  /** Outcomes needed in the window before the failure rate is judged. Default 10. */
  minSamples?: number;
  /** Quarantine when failures / outcomes in the window exceed this. Default 0.5. */
  failureRate?: number;
  /** First cool-off before a probe event is let through. Default 5000 ms. */
  cooloffMs?: number;
  /** Each failed probe multiplies the cool-off by this. Default 2. */
  cooloffFactor?: number;
  /** Ceiling of the cool-off. Default 60000 ms. */
  maxCooloffMs?: number;
}

export interface SubscribeOptions {
  /** Events this subscriber may hold while busy; overflow sheds the least important. Default: the bus's maxQueueSize. */
  mailboxSize?: number;
  /** Overrides the bus's quarantine settings for this subscriber (inline subscribers). */
  quarantine?: QuarantineOptions;
  /** Worker subscribers: actor name (default `bus:<topic>:<n>`). */
  name?: string;
  /** Worker subscribers: passed to the supervisor's spawn (see SpawnOptions). */
  heartbeatMs?: number;
  maxAttempts?: number;
  resourceLimits?: ResourceLimits;
  /** Worker subscribers: given to the module's exported `init(data)` on every incarnation. */
  init?: unknown;
  startTimeoutMs?: number;
  /**
   * Worker subscribers: the shared ring events travel through (SpawnOptions.ringBytes, default
   * 256 KiB). An event taking more than half of it goes by postMessage instead (slower, not refused).
   */
  ringBytes?: number;
}

export interface TopicOptions {
  /** Sequence the topic expects first. Default 1. */
  firstSequence?: number;
  /** Default time-to-live for events without `expiresAt`. */
  ttlMs?: number;
  /** Bound on this topic's queue (events accepted and not yet dispatched). Default: the bus's. */
  maxQueueSize?: number;
}

export interface Subscription {
  readonly id: string;
  readonly topic: string;
  readonly kind: 'inline' | 'worker';
  /**
   * Resolves when the subscriber can handle events (at once for inline ones; when its worker
   * has loaded for worker ones) and rejects with the runtime's ActorStartError when a worker
   * subscriber cannot start (bad path, syntax error, missing export).
   */
  readonly ready: Promise<void>;
  /** Removes the subscriber; what was queued for it is dropped (counted UNSUBSCRIBED). */
  unsubscribe(): Promise<void>;
}

/** 'stopped': a worker subscriber whose actor could not start; it is never called. */
export type SubscriberState = 'running' | 'restarting' | 'quarantined' | 'stopped';

export interface SubscriberStats {
  id: string;
  topic: string;
  kind: 'inline' | 'worker';
  state: SubscriberState;
  /** True while a quarantined subscriber is being tried with one probe event. */
  probing: boolean;
  delivered: number;
  failed: number;
  restarts: number;
  /** Inline: events waiting while the handler is busy. Worker: events waiting on the host plus those handed to the runtime and not finished. */
  mailboxDepth: number;
  dropped: number;
  quarantines: number;
  /** Worker subscribers: the actor's name and state as the runtime reports them. */
  actor?: { name: string; state: string; incarnation: number; crashes: number };
}

export interface TopicStats {
  topic: string;
  /** Events accepted and not yet dispatched (ready + waiting in the reorder buffer). */
  depth: number;
  reorderDepth: number;
  maxQueueSize: number;
  /** The sequence the topic expects next in order. */
  nextSequence: number;
  /** Gaps given up on after the reorder window. */
  gaps: number;
  /** Sequence numbers those gaps spanned. */
  skippedSequences: number;
  /** Times the topic's first events started above its expected first sequence and the baseline moved. */
  baselineJumps: number;
  published: number;
  publishedByPriority: Record<Priority, number>;
  /** Every drop of this topic's events by reason, its subscribers' drops included (reasons with a count only). */
  droppedByReason: Partial<Record<DropReason, number>>;
  /** Everything this topic dropped (refused at publish, displaced, or dispatched with no subscriber). */
  dropped: number;
  /** Refused at publish (QUEUE_FULL, DUPLICATE, STALE, SEQUENCE_TOO_FAR, BUS_CLOSED). */
  refused: number;
  /** Accepted, then displaced by a critical event (SHED_FOR_PRIORITY). */
  displaced: number;
  subscribers: number;
  /** Times resetTopic() made this topic forget its sequence history. */
  resets: number;
}

export type PriorityCounts = Record<Priority, number>;

export interface SignalBusStats {
  /** Events accepted by publish. */
  published: number;
  /** Successful handler runs (one per subscriber per event). */
  delivered: number;
  /** Handler runs that threw or rejected. */
  failed: number;
  /** Sum of `dropped` over every reason. */
  droppedEvents: number;
  dropped: Record<DropReason, number>;
  /** Gaps given up on after the reorder window, over every topic (evicted ones included). */
  gaps: number;
  /** Sequence numbers those gaps spanned: numbers that never arrived, not events dropped. */
  sequencesSkipped: number;
  /** Topics the bus holds now (at most maxTopics). */
  topicCount: number;
  /** Idle, empty topics forgotten to stay within maxTopics. */
  topicsEvicted: number;
  byPriority: Record<Priority, { published: number; delivered: number; failed: number; dropped: number }>;
  topics: TopicStats[];
  subscribers: SubscriberStats[];
  /** Inline subscribers: publish → handler start, in ms, from every `latencySampleEvery`-th event. */
  latency: LatencySummary & { sampleEvery: number };
  /**
   * Worker subscribers: publish → the runtime reporting the handler done, in ms (sampled the
   * same way). An upper bound on publish → handler start: it includes the handler and the
   * runtime's batched acknowledgement.
   */
  workerLatency: LatencySummary & { sampleEvery: number };
  closed: boolean;
}
