// The bus's own limits: how many topics it keeps, how far a sequence may jump, and the way
// back from a poisoned topic (resetTopic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalBus, SignalBusError } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { manualBus, settle } from './fixtures/bus/helpers.ts';

type Ev = { sequence: number };

test('one-shot topics do not pile up: idle, empty topics are evicted past maxTopics (counted)', async () => {
  const { bus } = manualBus({ maxTopics: 100 });
  for (let chunk = 0; chunk < 20; chunk++) {
    for (let i = 0; i < 100; i++) assert.equal(bus.publish(`one-shot-${chunk}-${i}`, { n: i }), true);
    await settle();
  }
  const st = bus.getStats();
  assert.ok(st.topics.length <= 100, `${st.topics.length} topics kept`);
  assert.equal(st.topicCount, st.topics.length);
  assert.equal(st.topicsEvicted, 2000 - st.topicCount);
  assert.equal(st.published, 2000);
  assert.equal(st.dropped.NO_SUBSCRIBERS, 2000);
  await bus.close();
});

test('a topic with subscribers, queued events or explicit settings is never evicted; past the bound nothing is created', async () => {
  const { bus } = manualBus({ maxTopics: 3 });
  const got: number[] = [];
  bus.subscribe('kept', (e: Ev) => void got.push(e.sequence));
  bus.configureTopic('configured', { ttlMs: 1000 });
  assert.equal(bus.publish('queued', { n: 1 }), true); // not dispatched yet: not evictable
  // The bound is reached and nothing is evictable: a publish to a new topic is a counted drop…
  assert.equal(bus.publish('fourth', { n: 1 }, 'critical'), false);
  assert.equal(bus.getStats().dropped.TOO_MANY_TOPICS, 1);
  assert.equal(bus.getStats().byPriority.critical.dropped, 1);
  // …and subscribe / configureTopic a typed error.
  assert.throws(
    () => bus.subscribe('fourth', () => {}),
    (e: unknown) => e instanceof SignalBusError && e.code === 'TOO_MANY_TOPICS',
  );
  assert.throws(() => bus.configureTopic('fourth', { ttlMs: 5 }), { code: 'TOO_MANY_TOPICS' });
  assert.deepEqual(
    bus
      .getStats()
      .topics.map((t) => t.topic)
      .sort(),
    ['configured', 'kept', 'queued'],
  );
  await settle(); // 'queued' is dispatched (no subscriber) and becomes idle
  assert.equal(bus.publish('fourth', { n: 2 }), true);
  assert.deepEqual(
    bus
      .getStats()
      .topics.map((t) => t.topic)
      .sort(),
    ['configured', 'fourth', 'kept'],
  );
  assert.equal(bus.getStats().topicsEvicted, 1);
  bus.publish('kept', {});
  await settle();
  assert.deepEqual(got, [1]);
  await bus.close();
});

test('refused publishes create no topic', async () => {
  const { bus } = manualBus({ maxTopics: 10 });
  assert.throws(() => bus.publish('bad-sequence', { sequence: -1 }), { code: 'INVALID_EVENT' });
  assert.throws(() => bus.publish('bad-ts', { timestamp: NaN }), { code: 'INVALID_EVENT' });
  assert.throws(() => bus.publish('bad-prio', {}, 'urgent' as never), { code: 'INVALID_PRIORITY' });
  assert.throws(
    () =>
      bus.publish('getter', {
        get sequence(): number {
          throw new Error('boom');
        },
      }),
    { code: 'INVALID_EVENT' },
  );
  assert.throws(
    () =>
      bus.publish('spread', {
        a: 1,
        get b(): number {
          throw new Error('boom');
        },
      }),
    { code: 'INVALID_EVENT' },
  );
  assert.equal(bus.publish('stale', { sequence: 0 }), false); // below the first sequence: STALE
  assert.equal(bus.getStats().dropped.STALE, 1);
  assert.equal(bus.getStats().topicCount, 0);
  await bus.close();
  assert.equal(bus.publish('after-close', {}), false);
  const st = bus.getStats();
  assert.equal(st.dropped.BUS_CLOSED, 1);
  assert.equal(st.topicCount, 0);
  assert.deepEqual(st.topics, []);
});

test('100k one-shot topics stay bounded (topic count, and heap within a generous bound)', async () => {
  const { bus } = manualBus();
  const heap0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) {
    bus.publish(`once-${i}`, { i });
    if (i % 2000 === 1999) await settle();
  }
  await settle();
  const st = bus.getStats();
  assert.ok(st.topicCount <= 10_000, `${st.topicCount} topics kept (default maxTopics 10000)`);
  assert.equal(st.published + st.dropped.TOO_MANY_TOPICS, 100_000);
  assert.ok(st.topicsEvicted >= 90_000 - st.dropped.TOO_MANY_TOPICS);
  const grown = process.memoryUsage().heapUsed - heap0;
  assert.ok(grown < 150 * 1024 * 1024, `heap grew ${Math.round(grown / 1048576)} MB`);
  await bus.close();
});

test('a far-future sequence is dropped with its own reason and does not poison the topic', async () => {
  const { bus } = manualBus({ maxSequenceJump: 1000 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  bus.publish('t', { sequence: 1 });
  assert.equal(bus.publish('t', { sequence: Number.MAX_SAFE_INTEGER }), false);
  assert.equal(bus.publish('t', { sequence: 1_700_000_000_000 }), false); // a ms timestamp by mistake
  assert.equal(bus.publish('t', { sequence: 1001 }), true); // exactly the bound: a gap, not a drop
  bus.publish('t', { sequence: 2 });
  await settle();
  const st = bus.getStats();
  assert.equal(st.dropped.SEQUENCE_TOO_FAR, 2);
  assert.equal(st.droppedEvents, 2);
  assert.deepEqual(got, [1, 2]);
  assert.equal(st.topics[0]!.nextSequence, 3);
  await bus.close();
});

test('a far-future event that arrived before the baseline is dropped when the baseline is set', async () => {
  const { bus, clock } = manualBus({ maxSequenceJump: 1000, reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  assert.equal(bus.publish('t', { sequence: Number.MAX_SAFE_INTEGER }), true); // could be the baseline…
  assert.equal(bus.publish('t', { sequence: 500 }), true); // …until a lower one arrives
  assert.equal(bus.publish('t', { sequence: 5000 }), false, 'beyond the lowest buffered + the bound');
  clock.advance(50);
  await settle();
  bus.publish('t', { sequence: 501 });
  await settle();
  assert.deepEqual(got, [500, 501]);
  const st = bus.getStats();
  assert.equal(st.dropped.SEQUENCE_TOO_FAR, 2);
  assert.equal(st.sequencesSkipped, 0);
  assert.equal(st.topics[0]!.baselineJumps, 1);
  await bus.close();
});

test('skipped sequence numbers are counted apart from dropped events', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  bus.publish('t', { sequence: 1 });
  bus.publish('t', { sequence: 900 });
  clock.advance(50);
  await settle();
  assert.deepEqual(got, [1, 900]);
  const st = bus.getStats();
  assert.equal(st.sequencesSkipped, 898);
  assert.equal(st.gaps, 1);
  assert.equal(st.droppedEvents, 0);
  assert.equal('GAP_SKIPPED' in st.dropped, false);
  await bus.close();
});

test('resetTopic: a topic poisoned by a wrong baseline takes its real sequences again', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  // A millisecond timestamp as the very first sequence becomes the baseline (nothing to compare it with).
  bus.publish('t', { sequence: 1_700_000_000_000 });
  clock.advance(50);
  await settle();
  assert.equal(bus.publish('t', { sequence: 250_000_000 }), false, 'STALE against the wrong baseline');
  assert.equal(bus.resetTopic('t'), true);
  assert.equal(bus.publish('t', { sequence: 250_000_000 }), true);
  assert.equal(bus.publish('t', { sequence: 250_000_001 }), true);
  clock.advance(50);
  await settle();
  assert.deepEqual(got, [1_700_000_000_000, 250_000_000, 250_000_001]);
  const topic = bus.getStats().topics[0]!;
  assert.equal(topic.resets, 1);
  assert.equal(topic.nextSequence, 250_000_002);
  // With a known next sequence, no reorder wait.
  assert.equal(bus.resetTopic('t', { firstSequence: 7 }), true);
  bus.publish('t', { sequence: 7 });
  await settle();
  assert.deepEqual(got.slice(3), [7]);
  assert.equal(bus.resetTopic('unknown'), false);
  assert.throws(() => bus.resetTopic('t', { firstSequence: -1 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bus.resetTopic(''), { code: 'INVALID_TOPIC' });
  await bus.close();
});

test('maxTopics and maxSequenceJump are checked at construction', () => {
  assert.throws(() => manualBus({ maxTopics: 0 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => manualBus({ maxTopics: NaN }), { code: 'CONFIG_INVALID' });
  assert.throws(() => manualBus({ maxSequenceJump: -5 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => manualBus({ maxSequenceJump: 1.5 }), { code: 'CONFIG_INVALID' });
  manualBus({ maxSequenceJump: Infinity }); // no limit
});

test('a topic whose baseline is MAX_SAFE_INTEGER does not number events past the safe integers', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  bus.subscribe('t', () => {});
  bus.publish('t', { sequence: Number.MAX_SAFE_INTEGER });
  clock.advance(50);
  await settle();
  assert.equal(bus.publish('t', {}), false);
  assert.equal(bus.getStats().dropped.SEQUENCE_TOO_FAR, 1);
  assert.equal(bus.resetTopic('t', { firstSequence: 1 }), true);
  assert.equal(bus.publish('t', {}), true);
  await bus.close();
});

test('maxTopics and maxSequenceJump come from the configuration (environment) too', async () => {
  const config = loadConfig({ env: { PALISADE_BUS_MAX_TOPICS: '2', PALISADE_BUS_MAX_SEQUENCE_JUMP: '10' } });
  const bus = new SignalBus({ ...config.bus });
  assert.equal(bus.maxTopics, 2);
  assert.equal(bus.maxSequenceJump, 10);
  assert.throws(() => loadConfig({ env: { PALISADE_BUS_MAX_TOPICS: '0' } }), { code: 'CONFIG_INVALID' });
  assert.equal(loadConfig({ env: {} }).bus.maxSequenceJump, 1_000_000);
  await bus.close();
});
