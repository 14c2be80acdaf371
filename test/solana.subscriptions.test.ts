/**
 * Subscriptions that survive a provider, against the local cluster: the serving provider stalls
 * (no close frame), silently drops its subscriptions, or dies; the subscriptions move to another
 * endpoint, the gap is backfilled and nothing is delivered twice.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keypair, LAMPORTS_PER_SOL } from '@solana/web3.js';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import {
  ResilientSubscriptions,
  type AccountEvent,
  type LogsEvent,
  type SignatureEvent,
  type SlotEvent,
} from '../src/solana/subscriptions.ts';
import { result, transferTx, waitFor } from './devnet.helpers.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocalCluster({ slotMs: 20 });
});
after(async () => {
  await cluster.close();
});

function makePool(): RpcConnectionPool {
  return new RpcConnectionPool({
    endpoints: cluster.endpoints.map((e) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl })),
    attemptTimeoutMs: 300,
    requestTimeoutMs: 1500,
    breaker: { failureThreshold: 2, cooldownMs: 60_000 },
  });
}

async function funded(): Promise<Keypair> {
  const kp = Keypair.generate();
  const url = cluster.endpoints[2]!.url;
  await result(url, 'requestAirdrop', [kp.publicKey.toBase58(), 2 * LAMPORTS_PER_SOL]);
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

/** Sends a transfer over HTTP to a provider that is not `avoid` (PubSub faults do not touch HTTP). */
async function send(payer: Keypair, to: Keypair, lamports: number): Promise<string> {
  const url = cluster.endpoints[2]!.url;
  const { blockhash } = (await result(url, 'getLatestBlockhash', [])).value;
  const t = transferTx(payer, to.publicKey, lamports, blockhash);
  await result(url, 'sendTransaction', [t.base64, { encoding: 'base64' }]);
  return t.signature;
}

function servingName(subs: ResilientSubscriptions): string {
  const url = subs.getStats().endpoint;
  const e = cluster.endpoints.find((x) => x.wsUrl === url || `${x.wsUrl}/` === url);
  assert.ok(e, `serving endpoint ${url} is one of the cluster's`);
  return e.name;
}

type Fault = 'ws-stall' | 'ws-drop' | 'kill';

async function survives(fault: Fault, expectedReason: string): Promise<void> {
  const pool = makePool();
  const subs = new ResilientSubscriptions(pool, { watchdogMs: 200, connectTimeoutMs: 300, avoidMs: 10_000 });
  let name: string | undefined;
  try {
    const payer = await funded();
    const to = Keypair.generate();
    const logs: LogsEvent[] = [];
    const accounts: AccountEvent[] = [];
    const slots: number[] = [];
    const sigs: SignatureEvent[] = [];
    subs.logs(to.publicKey.toBase58(), (e) => logs.push(e));
    subs.account(to.publicKey.toBase58(), (e) => accounts.push(e));
    subs.slot((e: SlotEvent) => slots.push(e.slot));
    await subs.ready();
    name = servingName(subs);

    const sent: string[] = [];
    sent.push(await send(payer, to, 1_000_000));
    await waitFor(() => (logs.length === 1 ? true : undefined), 3000, 'the first live notification');
    assert.equal(logs[0]!.backfilled, false);

    if (fault === 'kill') await cluster.faults.kill(name);
    else cluster.faults.set(name, { kind: fault });
    // These land while the serving provider is stalled / silent / dead: only a backfill can deliver them.
    sent.push(await send(payer, to, 1_000_001));
    sent.push(await send(payer, to, 1_000_002));
    subs.signature(sent[2]!, (e) => sigs.push(e));

    await waitFor(() => (subs.getStats().resubscriptions >= 1 ? true : undefined), 5000, 'resubscription elsewhere');
    const moved = servingName(subs);
    assert.notEqual(moved, name, 'resubscribed on another endpoint');
    sent.push(await send(payer, to, 1_000_003));
    await waitFor(() => (logs.length >= 4 ? true : undefined), 15_000, 'every transaction delivered').catch(
      (err: Error) => {
        err.message += ` (${logs.length} of 4: ${JSON.stringify(logs.map((l) => [l.signature.slice(0, 8), l.slot, l.backfilled]))}; sent ${JSON.stringify(sent.map((x) => x.slice(0, 8)))}; ${JSON.stringify(subs.getStats())})`;
        throw err;
      },
    );
    await new Promise((r) => setTimeout(r, 100)); // room for a late duplicate to show up

    assert.deepEqual(logs.map((l) => l.signature).sort(), [...sent].sort(), 'each transaction exactly once');
    assert.ok(
      logs.some((l) => l.backfilled),
      'the gap was backfilled',
    );
    assert.ok(logs.every((l) => Array.isArray(l.logs) && l.logs.length > 0 && l.err === null));
    assert.equal(sigs.length, 1, `the signature subscription fired once ${JSON.stringify(subs.getStats())}`);
    assert.equal(sigs[0]!.signature, sent[2]);
    const last = accounts.at(-1)!;
    assert.equal((last.value as { lamports: number }).lamports, 4_000_006, 'the account ends at its real balance');
    for (let i = 1; i < accounts.length; i++)
      assert.ok(accounts[i]!.slot > accounts[i - 1]!.slot, 'account updates never repeat a slot');
    for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! > slots[i - 1]!, 'slots only move forward');
    const st = subs.getStats();
    assert.equal(st.failovers[expectedReason as 'stall'], 1, JSON.stringify(st.failovers));
    assert.equal(st.lastFailover!.reason, expectedReason);
    assert.ok(st.backfilled.logs >= 1);
    assert.equal(st.backfillFailures, 0);
    assert.equal(st.handlerErrors, 0);
  } finally {
    subs.close();
    if (name) {
      cluster.faults.clear(name);
      if (fault === 'kill') await cluster.faults.revive(name);
    }
    await pool.close();
  }
}

test('a stalled provider (no close frame): the watchdog moves the subscriptions, the gap is backfilled, no duplicates', async () => {
  await survives('ws-stall', 'stall');
});

test('a provider that silently drops subscriptions: detected by the heartbeat, moved, backfilled, no duplicates', async () => {
  await survives('ws-drop', 'stall');
});

test('the serving provider killed: the close moves the subscriptions at once, backfilled, no duplicates', async () => {
  await survives('kill', 'closed');
});

test('hostile input is refused at the boundary; a closed manager refuses new subscriptions', () => {
  const pool = makePool();
  const subs = new ResilientSubscriptions(pool, { watchdogMs: 200 });
  try {
    assert.throws(() => subs.logs('not-an-address', () => {}), /logs address/);
    assert.throws(() => subs.account('1'.repeat(200), () => {}), /account address/);
    assert.throws(() => subs.signature('abc', () => {}), /signature/);
    assert.throws(() => subs.logs(Keypair.generate().publicKey.toBase58(), 42 as never), /handler/);
    assert.throws(
      () => subs.logs(Keypair.generate().publicKey.toBase58(), () => {}, { commitment: 'max' as never }),
      /commitment/,
    );
    for (const opts of [
      { watchdogMs: 0 },
      { watchdogMs: Number.NaN },
      { backfillLimit: 5000 },
      { dedupMemory: -1 },
      { nope: 1 },
    ]) {
      assert.throws(() => new ResilientSubscriptions(pool, opts as never), /subscriptions/);
    }
    assert.throws(() => new ResilientSubscriptions({} as never), /subscriptions.pool/);
  } finally {
    subs.close();
  }
  assert.throws(() => subs.slot(() => {}), /closed/);
  return pool.close();
});
