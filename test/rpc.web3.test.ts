import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, PublicKey } from '@solana/web3.js';
import { CircuitBreakerManager } from '../src/breaker/index.ts';
import { createPoolFetch, createSolanaConnection } from '../src/rpc/web3-adapter.ts';
import { startFixtureServer } from './fixtures/rpc/server.ts';
import { count, testPool } from './fixtures/rpc/helpers.ts';

test('web3.js adapter: a real Connection whose requests go through the pool, with failover', async () => {
  const a = await startFixtureServer({ slot: 4242 });
  const b = await startFixtureServer({ slot: 4242 });
  const t = await testPool([
    { name: 'a', url: a.url },
    { name: 'b', url: b.url },
  ]);
  try {
    const conn = createSolanaConnection(t.pool, 'confirmed');
    assert.ok(conn instanceof Connection);
    assert.equal(await conn.getSlot(), 4242);
    assert.equal((await conn.getVersion())['solana-core'], '1.18.0-fixture');
    a.methodFaults.set('getBalance', { kind: 'http', status: 503 });
    assert.equal(await conn.getBalance(new PublicKey('11111111111111111111111111111111')), 42);
    assert.equal(count(b, 'getBalance'), 1, 'failed over inside web3.js');
    assert.equal(t.pool.getStats().endpoints[0]!.failuresByClass.http_5xx, 1);
    // The pool's wsUrl is the first healthy endpoint's.
    assert.equal(t.pool.wsEndpoint(), a.url.replace('http:', 'ws:'));
    // A protect()ed pool works as the connection's pool too.
    const guarded = createSolanaConnection(new CircuitBreakerManager().protect(t.pool), 'confirmed');
    assert.equal(await guarded.getSlot(), 4242);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('web3.js adapter: JSON-RPC errors reach web3.js as the node sent them; pool failures reject', async () => {
  const a = await startFixtureServer();
  const t = await testPool([{ name: 'a', url: a.url }]);
  try {
    const conn = createSolanaConnection(t.pool);
    a.methodFaults.set('getVersion', { kind: 'rpc_error', code: -32602, message: 'Invalid params' });
    const e = await conn.getVersion().catch((x: unknown) => x);
    assert.equal((e as { code?: number }).code, -32602);
    a.methodFaults.set('getVersion', { kind: 'http', status: 500 });
    const e2 = await conn.getVersion().catch((x: unknown) => x);
    assert.match(String((e2 as Error).message), /getVersion: no endpoint could serve the call/);
  } finally {
    await t.close();
    await a.close();
  }
});

test('pool fetch: keeps the caller id (string or number) and answers batches in order', async () => {
  const a = await startFixtureServer({ slot: 9 });
  const t = await testPool([{ name: 'a', url: a.url }]);
  try {
    const f = createPoolFetch(t.pool);
    const one = await f('ignored', {
      body: JSON.stringify({ jsonrpc: '2.0', id: 'b1c2-uuid', method: 'getSlot', params: [] }),
    });
    assert.equal(one.status, 200);
    assert.deepEqual(await one.json(), { jsonrpc: '2.0', id: 'b1c2-uuid', result: 9 });
    const batch = await f('ignored', {
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 7, method: 'getSlot' },
        { jsonrpc: '2.0', id: 'x', method: 'nope', params: [] },
        { jsonrpc: '2.0', id: 8, method: 'getHealth', params: [] },
      ]),
    });
    assert.deepEqual(await batch.json(), [
      { jsonrpc: '2.0', id: 7, result: 9 },
      { jsonrpc: '2.0', id: 'x', error: { code: -32601, message: 'Method not found' } },
      { jsonrpc: '2.0', id: 8, result: 'ok' },
    ]);
    const bad = await f('ignored', { body: '{not json' });
    assert.equal(((await bad.json()) as { error: { code: number } }).error.code, -32700);
  } finally {
    await t.close();
    await a.close();
  }
});
