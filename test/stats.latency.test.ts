import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram } from '../src/stats/latency.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('percentiles stay within 4% (or the 1 µs resolution) of the exact value over six decades', () => {
  const rnd = lcg(7);
  const h = new LatencyHistogram();
  const xs: number[] = [];
  for (let i = 0; i < 50_000; i++) {
    const v = Math.exp(rnd() * 16) / 1000; // 1 µs .. ~9 s
    h.record(v);
    xs.push(v);
  }
  xs.sort((a, b) => a - b);
  for (const q of [0.01, 0.5, 0.9, 0.99, 0.999]) {
    const exact = xs[Math.ceil(q * xs.length) - 1]!;
    const got = h.quantile(q);
    assert.ok(Math.abs(got / exact - 1) < 0.04 || Math.abs(got - exact) <= 0.001, `q=${q}: got ${got}, exact ${exact}`);
  }
  const s = h.summary();
  assert.equal(s.count, 50_000);
  assert.equal(s.min, xs[0]);
  assert.equal(s.max, xs[xs.length - 1]);
});

test('empty, negative, NaN and very large values', () => {
  const h = new LatencyHistogram();
  assert.deepEqual(h.summary(), { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 });
  h.record(-1);
  h.record(Number.NaN);
  assert.equal(h.count, 0, 'invalid samples are ignored');
  h.record(3 * 3600_000); // 3 hours: beyond the integer fast path
  h.record(0.0005);
  assert.equal(h.count, 2);
  assert.ok(Math.abs(h.quantile(1) / (3 * 3600_000) - 1) < 0.04);
  assert.equal(h.quantile(0), 0.0005);
  h.reset();
  assert.equal(h.count, 0);
});
