/**
 * The breaker's options: their types, defaults, and the validation that turns any bad or unknown
 * option into a BreakerOptionError (a TypeError) naming it, at construction rather than mid-outage.
 */
import { systemClock, type Clock, type Random } from '../clock.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { safeShow } from '../errors.ts';
import { BreakerOptionError } from './errors.ts';

/** Decides whether an error counts against the circuit. */
export type FailurePredicate = (err: unknown) => boolean;

export interface CircuitBreakerOptions {
  /** Shown in stats, logs and errors. URLs in it are redacted. Default 'breaker'. */
  name?: string;
  /** Consecutive counted failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** Time OPEN before a probe is admitted (ms). Default 60000. */
  cooldownMs?: number;
  /** Alias of `cooldownMs` (the specification's intermittent-failure check uses it). Giving both with different values is an error. */
  resetTimeoutMs?: number;
  /** Extra cooldown, uniformly random in [0, jitterRatio × cooldown]. Never shortens it. Default 0.1. */
  jitterRatio?: number;
  /** Concurrent probes admitted while HALF_OPEN; other calls are refused at once. Default 1. */
  halfOpenMaxCalls?: number;
  /** Each failed probe multiplies the next cooldown by this, up to `maxCooldownMs`. Default 2 (1 disables). */
  backoffMultiplier?: number;
  /** Cap of the lengthened cooldown, before jitter (ms). Default 4 × cooldownMs. */
  maxCooldownMs?: number;
  /** Bulkhead: calls running at once. Default unlimited (no bulkhead). */
  maxConcurrent?: number;
  /** Bulkhead FIFO queue length before BulkheadFullError. Default 10 × maxConcurrent. Needs maxConcurrent. */
  maxQueue?: number;
  /** Per-call deadline (ms): the call's AbortSignal fires and it rejects with TimeoutError, a counted failure. */
  timeoutMs?: number;
  /**
   * Which errors count as failures. Default: every error except one carrying
   * `isCallerError === true` (the caller's own mistake, e.g. JSON-RPC -32602, says nothing about
   * the protected resource). Errors it rejects pass through to the caller uncounted ("ignored").
   */
  isFailure?: FailurePredicate;
  /** Also open when the failure ratio over the last `windowSize` outcomes reaches this, in (0, 1]. */
  failureRateThreshold?: number;
  /** Outcomes in the failure-rate window. Default 100. Needs failureRateThreshold. */
  windowSize?: number;
  /** Outcomes needed in the window before the rate is judged. Default windowSize. Needs failureRateThreshold. */
  minimumCalls?: number;
  /**
   * Latency sampling: at least 1 call in N is timed. The breaker times every call at ordinary
   * rates and skips calls only above ~5000 calls/s, where timing and recording (~0.2 µs) would
   * dominate the closed path. Default 64; 1 times every call.
   */
  latencySampleEvery?: number;
  /** Timers (cooldown wake-up, timeouts) and time. Default systemClock. */
  clock?: Clock;
  /** Time source (ms), overriding clock.now for every reading. */
  now?: () => number;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: Random;
  logger?: Logger;
}

export interface ResolvedOptions {
  name: string;
  failureThreshold: number;
  cooldownMs: number;
  jitterRatio: number;
  halfOpenMaxCalls: number;
  backoffMultiplier: number;
  maxCooldownMs: number;
  maxConcurrent: number;
  maxQueue: number;
  timeoutMs: number;
  isFailure: FailurePredicate;
  failureRateThreshold: number;
  windowSize: number;
  minimumCalls: number;
  latencySampleEvery: number;
  clock: Clock;
  /** Time for state decisions (cooldowns). */
  now: () => number;
  /** Time for latency measurement: sub-millisecond by default. */
  hrNow: () => number;
  random: Random;
  logger: Logger;
}

/** The option names, for callers (registries) that validate partial option sets. */
export const OPTION_NAMES: ReadonlySet<string> = new Set([
  'name', 'failureThreshold', 'cooldownMs', 'resetTimeoutMs', 'jitterRatio', 'halfOpenMaxCalls',
  'backoffMultiplier', 'maxCooldownMs', 'maxConcurrent', 'maxQueue', 'timeoutMs', 'isFailure',
  'failureRateThreshold', 'windowSize', 'minimumCalls', 'latencySampleEvery', 'clock', 'now',
  'random', 'logger',
]);

/** The default classifier: everything counts except errors flagged as the caller's mistake. */
export const countAllButCallerErrors: FailurePredicate = (err) =>
  !(err !== null && typeof err === 'object' && (err as { isCallerError?: unknown }).isCallerError === true);

const OWNER = 'CircuitBreaker';

export function resolveOptions(input: unknown): ResolvedOptions {
  if (input === undefined) input = {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new BreakerOptionError(OWNER, 'options', `must be an object (got ${safeShow(input)})`);
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_NAMES.has(key)) throw new BreakerOptionError(OWNER, key, 'is not a known option');
  }
  const has = (k: string): boolean => o[k] !== undefined;

  const name = has('name') ? str(o, 'name') : 'breaker';
  const failureThreshold = has('failureThreshold') ? int(o, 'failureThreshold', 1) : 5;
  if (has('cooldownMs') && has('resetTimeoutMs') && o['cooldownMs'] !== o['resetTimeoutMs']) {
    throw new BreakerOptionError(OWNER, 'resetTimeoutMs', `is an alias of cooldownMs and disagrees with it (${safeShow(o['resetTimeoutMs'])} vs ${safeShow(o['cooldownMs'])})`);
  }
  const cooldownMs = has('cooldownMs') ? num(o, 'cooldownMs', 0) : has('resetTimeoutMs') ? num(o, 'resetTimeoutMs', 0) : 60_000;
  const jitterRatio = has('jitterRatio') ? ratio(o, 'jitterRatio', true) : 0.1;
  const halfOpenMaxCalls = has('halfOpenMaxCalls') ? int(o, 'halfOpenMaxCalls', 1) : 1;
  const backoffMultiplier = has('backoffMultiplier') ? num(o, 'backoffMultiplier', 1) : 2;
  const maxCooldownMs = has('maxCooldownMs') ? num(o, 'maxCooldownMs', cooldownMs, 'cooldownMs') : cooldownMs * 4;

  const maxConcurrent = has('maxConcurrent') ? intOrInfinity(o, 'maxConcurrent', 1) : Infinity;
  if (has('maxQueue') && maxConcurrent === Infinity) {
    throw new BreakerOptionError(OWNER, 'maxQueue', 'needs maxConcurrent (there is no bulkhead to queue for)');
  }
  const maxQueue = has('maxQueue') ? intOrInfinity(o, 'maxQueue', 0) : maxConcurrent === Infinity ? 0 : maxConcurrent * 10;
  const timeoutMs = has('timeoutMs') ? num(o, 'timeoutMs', 0) : 0;
  if (has('timeoutMs') && timeoutMs === 0) throw new BreakerOptionError(OWNER, 'timeoutMs', 'must be > 0 (leave it out for no timeout)');
  const isFailure = has('isFailure') ? fn(o, 'isFailure') as FailurePredicate : countAllButCallerErrors;

  const rated = has('failureRateThreshold');
  for (const k of ['windowSize', 'minimumCalls']) {
    if (has(k) && !rated) throw new BreakerOptionError(OWNER, k, 'needs failureRateThreshold');
  }
  const failureRateThreshold = rated ? ratio(o, 'failureRateThreshold', false) : 0;
  const windowSize = has('windowSize') ? int(o, 'windowSize', 1) : 100;
  const minimumCalls = has('minimumCalls') ? int(o, 'minimumCalls', 1) : windowSize;
  if (minimumCalls > windowSize) {
    throw new BreakerOptionError(OWNER, 'minimumCalls', `must not exceed windowSize ${windowSize} (got ${minimumCalls})`);
  }
  const latencySampleEvery = has('latencySampleEvery') ? int(o, 'latencySampleEvery', 1) : 64;

  let clock = systemClock;
  if (has('clock')) {
    const c = o['clock'] as Partial<Clock> | null;
    if (c === null || typeof c !== 'object' || typeof c.now !== 'function' || typeof c.setTimeout !== 'function' || typeof c.clearTimeout !== 'function') {
      throw new BreakerOptionError(OWNER, 'clock', 'must be a Clock (now, setTimeout, clearTimeout)');
    }
    clock = c as Clock;
  }
  let now: () => number;
  let hrNow: () => number;
  if (has('now')) {
    now = hrNow = fn(o, 'now') as () => number;
  } else if (clock !== systemClock) {
    const c = clock;
    now = hrNow = () => c.now();
  } else {
    now = Date.now;
    hrNow = () => performance.now();
  }
  const random = has('random') ? fn(o, 'random') as Random : Math.random;
  let logger = silentLogger;
  if (has('logger')) {
    const l = o['logger'] as Partial<Logger> | null;
    if (l === null || typeof l !== 'object' || typeof l.info !== 'function' || typeof l.warn !== 'function' || typeof l.error !== 'function') {
      throw new BreakerOptionError(OWNER, 'logger', 'must be a logger (info, warn, error)');
    }
    logger = l as Logger;
  }

  return {
    name, failureThreshold, cooldownMs, jitterRatio, halfOpenMaxCalls, backoffMultiplier, maxCooldownMs,
    maxConcurrent, maxQueue, timeoutMs, isFailure, failureRateThreshold, windowSize, minimumCalls,
    latencySampleEvery, clock, now, hrNow, random, logger,
  };
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0) throw new BreakerOptionError(OWNER, k, `must be a non-empty string (got ${safeShow(v)})`);
  return v;
}

function num(o: Record<string, unknown>, k: string, min: number, minText = String(min)): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BreakerOptionError(OWNER, k, `must be a finite number (got ${safeShow(v)})`);
  if (v < min) throw new BreakerOptionError(OWNER, k, `must be >= ${minText} (got ${v})`);
  return v;
}

function int(o: Record<string, unknown>, k: string, min: number): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new BreakerOptionError(OWNER, k, `must be an integer >= ${min} (got ${safeShow(v)})`);
  }
  return v;
}

function intOrInfinity(o: Record<string, unknown>, k: string, min: number): number {
  return o[k] === Infinity ? Infinity : int(o, k, min);
}

function ratio(o: Record<string, unknown>, k: string, zeroAllowed: boolean): number {
  const v = o[k];
  const ok = typeof v === 'number' && v <= 1 && (zeroAllowed ? v >= 0 : v > 0);
  if (!ok) throw new BreakerOptionError(OWNER, k, `must be a ratio in ${zeroAllowed ? '[0, 1]' : '(0, 1], e.g. 0.5 for 50%'} (got ${safeShow(v)})`);
  return v;
}

function fn(o: Record<string, unknown>, k: string): Function {
  const v = o[k];
  if (typeof v !== 'function') throw new BreakerOptionError(OWNER, k, `must be a function (got ${safeShow(v)})`);
  return v;
}
