/**
 * What an endpoint needs from its breaker (src/breaker's CircuitBreaker): the synchronous permit
 * API, the state, transitions, and the cooldown left when it opens. A structural subset, so the
 * endpoint code states exactly what it relies on.
 */
import type { CircuitBreaker } from '../breaker/index.ts';

export type EndpointBreaker = Pick<CircuitBreaker, 'getState' | 'tryAcquire' | 'onStateChange' | 'getStats'>;
export type { BreakerPermit } from '../breaker/index.ts';

/** The small logging surface endpoint code uses: pino in the host, the actor log bridge in a worker. */
export interface EndpointLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

const noop = (): void => undefined;
export const quietLogger: EndpointLogger = { debug: noop, info: noop, warn: noop, error: noop };
