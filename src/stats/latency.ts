/**
 * A constant-memory latency histogram with log-linear buckets (like HdrHistogram, coarser):
 * recording is O(1) and allocation-free, so it can sit on hot paths; percentiles are within
 * ~3% of the true value. Values are in milliseconds (fractions allowed, resolution 1 µs).
 */
const SUB_BUCKETS = 32; // per power of two -> ~3% relative error
const MAX_EXP = 40; // up to 2^40 µs ≈ 12.7 days

export interface LatencySummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(SUB_BUCKETS * (MAX_EXP + 1));
  private total = 0;
  private sum = 0;
  private minUs = Infinity;
  private maxUs = 0;

  record(ms: number): void {
    if (!(ms >= 0)) return;
    const us = ms * 1000;
    this.total++;
    this.sum += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
    this.counts[bucketOf(us)]!++;
  }

  get count(): number {
    return this.total;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.minUs = Infinity;
    this.maxUs = 0;
  }

  /** The value (ms) at quantile q in [0, 1]; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxUs, Math.max(this.minUs, bucketValue(i))) / 1000;
    }
    return this.maxUs / 1000;
  }

  /**
   * Cumulative counts at each upper bound (ms, ascending), for exporting as a Prometheus
   * histogram. A sample counts at a bound when its bucket lies wholly at or below it, so a count
   * errs low by at most one bucket's width (~3%) at each bound; `sumMs` is exact.
   */
  cumulative(boundsMs: readonly number[]): { cumulative: number[]; count: number; sumMs: number } {
    const out = new Array<number>(boundsMs.length).fill(0);
    let seen = 0;
    let b = 0;
    for (let i = 0; i < this.counts.length && b < boundsMs.length; i++) {
      const upperUs = upperOf(i);
      while (b < boundsMs.length && upperUs > boundsMs[b]! * 1000) out[b++] = seen;
      seen += this.counts[i]!;
    }
    while (b < boundsMs.length) out[b++] = seen;
    return { cumulative: out, count: this.total, sumMs: this.sum / 1000 };
  }

  summary(): LatencySummary {
    if (this.total === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 };
    return {
      count: this.total,
      min: this.minUs / 1000,
      max: this.maxUs / 1000,
      mean: this.sum / this.total / 1000,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
    };
  }
}

// BASE[e] is the first value (µs) of power-of-two range e; WIDTH[e] the width of one sub-bucket.
const BASE = new Float64Array(MAX_EXP + 1);
const WIDTH = new Float64Array(MAX_EXP + 1);
for (let e = 1; e <= MAX_EXP; e++) {
  BASE[e] = SUB_BUCKETS * 2 ** (e - 1);
  WIDTH[e] = BASE[e]! / SUB_BUCKETS;
}

function bucketOf(us: number): number {
  if (us < SUB_BUCKETS) return us | 0;
  // Integer fast path (below ~35 minutes): the power of two from clz32 instead of log2.
  const exp =
    us < 0x7fffffff
      ? 32 - Math.clz32((us / SUB_BUCKETS) | 0)
      : Math.min(MAX_EXP, Math.floor(Math.log2(us / SUB_BUCKETS)) + 1);
  const sub = ((us - BASE[exp]!) / WIDTH[exp]!) | 0;
  return exp * SUB_BUCKETS + (sub < SUB_BUCKETS ? sub : SUB_BUCKETS - 1);
}

function bucketValue(bucket: number): number {
  const exp = Math.floor(bucket / SUB_BUCKETS);
  const sub = bucket % SUB_BUCKETS;
  if (exp === 0) return sub + 0.5;
  const base = SUB_BUCKETS * 2 ** (exp - 1);
  return base + (sub + 0.5) * (base / SUB_BUCKETS);
}

function upperOf(bucket: number): number {
  const exp = Math.floor(bucket / SUB_BUCKETS);
  const sub = bucket % SUB_BUCKETS;
  if (exp === 0) return sub + 1;
  const base = SUB_BUCKETS * 2 ** (exp - 1);
  return base + (sub + 1) * (base / SUB_BUCKETS);
}
