import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualBus, settle } from './fixtures/bus/helpers.ts';
import { createLogger } from '../src/log/index.ts';
import { Writable } from 'node:stream';

type Ev = { topic: string; sequence: number; priority: string };

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('a slow async subscriber delays only itself; the fast one gets everything at once, both in order', async () => {
  const { bus } = manualBus();
  const fast: number[] = [];
  const slow: number[] = [];
  const gates: Array<() => void> = [];
  bus.subscribe('t', (e: Ev) => void fast.push(e.sequence));
  bus.subscribe('t', (e: Ev) => {
    slow.push(e.sequence);
    const d = deferred();
    gates.push(d.resolve);
    return d.promise;
  });
  for (let i = 0; i < 100; i++) bus.publish('t', {});
  await settle();
  assert.equal(fast.length, 100, 'the fast subscriber is not held back');
  assert.deepEqual(slow, [1], 'the slow one handles one event at a time');
  const sub = bus.getStats().subscribers.find((s) => s.id.endsWith('#2'))!;
  assert.equal(sub.mailboxDepth, 99);
  for (let k = 0; k < 99; k++) {
    gates.shift()!();
    await settle();
  }
  assert.deepEqual(
    slow,
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  gates.shift()!();
  await bus.close();
  const st = bus.getStats();
  assert.equal(st.delivered, 200);
  assert.equal(st.droppedEvents, 0);
});

test('a full subscriber mailbox sheds the least important first, each counted', async () => {
  const { bus } = manualBus();
  const seen: string[] = [];
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  bus.subscribe(
    't',
    async (e: Ev & { tag: string }) => {
      seen.push(e.tag);
      if (e.tag === 'first') await hold;
    },
    { mailboxSize: 3 },
  );
  bus.publish('t', { tag: 'first' }, 'normal'); // running, holds the subscriber
  bus.publish('t', { tag: 'n1' }, 'normal');
  bus.publish('t', { tag: 'l1' }, 'low');
  bus.publish('t', { tag: 'n2' }, 'normal'); // mailbox full: n1 l1 n2
  bus.publish('t', { tag: 'c1' }, 'critical'); // sheds l1
  bus.publish('t', { tag: 'l2' }, 'low'); // least important itself: shed
  bus.publish('t', { tag: 'n3' }, 'normal'); // nothing lower queued: shed
  bus.publish('t', { tag: 'c2' }, 'critical'); // sheds n2 (newest normal)
  await settle();
  release();
  await settle();
  assert.deepEqual(seen, ['first', 'n1', 'c1', 'c2']);
  const st = bus.getStats();
  assert.equal(st.dropped.SUBSCRIBER_MAILBOX_FULL, 4);
  assert.equal(st.byPriority.low.dropped, 2);
  assert.equal(st.byPriority.normal.dropped, 2);
  assert.equal(st.byPriority.critical.dropped, 0);
  assert.equal(st.subscribers[0]!.dropped, 4);
  await bus.close();
});

test('sync throws and async rejections are caught, counted and logged; others keep going', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ destination: sink, level: 'warn' });
  const { bus, clock } = manualBus({ logger });
  const good: number[] = [];
  bus.subscribe('t', (e: Ev) => void good.push(e.sequence));
  bus.subscribe('t', () => {
    throw new Error('sync boom');
  });
  bus.subscribe('t', async () => {
    throw new Error('async boom');
  });
  for (let i = 0; i < 3; i++) {
    bus.publish('t', {});
    await settle();
    clock.advance(1001); // past the per-subscriber log interval
  }
  assert.deepEqual(good, [1, 2, 3]);
  const st = bus.getStats();
  assert.equal(st.delivered, 3);
  assert.equal(st.failed, 6);
  assert.equal(st.subscribers[1]!.failed, 3);
  assert.equal(st.subscribers[2]!.failed, 3);
  assert.ok(
    lines.some((l) => l.includes('sync boom')),
    'the sync failure is logged',
  );
  assert.ok(
    lines.some((l) => l.includes('async boom')),
    'the async failure is logged',
  );
  await bus.close();
});

test('quarantine: >50% failures over the minimum sample stops calls; after the cool-off one probe; success releases', async () => {
  const { bus, clock } = manualBus({ quarantine: { windowSize: 20, minSamples: 10, cooloffMs: 1000 } });
  let failing = true;
  let calls = 0;
  bus.subscribe('t', () => {
    calls++;
    if (failing) throw new Error('bad subscriber');
  });
  const good: number[] = [];
  bus.subscribe('t', (e: Ev) => void good.push(e.sequence));
  for (let i = 0; i < 9; i++) bus.publish('t', {});
  await settle();
  assert.equal(bus.getStats().subscribers[0]!.state, 'running', '9 outcomes: below the minimum sample');
  bus.publish('t', {});
  await settle();
  let sub = bus.getStats().subscribers[0]!;
  assert.equal(sub.state, 'quarantined');
  assert.equal(calls, 10);
  for (let i = 0; i < 5; i++) bus.publish('t', {});
  await settle();
  assert.equal(calls, 10, 'a quarantined subscriber is not called');
  assert.equal(bus.getStats().dropped.SUBSCRIBER_QUARANTINED, 5);
  assert.equal(good.length, 15, 'the healthy subscriber is unaffected');

  clock.advance(999);
  bus.publish('t', {});
  await settle();
  assert.equal(calls, 10, 'still cooling off');
  clock.advance(1);
  bus.publish('t', {}); // probe: fails
  await settle();
  assert.equal(calls, 11);
  sub = bus.getStats().subscribers[0]!;
  assert.equal(sub.state, 'quarantined');
  assert.equal(sub.quarantines, 2);

  clock.advance(1000);
  bus.publish('t', {});
  await settle();
  assert.equal(calls, 11, 'a failed probe doubles the cool-off (2000 ms now)');
  clock.advance(1000);
  failing = false;
  bus.publish('t', {}); // probe: succeeds
  bus.publish('t', {}); // same turn: the probe settled synchronously, so this one runs too
  await settle();
  assert.equal(calls, 13);
  sub = bus.getStats().subscribers[0]!;
  assert.equal(sub.state, 'running');
  assert.equal(sub.probing, false);
  await bus.close();
});

test('quarantine does not trigger at or below 50% failures', async () => {
  const { bus } = manualBus();
  let i = 0;
  bus.subscribe('t', () => {
    if (i++ % 2 === 1) throw new Error('every other one'); // S F S F ...: never more than half of any window
  });
  for (let k = 0; k < 200; k++) bus.publish('t', {});
  await settle();
  const sub = bus.getStats().subscribers[0]!;
  assert.equal(sub.state, 'running');
  assert.equal(sub.failed, 100);
  assert.equal(sub.delivered, 100);
  await bus.close();
});

test('an async subscriber that goes into quarantine loses its queued backlog, counted', async () => {
  const { bus } = manualBus({ quarantine: { minSamples: 2, windowSize: 4 } });
  bus.subscribe('t', async () => {
    await null;
    throw new Error('nope');
  });
  for (let i = 0; i < 10; i++) bus.publish('t', {});
  await settle();
  const st = bus.getStats();
  assert.equal(st.subscribers[0]!.state, 'quarantined');
  assert.equal(st.subscribers[0]!.failed, 2);
  assert.equal(st.dropped.SUBSCRIBER_QUARANTINED, 8);
  await bus.close();
});

test('unsubscribe stops delivery and counts what was queued for it', async () => {
  const { bus } = manualBus();
  const got: number[] = [];
  let release!: () => void;
  const sub = bus.subscribe('t', async (e: Ev) => {
    got.push(e.sequence);
    await new Promise<void>((r) => (release = r));
  });
  for (let i = 0; i < 5; i++) bus.publish('t', {});
  await settle();
  await sub.unsubscribe();
  release();
  bus.publish('t', {});
  await settle();
  assert.deepEqual(got, [1]);
  const st = bus.getStats();
  assert.equal(st.dropped.UNSUBSCRIBED, 4);
  assert.equal(st.dropped.NO_SUBSCRIBERS, 1);
  assert.equal(st.subscribers.length, 0);
  await bus.close();
});

test('a subscriber cannot corrupt what the next one sees (delivered events are frozen)', async () => {
  const { bus } = manualBus();
  const seen: unknown[] = [];
  bus.subscribe('t', (e: any) => {
    e.price = 0; // throws in strict mode: a failure of this subscriber only
  });
  bus.subscribe('t', (e: any) => void seen.push(e.price));
  bus.publish('t', { price: 5 });
  await settle();
  assert.deepEqual(seen, [5]);
  assert.equal(bus.getStats().subscribers[0]!.failed, 1);
  await bus.close();
});
