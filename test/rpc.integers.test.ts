/**
 * Integers beyond 2^53 − 1 in an answer (a total supply in lamports, a large stake, rentEpoch =
 * u64::MAX): `integers: 'lossless'` returns them as exact bigints, inline and in actor mode;
 * every integer that fits stays a number; the default is unchanged; a bad value is a typed error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSolanaRpcFromTransport } from '@solana/kit';
import { RpcCallArgumentError, RpcPoolError } from '../src/rpc/errors.ts';
import { createKitTransport } from '../src/solana/kit-transport.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { startFixtureServer } from './fixtures/rpc/server.ts';
import { testPool } from './fixtures/rpc/helpers.ts';

// 2^53 + 1 and u64::MAX: JSON.parse rounds both; strings and floats must come through untouched.
const ANSWER =
  '{"context":{"slot":77},"value":{"total":9007199254740993,"rentEpoch":18446744073709551615,' +
  '"small":5,"negative":-9007199254740993,"float":1.5e300,"digits":"12345678901234567890","list":[1,18446744073709551615]}}';

function expectLossless(result: unknown): void {
  assert.deepEqual(result, {
    context: { slot: 77 },
    value: {
      total: 9007199254740993n,
      rentEpoch: 18446744073709551615n,
      small: 5,
      negative: -9007199254740993n,
      float: 1.5e300,
      digits: '12345678901234567890',
      list: [1, 18446744073709551615n],
    },
  });
}

test("inline: integers: 'lossless' returns exact bigints beyond 2^53 − 1 and numbers for the rest; the default still rounds", async () => {
  const server = await startFixtureServer();
  server.methodFaults.set('getSupply', { kind: 'result_json', json: ANSWER });
  const t = await testPool([{ name: 'a', url: server.url }]);
  try {
    expectLossless((await t.pool.call('getSupply', [], { integers: 'lossless' })).result);
    const plain = (await t.pool.call('getSupply')).result as { value: { total: unknown } };
    assert.equal(plain.value.total, 9007199254740992, 'the default is JSON.parse, as before');
    // Nothing long in the answer: the same as the default, no slow path.
    assert.deepEqual((await t.pool.call('getSlot', [], { integers: 'lossless' })).result, 1000);
    for (const bad of ['bigint', true, 1, null]) {
      await assert.rejects(t.pool.call('getSlot', [], { integers: bad as never }), RpcCallArgumentError);
    }
  } finally {
    await t.close();
    await server.close();
  }
});

test("actor mode: integers: 'lossless' crosses the worker boundary as bigints", { timeout: 30_000 }, async () => {
  const server = await startFixtureServer();
  server.methodFaults.set('getSupply', { kind: 'result_json', json: ANSWER });
  const sup = new Supervisor({});
  const pool = new RpcConnectionPool({ endpoints: [{ name: 'a', url: server.url }] }, { supervisor: sup });
  try {
    assert.equal(pool.mode, 'actor');
    await pool.ready();
    expectLossless((await pool.call('getSupply', [], { integers: 'lossless' })).result);
  } finally {
    await pool.close();
    await sup.shutdown({ drainMs: 100 });
    await server.close();
  }
});

test('kit over the pool reads a u64 beyond 2^53 − 1 exactly, as over its own HTTP transport', async () => {
  const server = await startFixtureServer();
  server.methodFaults.set('getSupply', {
    kind: 'result_json',
    json: '{"context":{"slot":77},"value":{"circulating":9007199254740993,"nonCirculating":1,"nonCirculatingAccounts":[],"total":18446744073709551615}}',
  });
  const t = await testPool([{ name: 'a', url: server.url }]);
  try {
    const rpc = createSolanaRpcFromTransport(createKitTransport(t.pool));
    const supply = await rpc.getSupply({ excludeNonCirculatingAccountsList: true }).send();
    assert.equal(supply.value.circulating, 9007199254740993n);
    assert.equal(supply.value.total, 18446744073709551615n);
    assert.equal(supply.value.nonCirculating, 1n);
    assert.equal(supply.context.slot, 77n);
  } finally {
    await t.close();
    await server.close();
  }
});

test('hostile answers to a lossless call: an integer of 1200 digits or a {"$n"} object that is no number is a bad response; the next endpoint serves the call', async () => {
  const [bad, good] = await Promise.all([startFixtureServer(), startFixtureServer()]);
  good!.methodFaults.set('getSupply', { kind: 'result_json', json: '{"value":18446744073709551615}' });
  const t = await testPool(
    [
      { name: 'bad', url: bad!.url },
      { name: 'good', url: good!.url },
    ],
    { breaker: { failureThreshold: 100, cooldownMs: 1000, jitterRatio: 0 } },
  );
  try {
    for (const json of [`{"value":1${'0'.repeat(1200)}}`, '{"value":{"$n":"not a number 12345678901234567"}}']) {
      bad!.methodFaults.set('getSupply', { kind: 'result_json', json });
      const r = await t.pool.call('getSupply', [], { integers: 'lossless' });
      assert.equal(r.endpoint, 'good');
      assert.deepEqual(r.result, { value: 18446744073709551615n });
    }
    const ep = t.pool.getStats().endpoints.find((e) => e.name === 'bad')!;
    assert.equal(ep.failuresByClass.bad_response, 2, 'each counted once against the endpoint that sent it');
    // With one endpoint left that answers so, the caller gets the pool's typed error naming it.
    const only = await testPool([{ name: 'bad', url: bad!.url }]);
    try {
      const err = await only.pool.call('getSupply', [], { integers: 'lossless' }).catch((e: unknown) => e);
      assert.ok(err instanceof RpcPoolError, String(err));
      assert.equal(err.attempts[0]!.class, 'bad_response');
    } finally {
      await only.close();
    }
  } finally {
    await t.close();
    await bad!.close();
    await good!.close();
  }
});
