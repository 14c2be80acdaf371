/**
 * Validates an RPC pool configuration at the boundary and fills defaults. Every error is a
 * ConfigError naming the key (`endpoints[1].url`, `requestTimeoutMs`, ...) with URLs redacted.
 */
import { ConfigError } from '../errors.ts';
import { BREAKER_DEFAULTS, RPC_POOL_DEFAULTS as D } from '../defaults.ts';
import { MAX_TIMER_MS, finite, integer } from '../validate.ts';
import { redactUrl } from '../log/redact.ts';
import type { SharedHealthConfig } from '../engine/shared-health.ts';

export interface PoolEndpointConfig {
  /** Defaults to the URL's host. */
  name?: string;
  url: string;
  /** WebSocket URL for subscriptions (web3.js confirmations); derived from `url` when absent. */
  wsUrl?: string;
  /** Share among endpoints of the same tier (default 1). */
  weight?: number;
  /** Failover order: lower first (default: position in the list). */
  tier?: number;
  /** Client-side rate limit in requests/s; 0 or absent = none. */
  rateLimitRps?: number;
  /** Per-attempt deadline for this endpoint (default: the pool's attemptTimeoutMs). */
  timeoutMs?: number;
}

export interface EndpointBreakerConfig {
  failureThreshold?: number;
  cooldownMs?: number;
  jitterRatio?: number;
}

export interface RpcPoolInputConfig {
  endpoints: PoolEndpointConfig[];
  /** Deadline of one call across all its attempts (default 2000 ms). */
  requestTimeoutMs?: number;
  /**
   * Deadline of one attempt on one endpoint (default 800 ms). While another endpoint remains to
   * fail over to, an attempt also gets at most half of the call's remaining time, so a hung
   * endpoint leaves room for the next one inside requestTimeoutMs.
   */
  attemptTimeoutMs?: number;
  /** Slots behind the best endpoint before an endpoint is demoted (default 20). */
  maxSlotLag?: number;
  /** Freshness probe interval (default 1000 ms). */
  healthIntervalMs?: number;
  /** Options of each endpoint's own breaker (defaults: 5 failures, 60 s cooldown, 10% jitter). */
  breaker?: EndpointBreakerConfig;
  /** Hedge idempotent reads on the next endpoint after this many ms without an answer (off when absent). */
  hedgeAfterMs?: number;
  /** Keep-alive sockets per endpoint (default 64). */
  maxSockets?: number;
  /**
   * An attempt still unanswered after this long marks its endpoint suspect: new calls prefer
   * other endpoints until this one answers again (default 250 ms; 0 disables). Long-running
   * methods (getProgramAccounts, getBlock, ...) are not watched.
   */
  stallAfterMs?: number;
  /**
   * Largest response body read from a provider, in bytes (default 16 MiB, at most 512 MiB). A
   * larger body is cut off, its socket destroyed, and the attempt fails as `bad_response`.
   */
  maxResponseBytes?: number;
  /** Share breaker transitions and 429 rests with other processes over a JetStream KV bucket (src/engine/shared-health.ts). */
  shared?: SharedHealthConfig;
}

/**
 * 16 MiB: a decoded reply costs several times its size in memory, and a few concurrent calls must
 * fit beside the trading process. Filtered getProgramAccounts (dataSlice, memcmp) and full blocks
 * stay well under it; raise it for unfiltered scans.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** About the longest string V8 can hold: a body beyond it could not be decoded anyway. */
export const MAX_RESPONSE_BYTES_LIMIT = 512 * 1024 * 1024;

export interface NormalizedEndpoint {
  index: number;
  name: string;
  url: string;
  redactedUrl: string;
  wsUrl: string;
  weight: number;
  tier: number;
  rateLimitRps: number;
  timeoutMs: number;
}

export interface NormalizedPoolConfig {
  endpoints: NormalizedEndpoint[];
  requestTimeoutMs: number;
  attemptTimeoutMs: number;
  maxSlotLag: number;
  healthIntervalMs: number;
  breaker: Required<EndpointBreakerConfig>;
  hedgeAfterMs: number | undefined;
  maxSockets: number;
  stallAfterMs: number;
  maxResponseBytes: number;
}

export const MAX_ENDPOINTS = 31;
const TOP_KEYS = new Set([
  'endpoints',
  'requestTimeoutMs',
  'attemptTimeoutMs',
  'maxSlotLag',
  'healthIntervalMs',
  'breaker',
  'hedgeAfterMs',
  'maxSockets',
  'stallAfterMs',
  'maxResponseBytes',
  'shared',
]);
const ENDPOINT_KEYS = new Set(['name', 'url', 'wsUrl', 'weight', 'tier', 'rateLimitRps', 'timeoutMs']);
const BREAKER_KEYS = new Set(['failureThreshold', 'cooldownMs', 'jitterRatio']);

function num(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  dflt: number,
  opts: { min: number; int?: boolean; max?: number },
): number {
  const v = obj[key];
  if (v === undefined) return dflt;
  return opts.int ? integer(path, v, opts.min, opts.max) : finite(path, v, opts.min, opts.max);
}

function checkKeys(obj: Record<string, unknown>, allowed: Set<string>, prefix: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw new ConfigError(`${prefix}${k}`, obj[k], `a known option (${[...allowed].join(', ')})`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A bad URL as it may be shown: credentials redacted even when it does not parse. */
function showUrl(raw: string): string {
  if (URL.canParse(raw)) return redactUrl(raw);
  const asHttp = `http://${raw}`;
  if (URL.canParse(asHttp)) return redactUrl(asHttp).slice('http://'.length);
  return raw.replace(/[A-Za-z0-9_-]{16,}/g, '***');
}

function parseUrl(raw: unknown, path: string, kind: 'http' | 'ws'): URL {
  const expected = kind === 'http' ? 'an http(s) URL' : 'a ws(s) URL';
  if (typeof raw !== 'string') throw new ConfigError(path, raw, expected);
  const protocols = kind === 'http' ? ['http:', 'https:'] : ['ws:', 'wss:'];
  const u = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!u || !protocols.includes(u.protocol)) throw new ConfigError(path, showUrl(raw), expected);
  return u;
}

export function normalizePoolConfig(input: unknown): NormalizedPoolConfig {
  if (!isObject(input)) throw new ConfigError('rpc pool config', input, 'an object with endpoints');
  checkKeys(input, TOP_KEYS, '');
  const list = input['endpoints'];
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError('endpoints', list, 'a non-empty array of { url, ... }');
  if (list.length > MAX_ENDPOINTS)
    throw new ConfigError('endpoints', `${list.length} endpoints`, `at most ${MAX_ENDPOINTS}`);
  const attemptTimeoutMs = num(input, 'attemptTimeoutMs', 'attemptTimeoutMs', D.attemptTimeoutMs, {
    min: 1,
    int: true,
    max: MAX_TIMER_MS,
  });
  const names = new Set<string>();
  const endpoints = list.map((raw: unknown, index): NormalizedEndpoint => {
    const p = `endpoints[${index}].`;
    if (!isObject(raw)) throw new ConfigError(`endpoints[${index}]`, raw, 'an object with a url');
    checkKeys(raw, ENDPOINT_KEYS, p);
    const u = parseUrl(raw['url'], `${p}url`, 'http');
    const url = raw['url'] as string;
    let name = raw['name'];
    if (name === undefined) name = u.host;
    if (typeof name !== 'string' || name.trim() === '') throw new ConfigError(`${p}name`, name, 'a non-empty string');
    if (names.has(name)) throw new ConfigError(`${p}name`, name, 'a name not used by another endpoint');
    names.add(name);
    let wsUrl: string;
    if (raw['wsUrl'] !== undefined) {
      parseUrl(raw['wsUrl'], `${p}wsUrl`, 'ws');
      wsUrl = raw['wsUrl'] as string;
    } else {
      const w = new URL(url);
      w.protocol = w.protocol === 'https:' ? 'wss:' : 'ws:';
      wsUrl = w.toString();
    }
    return {
      index,
      name,
      url,
      redactedUrl: redactUrl(url),
      wsUrl,
      weight: num(raw, 'weight', `${p}weight`, 1, { min: Number.MIN_VALUE }),
      tier: num(raw, 'tier', `${p}tier`, index, { min: 0, int: true }),
      rateLimitRps: num(raw, 'rateLimitRps', `${p}rateLimitRps`, D.rateLimitRps, { min: 0 }),
      timeoutMs: num(raw, 'timeoutMs', `${p}timeoutMs`, attemptTimeoutMs, { min: 1, int: true, max: MAX_TIMER_MS }),
    };
  });
  const b = input['breaker'] ?? {};
  if (!isObject(b)) throw new ConfigError('breaker', b, 'an object');
  checkKeys(b, BREAKER_KEYS, 'breaker.');
  const hedge = input['hedgeAfterMs'];
  return {
    endpoints,
    requestTimeoutMs: num(input, 'requestTimeoutMs', 'requestTimeoutMs', D.requestTimeoutMs, {
      min: 1,
      int: true,
      max: MAX_TIMER_MS,
    }),
    attemptTimeoutMs,
    maxSlotLag: num(input, 'maxSlotLag', 'maxSlotLag', D.maxSlotLag, { min: 0, int: true }),
    healthIntervalMs: num(input, 'healthIntervalMs', 'healthIntervalMs', D.healthIntervalMs, {
      min: 10,
      int: true,
      max: MAX_TIMER_MS,
    }),
    breaker: {
      failureThreshold: num(b, 'failureThreshold', 'breaker.failureThreshold', BREAKER_DEFAULTS.failureThreshold, {
        min: 1,
        int: true,
      }),
      cooldownMs: num(b, 'cooldownMs', 'breaker.cooldownMs', BREAKER_DEFAULTS.cooldownMs, {
        min: 0,
        int: true,
        max: MAX_TIMER_MS,
      }),
      jitterRatio: num(b, 'jitterRatio', 'breaker.jitterRatio', BREAKER_DEFAULTS.jitterRatio, { min: 0, max: 1 }),
    },
    hedgeAfterMs:
      hedge === undefined
        ? undefined
        : num(input, 'hedgeAfterMs', 'hedgeAfterMs', 0, { min: 1, int: true, max: MAX_TIMER_MS }),
    maxSockets: num(input, 'maxSockets', 'maxSockets', D.maxSockets, { min: 1, int: true }),
    stallAfterMs: num(input, 'stallAfterMs', 'stallAfterMs', D.stallAfterMs, { min: 0, int: true, max: MAX_TIMER_MS }),
    maxResponseBytes: num(input, 'maxResponseBytes', 'maxResponseBytes', DEFAULT_MAX_RESPONSE_BYTES, {
      min: 1024,
      int: true,
      max: MAX_RESPONSE_BYTES_LIMIT,
    }),
  };
}
