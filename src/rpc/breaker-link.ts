/**
 * What an endpoint needs from its breaker: a synchronous admission (a permit reported once as
 * success, failure or released), the state, and transitions. Kept as an interface so the
 * endpoint code does not depend on the breaker's internals.
 */
export interface BreakerPermit {
  onSuccess(latencyMs?: number): void;
  onFailure(err: unknown): void;
  /** Gives the permit back without counting anything (caller errors, aborts). */
  release(): void;
}

export type BreakerStateString = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface EndpointBreaker {
  getState(): BreakerStateString;
  /** A permit, or null when the breaker refuses the call now. */
  tryAcquire(): BreakerPermit | null;
  /** Calls `fn(to, retryAfterMs)` on each transition (retryAfterMs: the cooldown when opening). Returns an unsubscribe. */
  onTransition(fn: (to: BreakerStateString, retryAfterMs: number | undefined) => void): () => void;
}
