import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualBus, settle } from './fixtures/bus/helpers.ts';

type Ev = { topic: string; sequence: number; priority: string; n?: number };

test('a critical event is not stuck behind a backlog of low events on another topic', async () => {
  const { bus } = manualBus({ maxQueueSize: 50_000 });
  const order: string[] = [];
  bus.subscribe('metrics', (e: Ev) => void order.push(`metrics:${e.sequence}`));
  bus.subscribe('alerts', (e: Ev) => void order.push(`alerts:${e.sequence}`));
  for (let i = 0; i < 20_000; i++) bus.publish('metrics', { n: i }, 'low');
  bus.publish('alerts', { n: 0 }, 'critical');
  await settle();
  assert.equal(order.length, 20_001);
  assert.equal(order[0], 'alerts:1', 'the critical event goes first although it was published last');
  await bus.close();
});

test('topics are served critical, then normal, then low; a normal topic waits behind a critical one', async () => {
  const { bus } = manualBus();
  const order: string[] = [];
  for (const t of ['lo', 'no', 'cr']) bus.subscribe(t, (e: Ev) => void order.push(e.topic));
  for (let i = 0; i < 3; i++) bus.publish('lo', {}, 'low');
  for (let i = 0; i < 3; i++) bus.publish('no', {}, 'normal');
  for (let i = 0; i < 3; i++) bus.publish('cr', {}, 'critical');
  await settle();
  assert.deepEqual(order, ['cr', 'cr', 'cr', 'no', 'no', 'no', 'lo', 'lo', 'lo']);
  await bus.close();
});

test('within a topic sequence order wins, and a critical event lifts its whole topic (no priority inversion)', async () => {
  const { bus } = manualBus();
  const order: string[] = [];
  bus.subscribe('mixed', (e: Ev) => void order.push(`mixed:${e.sequence}:${e.priority}`));
  bus.subscribe('other', (e: Ev) => void order.push(`other:${e.sequence}:${e.priority}`));
  bus.publish('other', {}, 'normal');
  bus.publish('mixed', {}, 'low');
  bus.publish('mixed', {}, 'low');
  bus.publish('mixed', {}, 'critical');
  await settle();
  assert.deepEqual(order, ['mixed:1:low', 'mixed:2:low', 'mixed:3:critical', 'other:1:normal']);
  await bus.close();
});

test('a full topic refuses low and normal events with QUEUE_FULL', async () => {
  const { bus } = manualBus({ maxQueueSize: 4 });
  for (let i = 0; i < 4; i++) assert.equal(bus.publish('t', { n: i }, 'normal'), true);
  assert.equal(bus.publish('t', { n: 4 }, 'low'), false);
  assert.equal(bus.publish('t', { n: 5 }, 'normal'), false);
  const st = bus.getStats();
  assert.equal(st.dropped.QUEUE_FULL, 2);
  assert.equal(st.byPriority.low.dropped, 1);
  assert.equal(st.byPriority.normal.dropped, 1);
  assert.equal(st.topics[0]!.depth, 4);
  await bus.close();
});

test('a critical event displaces the newest low event, then the newest normal; refused only when all are critical', async () => {
  const { bus } = manualBus({ maxQueueSize: 4 });
  const got: string[] = [];
  bus.subscribe('t', (e: Ev & { tag: string }) => void got.push(e.tag));
  bus.publish('t', { tag: 'n1' }, 'normal');
  bus.publish('t', { tag: 'l1' }, 'low');
  bus.publish('t', { tag: 'n2' }, 'normal');
  bus.publish('t', { tag: 'l2' }, 'low');
  assert.equal(bus.publish('t', { tag: 'c1' }, 'critical'), true, 'displaces l2 (newest low)');
  assert.equal(bus.publish('t', { tag: 'c2' }, 'critical'), true, 'displaces l1');
  assert.equal(bus.publish('t', { tag: 'c3' }, 'critical'), true, 'no low left: displaces n2 (newest normal)');
  assert.equal(bus.publish('t', { tag: 'c4' }, 'critical'), true, 'displaces n1');
  assert.equal(bus.publish('t', { tag: 'c5' }, 'critical'), false, 'all critical: refused');
  assert.equal(bus.publish('t', { tag: 'n3' }, 'normal'), false);
  const st = bus.getStats();
  assert.equal(st.dropped.SHED_FOR_PRIORITY, 4);
  assert.equal(st.dropped.QUEUE_FULL, 2);
  assert.equal(
    st.byPriority.critical.dropped,
    1,
    'the only critical loss is the one refused when all queued were critical',
  );
  assert.equal(st.topics[0]!.depth, 4);
  assert.equal(st.topics[0]!.displaced, 4);
  assert.equal(st.topics[0]!.refused, 2);
  await settle();
  // Displaced events leave no hole the router waits for; survivors keep their order.
  assert.deepEqual(got, ['c1', 'c2', 'c3', 'c4']);
  assert.equal(bus.getStats().topics[0]!.nextSequence, 9);
  await bus.close();
});

test('displacement reaches into the reorder buffer and the displaced sequence is not waited for', async () => {
  const { bus, clock } = manualBus({ maxQueueSize: 3, reorderWindowMs: 50 });
  const got: string[] = [];
  bus.subscribe('t', (e: Ev & { tag: string }) => void got.push(`${e.sequence}${e.tag}`));
  bus.publish('t', { sequence: 1, tag: 'n' }, 'normal');
  bus.publish('t', { sequence: 3, tag: 'l' }, 'low'); // buffered: 2 missing
  bus.publish('t', { sequence: 4, tag: 'n' }, 'normal'); // buffered
  assert.equal(bus.publish('t', { sequence: 2, tag: 'c' }, 'critical'), true, 'displaces 3 (low, in the buffer)');
  await settle();
  assert.deepEqual(got, ['1n', '2c', '4n'], '3 was displaced; 4 follows 2 without waiting for the window');
  assert.equal(clock.pendingTimers <= 1, true);
  clock.advance(100);
  await settle();
  assert.equal(bus.getStats().topics[0]!.gaps, 0);
  assert.equal(bus.getStats().dropped.SHED_FOR_PRIORITY, 1);
  assert.equal(
    bus.publish('t', { sequence: 3, tag: 'l' }, 'low'),
    false,
    'a displaced sequence sent again is a duplicate',
  );
  await bus.close();
});

test('a synchronous flood cannot grow a topic past its bound; critical traffic survives it', async () => {
  const { bus } = manualBus({ maxQueueSize: 1000 });
  let critical = 0;
  let other = 0;
  bus.subscribe('t', (e: Ev) => {
    if (e.priority === 'critical') critical++;
    else other++;
  });
  let sentCritical = 0;
  for (let i = 0; i < 100_000; i++) {
    const p = i % 100 === 0 ? 'critical' : i % 2 === 0 ? 'normal' : 'low';
    if (p === 'critical') sentCritical++;
    bus.publish('t', { i }, p);
    if (i % 10_000 === 0) assert.ok(bus.getStats().topics[0]!.depth <= 1000);
  }
  await settle();
  const st = bus.getStats();
  assert.equal(critical, sentCritical, 'no critical event lost');
  assert.equal(st.byPriority.critical.dropped, 0);
  assert.equal(critical + other, 1000);
  assert.equal(st.published + st.dropped.QUEUE_FULL, 100_000);
  assert.equal(st.delivered + st.dropped.SHED_FOR_PRIORITY, st.published);
  await bus.close();
});

test('a turn that hits its budget yields to the event loop, but a later outside publish is still dispatched at once', async () => {
  const { bus } = manualBus({ maxQueueSize: 20_000 });
  let a = 0;
  let b = 0;
  bus.subscribe('backlog', () => void a++);
  bus.subscribe('alerts', () => void b++);
  for (let i = 0; i < 9000; i++) bus.publish('backlog', {});
  await Promise.resolve(); // the router's turn ran (microtask) and stopped at its budget
  assert.ok(a > 0 && a < 9000, `the first turn is bounded (${a} of 9000)`);
  // Another I/O callback publishes before the deferred turn (setImmediate) runs.
  bus.publish('alerts', {}, 'critical');
  await Promise.resolve();
  assert.equal(b, 1, 'dispatched in a microtask, not after the check phase');
  await settle();
  assert.equal(a, 9000);
  await bus.close();
});
