/**
 * The statistics behind bench/before-after.ts: medians of per-round samples, the slowness of
 * one side against the other, a seeded bootstrap interval of it, and the verdict drawn from that
 * interval. Kept apart so the rules are tested (test/bench-compare.test.ts).
 */

/** Linear-interpolated quantile (q in [0, 1]) of a non-empty sample. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new RangeError('quantile of an empty sample');
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/**
 * How much slower `after` is than `before`, from their medians: > 1 means after is slower, for
 * times (lower is better) and rates (higher is better) alike.
 */
export function slowness(before: readonly number[], after: readonly number[], higherIsBetter: boolean): number {
  return higherIsBetter ? median(before) / median(after) : median(after) / median(before);
}

/** A 95% interval of slowness by resampling both sides with replacement (seeded: `rnd`). */
export function slownessInterval(
  before: readonly number[],
  after: readonly number[],
  higherIsBetter: boolean,
  rnd: () => number,
  resamples = 2000,
): [number, number] {
  const pick = (xs: readonly number[]): number[] => xs.map(() => xs[Math.floor(rnd() * xs.length)]!);
  const rs: number[] = [];
  for (let i = 0; i < resamples; i++) rs.push(slowness(pick(before), pick(after), higherIsBetter));
  return [quantile(rs, 0.025), quantile(rs, 0.975)];
}

export type Verdict = 'slower' | 'faster' | 'no difference beyond noise';

/** A side is called slower or faster only when the whole interval lies past `noise` (0.03: 3%). */
export function verdict([lo, hi]: readonly [number, number], noise: number): Verdict {
  if (lo > 1 + noise) return 'slower';
  if (hi < 1 - noise) return 'faster';
  return 'no difference beyond noise';
}
