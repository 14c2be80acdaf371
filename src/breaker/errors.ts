/**
 * The breaker's typed errors. The three outcome errors (open, bulkhead full, timeout) are
 * expected and frequent during an outage, so the hot-path factories build them WITHOUT calling
 * the Error constructor: V8's stack capture costs ~0.4 µs per error (measured), more than the
 * whole rejection budget. They are real `instanceof` errors of their class with `name`, `code`
 * and a lazily formatted `message`; `stack` is just the "Name: message" header.
 */
import { ConfigError, PalisadeError } from '../errors.ts';

export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** Raised (or rejected) when the breaker refuses a call because it is OPEN or its probe slots are taken. */
export class CircuitOpenError extends PalisadeError {
  declare readonly code: 'CIRCUIT_OPEN';
  /** The (redacted) name of the breaker that refused the call. */
  declare readonly breaker: string;
  /** 'OPEN', or 'HALF_OPEN' when every probe slot was taken. */
  declare readonly state: 'OPEN' | 'HALF_OPEN';
  /**
   * Milliseconds until the breaker will admit a probe: the remaining cooldown while OPEN, 0 while
   * HALF_OPEN (a probe is in flight and decides), the base cooldown as a hint when forced open.
   */
  declare readonly retryAfterMs: number;

  constructor(breaker: string, state: 'OPEN' | 'HALF_OPEN', retryAfterMs: number) {
    super('CIRCUIT_OPEN', openMessage(breaker, state, retryAfterMs));
    this.breaker = breaker;
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Raised when `maxConcurrent` calls are running and the FIFO queue already holds `maxQueue`. */
export class BulkheadFullError extends PalisadeError {
  declare readonly code: 'BULKHEAD_FULL';
  declare readonly breaker: string;
  declare readonly maxConcurrent: number;
  declare readonly maxQueue: number;

  constructor(breaker: string, maxConcurrent: number, maxQueue: number) {
    super('BULKHEAD_FULL', bulkheadMessage(breaker, maxConcurrent, maxQueue));
    this.breaker = breaker;
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }
}

/** Raised when a call runs longer than the breaker's `timeoutMs`; the call's AbortSignal fires with it. */
export class TimeoutError extends PalisadeError {
  declare readonly code: 'TIMEOUT';
  declare readonly breaker: string;
  declare readonly timeoutMs: number;
  /** The label passed to `execute(label, fn)`, if any. */
  declare readonly label: string | undefined;

  constructor(breaker: string, timeoutMs: number, label?: string) {
    super('TIMEOUT', timeoutMessage(breaker, timeoutMs, label));
    this.breaker = breaker;
    this.timeoutMs = timeoutMs;
    this.label = label;
  }
}

/**
 * An unknown or invalid breaker option: a ConfigError (so a PalisadeError) with the breaker's own
 * stable code, naming the option and the value it refused.
 */
export class BreakerOptionError extends ConfigError {
  declare readonly code: 'BREAKER_OPTION_INVALID';
  /** The offending option's name (the same as `key`). */
  readonly option: string;
  constructor(owner: string, option: string, value: unknown, expected: string) {
    super(option, value, expected, 'BREAKER_OPTION_INVALID');
    this.message = `${owner}: ${this.message}`;
    this.option = option;
  }

  /** The same refusal, from a check in src/validate.ts. */
  static from(owner: string, err: ConfigError): BreakerOptionError {
    return err instanceof BreakerOptionError ? err : new BreakerOptionError(owner, err.key, err.value, err.expected);
  }
}

function openMessage(breaker: string, state: string, retryAfterMs: number): string {
  return state === 'HALF_OPEN'
    ? `circuit "${breaker}" is HALF_OPEN and its probe slots are taken`
    : `circuit "${breaker}" is OPEN; retry after ${Math.ceil(retryAfterMs)} ms`;
}
function bulkheadMessage(breaker: string, maxConcurrent: number, maxQueue: number): string {
  return `bulkhead of "${breaker}" is full (${maxConcurrent} running, ${maxQueue} queued)`;
}
function timeoutMessage(breaker: string, timeoutMs: number, label: string | undefined): string {
  return `call${label ? ` ${label}` : ''} through "${breaker}" timed out after ${timeoutMs} ms`;
}

// Stack-less instances have no own `message`/`stack`; the prototype formats them on demand.
function lazyMessage<E extends Error>(
  cls: abstract new (...args: never[]) => E,
  code: string,
  format: (e: E) => string,
): void {
  Object.defineProperties(cls.prototype, {
    name: { value: cls.name, writable: true, configurable: true },
    code: { value: code, writable: true, configurable: true },
    message: {
      get() {
        return format(this as E);
      },
      configurable: true,
    },
    stack: {
      get() {
        return `${cls.name}: ${format(this as E)}`;
      },
      configurable: true,
    },
  });
}
lazyMessage(CircuitOpenError, 'CIRCUIT_OPEN', (e: CircuitOpenError) => openMessage(e.breaker, e.state, e.retryAfterMs));
lazyMessage(BulkheadFullError, 'BULKHEAD_FULL', (e: BulkheadFullError) =>
  bulkheadMessage(e.breaker, e.maxConcurrent, e.maxQueue),
);
lazyMessage(TimeoutError, 'TIMEOUT', (e: TimeoutError) => timeoutMessage(e.breaker, e.timeoutMs, e.label));

/** Hot-path constructor: no Error constructor call, no stack capture, no message formatting. */
export function circuitOpenError(breaker: string, state: 'OPEN' | 'HALF_OPEN', retryAfterMs: number): CircuitOpenError {
  const e = Object.create(CircuitOpenError.prototype) as { breaker: string; state: string; retryAfterMs: number };
  e.breaker = breaker;
  e.state = state;
  e.retryAfterMs = retryAfterMs;
  return e as CircuitOpenError;
}

export function bulkheadFullError(breaker: string, maxConcurrent: number, maxQueue: number): BulkheadFullError {
  const e = Object.create(BulkheadFullError.prototype) as { breaker: string; maxConcurrent: number; maxQueue: number };
  e.breaker = breaker;
  e.maxConcurrent = maxConcurrent;
  e.maxQueue = maxQueue;
  return e as BulkheadFullError;
}

export function timeoutError(breaker: string, timeoutMs: number, label: string | undefined): TimeoutError {
  const e = Object.create(TimeoutError.prototype) as { breaker: string; timeoutMs: number; label: string | undefined };
  e.breaker = breaker;
  e.timeoutMs = timeoutMs;
  e.label = label;
  return e as TimeoutError;
}
