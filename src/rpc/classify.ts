/**
 * The one place that decides what an RPC outcome means. Every other module asks here.
 *
 * Endpoint failures (the next endpoint is tried at once, and the failure counts toward this
 * endpoint's breaker):
 *   refused / dns     the connection was never made (the request provably never reached the node)
 *   reset / transport the connection broke (ECONNRESET, socket hang up, EPIPE, ...)
 *   timeout           no answer within the attempt's deadline (a hung upstream)
 *   http_5xx          500/502/503/504 ...
 *   http_429          rate limited by the provider; the endpoint also rests for Retry-After
 *   http_4xx          other non-2xx answers (bad key 401/403, 404 on a wrong path): another
 *                     provider can serve the same request (413 excepted: see below)
 *   node_behind       JSON-RPC -32005 node unhealthy/behind, -32016 minimum context slot not
 *                     reached, -32019 long-term storage unreachable
 *   server_error      JSON-RPC -32603 internal error
 *   bad_response      a body that is not a JSON-RPC response (garbled, HTML error page, ...)
 *   actor_crash       the endpoint's actor died or could not be reached mid-attempt
 *
 * Caller errors (returned as they are; no retry, no breaker touched): every other JSON-RPC
 * error, notably -32602 invalid params, -32601 method not found, -32002 preflight failure,
 * -32003 signature verification failure; and HTTP 413 (the request body is too large, reported
 * as -32600 with httpStatus 413). A JSON-RPC error the node chose to send is an answer
 * about the request: trying it elsewhere would only repeat it, and counting it would let one
 * bad caller open a healthy endpoint's breaker.
 *
 * Skips (no request made, nothing counted): circuit_open, throttled (the client-side token
 * bucket is empty), resting (inside a 429 Retry-After rest), overloaded (the endpoint actor's
 * mailbox refused the attempt).
 */
import { EndpointActorError, RpcBadResponseError, RpcEndpointError, RpcHttpError, RpcTimeoutError } from './errors.ts';
import type { FailureClass, OutcomeClass, SkipClass } from './types.ts';

export type { FailureClass, SkipClass, OutcomeClass } from './types.ts';

export const FAILURE_CLASSES: readonly FailureClass[] = [
  'refused',
  'dns',
  'reset',
  'transport',
  'timeout',
  'http_5xx',
  'http_429',
  'http_4xx',
  'node_behind',
  'server_error',
  'bad_response',
  'actor_crash',
];

export const SKIP_CLASSES: readonly SkipClass[] = ['circuit_open', 'throttled', 'resting', 'overloaded'];

export function isSkipClass(c: OutcomeClass): c is SkipClass {
  return c === 'circuit_open' || c === 'throttled' || c === 'resting' || c === 'overloaded';
}

/** JSON-RPC codes that blame the endpoint rather than the request. */
const ENDPOINT_RPC_CODES = new Map<number, FailureClass | 'rate_limited'>([
  [-32005, 'node_behind'],
  [-32016, 'node_behind'],
  [-32019, 'node_behind'],
  [-32603, 'server_error'],
  // Some providers put their rate limit in the JSON-RPC body instead of (or besides) HTTP 429.
  [-32429, 'rate_limited'],
  [429, 'rate_limited'],
]);

/** Whether a JSON-RPC error code is the endpoint's fault (true) or the caller's (false). */
export function isEndpointRpcCode(code: number): boolean {
  return ENDPOINT_RPC_CODES.has(code);
}

/** The failure class of a JSON-RPC error code that blames the endpoint. */
export function classOfRpcCode(code: number): FailureClass {
  const c = ENDPOINT_RPC_CODES.get(code);
  if (c === undefined) throw new RangeError(`JSON-RPC code ${code} is a caller error`);
  return c === 'rate_limited' ? 'http_429' : c;
}

const NOT_SENT = new Set<OutcomeClass>(['refused', 'dns', 'circuit_open', 'throttled', 'resting', 'overloaded']);

/** True when an outcome proves the request never reached the node (safe to send elsewhere). */
export function provablyNotSent(c: OutcomeClass): boolean {
  return NOT_SENT.has(c);
}

export function isFailureClass(c: OutcomeClass): c is FailureClass {
  return (FAILURE_CLASSES as readonly string[]).includes(c);
}

/** Classifies an error thrown by a transport or an endpoint attempt. */
export function classifyError(err: unknown): FailureClass {
  if (err instanceof RpcTimeoutError) return 'timeout';
  if (err instanceof RpcHttpError) {
    if (err.status === 429) return 'http_429';
    if (err.status >= 500) return 'http_5xx';
    return 'http_4xx';
  }
  if (err instanceof RpcEndpointError) return classOfRpcCode(err.rpcCode);
  if (err instanceof RpcBadResponseError) return 'bad_response';
  if (err instanceof EndpointActorError) return 'actor_crash';
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'dns';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timeout';
  }
  const message = (err as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && /socket hang up/i.test(message)) return 'reset';
  return 'transport';
}
