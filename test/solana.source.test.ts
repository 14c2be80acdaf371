/**
 * Chain sources as supervised actors on the local cluster: a logs source on an address and the
 * slot stream publish into the bus with sequence numbers; the actor is killed mid-run, the
 * supervisor restarts it, and the topic's sequence stays continuous with every transaction
 * delivered exactly once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keypair, LAMPORTS_PER_SOL } from '@solana/web3.js';
import { SignalBus } from '../src/bus/index.ts';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { ChainSource } from '../src/solana/chain-source.ts';
import { result, transferTx, waitFor } from './devnet.helpers.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocalCluster({ slotMs: 20 });
});
after(async () => {
  await cluster.close();
});

const endpoints = () => cluster.endpoints.map((e) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl }));

async function send(payer: Keypair, to: Keypair, lamports: number): Promise<string> {
  const url = cluster.endpoints[2]!.url;
  const { blockhash } = (await result(url, 'getLatestBlockhash', [])).value;
  const t = transferTx(payer, to.publicKey, lamports, blockhash);
  await result(url, 'sendTransaction', [t.base64, { encoding: 'base64' }]);
  return t.signature;
}

test('a logs source actor killed mid-run is restarted and resumes: sequence continuous, each transaction once', async () => {
  const sup = new Supervisor({ heartbeatMs: 0 });
  const bus = new SignalBus({ supervisor: sup });
  const to = Keypair.generate();
  const source = new ChainSource(sup, bus, {
    name: 'logs-source',
    topic: 'chain_logs',
    kind: 'logs',
    address: to.publicKey.toBase58(),
    endpoints: endpoints(),
    watchdogMs: 300,
    drainMs: 10,
  });
  const got: { sequence: number; signature: string; backfilled: boolean }[] = [];
  bus.subscribe('chain_logs', (e: any) => {
    got.push({ sequence: e.sequence, signature: e.signature, backfilled: e.backfilled });
  });
  try {
    const payer = Keypair.generate();
    await result(cluster.endpoints[2]!.url, 'requestAirdrop', [payer.publicKey.toBase58(), 2 * LAMPORTS_PER_SOL]);
    await source.start();
    await waitFor(
      () => ((source.getStats().subscription as any)?.live ? true : undefined),
      5000,
      'the source subscribed',
    );

    const sent: string[] = [];
    for (let i = 0; i < 3; i++) sent.push(await send(payer, to, 1_000_000 + i));
    await waitFor(() => (got.length >= 3 ? true : undefined), 5000, 'the first events');

    assert.equal(sup.injectFault('logs-source', 'uncaught'), true);
    // These land while the actor is dead or restarting: only the resume backfill can deliver them.
    for (let i = 3; i < 6; i++) sent.push(await send(payer, to, 1_000_000 + i));
    await waitFor(() => (source.getStats().resumes >= 1 ? true : undefined), 10_000, 'the restarted actor resumed');
    for (let i = 6; i < 8; i++) sent.push(await send(payer, to, 1_000_000 + i));
    await waitFor(() => (got.length >= sent.length ? true : undefined), 10_000, 'every transaction published').catch(
      (err: Error) => {
        err.message += ` (got ${got.length} of ${sent.length}; source ${JSON.stringify(source.getStats())})`;
        throw err;
      },
    );
    await new Promise((r) => setTimeout(r, 150)); // room for a late duplicate to show up

    assert.deepEqual(
      got.map((g) => g.sequence),
      sent.map((_s, i) => i + 1),
      'sequence 1..N without a hole or a repeat',
    );
    assert.deepEqual(new Set(got.map((g) => g.signature)), new Set(sent));
    assert.equal(got.length, sent.length, 'each transaction once');
    assert.ok(
      got.some((g) => g.backfilled),
      'the gap was backfilled by the restarted actor',
    );
    const st = source.getStats();
    assert.equal(st.sequenceBreaks, 0);
    assert.equal(st.published, sent.length);
    assert.ok(st.resumes >= 1);
    assert.equal(st.cursor.seq, sent.length);
  } finally {
    await source.stop();
    await bus.close();
    await sup.shutdown();
  }
});

test('a slot source actor killed mid-run: sequence continuous, slots strictly increasing', async () => {
  const sup = new Supervisor({ heartbeatMs: 0 });
  const bus = new SignalBus({ supervisor: sup });
  const source = new ChainSource(sup, bus, {
    name: 'slot-source',
    topic: 'chain_slots',
    kind: 'slot',
    endpoints: endpoints(),
    watchdogMs: 300,
    drainMs: 10,
  });
  const got: { sequence: number; slot: number }[] = [];
  bus.subscribe('chain_slots', (e: any) => {
    got.push({ sequence: e.sequence, slot: e.slot });
  });
  try {
    await source.start();
    await waitFor(() => (got.length >= 10 ? true : undefined), 5000, 'slots');
    assert.equal(sup.injectFault('slot-source', 'exit'), true);
    await waitFor(() => (source.getStats().resumes >= 1 ? true : undefined), 10_000, 'resumed');
    const n = got.length;
    await waitFor(() => (got.length >= n + 10 ? true : undefined), 5000, 'slots after the restart');
    got.forEach((g, i) => {
      assert.equal(g.sequence, i + 1, 'no hole, no repeat');
    });
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.slot > got[i - 1]!.slot, 'slots only move forward');
    assert.equal(source.getStats().sequenceBreaks, 0);
  } finally {
    await source.stop();
    await bus.close();
    await sup.shutdown();
  }
});

test('hostile options are refused at the boundary', () => {
  const sup = new Supervisor({ heartbeatMs: 0, spares: 0 });
  const bus = new SignalBus();
  const ok = { name: 'x', topic: 't', kind: 'slot' as const, endpoints: [{ url: 'http://127.0.0.1:1' }] };
  try {
    for (const bad of [
      { ...ok, kind: 'blocks' },
      { ...ok, kind: 'logs' },
      { ...ok, endpoints: [] },
      { ...ok, name: '' },
      { ...ok, drainMs: Number.NaN },
      { ...ok, maxBatch: 0 },
      { ...ok, bogus: 1 },
    ]) {
      assert.throws(() => new ChainSource(sup, bus, bad as never), /chainSource/);
    }
    assert.throws(() => new ChainSource({} as never, bus, ok), /supervisor/);
    assert.throws(() => new ChainSource(sup, {} as never, ok), /bus/);
  } finally {
    void bus.close();
    void sup.shutdown();
  }
});
