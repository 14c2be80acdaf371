/**
 * The breaker's options: their types, defaults, and the validation that turns any bad or unknown
 * option into a BreakerOptionError (a ConfigError) naming it, at construction rather than mid-outage.
 * The checks are src/validate.ts's; the defaults are BREAKER_DEFAULTS (src/defaults.ts).
 */
import { systemClock, type Clock, type Random } from '../clock.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { ConfigError, safeShow } from '../errors.ts';
import { BREAKER_DEFAULTS } from '../defaults.ts';
import * as v from '../validate.ts';
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
  /** Per-call deadline (ms, at most 2^31−1): the call's AbortSignal fires and it rejects with TimeoutError, a counted failure. Infinity, like leaving it out, means none. */
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
  'name',
  'failureThreshold',
  'cooldownMs',
  'resetTimeoutMs',
  'jitterRatio',
  'halfOpenMaxCalls',
  'backoffMultiplier',
  'maxCooldownMs',
  'maxConcurrent',
  'maxQueue',
  'timeoutMs',
  'isFailure',
  'failureRateThreshold',
  'windowSize',
  'minimumCalls',
  'latencySampleEvery',
  'clock',
  'now',
  'random',
  'logger',
]);

/** The default classifier: everything counts except errors flagged as the caller's mistake. */
export const countAllButCallerErrors: FailurePredicate = (err) =>
  !(err !== null && typeof err === 'object' && (err as { isCallerError?: unknown }).isCallerError === true);

const OWNER = 'CircuitBreaker';
const D = BREAKER_DEFAULTS;

/** Validates every option (a BreakerOptionError names the first bad one) and fills the defaults. */
export function resolveOptions(input: unknown): ResolvedOptions {
  try {
    return resolve(input);
  } catch (err) {
    throw err instanceof ConfigError ? BreakerOptionError.from(OWNER, err) : err;
  }
}

function resolve(input: unknown): ResolvedOptions {
  if (input === undefined) input = {};
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new ConfigError('options', input, 'an object');
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_NAMES.has(key)) throw new ConfigError(key, o[key], 'a known option (is it misspelt?)');
  }
  const has = (k: string): boolean => o[k] !== undefined;

  const name = has('name') ? v.nonEmptyString('name', o['name']) : 'breaker';
  const failureThreshold = has('failureThreshold')
    ? v.integer('failureThreshold', o['failureThreshold'], 1)
    : D.failureThreshold;
  if (has('cooldownMs') && has('resetTimeoutMs') && o['cooldownMs'] !== o['resetTimeoutMs']) {
    throw new ConfigError(
      'resetTimeoutMs',
      o['resetTimeoutMs'],
      `the same value as cooldownMs (${safeShow(o['cooldownMs'])}), of which it is an alias`,
    );
  }
  const cooldownKey = has('cooldownMs') || !has('resetTimeoutMs') ? 'cooldownMs' : 'resetTimeoutMs';
  const cooldownMs = has(cooldownKey) ? v.timeoutMs(cooldownKey, o[cooldownKey], { min: 0 }) : D.cooldownMs;
  const jitterRatio = has('jitterRatio') ? v.ratio('jitterRatio', o['jitterRatio']) : D.jitterRatio;
  const halfOpenMaxCalls = has('halfOpenMaxCalls')
    ? v.integer('halfOpenMaxCalls', o['halfOpenMaxCalls'], 1)
    : D.halfOpenMaxCalls;
  const backoffMultiplier = has('backoffMultiplier')
    ? v.finite('backoffMultiplier', o['backoffMultiplier'], 1)
    : D.backoffMultiplier;
  const maxCooldownMs = has('maxCooldownMs')
    ? v.timeoutMs('maxCooldownMs', o['maxCooldownMs'], { min: cooldownMs })
    : cooldownMs * D.maxCooldownFactor;

  const maxConcurrent = has('maxConcurrent') ? v.integerOrInfinity('maxConcurrent', o['maxConcurrent'], 1) : Infinity;
  if (has('maxQueue') && maxConcurrent === Infinity) {
    throw new ConfigError(
      'maxQueue',
      o['maxQueue'],
      'no maxQueue without maxConcurrent (there is no bulkhead to queue for)',
    );
  }
  const maxQueue = has('maxQueue')
    ? v.integerOrInfinity('maxQueue', o['maxQueue'], 0)
    : maxConcurrent === Infinity
      ? 0
      : maxConcurrent * D.queuePerSlot;
  // Infinity (like leaving the option out) means no timeout; internally 0 stands for "none".
  const timeout = has('timeoutMs') ? v.timeoutMs('timeoutMs', o['timeoutMs'], { min: 1, infinity: true }) : Infinity;
  const timeoutMs = timeout === Infinity ? 0 : timeout;
  const isFailure = has('isFailure') ? v.fn<FailurePredicate>('isFailure', o['isFailure']) : countAllButCallerErrors;

  const rated = has('failureRateThreshold');
  for (const k of ['windowSize', 'minimumCalls']) {
    if (has(k) && !rated)
      throw new ConfigError(k, o[k], `no ${k} without failureRateThreshold (it sizes the failure-rate window)`);
  }
  const failureRateThreshold = rated
    ? v.ratio('failureRateThreshold', o['failureRateThreshold'], { openLow: true })
    : 0;
  const windowSize = has('windowSize') ? v.integer('windowSize', o['windowSize'], 1) : D.windowSize;
  const minimumCalls = has('minimumCalls') ? v.integer('minimumCalls', o['minimumCalls'], 1, windowSize) : windowSize;
  const latencySampleEvery = has('latencySampleEvery')
    ? v.integer('latencySampleEvery', o['latencySampleEvery'], 1)
    : D.latencySampleEvery;

  let clock = systemClock;
  if (has('clock')) {
    const c = o['clock'] as Partial<Clock> | null;
    if (
      c === null ||
      typeof c !== 'object' ||
      typeof c.now !== 'function' ||
      typeof c.setTimeout !== 'function' ||
      typeof c.clearTimeout !== 'function'
    ) {
      throw new ConfigError('clock', c, 'a Clock (now, setTimeout, clearTimeout)');
    }
    clock = c as Clock;
  }
  let now: () => number;
  let hrNow: () => number;
  if (has('now')) {
    now = hrNow = v.fn<() => number>('now', o['now']);
  } else if (clock !== systemClock) {
    const c = clock;
    now = hrNow = () => c.now();
  } else {
    now = Date.now;
    hrNow = () => performance.now();
  }
  const random = has('random') ? v.fn<Random>('random', o['random']) : Math.random;
  let logger = silentLogger;
  if (has('logger')) {
    const l = o['logger'] as Partial<Logger> | null;
    if (
      l === null ||
      typeof l !== 'object' ||
      typeof l.info !== 'function' ||
      typeof l.warn !== 'function' ||
      typeof l.error !== 'function'
    ) {
      throw new ConfigError('logger', l, 'a logger (info, warn, error)');
    }
    logger = l as Logger;
  }

  return {
    name,
    failureThreshold,
    cooldownMs,
    jitterRatio,
    halfOpenMaxCalls,
    backoffMultiplier,
    maxCooldownMs,
    maxConcurrent,
    maxQueue,
    timeoutMs,
    isFailure,
    failureRateThreshold,
    windowSize,
    minimumCalls,
    latencySampleEvery,
    clock,
    now,
    hrNow,
    random,
    logger,
  };
}
