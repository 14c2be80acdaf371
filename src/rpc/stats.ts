/**
 * Host-side counters per endpoint and for the pool, composed into one stats shape. The host sees
 * every attempt outcome in both modes, so these never need a round trip to an actor.
 */
import { LatencyHistogram, type LatencySummary } from '../stats/latency.ts';
import { FAILURE_CLASSES, SKIP_CLASSES, type FailureClass, type SkipClass } from './classify.ts';
import type { SharedHealthStats } from './shared-link.ts';

export class EndpointCounters {
  readonly latency = new LatencyHistogram();
  attempts = 0;
  successes = 0;
  callerErrors = 0;
  aborted = 0;
  failures: Record<FailureClass, number> = zeroes(FAILURE_CLASSES);
  skipped: Record<SkipClass, number> = zeroes(SKIP_CLASSES);
  /** Breaker transitions the pool observed, by the state entered. */
  transitionsTo = { CLOSED: 0, OPEN: 0, HALF_OPEN: 0 };
}

export interface EndpointStats {
  name: string;
  /** URL with credentials redacted. */
  url: string;
  tier: number;
  weight: number;
  state: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  /** False while the endpoint's actor is down (restarting) or after close(). */
  alive: boolean;
  /** Attempts sent to this endpoint (probes excluded). */
  calls: number;
  successes: number;
  callerErrors: number;
  aborted: number;
  failures: number;
  failuresByClass: Record<FailureClass, number>;
  skippedByClass: Record<SkipClass, number>;
  latency: LatencySummary;
  latencyEwmaMs: number;
  inFlight: number;
  /** Epoch ms until which the endpoint rests after a 429 (0 when not resting). */
  rateLimitedUntil: number;
  /** Epoch ms until which the client-side token bucket is empty (0 when not throttled). */
  throttledUntil: number;
  slot: number;
  /** Slots behind the best fresh endpoint. */
  lag: number;
  demoted: boolean;
  /** An attempt stalled past stallAfterMs and nothing has succeeded since: used only as a fallback. */
  suspect: boolean;
  probes: number;
  probeFailures: number;
  /** How many incarnations the endpoint has had (actor restarts + 1). */
  incarnations: number;
  /** Breaker transitions the pool observed, by the state entered. */
  transitionsTo: { CLOSED: number; OPEN: number; HALF_OPEN: number };
}

export interface PoolStats {
  mode: 'inline' | 'actor';
  calls: number;
  successes: number;
  /** Calls rejected with a caller error (JSON-RPC error the node sent back). */
  callerErrors: number;
  /** Calls rejected because no endpoint could serve them, by RpcPoolError code. */
  failed: Record<string, number>;
  /** Attempts after the first within a call (endpoint failures that moved to the next endpoint). */
  failovers: number;
  hedges: number;
  /** sendTransaction: failovers resolved by finding the signature already known, and re-sends. */
  sendTransaction: { statusChecks: number; alreadyLanded: number; resent: number; notResent: number };
  latency: LatencySummary;
  bestSlot: number;
  endpoints: EndpointStats[];
  /** Present when endpoint health is shared with other processes (`shared` in the config). */
  shared?: SharedHealthStats;
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  const o = {} as Record<K, number>;
  for (const k of keys) o[k] = 0;
  return o;
}
