// publish / subscribe / resetTopic with hostile input: each gets a typed error or a counted
// drop, nothing is half-done (no topic, no queued event, no counter moved but the drop's own),
// nothing crashes, memory stays bounded.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalBus, SignalBusError, type SignalBusStats } from '../src/bus/index.ts';
import { PalisadeError } from '../src/errors.ts';
import { manualBus, settle, waitFor } from './fixtures/bus/helpers.ts';

const RECORDER = new URL('./fixtures/bus/recorder.ts', import.meta.url);

function nested(levels: number): object {
  let o: object = { leaf: 1 };
  for (let i = 0; i < levels; i++) o = { a: o };
  return o;
}

function revokedProxy(): object {
  const r = Proxy.revocable({ a: 1 }, {});
  r.revoke();
  return r.proxy;
}

/** What a refused call must leave untouched. */
function footprint(st: SignalBusStats): unknown {
  return {
    published: st.published,
    delivered: st.delivered,
    topicCount: st.topicCount,
    depth: st.topics.map((t) => [t.topic, t.depth, t.published]),
  };
}

function assertTyped(fn: () => unknown, code: string, what: string): void {
  assert.throws(fn, (e: unknown) => e instanceof PalisadeError && e.code === code, what);
}

test('bad topics, priorities and events are typed errors that leave nothing behind', async () => {
  const { bus } = manualBus();
  const seen: unknown[] = [];
  bus.subscribe('t', (e) => void seen.push(e));
  const before = footprint(bus.getStats());
  const badTopics: unknown[] = [
    '',
    'x'.repeat(257),
    'y'.repeat(10_000_000),
    42,
    null,
    undefined,
    {},
    Symbol('t'),
    ['t'],
  ];
  for (const topic of badTopics) {
    assertTyped(() => bus.publish(topic as string, {}), 'INVALID_TOPIC', `publish to ${String(typeof topic)}`);
    assertTyped(
      () => bus.subscribe(topic as string, () => {}),
      'INVALID_TOPIC',
      `subscribe to ${String(typeof topic)}`,
    );
    assertTyped(() => bus.resetTopic(topic as string), 'INVALID_TOPIC', `reset ${String(typeof topic)}`);
  }
  const badPriorities: unknown[] = ['urgent', '', 0, 1, NaN, null, {}, Symbol('p'), Object.create(null), 'CRITICAL'];
  for (const p of badPriorities)
    assertTyped(() => bus.publish('t', {}, p as 'normal'), 'INVALID_PRIORITY', String(typeof p));
  const badEvents: unknown[] = [
    null,
    undefined,
    1,
    'event',
    true,
    10n,
    Symbol('e'),
    () => 1,
    [],
    [1, 2],
    revokedProxy(),
  ];
  for (const e of badEvents) assertTyped(() => bus.publish('t', e as object), 'INVALID_EVENT', String(typeof e));
  const badFields: object[] = [
    { sequence: NaN },
    { sequence: Infinity },
    { sequence: -Infinity },
    { sequence: -1 },
    { sequence: 1.5 },
    { sequence: 2 ** 53 },
    { sequence: '3' },
    { sequence: 3n },
    { sequence: null },
    { timestamp: NaN },
    { timestamp: Infinity },
    { timestamp: '2024' },
    { expiresAt: NaN },
    { expiresAt: 'soon' },
    {
      get sequence(): number {
        throw new Error('getter');
      },
    },
    {
      a: 1,
      get b(): number {
        throw new Error('spread getter');
      },
    },
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
      },
    ),
    new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('ownKeys trap');
        },
      },
    ),
  ];
  badFields.forEach((e, i) => {
    assertTyped(() => bus.publish('t', e), 'INVALID_EVENT', `badFields[${i}]`);
  });
  await settle();
  assert.deepEqual(footprint(bus.getStats()), before);
  assert.deepEqual(seen, []);
  assert.equal(bus.getStats().droppedEvents, 0);
  await bus.close();
});

test('far, huge and odd sequences: counted drops, and the topic keeps working', async () => {
  const { bus } = manualBus();
  const got: number[] = [];
  bus.subscribe('t', (e: { sequence: number }) => void got.push(e.sequence));
  assert.equal(bus.publish('t', { sequence: 1 }), true);
  for (const s of [Number.MAX_SAFE_INTEGER, 1_700_000_000_000, 2 ** 40, 1_000_002])
    assert.equal(bus.publish('t', { sequence: s }), false, String(s));
  assert.equal(bus.publish('t', { sequence: 1 }), false); // duplicate
  assert.equal(bus.publish('t', { sequence: 0 }), false); // stale
  assert.equal(bus.publish('t', { sequence: 2 }), true);
  assert.equal(bus.publish('t', {}), true); // the bus numbers it: 3
  await settle();
  assert.deepEqual(got, [1, 2, 3]);
  const st = bus.getStats();
  assert.equal(st.dropped.SEQUENCE_TOO_FAR, 4);
  assert.equal(st.dropped.DUPLICATE, 1);
  assert.equal(st.dropped.STALE, 1);
  assert.equal(st.droppedEvents, 6);
  assert.equal(st.sequencesSkipped, 0);
  await bus.close();
});

test('events that are huge, deep, cyclic or not JSON-able reach inline subscribers unharmed', async () => {
  const { bus } = manualBus();
  const got: object[] = [];
  bus.subscribe('t', (e) => void got.push(e));
  const cyclic: Record<string, unknown> = { k: 1 };
  cyclic['self'] = cyclic;
  const events: object[] = [
    { big: 'x'.repeat(1_000_000) },
    nested(100_000),
    cyclic,
    { n: 10n, m: new Map([[1, 2]]), d: new Date(0), f: () => 1, s: Symbol('s') },
  ];
  for (const e of events) assert.equal(bus.publish('t', e), true);
  await settle();
  assert.equal(got.length, 4);
  assert.equal((got[0] as { big: string }).big.length, 1_000_000);
  await bus.close();
});

test('a closed bus refuses everything, counted or typed, and creates nothing', async () => {
  const { bus } = manualBus();
  bus.publish('kept', {});
  await bus.close();
  const before = bus.getStats();
  for (let i = 0; i < 1000; i++) assert.equal(bus.publish(`after-${i}`, { i }, i % 2 ? 'critical' : 'low'), false);
  assert.equal(bus.publish('kept', {}), false);
  assertTyped(() => bus.subscribe('kept', () => {}), 'BUS_CLOSED', 'subscribe');
  const st = bus.getStats();
  assert.equal(st.dropped.BUS_CLOSED, before.dropped.BUS_CLOSED + 1001);
  assert.equal(st.topicCount, before.topicCount);
  assert.equal(st.published, before.published);
  await bus.close(); // idempotent
});

test('a storm of refused publishes to new topics keeps memory bounded', async () => {
  const { bus } = manualBus({ maxTopics: 50 });
  bus.subscribe('live', () => {});
  const payload = 'z'.repeat(100_000);
  for (let i = 0; i < 20_000; i++) {
    // invalid: refused before any topic exists
    assert.throws(() => bus.publish(`bad-${i}`, { sequence: -i - 1, payload }), SignalBusError);
    // valid on a new topic: bounded by maxTopics, evicted once dispatched
    bus.publish(`good-${i}`, { payload });
    if (i % 500 === 499) await settle();
  }
  await settle();
  const st = bus.getStats();
  assert.ok(st.topicCount <= 50, `${st.topicCount} topics`);
  assert.equal(st.published + st.dropped.TOO_MANY_TOPICS, 20_000);
  for (const t of st.topics) assert.equal(t.depth, 0);
  await bus.close();
});

test('resetTopic and configureTopic with hostile options are typed errors', async () => {
  const { bus } = manualBus();
  bus.publish('t', { sequence: 1 });
  for (const f of [NaN, Infinity, -1, 1.5, '1', null])
    assertTyped(() => bus.resetTopic('t', { firstSequence: f as number }), 'CONFIG_INVALID', String(f));
  assertTyped(() => bus.resetTopic('t', null as never), 'CONFIG_INVALID', 'null options');
  for (const f of [NaN, -1, Infinity])
    assertTyped(() => bus.configureTopic('u', { firstSequence: f }), 'CONFIG_INVALID', String(f));
  assert.equal(bus.getStats().topics.find((t) => t.topic === 't')!.resets, 0);
  await bus.close();
});

// Worker subscribers: the clone check and the thread boundary.
const buses: SignalBus[] = [];
after(async () => {
  await Promise.all(buses.map((b) => b.close({ timeoutMs: 1000 })));
});

function recorder(capacity = 64) {
  const log = new SharedArrayBuffer((capacity + 1) * 4);
  const flags = new SharedArrayBuffer(16);
  const a = new Int32Array(log);
  return { init: { log, flags }, values: () => Array.from(a.subarray(1, 1 + Atomics.load(a, 0))) };
}

test('worker subscribers: deep, throwing or non-cloneable events are typed errors at publish, not RangeErrors', {
  timeout: 30_000,
}, async () => {
  const bus = new SignalBus({ reorderWindowMs: 0 });
  buses.push(bus);
  const rec = recorder();
  const sub = bus.subscribe('w', { module: RECORDER }, { init: rec.init, heartbeatMs: 0 });
  await sub.ready;
  const before = footprint(bus.getStats());
  const refused: object[] = [
    nested(100_000),
    nested(MAX_DEPTH_PROBE),
    { f: () => 1 },
    { p: Promise.resolve(1) },
    { inner: revokedProxy() },
    {
      inner: new Proxy(
        {},
        {
          get: () => {
            throw new Error('trap');
          },
        },
      ),
    },
    {
      meta: {
        get x(): number {
          throw new Error('nested getter');
        },
      },
    },
  ];
  refused.forEach((e, i) => {
    assert.throws(
      () => bus.publish('w', e),
      (err: unknown) => err instanceof SignalBusError && err.code === 'EVENT_NOT_CLONEABLE',
      `refused[${i}]`,
    );
  });
  assert.deepEqual(footprint(bus.getStats()), before);
  // The subscriber still works, and an event larger than its ring arrives (by postMessage).
  assert.equal(bus.publish('w', { sequence: 1, big: 'x'.repeat(300 * 1024) }), true);
  assert.equal(bus.publish('w', { sequence: 2, wide: '漢'.repeat(200 * 1024) }), true);
  for (let s = 3; s <= 20; s++) bus.publish('w', { sequence: s });
  await waitFor(() => rec.values().length === 20 && bus.getStats().delivered === 20, 15_000, 'all 20 events');
  assert.deepEqual(
    rec.values(),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  const st = bus.getStats();
  assert.equal(st.delivered, 20);
  assert.equal(st.droppedEvents, 0);
});

test('worker subscribers: the ring size is configurable, and events over it still arrive', {
  timeout: 30_000,
}, async () => {
  const bus = new SignalBus({ reorderWindowMs: 0 });
  buses.push(bus);
  const rec = recorder();
  assert.throws(() => bus.subscribe('r', { module: RECORDER }, { init: rec.init, ringBytes: -1 }), {
    code: 'CONFIG_INVALID',
  });
  assert.equal(bus.getStats().subscribers.length, 0);
  const sub = bus.subscribe('r', { module: RECORDER }, { init: rec.init, heartbeatMs: 0, ringBytes: 4096 });
  await sub.ready;
  for (let s = 1; s <= 10; s++) bus.publish('r', { sequence: s, pad: 'p'.repeat(s % 2 ? 3000 : 10) });
  await waitFor(() => rec.values().length === 10, 15_000, 'all 10 events');
  assert.deepEqual(rec.values(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

/** Just past the clone check's depth limit. */
const MAX_DEPTH_PROBE = 501;

test('subscribe and configureTopic with hostile options: typed errors, no subscriber, no topic, nothing half-set', async () => {
  const { bus } = manualBus();
  const bad: [unknown, unknown][] = [
    [() => {}, null],
    [() => {}, { mailboxSize: NaN }],
    [() => {}, { mailboxSize: 0 }],
    [() => {}, { mailboxSize: Infinity }],
    [() => {}, { mailboxSize: 2 ** 60 }],
    [() => {}, { quarantine: { failureRate: NaN } }],
    [() => {}, { quarantine: { cooloffMs: -1 } }],
    [null, {}],
    ['handler', {}],
    [{ module: '' }, {}],
    [{ module: 42 }, {}],
    [{ module: 'x.ts', export: '' }, {}],
  ];
  bad.forEach(([handler, options], i) => {
    assert.throws(
      () => bus.subscribe(`s${i}`, handler as never, options as never),
      (e: unknown) => e instanceof PalisadeError,
      `bad[${i}]`,
    );
  });
  let st = bus.getStats();
  assert.equal(st.subscribers.length, 0);
  assert.equal(st.topicCount, 0);
  // A bad option after a good one: the good one is not applied either.
  bus.publish('cfg', { sequence: 1 });
  await settle();
  assert.throws(() => bus.configureTopic('cfg', { maxQueueSize: 5, ttlMs: NaN }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bus.configureTopic('fresh', { firstSequence: 3, ttlMs: -1 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bus.configureTopic('cfg', { firstSequence: 9 }), { code: 'TOPIC_IN_USE' });
  st = bus.getStats();
  assert.deepEqual(
    st.topics.map((t) => [t.topic, t.maxQueueSize]),
    [['cfg', 10_000]],
  );
  await bus.close();
});
