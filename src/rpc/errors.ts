import { ConfigError, PalisadeError, withoutStack } from '../errors.ts';
import { redactDeep, redactText } from '../log/redact.ts';
import type { OutcomeClass } from './types.ts';

/** One try on one endpoint (or one endpoint skipped without a request), as listed in errors. */
export interface RpcAttempt {
  endpoint: string;
  /** The endpoint URL with credentials redacted. */
  url: string;
  /** What happened: an endpoint-failure class, `caller_error`, or why it was skipped. */
  class: OutcomeClass;
  /** The error's class name (`Error`, `RpcHttpError`, ...); absent for skips. */
  error?: string;
  message?: string;
  /** The JSON-RPC numeric error code when the endpoint answered with one. */
  rpcCode?: number;
  httpStatus?: number;
  latencyMs: number;
  /** False when the request provably never reached the node (refused, throttled, circuit open). */
  sent: boolean;
}

/**
 * A JSON-RPC error the caller caused (invalid params, unknown method, a transaction that fails
 * preflight or signature checks). Returned as is: no retry elsewhere, and `isCallerError`
 * tells any injected breaker not to count it against anyone.
 */
export class RpcCallError extends PalisadeError {
  readonly isCallerError = true;
  /** The JSON-RPC numeric error code, e.g. -32602. */
  readonly rpcCode: number;
  /** The node's `error.data`, with every string redacted (providers echo URLs and keys in it). */
  readonly data: unknown;
  readonly endpoint: string;
  readonly attempts: RpcAttempt[];
  constructor(rpcCode: number, message: string, data: unknown, endpoint: string, attempts: RpcAttempt[]) {
    super('RPC_CALL_ERROR', redactText(message));
    this.rpcCode = rpcCode;
    this.data = redactDeep(data);
    this.endpoint = endpoint;
    this.attempts = attempts;
  }
  /** JSON-RPC style numeric code; `code` stays the stable palisade code. */
  get jsonRpcCode(): number {
    return this.rpcCode;
  }
}

export type RpcPoolErrorCode = 'RPC_POOL_EXHAUSTED' | 'RPC_DEADLINE_EXCEEDED' | 'RPC_ABORTED' | 'RPC_POOL_CLOSED';

/**
 * A call the pool could not serve. `attempts` lists every endpoint tried or skipped, in order,
 * with redacted URLs; the message summarises them.
 */
export class RpcPoolError extends PalisadeError {
  declare readonly code: RpcPoolErrorCode;
  readonly method: string;
  readonly attempts: RpcAttempt[];
  /** Aborts are the caller's decision: an injected breaker must not count them. */
  readonly isCallerError: boolean;
  constructor(
    code: RpcPoolErrorCode,
    method: string,
    attempts: RpcAttempt[],
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(code, redactText(summarise(code, method, attempts, detail)), options);
    this.method = method;
    this.attempts = attempts;
    this.isCallerError = code === 'RPC_ABORTED';
  }
}

function summarise(code: RpcPoolErrorCode, method: string, attempts: RpcAttempt[], detail?: string): string {
  const head =
    code === 'RPC_POOL_EXHAUSTED'
      ? `${method}: no endpoint could serve the call`
      : code === 'RPC_DEADLINE_EXCEEDED'
        ? `${method}: deadline exceeded`
        : code === 'RPC_ABORTED'
          ? `${method}: aborted by the caller`
          : `${method}: the pool is closed`;
  const list = attempts
    .map(
      (a) =>
        `${a.endpoint}=${a.class}${a.rpcCode !== undefined ? `(${a.rpcCode})` : a.httpStatus !== undefined ? `(${a.httpStatus})` : ''}`,
    )
    .join(', ');
  return `${head}${detail ? ` (${detail})` : ''}${list ? ` [${list}]` : ''}`;
}

/**
 * A call refused before anything was sent (bad method, params or options): a ConfigError that an
 * injected breaker must not count (`isCallerError`), as no endpoint was involved.
 */
export class RpcCallArgumentError extends ConfigError {
  readonly isCallerError = true;
  static from(invalid: ConfigError): RpcCallArgumentError {
    return new RpcCallArgumentError(invalid.key, invalid.value, invalid.expected);
  }
}

/** A non-2xx HTTP answer. */
export class RpcHttpError extends PalisadeError {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, retryAfterMs: number | undefined, bodySnippet: string) {
    // Redacted before it is cut, so a key straddling the cut leaves no readable prefix.
    super('RPC_HTTP_ERROR', `HTTP ${status}${bodySnippet ? `: ${redactText(bodySnippet).slice(0, 200)}` : ''}`);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A JSON-RPC error answer that says the endpoint (not the request) is at fault. */
export class RpcEndpointError extends PalisadeError {
  readonly rpcCode: number;
  constructor(rpcCode: number, message: string) {
    super('RPC_ENDPOINT_ERROR', redactText(message));
    this.rpcCode = rpcCode;
  }
}

/** A body that is not a JSON-RPC response. */
export class RpcBadResponseError extends PalisadeError {
  constructor(detail: string) {
    super('RPC_BAD_RESPONSE', redactText(detail));
  }
}

/** One attempt ran past its deadline. Frequent during outages: built without a stack. */
export class RpcTimeoutError extends PalisadeError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('RPC_TIMEOUT', `no answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
  static make(timeoutMs: number): RpcTimeoutError {
    return withoutStack(() => new RpcTimeoutError(timeoutMs));
  }
}

/** The endpoint actor died or could not be reached while serving an attempt. */
export class EndpointActorError extends PalisadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RPC_ENDPOINT_ACTOR', redactText(message), options);
  }
}
