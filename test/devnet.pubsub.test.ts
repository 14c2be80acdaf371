/**
 * The local cluster's PubSub additions: logs and account notifications from its own
 * transactions (at the subscription's commitment), and the ws-stall / ws-drop faults.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Keypair, LAMPORTS_PER_SOL } from '@solana/web3.js';
import { startLocalCluster, parseFault, type LocalCluster } from '../src/devnet/index.ts';
import { result, transferTx, waitFor } from './devnet.helpers.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocalCluster({ slotMs: 20 });
});
after(async () => {
  await cluster.close();
});

interface Client {
  ws: WebSocket;
  messages: any[];
  request(method: string, params: unknown[]): Promise<any>;
  close(): void;
}

async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const messages: any[] = [];
  let id = 0;
  const waiting = new Map<number, (m: any) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.id !== undefined && waiting.has(m.id)) waiting.get(m.id)!(m);
    else messages.push(m);
  });
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
  });
  return {
    ws,
    messages,
    request(method, params) {
      const my = ++id;
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`${method}: no answer`)), 2000);
        waiting.set(my, (m) => {
          clearTimeout(t);
          res(m);
        });
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: my, method, params }));
      });
    },
    close: () => ws.terminate(),
  };
}

async function fundedPayer(): Promise<Keypair> {
  const kp = Keypair.generate();
  const url = cluster.endpoints[0]!.url;
  await result(url, 'requestAirdrop', [kp.publicKey.toBase58(), LAMPORTS_PER_SOL]);
  await waitFor(async () =>
    (await result(url, 'getBalance', [kp.publicKey.toBase58(), { commitment: 'confirmed' }])).value > 0
      ? true
      : undefined,
  );
  return kp;
}

test('logsSubscribe (mentions) and accountSubscribe notify each transaction once it is confirmed', async () => {
  const payer = await fundedPayer();
  const to = Keypair.generate();
  const c = await connect(cluster.endpoints[0]!.wsUrl);
  try {
    const logsSub = (
      await c.request('logsSubscribe', [{ mentions: [to.publicKey.toBase58()] }, { commitment: 'confirmed' }])
    ).result;
    const accSub = (
      await c.request('accountSubscribe', [to.publicKey.toBase58(), { commitment: 'confirmed', encoding: 'base64' }])
    ).result;
    assert.equal(typeof logsSub, 'number');
    const { blockhash } = (await result(cluster.endpoints[0]!.url, 'getLatestBlockhash', [])).value;
    const t = transferTx(payer, to.publicKey, 1_000_000, blockhash);
    await result(cluster.endpoints[0]!.url, 'sendTransaction', [t.base64, { encoding: 'base64' }]);
    const logs = await waitFor(
      () => c.messages.find((m) => m.method === 'logsNotification'),
      3000,
      'logs notification',
    );
    assert.equal(logs.params.subscription, logsSub);
    assert.equal(logs.params.result.value.signature, t.signature);
    assert.equal(logs.params.result.value.err, null);
    assert.ok(logs.params.result.value.logs.some((l: string) => l.includes('11111111111111111111111111111111')));
    const acc = await waitFor(
      () => c.messages.find((m) => m.method === 'accountNotification'),
      3000,
      'account notification',
    );
    assert.equal(acc.params.subscription, accSub);
    assert.equal(acc.params.result.value.lamports, 1_000_000);
    assert.equal(acc.params.result.context.slot, logs.params.result.context.slot);
    // Confirmed status and notification agree: the transaction is confirmed when it is notified.
    const st = await result(cluster.endpoints[0]!.url, 'getSignatureStatuses', [[t.signature]]);
    assert.notEqual(st.value[0].confirmationStatus, 'processed');
    assert.equal(c.messages.filter((m) => m.method === 'logsNotification').length, 1, 'once per transaction');
    assert.equal((await c.request('logsUnsubscribe', [logsSub])).result, true);
    assert.equal((await c.request('accountUnsubscribe', [accSub])).result, true);
    assert.equal((await c.request('logsUnsubscribe', [logsSub])).error.code, -32602);
    for (const bad of [[{ mentions: [] }], [{ mentions: ['x'] }], [42], []]) {
      assert.equal((await c.request('logsSubscribe', bad)).error.code, -32602, JSON.stringify(bad));
    }
    assert.equal((await c.request('accountSubscribe', ['not-a-key'])).error.code, -32602);
  } finally {
    c.close();
  }
});

test('a subscription made after a transaction was processed, before it is confirmed, is still notified at confirmation', async () => {
  const payer = await fundedPayer();
  const to = Keypair.generate();
  const c = await connect(cluster.endpoints[0]!.wsUrl);
  cluster.chain.stop(); // hold the chain between processed and confirmed
  try {
    const { blockhash } = (await result(cluster.endpoints[0]!.url, 'getLatestBlockhash', [])).value;
    const t = transferTx(payer, to.publicKey, 1_000_000, blockhash);
    await result(cluster.endpoints[0]!.url, 'sendTransaction', [t.base64, { encoding: 'base64' }]);
    const st = await result(cluster.endpoints[0]!.url, 'getSignatureStatuses', [[t.signature]]);
    assert.equal(st.value[0].confirmationStatus, 'processed');
    await c.request('logsSubscribe', [{ mentions: [to.publicKey.toBase58()] }, { commitment: 'confirmed' }]);
    await c.request('accountSubscribe', [to.publicKey.toBase58(), { commitment: 'confirmed', encoding: 'base64' }]);
    cluster.chain.advanceSlots(2);
    const logs = await waitFor(
      () => c.messages.find((m) => m.method === 'logsNotification'),
      3000,
      'logs notification',
    );
    assert.equal(logs.params.result.value.signature, t.signature);
    await waitFor(() => c.messages.find((m) => m.method === 'accountNotification'), 3000, 'account notification');
  } finally {
    cluster.chain.start();
    c.close();
  }
});

test('ws-drop: the connection answers but notifications stop; ws-stall: nothing is answered, not even pings; clearing restores both', async () => {
  const name = cluster.endpoints[1]!.name;
  const c = await connect(cluster.endpoints[1]!.wsUrl);
  try {
    await c.request('slotSubscribe', []);
    await waitFor(() => (c.messages.length > 0 ? true : undefined), 2000, 'slot notifications');

    cluster.faults.set(name, { kind: 'ws-drop' });
    await new Promise((r) => setTimeout(r, 60));
    const before = c.messages.length;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(c.messages.length, before, 'no notification while dropped');
    assert.equal(typeof (await c.request('slotSubscribe', [])).result, 'number', 'requests are still answered');

    cluster.faults.set(name, { kind: 'ws-stall' });
    await new Promise((r) => setTimeout(r, 60));
    let pong = false;
    c.ws.once('pong', () => (pong = true));
    c.ws.ping();
    await assert.rejects(c.request('slotSubscribe', []), /no answer/);
    assert.equal(pong, false, 'a stalled port answers no ping');
    assert.equal(c.ws.readyState, WebSocket.OPEN, 'and sends no close frame');

    cluster.faults.clear(name);
    await waitFor(() => (pong ? true : undefined), 2000, 'pong after the stall');
    const n = c.messages.length;
    await waitFor(() => (c.messages.length > n ? true : undefined), 2000, 'notifications again');
    const stats = cluster.getStats().providers.find((p) => p.name === name)!;
    assert.ok(stats.ws.suppressedByFaults > 0);
  } finally {
    cluster.faults.clear(name);
    c.close();
  }
});

test('ws faults are port states: no probability, count or methods', () => {
  assert.deepEqual(parseFault({ kind: 'ws-stall' }), { kind: 'ws-stall' });
  assert.throws(() => parseFault({ kind: 'ws-drop', count: 1 }), /takes no count/);
  assert.throws(() => parseFault({ kind: 'ws-stall', probability: 0.5 }), /takes no probability/);
});
