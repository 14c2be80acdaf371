import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, quantile, slowness, slownessInterval, verdict } from '../bench/compare.ts';
import { seededRandom } from '../src/random.ts';

test('quantile interpolates and refuses an empty sample', () => {
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([5], 0.25), 5);
  assert.equal(median([10, 30, 20]), 20);
  assert.throws(() => quantile([], 0.5), RangeError);
});

test('slowness reads > 1 as "after is slower" for times and for rates', () => {
  // times: lower is better
  assert.equal(slowness([100, 100], [110, 110], false), 1.1);
  // rates: higher is better, so a lower rate after is slower
  assert.equal(slowness([4e6, 4e6], [2e6, 2e6], true), 2);
  assert.equal(slowness([2e6], [4e6], true), 0.5);
});

test('verdict claims slower or faster only when the whole interval is past the noise band', () => {
  assert.equal(verdict([1.05, 1.2], 0.03), 'slower');
  assert.equal(verdict([1.02, 1.2], 0.03), 'no difference beyond noise');
  assert.equal(verdict([0.8, 0.96], 0.03), 'faster');
  assert.equal(verdict([0.8, 1.01], 0.03), 'no difference beyond noise');
});

test('the interval separates a clear slowdown from noise (seeded)', () => {
  const rnd = seededRandom(42);
  const noisy = (base: number): number[] => Array.from({ length: 40 }, () => base * (0.9 + 0.2 * rnd()));
  const same = slownessInterval(noisy(100), noisy(100), false, seededRandom(1));
  assert.equal(verdict(same, 0.03), 'no difference beyond noise');
  const slower = slownessInterval(noisy(100), noisy(130), false, seededRandom(2));
  assert.equal(verdict(slower, 0.03), 'slower');
  const fasterRate = slownessInterval(noisy(1e6), noisy(1.4e6), true, seededRandom(3));
  assert.equal(verdict(fasterRate, 0.03), 'faster');
});
