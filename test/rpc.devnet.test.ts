/**
 * The pool against the local Solana cluster (src/devnet): one litesvm chain on three provider
 * ports with real fault injection. Real timers; every wait has a deadline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import { CircuitBreaker } from '../src/breaker/index.ts';
import { getRpcPoolConfig, loadConfig } from '../src/config/index.ts';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { createSolanaConnection } from '../src/rpc/web3-adapter.ts';
import { refusedPort } from './fixtures/rpc/server.ts';

let cluster: LocalCluster;

before(async () => {
  cluster = await startLocalCluster({ slotMs: 40 });
});
after(async () => {
  await cluster.close();
});

/** The default configuration (Helius → Chainstack → public), pointed at the local providers. */
function localPoolConfig() {
  const [h, c, p] = cluster.endpoints;
  return getRpcPoolConfig(
    loadConfig({ env: { HELIUS_RPC_URL: h!.url, CHAINSTACK_RPC_URL: c!.url, SOLANA_RPC_URL: p!.url } }),
  );
}

test('seed: circuit breaker protects real Solana RPC calls (local cluster; refused port as the invalid endpoint)', async () => {
  const config = localPoolConfig();
  const circuitBreaker = new CircuitBreaker({ failureThreshold: 3 });
  const rpcPool = new RpcConnectionPool(config, { circuitBreaker });
  const badConfig = { ...config, endpoints: [{ url: `http://127.0.0.1:${await refusedPort()}`, weight: 1 }] };
  const badRpcPool = new RpcConnectionPool(badConfig, { circuitBreaker });
  try {
    const result1 = await rpcPool.call('getVersion', []);
    assert.ok(result1.ok === true, 'Normal RPC call should succeed');
    assert.equal(result1.endpoint, 'helius');
    assert.equal((result1.result as Record<string, string>)['palisade-devnet'], 'litesvm 1.5');
    for (let i = 0; i < 5; i++) {
      try {
        await badRpcPool.call('getVersion', []);
      } catch {
        /* expected failures */
      }
    }
    assert.ok(circuitBreaker.getState() === 'OPEN', 'Circuit should be OPEN after repeated failures');
  } finally {
    await rpcPool.close();
    await badRpcPool.close();
  }
});

test('a SOL transfer is sent and confirmed through the pool while one provider is killed and another rate-limits', async () => {
  const config = {
    ...localPoolConfig(),
    endpoints: localPoolConfig().endpoints.map((e, i) => ({ ...e, wsUrl: cluster.endpoints[i]!.wsUrl })),
  };
  const pool = new RpcConnectionPool(config);
  const conn = createSolanaConnection(pool, 'confirmed');
  try {
    const payer = Keypair.generate();
    const to = Keypair.generate();
    const airdrop = await conn.requestAirdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
    const bh = await conn.getLatestBlockhash();
    const conf = await conn.confirmTransaction({ signature: airdrop, ...bh }, 'confirmed');
    assert.equal(conf.value.err, null);

    await cluster.faults.kill('helius-local');
    cluster.faults.set('chainstack-local', { kind: '429', retryAfterSec: 1 });
    const tx = new Transaction().add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to.publicKey, lamports: LAMPORTS_PER_SOL / 10 }),
    );
    const sig = await sendAndConfirmTransaction(conn, tx, [payer], { commitment: 'confirmed' });
    assert.equal(typeof sig, 'string');
    assert.equal(await conn.getBalance(to.publicKey, 'confirmed'), LAMPORTS_PER_SOL / 10);
    const s = pool.getStats();
    const [h, c, p] = s.endpoints;
    assert.ok(h!.failuresByClass.refused + h!.failuresByClass.reset > 0, 'the killed provider was tried and failed');
    assert.ok(c!.failuresByClass.http_429 > 0, 'the rate-limiting provider answered 429');
    assert.ok(p!.successes > 0, 'the public provider served');
    assert.equal(s.failed['RPC_POOL_EXHAUSTED'] ?? 0, 0, 'no call failed');
  } finally {
    conn.close();
    await pool.close();
    await cluster.faults.revive('helius-local');
    cluster.faults.clear();
  }
});

test('confirmation survives a dead subscription socket: status polling through the pool confirms', async () => {
  const pool = new RpcConnectionPool(localPoolConfig());
  // The WebSocket points at a port where nothing listens: web3.js never hears a notification.
  const conn = createSolanaConnection(pool, {
    commitment: 'confirmed',
    wsEndpoint: `ws://127.0.0.1:${await refusedPort()}`,
    confirmPollMs: 100,
  });
  try {
    const payer = Keypair.generate();
    const sig = await conn.requestAirdrop(payer.publicKey, LAMPORTS_PER_SOL);
    const bh = await conn.getLatestBlockhash();
    const res = await conn.confirmTransaction({ signature: sig, ...bh }, 'confirmed');
    assert.equal(res.value.err, null);
    assert.ok(conn.wsStats().errors > 0, 'the socket really failed');
    assert.equal(await conn.getBalance(payer.publicKey, 'confirmed'), LAMPORTS_PER_SOL);
  } finally {
    conn.close();
    await pool.close();
  }
});
