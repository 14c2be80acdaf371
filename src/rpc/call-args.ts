/**
 * The checks a pool call makes on its arguments before anything else happens: a bad method,
 * params or option is the caller's mistake, refused at the call with a typed error, and never
 * reaches an endpoint or a breaker (a NaN deadline used to time every attempt out at once and
 * open healthy endpoints' breakers).
 */
import { ConfigError } from '../errors.ts';
import { knownKeys, nonEmptyString, timeoutMs } from '../validate.ts';
import { RpcCallArgumentError } from './errors.ts';

export interface CallOptions {
  /**
   * Deadline of the whole call across attempts (default: requestTimeoutMs), a finite number of
   * milliseconds in [1, 2^31−1].
   */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * 'number' (default): the answer as JSON.parse reads it. 'lossless': integers beyond 2^53 − 1
   * come back as bigint instead of a rounded number (the kit transport asks for this).
   */
  integers?: 'number' | 'lossless';
}

const CALL_OPTION_KEYS = ['timeoutMs', 'signal', 'integers'] as const;
/** Longest JSON-RPC method name accepted (Solana's longest is about 40 characters). */
const MAX_METHOD_LENGTH = 128;

/** Throws RpcCallArgumentError (a ConfigError with `isCallerError`) naming `call.<what>`. */
export function checkCallArguments(method: unknown, params: unknown, options: unknown): void {
  try {
    nonEmptyString('call.method', method, MAX_METHOD_LENGTH);
    if (!Array.isArray(params)) throw new ConfigError('call.params', params, 'an array of JSON-RPC params');
    if (options === null || typeof options !== 'object' || Array.isArray(options))
      throw new ConfigError('call.options', options, 'an object { timeoutMs?, signal?, integers? }');
    knownKeys('call', options, CALL_OPTION_KEYS);
    const o = options as CallOptions;
    if (o.timeoutMs !== undefined) timeoutMs('call.timeoutMs', o.timeoutMs);
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
      throw new ConfigError('call.signal', o.signal, 'an AbortSignal');
    if (o.integers !== undefined && o.integers !== 'number' && o.integers !== 'lossless')
      throw new ConfigError('call.integers', o.integers, "'number' or 'lossless'");
  } catch (err) {
    throw err instanceof ConfigError ? RpcCallArgumentError.from(err) : err;
  }
}
