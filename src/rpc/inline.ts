/**
 * Inline mode: each endpoint runs in the host thread (no message hop: the lowest latency). The
 * endpoint code is the same as in the actor; only the breaker comes from the host's
 * EndpointCircuitManager, so callers can watch or force it like any other breaker.
 */
import type { Clock, Random } from '../clock.ts';
import { CircuitBreaker } from '../breaker/index.ts';
import type { Logger } from '../log/index.ts';
import type { EndpointBreaker } from './breaker-link.ts';
import type { NormalizedPoolConfig } from './config.ts';
import { RpcEndpoint } from './endpoint.ts';
import type { HealthTable } from './health.ts';
import type { EndpointHandle } from './types.ts';

/** Anything that hands out one breaker per endpoint URL (src/breaker's EndpointCircuitManager). */
export interface EndpointCircuitsLike {
  getBreaker(url: string): EndpointBreaker;
}

export interface InlineOptions {
  cfg: NormalizedPoolConfig;
  health: HealthTable;
  clock: Clock;
  random: Random;
  logger: Logger;
  endpointCircuits?: EndpointCircuitsLike;
  /** Told the endpoint index after each of its breaker transitions. */
  onStateChange?: (index: number) => void;
}

export function createInlineEndpoints(o: InlineOptions): EndpointHandle[] {
  return o.cfg.endpoints.map((endpoint) => {
    const breaker =
      o.endpointCircuits?.getBreaker(endpoint.url) ??
      new CircuitBreaker({
        name: `endpoint_${endpoint.name}`,
        failureThreshold: o.cfg.breaker.failureThreshold,
        cooldownMs: o.cfg.breaker.cooldownMs,
        jitterRatio: o.cfg.breaker.jitterRatio,
        clock: o.clock,
        random: o.random,
        logger: o.logger,
      });
    return new RpcEndpoint({
      endpoint,
      health: o.health,
      breaker,
      clock: o.clock,
      random: o.random,
      logger: o.logger,
      maxSlotLag: o.cfg.maxSlotLag,
      healthIntervalMs: o.cfg.healthIntervalMs,
      maxSockets: o.cfg.maxSockets,
      maxResponseBytes: o.cfg.maxResponseBytes,
      stallAfterMs: o.cfg.stallAfterMs,
      ...(o.onStateChange ? { onStateChange: () => o.onStateChange!(endpoint.index) } : {}),
    });
  });
}
