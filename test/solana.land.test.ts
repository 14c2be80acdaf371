/**
 * Landing transactions on the local cluster through provider faults: each intent lands at most
 * once (one signature on chain) or is reported expired with proof; never two. Real timers with
 * short periods; every wait is bounded by the lander's own maxWaitMs or the test's deadline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keypair, LAMPORTS_PER_SOL, type PublicKey } from '@solana/web3.js';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { BlockhashCache } from '../src/solana/blockhash-cache.ts';
import { LandInputError, TransactionLander } from '../src/solana/land.ts';
import { SendEndpoints } from '../src/solana/send-endpoints.ts';
import { result, transferTx, waitFor } from './devnet.helpers.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocalCluster({ slotMs: 20 });
});
after(async () => {
  await cluster.close();
});

interface Rig {
  pool: RpcConnectionPool;
  sends: SendEndpoints;
  lander: TransactionLander;
  blockhashes: BlockhashCache;
  close(): Promise<void>;
}

function rig(landerOptions: ConstructorParameters<typeof TransactionLander>[2] = {}): Rig {
  const endpoints = cluster.endpoints.map((e) => ({ name: e.name, url: e.url }));
  const pool = new RpcConnectionPool({
    endpoints,
    attemptTimeoutMs: 300,
    requestTimeoutMs: 1500,
    breaker: { failureThreshold: 2, cooldownMs: 60_000 },
  });
  const sends = new SendEndpoints({ endpoints, attemptTimeoutMs: 300, failureThreshold: 2, cooldownMs: 200 });
  const lander = new TransactionLander(pool, sends, {
    rebroadcastMs: 100,
    pollMs: 20,
    maxWaitMs: 20_000,
    ...landerOptions,
  });
  const blockhashes = new BlockhashCache(pool, { refreshMs: 100 });
  return {
    pool,
    sends,
    lander,
    blockhashes,
    async close() {
      blockhashes.close();
      await lander.close();
      sends.close();
      await pool.close();
    },
  };
}

async function funded(lamports = 2 * LAMPORTS_PER_SOL): Promise<Keypair> {
  const kp = Keypair.generate();
  const url = cluster.endpoints[2]!.url;
  await result(url, 'requestAirdrop', [kp.publicKey.toBase58(), lamports]);
  await waitFor(
    async () =>
      (await result(url, 'getBalance', [kp.publicKey.toBase58(), { commitment: 'confirmed' }])).value > 0
        ? true
        : undefined,
    5000,
    'airdrop',
  );
  return kp;
}

/** Every signature the chain holds for an address (the ground truth for "landed once"). */
async function signaturesOf(address: PublicKey): Promise<string[]> {
  const list = (await result(cluster.endpoints[2]!.url, 'getSignaturesForAddress', [
    address.toBase58(),
    { commitment: 'confirmed' },
  ])) as { signature: string }[];
  return list.map((s) => s.signature);
}

test('blockhash cache and lander: intents land exactly once while one provider dies and another rate-limits sends mid-send', async () => {
  const r = rig();
  try {
    const payer = await funded();
    const to = Keypair.generate();
    const bh = await r.blockhashes.start();
    const intents = Array.from({ length: 8 }, (_, i) => transferTx(payer, to.publicKey, 1_000_000 + i, bh.blockhash));
    const landing = intents.map((t) => r.lander.land(t.base64, { lastValidBlockHeight: bh.lastValidBlockHeight }));
    // Faults strike while the first round is on the wire.
    const killed = cluster.faults.kill('helius-local');
    cluster.faults.set('chainstack-local', { kind: '429', retryAfterSec: 1, methods: ['sendTransaction'] });
    await killed;
    const results = await Promise.all(landing);

    for (const [i, res] of results.entries()) {
      assert.equal(res.status, 'landed', `intent ${i}: ${JSON.stringify(res)}`);
      assert.equal(
        res.signature,
        intents[i]!.signature,
        'the signature is the one the caller signed: nothing re-signed',
      );
      assert.ok(res.timeToLandMs! >= 0 && res.slot! > 0);
    }
    const onChain = await signaturesOf(to.publicKey);
    assert.equal(onChain.length, intents.length, 'one transaction per intent on chain, never two');
    assert.deepEqual(new Set(onChain), new Set(intents.map((t) => t.signature)));
    const balance = (await result(cluster.endpoints[2]!.url, 'getBalance', [to.publicKey.toBase58()])).value as number;
    assert.equal(
      balance,
      intents.reduce((a, _t, i) => a + 1_000_000 + i, 0),
    );

    const sendStats = Object.fromEntries(r.sends.getStats().map((s) => [s.name, s]));
    assert.ok(
      sendStats['helius-local']!.failures > 0 || sendStats['helius-local']!.skipped > 0,
      'the killed provider failed or was skipped',
    );
    assert.ok(sendStats['chainstack-local']!.failures > 0, 'the rate-limiting provider answered 429 to sends');
    assert.ok(sendStats['public-local']!.accepted > 0, 'the healthy provider took the sends');
    // The send class rests chainstack after its 429; the read pool's chainstack is untouched.
    const readStats = Object.fromEntries(r.pool.getStats().endpoints.map((e) => [e.name, e]));
    assert.equal(readStats['chainstack-local']!.failuresByClass.http_429, 0, 'send 429s do not touch the read class');
    const ls = r.lander.getStats();
    assert.equal(ls.results.landed, intents.length);
    assert.equal(ls.inFlight, 0);
  } finally {
    cluster.faults.clear();
    await cluster.faults.revive('helius-local');
    await r.close();
  }
});

test('no provider takes the bytes until the blockhash expires: expired with proof, never landed, never re-signed', async () => {
  const r = rig();
  try {
    const payer = await funded();
    const to = Keypair.generate();
    const bh = await r.blockhashes.get();
    const t = transferTx(payer, to.publicKey, 1_000_000, bh.blockhash);
    for (const e of cluster.endpoints) cluster.faults.set(e.name, { kind: '503', methods: ['sendTransaction'] });
    const landing = r.lander.land(t.base64, { lastValidBlockHeight: bh.lastValidBlockHeight });
    await waitFor(() => (r.lander.getStats().broadcasts >= 3 ? true : undefined), 5000, 're-broadcasts');
    // Not yet expired: still landing (no premature verdict).
    assert.equal(r.lander.getStats().inFlight, 1);
    cluster.chain.advanceSlots(cluster.chain.blockhashMaxAge + 5);
    const res = await landing;
    assert.equal(res.status, 'expired', JSON.stringify(res));
    assert.ok(res.blockHeight! > bh.lastValidBlockHeight);
    assert.ok(res.broadcasts >= 3, 'the same bytes were re-broadcast');
    assert.equal(res.accepted, 0);
    // The proof holds: the bytes can no longer land even where sends work again.
    cluster.faults.clear();
    const st = await result(cluster.endpoints[0]!.url, 'getSignatureStatuses', [
      [t.signature],
      { searchTransactionHistory: true },
    ]);
    assert.equal(st.value[0], null);
    assert.deepEqual(await signaturesOf(to.publicKey), []);
  } finally {
    cluster.faults.clear();
    await r.close();
  }
});

test('a round nobody takes is retried at the next poll, and lands once a provider is back', async () => {
  const r = rig({ rebroadcastMs: 5000 });
  try {
    const payer = await funded();
    const to = Keypair.generate();
    const bh = await r.blockhashes.get();
    const t = transferTx(payer, to.publicKey, 1_000_000, bh.blockhash);
    for (const e of cluster.endpoints)
      cluster.faults.set(e.name, { kind: 'reset', methods: ['sendTransaction'], count: 1 });
    const res = await r.lander.land(t.base64, { lastValidBlockHeight: bh.lastValidBlockHeight });
    assert.equal(res.status, 'landed', JSON.stringify(res));
    assert.ok(res.broadcasts >= 2, 'the first round reached no one; a second went out without waiting rebroadcastMs');
    assert.deepEqual(await signaturesOf(to.publicKey), [t.signature]);
  } finally {
    cluster.faults.clear();
    await r.close();
  }
});

test('a transaction that lands with an on-chain error is failed (with the error), with its signature', async () => {
  const r = rig();
  try {
    const payer = await funded(LAMPORTS_PER_SOL / 100);
    const to = Keypair.generate();
    const bh = await r.blockhashes.get();
    const t = transferTx(payer, to.publicKey, LAMPORTS_PER_SOL, bh.blockhash); // more than it has
    const res = await r.lander.land(t.base64, { lastValidBlockHeight: bh.lastValidBlockHeight });
    assert.equal(res.status, 'failed', JSON.stringify(res));
    assert.equal(res.error?.code, 'LAND_FAILED_ON_CHAIN');
    assert.ok(res.error?.onChain, 'the on-chain error is reported');
    assert.equal(res.signature, t.signature);
  } finally {
    await r.close();
  }
});

test('landing the same bytes twice at once joins one attempt; hostile input is refused at the boundary; abort and close end as unknown', async () => {
  const r = rig();
  try {
    const payer = await funded();
    const to = Keypair.generate();
    const bh = await r.blockhashes.get();
    const t = transferTx(payer, to.publicKey, 1_000_000, bh.blockhash);
    const a = r.lander.land(t.base64, { lastValidBlockHeight: bh.lastValidBlockHeight });
    const b = r.lander.land(Buffer.from(t.base64, 'base64'), { lastValidBlockHeight: BigInt(bh.lastValidBlockHeight) });
    assert.equal(a, b, 'one landing per signature');
    assert.equal((await a).status, 'landed');
    assert.equal(r.lander.getStats().joinedDuplicates, 1);

    const lv = { lastValidBlockHeight: bh.lastValidBlockHeight };
    const unsigned = Buffer.from(t.base64, 'base64');
    unsigned.fill(0, 1, 65);
    for (const bad of ['', '!!!', 'A'.repeat(4000), unsigned.toString('base64'), 42 as never, null as never]) {
      assert.throws(() => r.lander.land(bad, lv), LandInputError);
    }
    for (const h of [Number.NaN, -1, Infinity, 1.5, 2n ** 64n, '100' as never]) {
      assert.throws(() => r.lander.land(t.base64, { lastValidBlockHeight: h }), LandInputError);
    }
    assert.throws(() => new TransactionLander(r.pool, r.sends, { rebroadcastMs: 0 }), /rebroadcastMs/);
    assert.throws(() => new TransactionLander(r.pool, r.sends, { bogus: 1 } as never), /bogus/);

    // Abort: unknown, never expired (nothing was proven).
    for (const e of cluster.endpoints) cluster.faults.set(e.name, { kind: '503', methods: ['sendTransaction'] });
    const t2 = transferTx(payer, to.publicKey, 1_000_001, bh.blockhash);
    const ctl = new AbortController();
    const aborted = r.lander.land(t2.base64, { ...lv, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    const ra = await aborted;
    assert.equal(ra.status, 'unknown');
    assert.equal(ra.error?.code, 'LAND_ABORTED');

    const t3 = transferTx(payer, to.publicKey, 1_000_002, bh.blockhash);
    const closing = r.lander.land(t3.base64, lv);
    await r.lander.close();
    const rc = await closing;
    assert.equal(rc.status, 'unknown');
    assert.equal(rc.error?.code, 'LAND_CLOSED');
    assert.throws(() => r.lander.land(t3.base64, lv), LandInputError);
  } finally {
    cluster.faults.clear();
    await r.close();
  }
});
