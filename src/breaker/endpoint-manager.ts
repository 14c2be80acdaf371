/**
 * One circuit breaker per RPC endpoint URL, so one provider's outage opens only its own circuit.
 * The URL (which may carry an API key) is only ever a private map key: breaker names, stats, logs
 * and errors use `endpoint_<redacted url>`.
 */
import { redactUrl } from '../log/redact.ts';
import { safeShow } from '../errors.ts';
import type { CircuitBreaker, CircuitState, Operation, StateChangeListener } from './circuit-breaker.ts';
import {
  CircuitBreakerManager,
  type CircuitBreakerManagerOptions,
  type CircuitBreakerManagerStats,
} from './manager.ts';

/** An endpoint: its URL, or any object with a `url` (e.g. an EndpointConfig). */
export type EndpointRef = string | { readonly url: string };

export class EndpointCircuitManager {
  private readonly registry: CircuitBreakerManager;

  /** Options as for CircuitBreakerManager; `overrides` are keyed by endpoint URL. */
  constructor(options: CircuitBreakerManagerOptions = {}) {
    this.registry = new CircuitBreakerManager(options, (url) => `endpoint_${redactUrl(url)}`);
  }

  /** Runs `operation` through the endpoint's breaker. */
  executeOnEndpoint<T>(endpoint: EndpointRef, operation: Operation<T>): Promise<T> {
    let breaker: CircuitBreaker;
    try {
      breaker = this.getBreaker(urlOf(endpoint));
    } catch (err) {
      return Promise.reject(err);
    }
    return breaker.execute(operation);
  }

  /** The endpoint's breaker, created on first use. */
  getBreaker(url: string): CircuitBreaker {
    return this.registry.get(urlOf(url));
  }

  has(url: string): boolean {
    return this.registry.has(url);
  }

  /** State per breaker name (`endpoint_<redacted url>`). */
  states(): Record<string, CircuitState> {
    return this.registry.states();
  }

  getStats(): CircuitBreakerManagerStats {
    return this.registry.getStats();
  }

  /** Hears every transition of every endpoint breaker. */
  onStateChange(listener: StateChangeListener): () => void {
    return this.registry.onStateChange(listener);
  }
}

function urlOf(endpoint: EndpointRef): string {
  const url =
    typeof endpoint === 'string'
      ? endpoint
      : endpoint !== null && typeof endpoint === 'object'
        ? endpoint.url
        : undefined;
  if (typeof url !== 'string' || url.length === 0) {
    const shown =
      typeof endpoint === 'string'
        ? redactUrl(endpoint)
        : endpoint === null || typeof endpoint !== 'object'
          ? endpoint
          : '{ url: ... }';
    throw new TypeError(`EndpointCircuitManager: an endpoint must be a URL string or { url } (got ${safeShow(shown)})`);
  }
  return url;
}
