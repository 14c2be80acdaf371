import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CircuitBreaker,
  CircuitBreakerManager,
  CircuitOpenError,
  EndpointCircuitManager,
} from '../src/breaker/index.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { RpcCallError, RpcPoolError } from '../src/rpc/errors.ts';
import { refusedPort, startFixtureServer } from './fixtures/rpc/server.ts';
import { count, testPool } from './fixtures/rpc/helpers.ts';

test('integration example: the injected breaker wraps each call; a pool whose only endpoint is invalid trips it', async () => {
  const srv = await startFixtureServer();
  const config = {
    endpoints: [{ name: 'local', url: srv.url, weight: 1 }],
    requestTimeoutMs: 2000,
    attemptTimeoutMs: 800,
    maxSlotLag: 20,
    healthIntervalMs: 1000,
  };
  const circuitBreaker = new CircuitBreaker({ failureThreshold: 3 });
  const labels: string[] = [];
  const spy = {
    execute: <T>(label: string, fn: () => Promise<T>) => {
      labels.push(label);
      return circuitBreaker.execute(label, fn);
    },
  };
  const rpcPool = new RpcConnectionPool(config, { circuitBreaker: spy });
  const badConfig = { ...config, endpoints: [{ url: `http://127.0.0.1:${await refusedPort()}`, weight: 1 }] };
  const badRpcPool = new RpcConnectionPool(badConfig, { circuitBreaker });
  try {
    const result1 = await rpcPool.call('getVersion', []);
    assert.equal(result1.ok, true, 'Normal RPC call should succeed');
    assert.deepEqual(labels, ['rpc_getVersion']);
    const errors: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        await badRpcPool.call('getVersion', []);
      } catch (e) {
        errors.push(e);
      }
    }
    assert.equal(circuitBreaker.getState(), 'OPEN', 'Circuit should be OPEN after repeated failures');
    assert.equal(errors.length, 5);
    assert.ok(errors.slice(0, 3).every((e) => e instanceof RpcPoolError && e.code === 'RPC_POOL_EXHAUSTED'));
    assert.ok(
      errors.slice(3).every((e) => e instanceof CircuitOpenError),
      'calls 4 and 5 never reach the pool',
    );
  } finally {
    await rpcPool.close();
    await badRpcPool.close();
    await srv.close();
  }
});

test('protect(): per-method breakers in front of the pool, same call interface', async () => {
  const a = await startFixtureServer();
  const t = await testPool([{ name: 'a', url: a.url }], {
    breaker: { failureThreshold: 100, cooldownMs: 1000, jitterRatio: 0 },
  });
  const manager = new CircuitBreakerManager({ defaults: { failureThreshold: 2, cooldownMs: 60_000 } });
  const protectedPool = manager.protect(t.pool);
  try {
    const r = await protectedPool.call('getVersion', []);
    assert.equal(r.ok, true);
    assert.equal(r.endpoint, 'a');
    // Caller errors pass through protect() uncounted.
    a.methodFaults.set('getBalance', { kind: 'rpc_error', code: -32602, message: 'Invalid param' });
    for (let i = 0; i < 3; i++)
      assert.ok((await protectedPool.call('getBalance', ['x']).catch((e: unknown) => e)) instanceof RpcCallError);
    assert.equal(manager.get('rpc_getBalance').getState(), 'CLOSED');
    // Endpoint failures open the method's breaker, and only that one.
    a.methodFaults.set('getSlot', { kind: 'http', status: 503 });
    for (let i = 0; i < 3; i++) await protectedPool.call('getSlot', []).catch(() => undefined);
    assert.equal(manager.get('rpc_getSlot').getState(), 'OPEN');
    assert.equal(manager.get('rpc_getVersion').getState(), 'CLOSED');
    assert.equal(count(a, 'getSlot') - 1 /* the first probe */, 2, 'the third call was refused by the OPEN breaker');
    assert.equal((await protectedPool.call('getVersion', [])).ok, true);
  } finally {
    await t.close();
    await a.close();
  }
});

test('per-endpoint isolation through an injected EndpointCircuitManager', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  const endpointCircuits = new EndpointCircuitManager({ defaults: { failureThreshold: 2, cooldownMs: 60_000 } });
  const t = await testPool(
    [
      { name: 'a', url: a.url },
      { name: 'b', url: b.url },
    ],
    {},
    { endpointCircuits },
  );
  try {
    a.methodFaults.set('getVersion', { kind: 'http', status: 500 });
    for (let i = 0; i < 4; i++) assert.equal((await t.pool.call('getVersion')).endpoint, 'b');
    assert.equal(endpointCircuits.getBreaker(a.url).getState(), 'OPEN');
    assert.equal(endpointCircuits.getBreaker(b.url).getState(), 'CLOSED');
    assert.equal(t.pool.getStats().endpoints[0]!.state, 'OPEN');
    // An operator can force an endpoint out through the same breaker.
    endpointCircuits.getBreaker(b.url).forceOpen('maintenance');
    const e = await t.pool.call('getVersion').catch((x: unknown) => x);
    assert.ok(e instanceof RpcPoolError);
    assert.equal(e.code, 'RPC_POOL_EXHAUSTED');
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});
