/** The breaker's public types: the operation it runs, its transitions, permits and stats. */
import type { CircuitState } from './errors.ts';
import type { LatencySummary } from '../stats/latency.ts';

/** The function a breaker runs. It receives an AbortSignal that fires when `timeoutMs` passes. */
export type Operation<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** Stable codes for why a transition happened. */
export type TransitionReason =
  | 'FAILURE_THRESHOLD'
  | 'FAILURE_RATE'
  | 'COOLDOWN_ELAPSED'
  | 'PROBE_SUCCEEDED'
  | 'PROBE_FAILED'
  | 'FORCED_OPEN'
  | 'RESET';

export interface StateChange {
  /** The breaker's (redacted) name. */
  breaker: string;
  from: CircuitState;
  to: CircuitState;
  reason: TransitionReason;
  /** Human-readable detail (URLs redacted), e.g. the last failure's message. */
  detail: string;
  /** Time of the transition, from the breaker's clock. */
  at: number;
}

export type StateChangeListener = (change: StateChange) => void;

/**
 * A slot granted by `tryAcquire()`/`acquire()`. Settle it exactly once: `onSuccess`, `onFailure`
 * (classified by the breaker's isFailure), or `release` (no outcome: e.g. the caller gave up).
 * Each returns true when it settled the permit and false when it was already settled (a no-op).
 */
export interface BreakerPermit {
  /** True when this call is a HALF_OPEN probe: its outcome closes or re-opens the circuit. */
  readonly probe: boolean;
  /** Reports success; latency defaults to the time since the permit was granted. */
  onSuccess(latencyMs?: number): boolean;
  onFailure(err: unknown, latencyMs?: number): boolean;
  release(): boolean;
}

export interface CircuitBreakerStats {
  name: string;
  state: CircuitState;
  /** True while held OPEN by forceOpen() (until reset()). */
  forced: boolean;
  /**
   * Every call that reached the breaker. Invariant: calls = successes + failures + ignored +
   * released + rejections.open + rejections.bulkhead + inFlight + queued.
   */
  calls: number;
  successes: number;
  /** Counted failures, timeouts included. */
  failures: number;
  /** Errors isFailure returned false for: passed to the caller, not counted. */
  ignored: number;
  /** Permits released without an outcome. */
  released: number;
  /** Calls that exceeded timeoutMs (also in failures). */
  timeouts: number;
  rejections: {
    /** Refused because OPEN, or HALF_OPEN with every probe slot taken (incl. queued calls dropped on opening). */
    open: number;
    bulkhead: number;
  };
  consecutiveFailures: number;
  inFlight: number;
  queued: number;
  /** Timed-out calls whose function has not settled yet; each still holds its bulkhead slot. */
  lingering: number;
  /** Timed-out calls whose function settled later (result discarded). */
  lateSettlements: number;
  probesInFlight: number;
  /** Consecutive failed probes since the circuit last closed (drives the cooldown backoff). */
  failedProbes: number;
  /** The cooldown chosen at the last opening, jitter included (ms). */
  cooldownMs: number;
  /** While OPEN, ms until a probe is admitted (the base cooldown as a hint when forced); else 0. */
  retryAfterMs: number;
  /** The failure-rate window, when failureRateThreshold is set. */
  window: { size: number; calls: number; failures: number; failureRate: number } | null;
  transitions: number;
  /** Transitions by the state entered. */
  transitionsTo: Record<CircuitState, number>;
  lastTransition: StateChange | null;
  lastFailure: { label: string | undefined; code: string | undefined; message: string; at: number } | null;
  /**
   * Call latency (ms). Permits are always timed. On the execute paths 1 call in `sampledEvery` is
   * timed: every call below ~5000 calls/s, fewer above (at most 1 in the latencySampleEvery option).
   */
  latency: LatencySummary & { sampledEvery: number };
  /** Listener and isFailure exceptions caught (each is logged; a throwing isFailure counts the error). */
  listenerErrors: number;
  classifierErrors: number;
}
