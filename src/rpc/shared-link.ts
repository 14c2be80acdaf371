/**
 * What the pool tells a shared endpoint-health link and asks of it (src/engine/shared-health.ts
 * implements it over a JetStream KV bucket). The link writes what other processes report into the
 * pool's health table (shared OPEN, shared 429 rests, the probe gate); the pool only reports its
 * own breaker transitions and rests.
 */
export interface SharedHealthLink {
  /** Connects (or falls back to the local view when the engine is unreachable). Never rejects. */
  start(): Promise<void>;
  /** The endpoint's own breaker changed state (a STATE_* code); `openUntil` when it opened. */
  breakerChanged(index: number, state: number, openUntil: number): void;
  /** The endpoint answered 429: it rests until `until` (epoch ms). */
  rateLimited(index: number, until: number): void;
  stats(): SharedHealthStats;
  close(): Promise<void>;
}

export interface SharedEndpointView {
  name: string;
  /** Another process reports it OPEN: this pool routes nothing to it. */
  sharedOpen: boolean;
  /** The process that last reported it OPEN, and until when (epoch ms; 0 when not OPEN). */
  openBy: string | undefined;
  openUntil: number;
  /** A 429 rest another process observed (epoch ms; 0 when none in force). */
  restUntil: number;
  /** This process holds the probe lease (it is the one probing recovery). */
  leaseHeld: boolean;
  /** When (this pool's clock) this process last reported the endpoint OPEN itself, and last learned another's OPEN report; 0 when never. */
  reportedOpenAt: number;
  learnedOpenAt: number;
  /** The fraction of the endpoint's rateLimitRps this process uses: 1 / live processes using it (1 without a rate). */
  rateShare: number;
}

export interface SharedHealthStats {
  /** Connected to the engine and in sync with the bucket. */
  connected: boolean;
  /** Using only this process's own view (engine down, unreachable or not yet connected). */
  fallback: boolean;
  lastError: string | undefined;
  bucket: string;
  processId: string;
  reconnects: number;
  resyncs: number;
  /** Records written to the bucket, and writes that failed (re-sent on the next resync). */
  published: number;
  publishErrors: number;
  /** Records from other processes applied to this pool's view. */
  received: number;
  /** Records that were not valid (another writer's garbage), by reason: ignored. */
  invalid: Record<string, number>;
  leases: { won: number; lost: number; released: number; expired: number };
  /** Probes this process ran while holding the lease, by result. */
  probesLed: { ok: number; failed: number };
  /** How long the last OPEN report from another process took to arrive here (ms, writer clock to reader clock). */
  lastPropagationMs: number | undefined;
  endpoints: SharedEndpointView[];
}
