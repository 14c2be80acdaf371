/**
 * The shapes every part of the pool shares: what an attempt asks, what it comes back with, how an
 * outcome is classed, and the seam between the pool and an endpoint. Types only, so the modules
 * that use them (pool, endpoint, inline, actor-endpoints, classify, errors) import one leaf file
 * instead of each other.
 */

/** Endpoint failures: the next endpoint is tried at once and the failure counts toward this one's breaker. */
export type FailureClass =
  | 'refused'
  | 'dns'
  | 'reset'
  | 'transport'
  | 'timeout'
  | 'http_5xx'
  | 'http_429'
  | 'http_4xx'
  | 'node_behind'
  | 'server_error'
  | 'bad_response'
  | 'actor_crash';

/** Endpoints passed over without a request. */
export type SkipClass = 'circuit_open' | 'throttled' | 'resting' | 'overloaded';

export type OutcomeClass = 'ok' | 'caller_error' | 'aborted' | FailureClass | SkipClass;

export interface AttemptRequest {
  method: string;
  params: unknown;
  /** This attempt's deadline, already capped by the call's remaining time. */
  timeoutMs: number;
  /** Integers beyond 2^53 − 1 in the result as bigint (see src/rpc/lossless.ts). */
  lossless?: boolean;
}

export type AttemptOutcome =
  | { ok: true; result: unknown; latencyMs: number }
  | {
      ok: false;
      class: OutcomeClass;
      latencyMs: number;
      /** False when the request provably never reached the node. */
      sent: boolean;
      error?: string;
      message?: string;
      rpcCode?: number;
      httpStatus?: number;
      data?: unknown;
    };

/** The seam between the pool and an endpoint, whichever thread the endpoint runs in. */
export interface EndpointHandle {
  attempt(req: AttemptRequest, signal?: AbortSignal): Promise<AttemptOutcome>;
  close(): Promise<void> | void;
}
