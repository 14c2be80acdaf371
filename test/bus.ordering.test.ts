import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualBus, settle, shuffled } from './fixtures/bus/helpers.ts';

type Ev = { sequence: number; data?: string; topic: string; timestamp: number; priority: string };

test('shuffled sequences at scale arrive in order, none lost, no gap', async () => {
  const { bus, clock } = manualBus({ maxQueueSize: 20_000 });
  const got: number[] = [];
  bus.subscribe('slots', (e: Ev) => void got.push(e.sequence));
  // Locally shuffled (as a real feed is): each block of 64 is a random permutation.
  const N = 160 * 64;
  const seqs: number[] = [];
  for (let b = 0; b < N; b += 64)
    seqs.push(
      ...shuffled(
        Array.from({ length: 64 }, (_, i) => b + i + 1),
        b,
      ),
    );
  for (const s of seqs) assert.equal(bus.publish('slots', { sequence: s }), true);
  await settle();
  assert.equal(got.length, N);
  for (let i = 0; i < N; i++) assert.equal(got[i], i + 1);
  const st = bus.getStats();
  assert.equal(st.published, N);
  assert.equal(st.delivered, N);
  assert.equal(st.droppedEvents, 0);
  assert.equal(st.topics[0]!.gaps, 0);
  assert.equal(st.topics[0]!.nextSequence, N + 1);
  assert.equal(clock.pendingTimers <= 1, true, 'at most one reorder timer per topic, not one per event');
  await bus.close();
});

test('fully shuffled burst across several topics: every topic in its own order', async () => {
  const { bus } = manualBus({ maxQueueSize: 5000 });
  const topics = ['a', 'b', 'c'];
  const got = new Map<string, number[]>(topics.map((t) => [t, []]));
  for (const t of topics) bus.subscribe(t, (e: Ev) => void got.get(e.topic)!.push(e.sequence));
  const work = shuffled(
    topics.flatMap((t) => Array.from({ length: 3000 }, (_, i) => [t, i + 1] as const)),
    7,
  );
  for (const [t, s] of work) bus.publish(t, { sequence: s });
  await settle();
  for (const t of topics)
    assert.deepEqual(
      got.get(t),
      Array.from({ length: 3000 }, (_, i) => i + 1),
    );
  await bus.close();
});

test('the ordering test case needs no reorder window: 3, 1, 2 are delivered in the same turn', async () => {
  const { bus } = manualBus();
  const got: string[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.data!));
  bus.publish('t', { data: 'third', sequence: 3 });
  bus.publish('t', { data: 'first', sequence: 1 });
  bus.publish('t', { data: 'second', sequence: 2 });
  await settle(); // no clock advance at all
  assert.deepEqual(got, ['first', 'second', 'third']);
  await bus.close();
});

test('a gap not filled within the reorder window is skipped and counted; later events flow', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  bus.publish('t', { sequence: 1 });
  bus.publish('t', { sequence: 2 });
  bus.publish('t', { sequence: 5 }); // 3 and 4 are missing
  bus.publish('t', { sequence: 6 });
  await settle();
  assert.deepEqual(got, [1, 2], '5 and 6 wait for the gap');
  clock.advance(49);
  await settle();
  assert.deepEqual(got, [1, 2], 'still inside the window');
  clock.advance(1);
  await settle();
  assert.deepEqual(got, [1, 2, 5, 6]);
  const st = bus.getStats();
  assert.equal(st.topics[0]!.gaps, 1);
  assert.equal(st.topics[0]!.skippedSequences, 2);
  assert.equal(st.sequencesSkipped, 2);
  assert.equal(st.topics[0]!.nextSequence, 7);
  // A sequence from the skipped gap arriving late is stale, not delivered out of order.
  assert.equal(bus.publish('t', { sequence: 3 }), false);
  assert.equal(bus.getStats().dropped.STALE, 1);
  bus.publish('t', { sequence: 7 });
  await settle();
  assert.deepEqual(got, [1, 2, 5, 6, 7]);
  await bus.close();
});

test('a gap that fills inside the window costs no skip', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  bus.publish('t', { sequence: 1 });
  bus.publish('t', { sequence: 3 });
  await settle();
  clock.advance(30);
  bus.publish('t', { sequence: 2 });
  await settle();
  assert.deepEqual(got, [1, 2, 3]);
  clock.advance(100);
  await settle();
  assert.equal(bus.getStats().topics[0]!.gaps, 0);
  assert.equal(bus.getStats().droppedEvents, 0);
  await bus.close();
});

test('several gaps: no event waits in the reorder buffer longer than the window', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  bus.publish('t', { sequence: 1 });
  bus.publish('t', { sequence: 3 }); // gap at 2, waits from t=0
  clock.advance(20);
  bus.publish('t', { sequence: 5 }); // gap at 4, waits from t=20
  await settle();
  clock.advance(30); // t=50: 3 is due, 5 has waited only 30
  await settle();
  assert.deepEqual(got, [1, 3]);
  clock.advance(20); // t=70: 5 is due
  await settle();
  assert.deepEqual(got, [1, 3, 5]);
  assert.equal(bus.getStats().topics[0]!.gaps, 2);
  await bus.close();
});

test('slot-derived sequences: the first events set the baseline after one window, not counted as a gap', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('slots', (e: Ev) => void got.push(e.sequence));
  bus.publish('slots', { sequence: 250_000_002 });
  bus.publish('slots', { sequence: 250_000_001 });
  bus.publish('slots', { sequence: 250_000_003 });
  await settle();
  assert.deepEqual(got, []);
  clock.advance(50);
  await settle();
  assert.deepEqual(got, [250_000_001, 250_000_002, 250_000_003]);
  const t = bus.getStats().topics[0]!;
  assert.equal(t.gaps, 0);
  assert.equal(t.baselineJumps, 1);
  assert.equal(bus.getStats().droppedEvents, 0);
  // From here on a gap is a gap.
  bus.publish('slots', { sequence: 250_000_005 });
  clock.advance(50);
  await settle();
  assert.equal(bus.getStats().topics[0]!.gaps, 1);
  await bus.close();
});

test('configureTopic firstSequence: a topic that knows where it starts does not wait', async () => {
  const { bus } = manualBus();
  bus.configureTopic('slots', { firstSequence: 1000 });
  const got: number[] = [];
  bus.subscribe('slots', (e: Ev) => void got.push(e.sequence));
  bus.publish('slots', { sequence: 1000 });
  bus.publish('slots', { sequence: 1001 });
  await settle();
  assert.deepEqual(got, [1000, 1001]);
  assert.throws(() => bus.configureTopic('slots', { firstSequence: 5 }), { code: 'TOPIC_IN_USE' });
  await bus.close();
});

test('duplicates (queued, buffered or already delivered) and stale sequences are dropped and counted', async () => {
  const { bus, clock } = manualBus();
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  assert.equal(bus.publish('t', { sequence: 1 }), true);
  assert.equal(bus.publish('t', { sequence: 1 }), false, 'duplicate of a queued event');
  assert.equal(bus.publish('t', { sequence: 4 }), true);
  assert.equal(bus.publish('t', { sequence: 4 }), false, 'duplicate of a buffered event');
  assert.equal(bus.publish('t', { sequence: 2 }), true);
  assert.equal(bus.publish('t', { sequence: 3 }), true);
  await settle();
  assert.deepEqual(got, [1, 2, 3, 4]);
  assert.equal(bus.publish('t', { sequence: 2 }), false, 'duplicate of a delivered event');
  assert.equal(bus.publish('t', { sequence: 0 }), false, 'below the first sequence: stale');
  const st = bus.getStats();
  assert.equal(st.dropped.DUPLICATE, 3);
  assert.equal(st.dropped.STALE, 1);
  assert.equal(st.published, 4);
  assert.deepEqual(got, [1, 2, 3, 4]);
  clock.advance(1000);
  await bus.close();
});

test('bus-assigned sequences start at 1 per topic and continue after publisher-given ones', async () => {
  const { bus } = manualBus();
  const got: Array<[string, number]> = [];
  bus.subscribe('a', (e: Ev) => void got.push([e.topic, e.sequence]));
  bus.subscribe('b', (e: Ev) => void got.push([e.topic, e.sequence]));
  bus.publish('a', {});
  bus.publish('a', {});
  bus.publish('b', {});
  bus.publish('a', { sequence: 10 }); // waits for 3..9
  bus.publish('a', {}); // assigned 11, waits behind 10
  await settle();
  assert.deepEqual(got, [
    ['a', 1],
    ['a', 2],
    ['b', 1],
  ]);
  await bus.close(); // close gives up the gap at once and delivers 10, 11
  assert.deepEqual(got.slice(3), [
    ['a', 10],
    ['a', 11],
  ]);
});

test('delivered events carry the publisher fields plus topic, sequence, timestamp, priority; the publisher object is untouched', async () => {
  const { bus, clock } = manualBus();
  const got: any[] = [];
  bus.subscribe('t', (e) => void got.push(e));
  bus.subscribe('t', () => {}); // shared by two subscribers: frozen
  const mine = { token: 'BONK', price: 0.0001, nested: { a: 1 } };
  bus.publish('t', mine, 'critical');
  const stamped = { token: 'PEPE', timestamp: 42, priority: 'bogus', topic: 'spoofed' };
  bus.publish('t', stamped, 'low');
  await settle();
  assert.deepEqual(mine, { token: 'BONK', price: 0.0001, nested: { a: 1 } }, 'publisher object not mutated');
  assert.equal(got[0].token, 'BONK');
  assert.equal(got[0].topic, 't');
  assert.equal(got[0].sequence, 1);
  assert.equal(got[0].timestamp, clock.now());
  assert.equal(got[0].priority, 'critical');
  assert.notEqual(got[0], mine);
  assert.equal(Object.isFrozen(got[0]), true);
  assert.equal(got[1].timestamp, 42, "a publisher's own timestamp is kept");
  assert.equal(got[1].priority, 'low', 'the priority argument wins');
  assert.equal(got[1].topic, 't', 'the topic is the one published to');
  await bus.close();
});
