/**
 * Shared endpoint health between pools over a real nats-server (JetStream KV): one pool finding an
 * endpoint dead or rate-limited is enough for the other to route around it; one probe at a time
 * across pools; the engine stopped (own view, said so in stats) and restarted (resync); hostile
 * config and another writer's garbage in the bucket.
 *
 * Two pools in one test process stand for two processes: each has its own NATS connection,
 * breakers and health table, and they share only the engine. Time that is logic (cooldowns,
 * rests, leases) runs on one ManualClock; waits for the engine are bounded real-time polls.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { createServer, type Socket } from 'node:net';
import { ManualClock } from '../src/clock.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { ConfigError } from '../src/errors.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { endpointKeyId } from '../src/engine/shared-health.ts';
import type { PoolEndpointConfig } from '../src/rpc/config.ts';
import { count, testPool, until, type TestPool } from './fixtures/rpc/helpers.ts';
import { refusedPort, startFixtureServer, type FixtureServer } from './fixtures/rpc/server.ts';
import { natsUrlForTests, startNatsServer } from './support/nats.ts';

let natsUrl: string;
let disposeNats: () => Promise<void>;
let bucketSeq = 0;

before(async () => {
  const n = await natsUrlForTests();
  natsUrl = n.url;
  disposeNats = n.dispose;
});
after(async () => {
  await disposeNats();
});

function bucket(): string {
  return `health_test_${process.pid}_${++bucketSeq}`;
}

interface Pair {
  p1: TestPool;
  p2: TestPool;
  clock: ManualClock;
  close(): Promise<void>;
}

/** Two pools (two "processes") on one clock sharing one bucket. */
async function pair(endpoints: PoolEndpointConfig[], opts: { servers?: string; bucket?: string } = {}): Promise<Pair> {
  const clock = new ManualClock();
  const b = opts.bucket ?? bucket();
  const shared = (id: string) => ({
    nats: { servers: opts.servers ?? natsUrl, reconnectTimeWaitMs: 50 },
    bucket: b,
    processId: id,
  });
  const p1 = await testPool(endpoints, { shared: shared('proc-1') }, { clock });
  const p2 = await testPool(endpoints, { shared: shared('proc-2') }, { clock });
  await Promise.all([p1.pool.ready(), p2.pool.ready()]);
  return { p1, p2, clock, close: async () => void (await Promise.all([p1.close(), p2.close()])) };
}

function ep(t: TestPool, name: string) {
  return t.pool.getStats().endpoints.find((e) => e.name === name)!;
}
function sharedView(t: TestPool, name: string) {
  return t.pool.getStats().shared!.endpoints.find((e) => e.name === name)!;
}

/** Calls getBalance until the named endpoint's breaker in `t` is OPEN (each call fails over). */
async function openBreaker(t: TestPool, name: string): Promise<void> {
  for (let i = 0; i < 10 && ep(t, name).state !== 'OPEN'; i++) await t.pool.call('getBalance', ['x']);
  assert.equal(ep(t, name).state, 'OPEN');
}

async function servers(): Promise<{ flaky: FixtureServer; good: FixtureServer; endpoints: PoolEndpointConfig[] }> {
  const flaky = await startFixtureServer();
  const good = await startFixtureServer();
  // The flaky one is preferred (tier 0): a pool that did not know it was dead would try it first.
  return {
    flaky,
    good,
    endpoints: [
      { name: 'flaky', url: flaky.url, tier: 0 },
      { name: 'good', url: good.url, tier: 1 },
    ],
  };
}

test('one pool finds an endpoint dead: the other routes around it without failing a call there itself', async () => {
  const { flaky, good, endpoints } = await servers();
  const { p1, p2, close } = await pair(endpoints);
  try {
    assert.equal(p1.pool.getStats().shared!.connected, true);
    flaky.fault = { kind: 'http', status: 503 };
    await openBreaker(p1, 'flaky');
    await until(() => sharedView(p2, 'flaky').sharedOpen, 'p2 to learn that flaky is OPEN');
    // p2's own breaker never saw a failure: only the shared report keeps it away.
    assert.equal(ep(p2, 'flaky').state, 'CLOSED');
    const before = count(flaky, 'getBalance');
    for (let i = 0; i < 5; i++) {
      const r = await p2.pool.call('getBalance', ['x']);
      assert.equal(r.endpoint, 'good');
      assert.equal(r.attempts, 1);
    }
    assert.equal(count(flaky, 'getBalance'), before, 'p2 sent nothing to the dead endpoint');
    assert.equal(ep(p2, 'flaky').calls, 0);
    assert.equal(p2.pool.getStats().failovers, 0);
    assert.equal(sharedView(p2, 'flaky').openBy, 'proc-1');
    assert.ok(p2.pool.getStats().shared!.received >= 1);
  } finally {
    await close();
    await flaky.close();
    await good.close();
  }
});

test('a 429 rest seen by one pool is honoured by the other until it ends', async () => {
  const { flaky, good, endpoints } = await servers();
  const { p1, p2, clock, close } = await pair(endpoints);
  try {
    flaky.fault = { kind: 'http', status: 429, retryAfter: '30' };
    const r1 = await p1.pool.call('getBalance', ['x']);
    assert.equal(r1.endpoint, 'good');
    assert.ok(ep(p1, 'flaky').rateLimitedUntil > clock.now());
    await until(() => sharedView(p2, 'flaky').restUntil > 0, 'p2 to learn the rest');
    assert.equal(sharedView(p2, 'flaky').restUntil, ep(p1, 'flaky').rateLimitedUntil);
    const asked = flaky.total();
    for (let i = 0; i < 3; i++) assert.equal((await p2.pool.call('getBalance', ['x'])).endpoint, 'good');
    assert.equal(flaky.total(), asked, 'p2 sent nothing to the resting endpoint');
    // The rest ends on its own: p2 uses the endpoint again afterwards.
    flaky.fault = { kind: 'none' };
    clock.advance(30_001);
    assert.equal(sharedView(p2, 'flaky').restUntil, 0);
    assert.equal((await p2.pool.call('getBalance', ['x'])).endpoint, 'flaky');
  } finally {
    await close();
    await flaky.close();
    await good.close();
  }
});

test('while an endpoint is OPEN only one pool at a time probes it (compare-and-set lease); recovery reaches both', async () => {
  const { flaky, good, endpoints } = await servers();
  const { p1, p2, clock, close } = await pair(endpoints);
  const leases = () => [p1, p2].map((t) => t.pool.getStats().shared!.leases);
  // Probers run every healthIntervalMs (10 s) from the start; an attempt's deadline runs on the same
  // clock, so time is moved exactly to a probe tick and no further (or the probe would time out).
  const start = clock.now();
  // The breaker's cooldown grows after failed probes: move to when the OPEN report's cooldown ends.
  const toCooldownEnd = () =>
    clock.advance(Math.max(1, ...[p1, p2].map((t) => sharedView(t, 'flaky').openUntil - clock.now())));
  const toNextProbeTick = () =>
    clock.advance(start + Math.floor((clock.now() - start) / 10_000 + 1) * 10_000 - clock.now());
  try {
    flaky.fault = { kind: 'http', status: 503 };
    await openBreaker(p1, 'flaky');
    await until(() => sharedView(p2, 'flaky').sharedOpen, 'p2 to learn that flaky is OPEN');

    for (let round = 1; round <= 2; round++) {
      // Cooldown over: p1's breaker turns HALF_OPEN and p2's lease timer fires; both ask for the lease.
      const won = leases().reduce((a, l) => a + l.won, 0);
      const lost = leases().reduce((a, l) => a + l.lost, 0);
      toCooldownEnd();
      await until(
        () =>
          leases().reduce((a, l) => a + l.won + l.lost, 0) >= won + lost + 2 ||
          leases().reduce((a, l) => a + l.won, 0) > won,
        'a lease decision',
      );
      await until(() => [p1, p2].filter((t) => sharedView(t, 'flaky').leaseHeld).length === 1, 'one lease holder');
      const holders = [p1, p2].filter((t) => sharedView(t, 'flaky').leaseHeld);
      assert.equal(holders.length, 1, `round ${round}: exactly one holder`);
      // The next probe tick: both probers run, only the holder's sends.
      const probesBefore = count(flaky, 'getSlot');
      const ledBefore = holders[0]!.pool.getStats().shared!.probesLed.failed;
      toNextProbeTick();
      await until(() => holders[0]!.pool.getStats().shared!.probesLed.failed > ledBefore, 'the lease probe to finish');
      assert.equal(count(flaky, 'getSlot') - probesBefore, 1, `round ${round}: one probe across both pools`);
      // Still dead: OPEN again for both.
      await until(
        () => sharedView(p1, 'flaky').leaseHeld === false && sharedView(p2, 'flaky').leaseHeld === false,
        'lease released',
      );
      await until(
        () => [p1, p2].every((t) => ep(t, 'flaky').state !== 'CLOSED' || sharedView(t, 'flaky').sharedOpen),
        'both pools to hold it out again',
      );
    }
    assert.equal(
      leases().reduce((a, l) => a + l.won, 0),
      2,
    );

    // Recovered: the next lease probe succeeds, its CLOSED report reaches the other pool.
    flaky.fault = { kind: 'none' };
    toCooldownEnd();
    await until(() => [p1, p2].filter((t) => sharedView(t, 'flaky').leaseHeld).length === 1, 'one lease holder');
    const holder = [p1, p2].find((t) => sharedView(t, 'flaky').leaseHeld)!;
    const other = holder === p1 ? p2 : p1;
    toNextProbeTick();
    await until(() => holder.pool.getStats().shared!.probesLed.ok === 1, 'the recovery probe');
    await until(() => !sharedView(other, 'flaky').sharedOpen, 'the other pool to learn of the recovery');
    // A pool whose own breaker is still OPEN confirms with its own probe once the report is CLOSED.
    for (let i = 0; i < 3 && (ep(p1, 'flaky').state !== 'CLOSED' || ep(p2, 'flaky').state !== 'CLOSED'); i++) {
      toNextProbeTick();
      await until(
        () =>
          ep(p1, 'flaky').probes + ep(p2, 'flaky').probes > 0 && [p1, p2].every((t) => ep(t, 'flaky').inFlight === 0),
        'probes to settle',
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await p1.pool.call('getBalance', ['x'])).endpoint, 'flaky');
    assert.equal((await p2.pool.call('getBalance', ['x'])).endpoint, 'flaky');
  } finally {
    await close();
    await flaky.close();
    await good.close();
  }
});

test('engine stopped: each pool falls back to its own view and says so; restarted: reconnects and resyncs', async () => {
  const engine = await startNatsServer();
  const { flaky, good, endpoints } = await servers();
  const { p1, p2, close } = await pair(endpoints, { servers: engine.url });
  try {
    assert.equal(p1.pool.getStats().shared!.connected, true);
    await engine.stop();
    await until(
      () => p1.pool.getStats().shared!.fallback && p2.pool.getStats().shared!.fallback,
      'both pools to notice the engine is down',
    );
    const s = p1.pool.getStats().shared!;
    assert.equal(s.connected, false);
    assert.match(String(s.lastError), /lost|connect|closed|timeout/i);

    // p1 finds the endpoint dead on its own while the engine is down; calls keep working everywhere.
    flaky.fault = { kind: 'http', status: 503 };
    await openBreaker(p1, 'flaky');
    assert.equal(sharedView(p2, 'flaky').sharedOpen, false, 'p2 cannot know yet: own view');
    const r = await p2.pool.call('getBalance', ['x']);
    assert.equal(r.endpoint, 'good', 'p2 fails over on its own');

    await engine.restart();
    await until(
      () => p1.pool.getStats().shared!.connected && p2.pool.getStats().shared!.connected,
      'both pools to reconnect',
      15_000,
    );
    // p1's report, kept while the engine was down, reaches p2 after the resync.
    await until(() => sharedView(p2, 'flaky').sharedOpen, 'p2 to learn what p1 found during the outage', 10_000);
    const s1 = p1.pool.getStats().shared!;
    assert.ok(s1.reconnects >= 1 && s1.resyncs >= 2, JSON.stringify(s1));
    assert.equal(s1.fallback, false);
  } finally {
    await close();
    await flaky.close();
    await good.close();
    await engine.dispose();
  }
});

test('engine unreachable at start: ready() resolves on the own view, stats say why, close() does not hang', async () => {
  const good = await startFixtureServer();
  const port = await refusedPort();
  const t = await testPool([{ name: 'good', url: good.url }], {
    shared: { nats: { servers: `nats://127.0.0.1:${port}`, connectTimeoutMs: 200, reconnectTimeWaitMs: 50 } },
  });
  try {
    await t.pool.ready();
    const s = t.pool.getStats().shared!;
    assert.equal(s.connected, false);
    assert.equal(s.fallback, true);
    assert.ok(s.lastError && s.lastError.length > 0);
    assert.equal((await t.pool.call('getSlot')).endpoint, 'good');
  } finally {
    await t.close();
    await good.close();
  }
});

test('bad shared config is refused with a ConfigError naming the key, before any endpoint starts', async () => {
  const endpoints = [{ name: 'a', url: 'http://127.0.0.1:1' }];
  const bad: [unknown, RegExp][] = [
    [42, /shared=/],
    [{}, /shared\.nats/],
    [{ nats: { servers: [] } }, /shared\.nats\.servers/],
    [{ nats: { servers: 'http://127.0.0.1:4222' } }, /servers\[0\]/],
    [{ nats: { servers: ['nats://127.0.0.1:4222', 7] } }, /servers\[1\]/],
    [{ nats: { servers: natsUrlShape() }, bucket: 'has.dots' }, /shared\.bucket/],
    [{ nats: { servers: natsUrlShape() }, bucket: 'x'.repeat(65) }, /shared\.bucket/],
    [{ nats: { servers: natsUrlShape() }, leaseMs: Number.NaN }, /shared\.leaseMs/],
    [{ nats: { servers: natsUrlShape() }, leaseMs: Infinity }, /shared\.leaseMs/],
    [{ nats: { servers: natsUrlShape(), connectTimeoutMs: -1 } }, /connectTimeoutMs/],
    [{ nats: { servers: natsUrlShape() }, processId: 'a b' }, /processId/],
    [{ nats: { servers: natsUrlShape() }, processId: 'x'.repeat(49) }, /processId/],
    [{ nats: { servers: natsUrlShape(), name: 'has space' } }, /shared\.nats\.name/],
    [{ nats: { servers: natsUrlShape() }, surprise: true }, /shared\.surprise/],
    [{ nats: { servers: natsUrlShape(), tls: true } }, /shared\.nats\.tls/],
  ];
  for (const [shared, key] of bad) {
    assert.throws(
      () => new RpcConnectionPool({ endpoints, shared } as never, { mode: 'inline' }),
      (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_INVALID' && key.test(err.message),
      `shared=${JSON.stringify(shared)}`,
    );
  }
  // A password in a bad server URL is not echoed back.
  assert.throws(
    () =>
      new RpcConnectionPool(
        { endpoints, shared: { nats: { servers: 'http://user:hunter2secret@127.0.0.1:4222' } } } as never,
        { mode: 'inline' },
      ),
    (err: unknown) => err instanceof ConfigError && !err.message.includes('hunter2secret'),
  );
});

function natsUrlShape(): string {
  return 'nats://127.0.0.1:4222';
}

test("another writer's garbage in the bucket is ignored and counted; a valid record from a plain NATS client is honoured", async () => {
  const { flaky, good, endpoints } = await servers();
  const b = bucket();
  const { p1, p2, clock, close } = await pair(endpoints, { bucket: b });
  const nc = await connect({ servers: natsUrl });
  try {
    const kv = await new Kvm(nc).open(b);
    const id = endpointKeyId(flaky.url);
    const stateKey = `ep.${id}.state`;
    await kv.put(stateKey, 'not json {');
    await kv.put(stateKey, JSON.stringify({ v: 1, state: 'MAYBE', until: 0, by: 'x', at: 0 }));
    await kv.put(stateKey, JSON.stringify({ v: 1, state: 'OPEN', until: 1e20, by: 'x', at: 0 }));
    await kv.put(stateKey, JSON.stringify({ v: 1, state: 'OPEN', until: Number.MAX_VALUE, by: 'x', at: 0 }));
    await kv.put(stateKey, JSON.stringify({ v: 2, state: 'OPEN' }));
    await kv.put(stateKey, JSON.stringify([1, 2, 3]));
    await kv.put(stateKey, JSON.stringify({ v: 1, state: 'OPEN', until: 1, by: 'x'.repeat(5000), at: 0 }));
    await kv.put(`ep.${id}.rest`, JSON.stringify({ v: 1, until: 'soon', by: 'x', at: 0 }));
    await kv.put(`ep.${id}`, 'a key with no kind');
    await kv.put(`ep.${id}.state`, new Uint8Array([0xff, 0xfe, 0xfd]));
    const invalidTotal = (t: TestPool) => Object.values(t.pool.getStats().shared!.invalid).reduce((a, n) => a + n, 0);
    await until(() => invalidTotal(p2) >= 10, 'every bad record to be counted');
    const reasons = p2.pool.getStats().shared!.invalid;
    for (const r of ['not_json', 'bad_state', 'bad_time', 'bad_shape', 'too_large', 'bad_key'])
      assert.ok((reasons[r] ?? 0) >= 1, `${r} counted: ${JSON.stringify(reasons)}`);
    assert.equal(sharedView(p2, 'flaky').sharedOpen, false, 'garbage never marks an endpoint OPEN');
    assert.equal((await p2.pool.call('getBalance', ['x'])).endpoint, 'flaky');

    // The wire format is plain JSON: a process in any language can report an endpoint OPEN.
    await kv.put(
      stateKey,
      JSON.stringify({
        v: 1,
        state: 'OPEN',
        until: clock.now() + 5000,
        by: 'feed-in-go',
        at: clock.now(),
        endpoint: 'flaky',
      }),
    );
    await until(
      () => sharedView(p1, 'flaky').sharedOpen && sharedView(p2, 'flaky').sharedOpen,
      'both pools to honour it',
    );
    assert.equal((await p1.pool.call('getBalance', ['x'])).endpoint, 'good');
    await kv.put(stateKey, JSON.stringify({ v: 1, state: 'CLOSED', until: 0, by: 'feed-in-go', at: clock.now() }));
    await until(
      () => !sharedView(p1, 'flaky').sharedOpen && !sharedView(p2, 'flaky').sharedOpen,
      'both pools to clear it',
    );
  } finally {
    await nc.close();
    await close();
    await flaky.close();
    await good.close();
  }
});

test('the bucket never holds an endpoint URL or its API key', async () => {
  const secret = 'k3yS3cr3tABCDEFGHIJ0123456789';
  const flaky = await startFixtureServer({ path: `/?api-key=${secret}` });
  const good = await startFixtureServer();
  const b = bucket();
  const { p1, close } = await pair(
    [
      { name: 'flaky', url: flaky.url, tier: 0 },
      { name: 'good', url: good.url, tier: 1 },
    ],
    { bucket: b },
  );
  const nc = await connect({ servers: natsUrl });
  try {
    flaky.fault = { kind: 'http', status: 503 };
    await openBreaker(p1, 'flaky');
    const kv = await new Kvm(nc).open(b);
    await until(() => p1.pool.getStats().shared!.published >= 1, 'the OPEN record to be written');
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    assert.ok(keys.length > 0);
    for (const k of keys) {
      assert.ok(!k.includes(secret));
      const e = await kv.get(k);
      assert.ok(!e?.string().includes(secret), `${k} holds no secret`);
      assert.ok(!e?.string().includes('127.0.0.1'), `${k} holds no URL`);
    }
  } finally {
    await nc.close();
    await close();
    await flaky.close();
    await good.close();
  }
});

test('a closed pool with shared health closes its engine connection and answers RPC_POOL_CLOSED', async () => {
  const { flaky, good, endpoints } = await servers();
  const { p1, p2, close } = await pair(endpoints);
  try {
    await p1.close();
    assert.equal(p1.pool.getStats().shared!.connected, false);
    await assert.rejects(
      p1.pool.call('getSlot'),
      (err: unknown) => (err as { code?: string }).code === 'RPC_POOL_CLOSED',
    );
    await p1.close();
    assert.equal((await p2.pool.call('getSlot')).endpoint, 'flaky');
  } finally {
    await close();
    await flaky.close();
    await good.close();
  }
});

test('engine that accepts connections and never answers: ready() resolves on the own view; a password in the URL is never echoed', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const good = await startFixtureServer();
  const t = await testPool([{ name: 'good', url: good.url }], {
    shared: {
      nats: {
        servers: `nats://palisade:s3cretPassw0rd@127.0.0.1:${port}`,
        connectTimeoutMs: 300,
        reconnectTimeWaitMs: 50,
      },
    },
  });
  try {
    await t.pool.ready();
    const s = t.pool.getStats().shared!;
    assert.equal(s.connected, false);
    assert.equal(s.fallback, true);
    assert.equal((await t.pool.call('getSlot')).endpoint, 'good');
    await until(
      () => t.pool.getStats().shared!.lastError !== undefined && !/within/.test(t.pool.getStats().shared!.lastError!),
      'the connect attempt to fail',
      10_000,
    );
    assert.ok(!JSON.stringify(t.pool.getStats()).includes('s3cretPassw0rd'), 'no password in stats');
  } finally {
    await t.close();
    await good.close();
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('actor mode: a pool whose endpoints run in workers learns of a dead endpoint from another pool, and its prober stays off it', async () => {
  const { flaky, good, endpoints } = await servers();
  const b = bucket();
  const sup = new Supervisor({});
  const make = (id: string) =>
    new RpcConnectionPool(
      // A probe's deadline is min(attemptTimeoutMs, healthIntervalMs): 250 ms keeps a busy machine from failing a healthy endpoint.
      {
        endpoints,
        healthIntervalMs: 250,
        breaker: { failureThreshold: 2, cooldownMs: 60_000 },
        shared: { nats: { servers: natsUrl, reconnectTimeWaitMs: 50 }, bucket: b, processId: id },
      },
      { supervisor: sup },
    );
  const p1 = make('actor-1');
  const p2 = make('actor-2');
  try {
    await Promise.all([p1.ready(), p2.ready()]);
    assert.equal(p2.mode, 'actor');
    flaky.fault = { kind: 'http', status: 503 };
    for (let i = 0; i < 4 && p1.getStats().endpoints[0]!.state !== 'OPEN'; i++) await p1.call('getVersion');
    await until(() => p1.getStats().endpoints[0]!.state === 'OPEN', "p1's worker breaker to open");
    await until(() => p2.getStats().shared!.endpoints[0]!.sharedOpen, 'p2 to learn it');
    const probes = p2.getStats().endpoints[0]!.probes;
    for (let i = 0; i < 3; i++) assert.equal((await p2.call('getVersion')).endpoint, 'good');
    assert.equal(p2.getStats().endpoints[0]!.calls, 0);
    // Several probe intervals pass: p2's prober, in its worker, sends nothing to the OPEN endpoint.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(p2.getStats().endpoints[0]!.probes, probes);
  } finally {
    await Promise.all([p1.close(), p2.close()]);
    await sup.shutdown({ drainMs: 100 });
    await flaky.close();
    await good.close();
  }
});

test('a process restarting under the same processId takes its previous incarnation’s OPEN report as news', async () => {
  const { flaky, good, endpoints } = await servers();
  const b = bucket();
  const clock = new ManualClock();
  const shared = { nats: { servers: natsUrl, reconnectTimeWaitMs: 50 }, bucket: b, processId: 'trader-x' };
  const first = await testPool(endpoints, { shared }, { clock });
  let second: TestPool | undefined;
  try {
    await first.pool.ready();
    flaky.fault = { kind: 'http', status: 503 };
    await openBreaker(first, 'flaky');
    await until(() => first.pool.getStats().shared!.published >= 1, 'the OPEN record to be written');
    await first.close();
    second = await testPool(endpoints, { shared }, { clock });
    await second.pool.ready();
    await until(() => sharedView(second!, 'flaky').sharedOpen, 'the restarted incarnation to honour the OPEN record');
    assert.equal(ep(second, 'flaky').state, 'CLOSED', 'its own breaker is fresh');
    assert.equal((await second.pool.call('getBalance', ['x'])).endpoint, 'good');
  } finally {
    await first.close();
    await second?.close();
    await flaky.close();
    await good.close();
  }
});

test("a provider's client-side rate is divided among the processes using it, and returns whole when one leaves", async () => {
  const limited = await startFixtureServer();
  const good = await startFixtureServer();
  const endpoints = [
    { name: 'limited', url: limited.url, tier: 0, rateLimitRps: 10 },
    { name: 'good', url: good.url, tier: 1 },
  ];
  const { p1, p2, clock, close } = await pair(endpoints);
  try {
    await until(
      () => sharedView(p1, 'limited').rateShare === 0.5 && sharedView(p2, 'limited').rateShare === 0.5,
      'both pools to see two members',
    );
    assert.equal(sharedView(p1, 'good').rateShare, 1, 'an endpoint without a rate is not divided');
    // Time stands still: p1's bucket holds half the burst (5 of 10); the 6th call goes elsewhere.
    const at = [];
    for (let i = 0; i < 7; i++) at.push((await p1.pool.call('getBalance', ['x'])).endpoint);
    assert.deepEqual(at, ['limited', 'limited', 'limited', 'limited', 'limited', 'good', 'good']);
    // p2 leaves: after its membership is gone p1 gets the whole rate back.
    await p2.close();
    await until(() => sharedView(p1, 'limited').rateShare === 1, 'p1 to use the whole rate again');
    clock.advance(1000); // a second refills the bucket
    const again = [];
    for (let i = 0; i < 11; i++) again.push((await p1.pool.call('getBalance', ['x'])).endpoint);
    assert.equal(again.filter((e) => e === 'limited').length, 10);
  } finally {
    await close();
    await limited.close();
    await good.close();
  }
});
