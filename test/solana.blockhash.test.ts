/** The blockhash cache on a hand-driven clock and a scripted pool. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { BlockhashCache, BlockhashUnavailableError } from '../src/solana/blockhash-cache.ts';
import type { CallablePool } from '../src/rpc/web3-adapter.ts';

function scriptedPool(answers: Array<unknown | Error>) {
  const calls: unknown[][] = [];
  const pool: CallablePool = {
    async call(method, params = []) {
      calls.push([method, ...params]);
      const next = answers.length > 1 ? answers.shift() : answers[0];
      if (next instanceof Error) throw next;
      return { ok: true, result: next, endpoint: 'x', latencyMs: 0, attempts: 1 };
    },
  };
  return { pool, calls };
}
const answer = (n: number, lvbh: number) => ({
  context: { slot: 1000 + n },
  value: { blockhash: `${'H'.repeat(40)}${String(n).padStart(4, '0')}`, lastValidBlockHeight: lvbh },
});
const flush = () => new Promise((r) => setImmediate(r));

test('refreshes on its period at commitment confirmed, never moves the lifetime backwards, keeps the last value through failures', async () => {
  const clock = new ManualClock();
  const { pool, calls } = scriptedPool([
    answer(1, 500),
    answer(2, 510),
    answer(3, 505),
    new Error('all endpoints down'),
    answer(4, 520),
  ]);
  const cache = new BlockhashCache(pool, { clock, refreshMs: 2000 });
  const first = await cache.start();
  assert.equal(first.lastValidBlockHeight, 500);
  assert.deepEqual(calls[0], ['getLatestBlockhash', { commitment: 'confirmed' }]);
  clock.advance(1999);
  await flush();
  assert.equal(calls.length, 1, 'no refresh before the period');
  clock.advance(1);
  await flush();
  assert.equal(cache.peek()!.lastValidBlockHeight, 510);
  clock.advance(2000);
  await flush();
  assert.equal(cache.peek()!.lastValidBlockHeight, 510, 'an older answer (lagging node) is ignored');
  assert.equal(cache.getStats().staleAnswersIgnored, 1);
  clock.advance(2000);
  await flush();
  assert.equal(cache.peek()!.lastValidBlockHeight, 510, 'a failed refresh keeps the last value');
  assert.equal(cache.getStats().refreshFailures, 1);
  assert.match(cache.getStats().lastError!, /all endpoints down/);
  clock.advance(2000);
  await flush();
  assert.equal((await cache.get()).lastValidBlockHeight, 520);
  cache.close();
  assert.equal(clock.pendingTimers, 0, 'close stops the refresh timer');
  await assert.rejects(cache.get(), BlockhashUnavailableError);
});

test('get() refetches a value older than maxAgeMs, shares one fetch among callers, and rejects (typed) when it cannot vouch for one', async () => {
  const clock = new ManualClock();
  const { pool, calls } = scriptedPool([answer(1, 500), answer(2, 600), new Error('down')]);
  const cache = new BlockhashCache(pool, { clock, maxAgeMs: 5000 });
  const [a, b] = await Promise.all([cache.get(), cache.get()]);
  assert.equal(a, b);
  assert.equal(calls.length, 1, 'concurrent callers share one fetch');
  clock.advance(4999);
  assert.equal((await cache.get()).lastValidBlockHeight, 500, 'young enough: no request');
  clock.advance(1);
  assert.equal((await cache.get()).lastValidBlockHeight, 600);
  clock.advance(5000);
  await assert.rejects(
    cache.get(),
    (e: unknown) => e instanceof BlockhashUnavailableError && e.code === 'BLOCKHASH_UNAVAILABLE',
  );
});

test('hostile answers and options are refused with typed errors', async () => {
  const clock = new ManualClock();
  for (const bad of [
    null,
    {},
    { value: { blockhash: 'x', lastValidBlockHeight: 1 } },
    { value: { blockhash: 'H'.repeat(44), lastValidBlockHeight: Number.NaN } },
    { value: { blockhash: 'H'.repeat(44), lastValidBlockHeight: -1 } },
  ]) {
    const cache = new BlockhashCache(scriptedPool([bad]).pool, { clock });
    await assert.rejects(cache.get(), BlockhashUnavailableError);
  }
  const { pool } = scriptedPool([answer(1, 1)]);
  for (const opts of [
    { refreshMs: 0 },
    { refreshMs: Infinity },
    { maxAgeMs: Number.NaN },
    { commitment: 'recent' },
    { bogus: 1 },
  ]) {
    assert.throws(() => new BlockhashCache(pool, opts as never), /blockhashCache/);
  }
  assert.throws(() => new BlockhashCache({} as never), BlockhashUnavailableError);
});
