/**
 * The subscription watchdog on a hand-driven clock with scripted sockets: the verdict depends
 * only on the injected clock, a late check is repeated before judging, and a flapping provider
 * is retried with backoff rather than in a loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import type { SocketLike } from '../src/solana/pubsub-connection.ts';
import { ResilientSubscriptions, type SubscriptionPool } from '../src/solana/subscriptions.ts';

class FakeSocket implements SocketLike {
  readonly sent: any[] = [];
  private handlers: Record<string, ((a?: any) => void)[]> = {};
  terminated = false;
  constructor(
    readonly url: string,
    private readonly answer: boolean,
  ) {}
  on(event: string, fn: (a?: any) => void): unknown {
    this.handlers[event] ??= [];
    this.handlers[event].push(fn);
    return this;
  }
  emit(event: string, arg?: unknown): void {
    for (const fn of this.handlers[event] ?? []) fn(arg);
  }
  send(data: string): void {
    const m = JSON.parse(data);
    this.sent.push(m);
    if (this.answer)
      queueMicrotask(() => this.emit('message', JSON.stringify({ jsonrpc: '2.0', id: m.id, result: 100 + m.id })));
  }
  terminate(): void {
    this.terminated = true;
  }
  slot(n: number): void {
    this.emit(
      'message',
      JSON.stringify({
        jsonrpc: '2.0',
        method: 'slotNotification',
        params: { subscription: 101, result: { slot: n, parent: n - 1, root: n - 32 } },
      }),
    );
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function rig(opts: { refuse?: Set<string>; answer?: (method: string) => unknown } = {}) {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  const urls = ['ws://a.invalid/', 'ws://b.invalid/'];
  const pool: SubscriptionPool = {
    call: async (method: string) => ({
      ok: true,
      result: opts.answer ? opts.answer(method) : 1,
      endpoint: 'x',
      latencyMs: 0,
      attempts: 1,
    }),
    wsEndpoint: (skip = 0) => urls[skip % urls.length]!,
  };
  const subs = new ResilientSubscriptions(pool, {
    clock,
    watchdogMs: 1000,
    avoidMs: 60_000,
    backoffBaseMs: 100,
    backoffMaxMs: 800,
    socketFactory: (url) => {
      const s = new FakeSocket(url, true);
      sockets.push(s);
      queueMicrotask(() => (opts.refuse?.has(url) ? s.emit('close', 1006) : s.emit('open')));
      return s;
    },
  });
  return { clock, sockets, subs };
}

test('silence shorter than watchdogMs keeps the connection; reaching it moves to the other endpoint', async () => {
  const { clock, sockets, subs } = rig();
  const slots: number[] = [];
  subs.slot((e) => slots.push(e.slot));
  await subs.ready();
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0]!.url, 'ws://a.invalid/');
  sockets[0]!.slot(1);
  assert.deepEqual(slots, [1]);
  clock.advance(999);
  await flush();
  assert.equal(sockets.length, 1, 'no verdict before watchdogMs of silence');
  sockets[0]!.slot(2); // the stream is alive: the silence restarts
  clock.advance(999);
  await flush();
  assert.equal(sockets.length, 1);
  clock.advance(250); // silent for 1249 ms: judged at the first check past 1000 ms (checks every 50 ms)
  await flush();
  assert.equal(sockets.length, 2, 'moved after watchdogMs of silence, within one check period');
  assert.equal(sockets[0]!.terminated, true, 'the stalled socket is dropped without waiting for a close handshake');
  assert.equal(sockets[1]!.url, 'ws://b.invalid/', 'to the other endpoint');
  await subs.ready();
  const st = subs.getStats();
  assert.equal(st.failovers.stall, 1);
  assert.equal(st.resubscriptions, 1);
  assert.equal(st.lastFailover!.from, 'ws://a.invalid/');
  assert.equal(st.lastFailover!.to, 'ws://b.invalid/');
  assert.ok(st.lastFailover!.silentMs >= 1000);
  sockets[1]!.slot(2); // a slot already delivered: dropped
  sockets[1]!.slot(5);
  assert.deepEqual(slots, [1, 2, 5]);
  assert.equal(
    subs.getStats().slotsMissedDuringFailover,
    2,
    'slots 3 and 4 were missed during the move: counted, not invented',
  );
  subs.close();
  assert.equal(clock.pendingTimers, 0, 'close leaves no timer behind');
});

test('endpoints that refuse are retried with exponential backoff, not in a tight loop', async () => {
  const { clock, sockets, subs } = rig({ refuse: new Set(['ws://a.invalid/', 'ws://b.invalid/']) });
  subs.slot(() => {});
  void subs.ready();
  await flush();
  for (let i = 0; i < 8; i++) {
    clock.advance(200);
    await flush();
  }
  // 1600 ms of refusals with backoff 100, 200, 400, 800, 800 ...: a handful of attempts, not hundreds.
  assert.ok(sockets.length >= 3 && sockets.length <= 7, `attempts: ${sockets.length}`);
  assert.ok(subs.getStats().failovers.connect_failed >= 3);
  subs.close();
});

test('a PubSub stall on the only endpoint HTTP calls healthy still moves to another endpoint', async () => {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  const pool: SubscriptionPool = {
    call: async () => ({ ok: true, result: 1, endpoint: 'x', latencyMs: 0, attempts: 1 }),
    // HTTP health: only `a` is healthy (the others' breakers are open from an earlier outage).
    wsEndpoint: () => 'ws://a.invalid/',
    wsEndpoints: () => ['ws://a.invalid/', 'ws://b.invalid/', 'ws://c.invalid/'],
  };
  const subs = new ResilientSubscriptions(pool, {
    clock,
    watchdogMs: 1000,
    socketFactory: (url) => {
      const s = new FakeSocket(url, true);
      sockets.push(s);
      queueMicrotask(() => s.emit('open'));
      return s;
    },
  });
  subs.slot(() => {});
  await subs.ready();
  assert.equal(sockets[0]!.url, 'ws://a.invalid/');
  clock.advance(1100);
  await flush();
  await subs.ready();
  assert.equal(sockets.length, 2);
  assert.equal(sockets[1]!.url, 'ws://b.invalid/', 'not back onto the stalled endpoint');
  subs.close();
});

test('a peer that never completes the handshake is a connect failure within connectTimeoutMs; API keys never reach stats', async () => {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  const secret = 'k3yk3yk3yk3yk3yk3yk3yk3y';
  const urls = [`wss://a.invalid/?api-key=${secret}`, `wss://b.invalid/${secret}`];
  const pool: SubscriptionPool = {
    call: async () => ({ ok: true, result: 1, endpoint: 'x', latencyMs: 0, attempts: 1 }),
    wsEndpoint: (skip = 0) => urls[skip % 2]!,
  };
  const subs = new ResilientSubscriptions(pool, {
    clock,
    watchdogMs: 1000,
    connectTimeoutMs: 300,
    socketFactory: (url) => {
      const s = new FakeSocket(url, true);
      sockets.push(s);
      // `a` accepts the TCP connection and never answers the upgrade; `b` is fine.
      if (url.startsWith('wss://b.')) queueMicrotask(() => s.emit('open'));
      return s;
    },
  });
  subs.slot(() => {});
  void subs.ready();
  await flush();
  assert.equal(sockets.length, 1);
  clock.advance(299);
  await flush();
  assert.equal(sockets.length, 1, 'still waiting inside connectTimeoutMs');
  clock.advance(1);
  await flush();
  assert.equal(sockets[0]!.terminated, true, 'the silent peer is dropped at the deadline');
  clock.advance(100); // backoff
  await flush();
  await subs.ready();
  const st = subs.getStats();
  assert.equal(st.failovers.connect_failed, 1);
  assert.equal(st.connected, true);
  assert.ok(!JSON.stringify(st).includes(secret), `secret in stats: ${st.endpoint}`);
  subs.close();
});

test('garbled frames and notifications for unknown ids are ignored without breaking the stream', async () => {
  const { sockets, subs } = rig();
  const slots: number[] = [];
  subs.slot((e) => slots.push(e.slot));
  await subs.ready();
  const s = sockets[0]!;
  s.emit('message', 'not json {');
  s.emit('message', JSON.stringify(null));
  s.emit(
    'message',
    JSON.stringify({ jsonrpc: '2.0', method: 'logsNotification', params: { subscription: 999, result: {} } }),
  );
  s.emit(
    'message',
    JSON.stringify({
      jsonrpc: '2.0',
      method: 'slotNotification',
      params: { subscription: 101, result: { slot: 'x' } },
    }),
  );
  s.slot(7);
  assert.deepEqual(slots, [7]);
  assert.equal(subs.getStats().handlerErrors, 0);
  subs.close();
});

test('a backfill read that fails is tried again before the gap is given up on', async () => {
  const clock = new ManualClock();
  let failures = 2;
  const pool: SubscriptionPool = {
    call: async (method) => {
      if (method === 'getSlot') return { ok: true, result: 10, endpoint: 'x', latencyMs: 0, attempts: 1 };
      if (method === 'getSignaturesForAddress' && failures-- > 0) throw new Error('RPC_POOL_EXHAUSTED');
      return {
        ok: true,
        result: [{ signature: '5'.repeat(88), slot: 12, err: null }],
        endpoint: 'x',
        latencyMs: 0,
        attempts: 1,
      };
    },
    wsEndpoint: () => 'ws://a.invalid/',
  };
  const subs = new ResilientSubscriptions(pool, {
    clock,
    backoffBaseMs: 100,
    socketFactory: (url) => {
      const s = new FakeSocket(url, true);
      queueMicrotask(() => s.emit('open'));
      return s;
    },
  });
  const got: string[] = [];
  subs.logs('11111111111111111111111111111111', (e) => got.push(e.signature));
  const ready = subs.ready();
  for (let i = 0; i < 10; i++) {
    await flush();
    clock.advance(100);
  }
  await ready;
  const st = subs.getStats();
  assert.equal(st.backfillRetries, 2);
  assert.equal(st.backfillFailures, 0);
  assert.deepEqual(got, ['5'.repeat(88)], 'the gap was filled once the read succeeded');
  subs.close();
});

test('after a move the gap is read once more later: a transaction confirmed after the first read is still delivered, once', async () => {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  let landed = false;
  const pool: SubscriptionPool = {
    call: async (method) => {
      if (method === 'getSlot') return { ok: true, result: 10, endpoint: 'x', latencyMs: 0, attempts: 1 };
      if (method === 'getTransaction')
        return {
          ok: true,
          result: { meta: { logMessages: ['Program log: hi'], err: null } },
          endpoint: 'x',
          latencyMs: 0,
          attempts: 1,
        };
      return {
        ok: true,
        result: landed ? [{ signature: '4'.repeat(88), slot: 12, err: null }] : [],
        endpoint: 'x',
        latencyMs: 0,
        attempts: 1,
      };
    },
    wsEndpoint: (skip = 0) => ['ws://a.invalid/', 'ws://b.invalid/'][skip % 2]!,
  };
  const subs = new ResilientSubscriptions(pool, {
    clock,
    watchdogMs: 1000,
    lateBackfillMs: 1500,
    socketFactory: (url) => {
      const s = new FakeSocket(url, true);
      sockets.push(s);
      queueMicrotask(() => s.emit('open'));
      return s;
    },
  });
  const got: { signature: string; backfilled: boolean }[] = [];
  subs.logs('11111111111111111111111111111111', (e) => got.push({ signature: e.signature, backfilled: e.backfilled }));
  await subs.ready();
  clock.advance(1100); // silent: moved to b, the first backfill finds nothing
  await flush();
  await subs.ready();
  assert.equal(sockets.length, 2);
  assert.deepEqual(got, []);
  landed = true; // confirmed now, after the first read
  for (let t = 0; t < 1500; t += 250) {
    sockets[1]!.slot(20 + t); // the new stream is alive: no further move
    clock.advance(250);
    await flush();
  }
  assert.equal(sockets.length, 2);
  assert.deepEqual(got, [{ signature: '4'.repeat(88), backfilled: true }]);
  assert.equal(subs.getStats().lateBackfills, 1);
  sockets[1]!.emit(
    'message',
    JSON.stringify({
      jsonrpc: '2.0',
      method: 'logsNotification',
      params: {
        subscription: sockets[1]!.sent.find((m) => m.method === 'logsSubscribe').id + 100,
        result: { context: { slot: 12 }, value: { signature: '4'.repeat(88), err: null, logs: [] } },
      },
    }),
  );
  assert.equal(got.length, 1, 'the same transaction arriving live later is a duplicate, dropped');
  subs.close();
});

test('malformed notifications (null or partial results) are counted and ignored; a signature is never reported from one', async () => {
  // A node with nothing to backfill: no signatures, no account, the signature not seen yet.
  const answers: Record<string, unknown> = {
    getSlot: 5,
    getSignaturesForAddress: [],
    getSignatureStatuses: { context: { slot: 5 }, value: [null] },
    getAccountInfo: { context: { slot: 5 }, value: null },
  };
  const { sockets, subs } = rig({ answer: (m) => answers[m] });
  const logs: unknown[] = [];
  const accounts: unknown[] = [];
  const sigs: unknown[] = [];
  const address = '11111111111111111111111111111111';
  const signature = '5'.repeat(87); // base58 for 64 bytes
  subs.logs(address, (e) => logs.push(e));
  subs.account(address, (e) => accounts.push(e));
  subs.signature(signature, (e) => sigs.push(e));
  await subs.ready();
  await flush();
  const s = sockets[0]!;
  // The fake socket answers request id N with subscription id 100 + N.
  const idOf = (method: string): number => 100 + s.sent.find((m) => m.method === method)!.id;
  const notify = (method: string, subscription: number, result: unknown): void =>
    s.emit('message', JSON.stringify({ jsonrpc: '2.0', method, params: { subscription, result } }));
  const hostile: unknown[] = [
    null,
    7,
    'x',
    [],
    {},
    { context: null, value: {} },
    { context: { slot: 'nine' }, value: {} },
    { context: { slot: -5 }, value: {} },
    { context: { slot: 1.5 }, value: {} },
    { context: { slot: 9 } },
    { context: { slot: 9 }, value: 'oops' },
  ];
  for (const r of hostile) {
    notify('logsNotification', idOf('logsSubscribe'), r);
    notify('accountNotification', idOf('accountSubscribe'), r);
    notify('signatureNotification', idOf('signatureSubscribe'), r);
  }
  assert.deepEqual(sigs, [], 'no signature result was made up from a malformed notification');
  assert.deepEqual(logs, []);
  assert.deepEqual(accounts, []);
  const st = subs.getStats();
  assert.equal(st.malformedNotifications, hostile.length * 3, JSON.stringify(st));
  assert.equal(st.duplicatesDropped, 0, 'malformed is not counted as a duplicate');
  // The stream still works afterwards.
  notify('accountNotification', idOf('accountSubscribe'), { context: { slot: 9 }, value: { lamports: 5 } });
  notify('signatureNotification', idOf('signatureSubscribe'), { context: { slot: 10 }, value: { err: null } });
  assert.equal(accounts.length, 1);
  assert.deepEqual(sigs, [{ signature, slot: 10, err: null, backfilled: false }]);
  subs.close();
});
