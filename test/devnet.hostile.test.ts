/**
 * Hostile input at the local cluster's boundaries: its JSON-RPC port, its PubSub WebSocket and
 * its admin routes. For each: a typed JSON-RPC error, a refused and counted request, or a closed
 * and counted connection; nothing half-done, the server keeps serving, memory stays bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { ManualClock } from '../src/clock.ts';
import { ConfigError } from '../src/errors.ts';
import {
  startLocalCluster,
  SUBSCRIPTION_LIMIT_CODE,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
  type LocalCluster,
} from '../src/devnet/index.ts';
import { post, rpc, waitFor } from './devnet.helpers.ts';

type Msg = {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  method?: string;
  params?: any;
};

/** A WebSocket client that keeps every message it receives. */
async function connect(url: string): Promise<{ ws: WebSocket; inbox: Msg[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const inbox: Msg[] = [];
  ws.on('message', (data) => inbox.push(JSON.parse(data.toString()) as Msg));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, inbox, closed };
}

function wsStats(cluster: LocalCluster) {
  return cluster.getStats().providers[0]!.ws;
}

describe('devnet hostile input', () => {
  let cluster: LocalCluster;
  let url: string;
  let wsUrl: string;
  const clock = new ManualClock();

  before(async () => {
    // Slots only move when a test says so: notifications are driven, not timed.
    cluster = await startLocalCluster({ providers: ['p'], clock, ws: { maxBufferedBytes: 256 * 1024 } });
    url = cluster.endpoints[0]!.url;
    wsUrl = cluster.endpoints[0]!.wsUrl;
  });
  after(async () => {
    await cluster.close();
  });

  it('20k slotSubscribe on one socket: the limit is held, the rest get a typed JSON-RPC error', async () => {
    const c = await connect(wsUrl);
    try {
      const N = 20_000;
      const batch: string[] = [];
      for (let i = 0; i < N; i++) batch.push(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'slotSubscribe' }));
      for (const m of batch) c.ws.send(m);
      await waitFor(() => (c.inbox.length >= N ? true : undefined), 20_000, 'every subscribe answered');
      const ok = c.inbox.filter((m) => typeof m.result === 'number');
      const refused = c.inbox.filter((m) => m.error);
      assert.equal(ok.length, DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION);
      assert.equal(refused.length, N - DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION);
      assert.ok(refused.every((m) => m.error!.code === SUBSCRIPTION_LIMIT_CODE && typeof m.id === 'number'));
      const s = wsStats(cluster);
      assert.equal(s.subscriptions, DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION);
      assert.ok(s.subscriptionsRefused >= N - DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION);
      // Unsubscribing frees a place.
      c.inbox.length = 0;
      c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'u', method: 'slotUnsubscribe', params: [ok[0]!.result] }));
      c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 's', method: 'slotSubscribe' }));
      await waitFor(() => (c.inbox.length >= 2 ? true : undefined), 5000, 'unsubscribe and subscribe');
      assert.equal(c.inbox.find((m) => m.id === 'u')!.result, true);
      assert.equal(typeof c.inbox.find((m) => m.id === 's')!.result, 'number');
    } finally {
      c.ws.close();
      await c.closed;
    }
    await waitFor(
      () => (wsStats(cluster).subscriptions === 0 ? true : undefined),
      5000,
      'subscriptions released on close',
    );
  });

  it('a client that stops reading is closed once its unsent bytes pass the limit; its subscriptions are released; others keep their feed', async () => {
    const slow = await connect(wsUrl);
    const healthy = await connect(wsUrl);
    const subs = 1000;
    for (let i = 0; i < subs; i++) slow.ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'slotSubscribe' }));
    healthy.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'h', method: 'slotSubscribe' }));
    await waitFor(
      () => (slow.inbox.length >= subs && healthy.inbox.length >= 1 ? true : undefined),
      10_000,
      'subscriptions answered',
    );
    const closedBefore = wsStats(cluster).slowConsumersClosed;
    slow.ws.pause();
    // Each slot sends ~1000 notifications (~110 KB) to the slow client. Kernel socket buffers take
    // a few MB; past them the server may hold only maxBufferedBytes before closing it.
    let slots = 0;
    while (wsStats(cluster).slowConsumersClosed === closedBefore && slots < 400) {
      cluster.chain.advanceSlots(2);
      slots += 2;
      await nextTurn();
    }
    assert.equal(wsStats(cluster).slowConsumersClosed, closedBefore + 1, `still open after ${slots} slots`);
    slow.ws.resume();
    await slow.closed;
    const s = wsStats(cluster);
    assert.equal(s.connections, 1, 'only the healthy client is left');
    assert.equal(s.subscriptions, 1, "the slow client's subscriptions are gone");
    // The healthy client still gets notifications.
    const before = healthy.inbox.filter((m) => m.method === 'slotNotification').length;
    cluster.chain.advanceSlots(1);
    await waitFor(
      () => (healthy.inbox.filter((m) => m.method === 'slotNotification').length > before ? true : undefined),
      5000,
      'a notification',
    );
    healthy.ws.close();
    await healthy.closed;
  });

  it('WebSocket: non-JSON, unknown methods, bad params, odd ids and oversized frames', async () => {
    const c = await connect(wsUrl);
    const ask = async (raw: string, match: (m: Msg) => boolean): Promise<Msg> => {
      const from = c.inbox.length;
      c.ws.send(raw);
      return waitFor(() => c.inbox.slice(from).find(match), 5000, raw.slice(0, 60));
    };
    try {
      assert.equal((await ask('not json', (m) => !!m.error)).error!.code, -32700);
      assert.equal(
        (await ask('{"jsonrpc":"2.0","id":1,"method":"fooSubscribe"}', (m) => m.id === 1)).error!.code,
        -32601,
      );
      assert.equal((await ask('{"jsonrpc":"2.0","id":2,"method":"__proto__"}', (m) => m.id === 2)).error!.code, -32601);
      assert.equal(
        (await ask('{"jsonrpc":"2.0","id":3,"method":"signatureSubscribe","params":[42]}', (m) => m.id === 3)).error!
          .code,
        -32602,
      );
      assert.equal(
        (await ask('{"jsonrpc":"2.0","id":4,"method":"signatureSubscribe","params":"x"}', (m) => m.id === 4)).error!
          .code,
        -32602,
      );
      assert.equal(
        (await ask('{"jsonrpc":"2.0","id":5,"method":"slotUnsubscribe","params":[1e300]}', (m) => m.id === 5)).error!
          .code,
        -32602,
      );
      assert.equal(
        (await ask('{"jsonrpc":"2.0","id":6,"method":"rootUnsubscribe","params":[]}', (m) => m.id === 6)).error!.code,
        -32602,
      );
      assert.equal(
        (await ask('{"jsonrpc":"2.0","id":{"a":1},"method":7}', (m) => !!m.error && m.id === null)).error!.code,
        -32600,
      );
      assert.equal(wsStats(cluster).subscriptions, 0, 'no refused request left a subscription behind');
      // A frame over maxPayload (64 KiB) closes that connection with 1009; the server lives on.
      c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'slotSubscribe', params: ['x'.repeat(70_000)] }));
      assert.equal(await c.closed, 1009);
    } finally {
      c.ws.terminate();
    }
    const again = await connect(wsUrl);
    again.ws.send('{"jsonrpc":"2.0","id":1,"method":"slotSubscribe"}');
    await waitFor(
      () => (again.inbox.some((m) => typeof m.result === 'number') ? true : undefined),
      5000,
      'a subscription after the oversized frame',
    );
    again.ws.close();
    await again.closed;
  });

  it('JSON-RPC: oversized and non-JSON bodies, bad params, unknown methods, garbage batches', async () => {
    const refusedBefore = cluster.getStats().providers[0]!.refused['bodyTooLarge'] ?? 0;
    const big = await post(
      url,
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot', params: ['x'.repeat(60 * 1024)] }),
    );
    assert.equal(big.status, 413);
    await big.text();
    assert.equal(cluster.getStats().providers[0]!.refused['bodyTooLarge'], refusedBefore + 1);
    const text = async (body: string) => (await (await post(url, body)).json()) as any;
    assert.equal((await text('{"jsonrpc":')).error.code, -32700);
    assert.equal((await text('\u0000\u0001')).error.code, -32700);
    assert.equal((await text('[]')).error.code, -32600);
    assert.equal((await text('"getSlot"')).error.code, -32600);
    assert.equal(
      (await text('['.repeat(20_000) + ']'.repeat(20_000))).length,
      1,
      'a deeply nested batch is one invalid request',
    );
    assert.equal((await rpc(url, 'noSuchMethod')).error!.code, -32601);
    assert.equal((await rpc(url, 'constructor')).error!.code, -32601);
    assert.equal((await rpc(url, 'hasOwnProperty')).error!.code, -32601);
    assert.equal((await rpc(url, 'getBalance', [42])).error!.code, -32602);
    assert.equal((await rpc(url, 'getBalance', ['not-base58-!!'])).error!.code, -32602);
    assert.equal((await rpc(url, 'getSignatureStatuses', [Array(10_000).fill('x')])).error!.code, -32602);
    assert.equal((await rpc(url, 'getSlot', [{ commitment: 'sideways' }])).error!.code, -32602);
    assert.equal((await rpc(url, 'sendTransaction', ['%%%'])).error!.code, -32602);
    const batch = (await text(
      JSON.stringify([
        1,
        null,
        'x',
        {},
        { jsonrpc: '2.0', id: 1, method: 'getSlot' },
        { jsonrpc: '1.0', id: 2, method: 'getSlot' },
      ]),
    )) as any[];
    assert.equal(batch.length, 6);
    assert.equal(batch.filter((r) => typeof r.result === 'number').length, 1);
    // Still serving.
    assert.equal(typeof (await rpc(url, 'getSlot')).result, 'number');
  });

  it('admin routes: bad bodies, unknown routes, wrong methods and bad faults are refused; nothing half-done', async () => {
    const admin = (op: string) => `${url}/__admin/${op}`;
    const call = async (op: string, body: string | object, method = 'POST'): Promise<{ status: number; json: any }> => {
      const res = await fetch(admin(op), {
        method,
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(5000),
      });
      return { status: res.status, json: await res.json().catch(() => undefined) };
    };
    cluster.faults.clear();
    assert.equal((await call('fault', 'not json')).status, 400);
    assert.equal((await call('fault', '[1,2]')).status, 400);
    assert.equal((await call('fault', 'null')).status, 400);
    assert.equal((await call('nope', {})).status, 404);
    assert.equal((await call('stats', {}, 'POST')).status, 400);
    assert.equal((await call('fault', { kind: 'meteor' })).json.code, 'DEVNET_BAD_FAULT');
    assert.equal((await call('fault', { kind: 'latency', ms: NaN })).status, 400, 'NaN becomes null in JSON: refused');
    assert.equal((await call('fault', { kind: 'latency', ms: 1e308 * 10 })).status, 400);
    assert.equal((await call('fault', { kind: '503', probability: 2 })).status, 400);
    assert.equal((await call('fault', '{"kind":"503","__proto__":{"x":1}}')).status, 400);
    assert.equal((await call('fault', { provider: 'ghost', kind: '500' })).status, 400);
    assert.equal((await call('advance', { slots: 'many' })).status, 400);
    assert.equal((await call('advance', { slots: 1e9 })).status, 400);
    const huge = await call('fault', JSON.stringify({ kind: '500', methods: ['x'.repeat(60 * 1024)] }));
    assert.equal(huge.status, 413);
    // A list with one bad fault sets none of them, whether replacing or appending.
    assert.equal((await call('fault', { faults: [{ kind: '500' }, { kind: 'meteor' }] })).status, 400);
    assert.equal((await call('fault', { append: true, faults: [{ kind: '500' }, { kind: 'meteor' }] })).status, 400);
    assert.equal(
      (
        await call('fault', {
          provider: '*',
          append: true,
          faults: [
            { kind: 'latency', ms: 1 },
            { kind: 'latency', ms: -1 },
          ],
        })
      ).status,
      400,
    );
    assert.deepEqual(cluster.faults.list()['p']!.faults, [], 'no fault of a refused request was applied');
    assert.equal(typeof (await rpc(url, 'getSlot')).result, 'number');
  });

  it('cluster options: hostile ws limits are ConfigErrors before anything listens', async () => {
    for (const ws of [
      { maxSubscriptionsPerConnection: 0 },
      { maxSubscriptionsPerConnection: NaN },
      { maxBufferedBytes: Infinity },
      { maxBufferedBytes: -1 },
      { bogus: 1 },
      'x',
    ]) {
      await assert.rejects(
        startLocalCluster({ providers: ['q'], ws: ws as never }),
        (e: unknown) => e instanceof ConfigError,
        JSON.stringify(ws),
      );
    }
  });
});
