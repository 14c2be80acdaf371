/**
 * One home for the argument checks every public boundary makes. Each check returns the value it
 * accepted (so call sites read `const ms = timeoutMs('x.timeoutMs', v)`) or throws a ConfigError
 * naming the key, the value and what was expected.
 *
 * Timeouts: Node's timers hold at most 2^31−1 ms; a larger delay (or Infinity) fires after
 * about 1 ms, which turns "wait long" into "fail at once". So a timeout is a finite number in
 * [min, MAX_TIMER_MS], or — only where a key says it accepts one — Infinity, meaning "no limit"
 * (the caller then sets no timer at all).
 */
import { ConfigError } from './errors.ts';

/** The largest delay a Node timer honours (≈ 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TimeoutRule {
  /** Smallest accepted value. Default 1 (a zero timeout is almost always a mistake). */
  min?: number;
  /** Accept Infinity as "no limit". Default false. */
  infinity?: boolean;
}

export function timeoutMs(key: string, value: unknown, rule: TimeoutRule = {}): number {
  const min = rule.min ?? 1;
  if (value === Infinity && rule.infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    const inf = rule.infinity ? ', or Infinity for no limit' : '';
    throw new ConfigError(key, value, `a number of milliseconds in [${min}, ${MAX_TIMER_MS}]${inf}`);
  }
  return value;
}

/**
 * A deadline where 0 (and Infinity, its spelling as "no limit") turns the deadline off: returns
 * 0 for both, so the caller sets no timer; any other value as `timeoutMs` with min 0.
 */
export function timeoutOrOffMs(key: string, value: unknown): number {
  if (value === 0 || value === Infinity) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new ConfigError(key, value, `a number of milliseconds in [0, ${MAX_TIMER_MS}] (0 or Infinity for no limit)`);
  }
  return value;
}

export function integer(key: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(
      key,
      value,
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`,
    );
  }
  return value;
}

/** An integer, or Infinity for "unbounded" (a concurrency or queue limit, never a timer). */
export function integerOrInfinity(key: string, value: unknown, min: number): number {
  if (value === Infinity) return value;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(key, value, `an integer >= ${min}, or Infinity for no limit`);
  }
  return value;
}

export function finite(key: string, value: unknown, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const lo = min === -Number.MAX_VALUE ? '' : `>= ${min}`;
    const hi = max === Number.MAX_VALUE ? '' : `<= ${max}`;
    throw new ConfigError(key, value, `a finite number${lo || hi ? ' ' : ''}${[lo, hi].filter(Boolean).join(' and ')}`);
  }
  return value;
}

export function ratio(key: string, value: unknown, { openLow = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value > 1 || value < 0 || (openLow && value === 0)) {
    throw new ConfigError(key, value, openLow ? 'a number in (0, 1]' : 'a number in [0, 1]');
  }
  return value;
}

export function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(key, value, `one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function nonEmptyString(key: string, value: unknown, maxLength = 1024): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new ConfigError(key, value, `a non-empty string of at most ${maxLength} characters`);
  }
  return value;
}

export function fn<T extends (...args: never[]) => unknown>(key: string, value: unknown): T {
  if (typeof value !== 'function') throw new ConfigError(key, value, 'a function');
  return value as T;
}

/** Refuses keys the options type does not know, so a misspelt option is not silently ignored. */
export function knownKeys(section: string, value: object, known: readonly string[]): void {
  for (const k of Object.keys(value)) {
    if (!known.includes(k))
      throw new ConfigError(
        `${section}.${k}`,
        (value as Record<string, unknown>)[k],
        `a known option (${known.join(', ')})`,
      );
  }
}
