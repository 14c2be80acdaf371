import type { WireReject } from './wire.ts';

/** `new SignalBus({ nats: { … } })`: carry signals between processes over NATS JetStream. */
export interface NatsBusOptions {
  /** `nats://host:port`, or several for a cluster. */
  servers: string | readonly string[];
  /**
   * This process's name: letters, digits, `-`, `_`. It names the durable consumers (a process
   * restarting under the same name resumes where it left off) and the publisher in message ids.
   * Two live processes must not share one.
   */
  name: string;
  /** Subjects are `${subjectPrefix}.${topic}`. Default 'palisade.signal'. */
  subjectPrefix?: string;
  /** The stream holding the signals (created with `${subjectPrefix}.>` if missing). Default 'PALISADE_SIGNALS'. */
  stream?: string;
  /** Stream retention when palisade creates it (`max_age`). Default 24 h. */
  retentionMs?: number;
  /** Stream duplicate window when palisade creates it. Default 120000 ms. */
  duplicateWindowMs?: number;
  /** Stream storage when palisade creates it. Default 'file'. */
  storage?: 'file' | 'memory';
  /** Events held for the engine while it is slow or down; beyond it publish() refuses (OUTBOX_FULL). Default 10000. */
  outboxSize?: number;
  /** Publishes awaiting the engine's acknowledgement at once (a wide window keeps throughput up when acknowledgements are slow). Default 1024. */
  maxInflightPublishes?: number;
  /** Wait for one publish acknowledgement before retrying it. Default 2000 ms. */
  publishTimeoutMs?: number;
  /** Largest event body (JSON bytes) sent or accepted. Default 65536. */
  maxEventBytes?: number;
  /** Events a subscription may hold unacknowledged (flow control). Default 1000. */
  maxAckPending?: number;
  /** A delivered event not acknowledged in this time is delivered again. Default 30000 ms. */
  ackWaitMs?: number;
  /** Handler runs per event before it is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** First redelivery delay after a handler threw; doubles per attempt. Default 200 ms. */
  retryBackoffMs?: number;
  /** Ceiling of the redelivery delay. Default 10000 ms. */
  maxRetryBackoffMs?: number;
  /** Dead letters go to `${deadLetterPrefix}.${topic}`. Default `${subjectPrefix}_dead`. */
  deadLetterPrefix?: string;
  /** The stream holding dead letters. Default `${stream}_DEAD`. */
  deadLetterStream?: string;
  /** How long one pull waits at the server; bounds the wait after a reconnect too. Default 5000 ms. */
  pullExpiresMs?: number;
  reconnectTimeWaitMs?: number;
  connectTimeoutMs?: number;
  pingIntervalMs?: number;
}

/** Why the engine side did not carry an event. */
export const ENGINE_DROP_REASONS = [
  ...([
    'NOT_JSON',
    'NOT_AN_OBJECT',
    'TOO_LARGE',
    'BAD_HEADER',
    'BAD_SEQUENCE',
  ] as const satisfies readonly WireReject[]),
  /** publish() refused: the outbox was full. */
  'OUTBOX_FULL',
  /** A remote event already seen: refused by its publisher's order, or redelivered after this process handled it (acknowledged, not handled again). */
  'DUPLICATE',
  /** A remote event older than what its publisher's order had passed (acknowledged, not handled). */
  'STALE',
  /** Past its `expiresAt` when it arrived from the engine (acknowledged, not handled). */
  'EXPIRED',
  /** Refused by the stream for good (e.g. over its max_msg_size); not retried. */
  'REJECTED_BY_ENGINE',
  /** Still in the outbox when the bus closed. */
  'BUS_CLOSED',
] as const;
export type EngineDropReason = (typeof ENGINE_DROP_REASONS)[number];

export interface EngineSubscriptionStats {
  topic: string;
  consumer: string;
  group: string | null;
  /** False until its consumer exists; and after a setup failure (see `error`). */
  consuming: boolean;
  received: number;
  acked: number;
  error: string | null;
}

export interface EngineStats {
  connected: boolean;
  serverVersion: string | null;
  reconnects: number;
  disconnects: number;
  /** Events waiting for the engine or awaiting its acknowledgement. */
  outboxDepth: number;
  /** Events the engine acknowledged. */
  published: number;
  /** Retried publishes the engine recognised by message id as already stored. */
  publishDuplicates: number;
  publishRetries: number;
  /** Messages taken from the engine (own publishes coming back included). */
  received: number;
  /** Of those, deliveries after the first (a handler threw, or an acknowledgement was late). */
  redelivered: number;
  /** Own publishes coming back to a fan-out subscription, acknowledged unhandled (they were delivered locally). */
  ownEchoes: number;
  deadLettered: number;
  dropped: Record<EngineDropReason, number>;
  /**
   * Unsubscribed subscriptions whose own durable consumer could not be removed from the engine
   * (it was unreachable): the consumer stays on the server until removed by hand (logged by name).
   */
  consumersLeftBehind: number;
  subscriptions: EngineSubscriptionStats[];
}
