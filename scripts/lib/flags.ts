/** Typed command-line flag values: a bad value is a ConfigError naming the flag. */
import { ConfigError } from '../../src/errors.ts';

export function intFlag(
  name: string,
  raw: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new ConfigError(`--${name}`, raw, `an integer in [${min}, ${max}]`);
  return n;
}

export function numberFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ConfigError(`--${name}`, raw, `a number in [${min}, ${max}]`);
  return n;
}

/** Memory of this process in MB (rss, heapUsed). */
export function memoryMb(): { rssMb: number; heapUsedMb: number } {
  const m = process.memoryUsage();
  return { rssMb: round1(m.rss / 2 ** 20), heapUsedMb: round1(m.heapUsed / 2 ** 20) };
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
