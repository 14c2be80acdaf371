import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualBus, settle } from './fixtures/bus/helpers.ts';

type Ev = { tag: string; sequence: number };

test('an event past expiresAt when it would be dispatched is dropped (EXPIRED), never delivered late', async () => {
  const { bus, clock } = manualBus();
  const got: string[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.tag));
  const now = clock.now();
  bus.publish('t', { tag: 'fresh', expiresAt: now + 100 });
  bus.publish('t', { tag: 'already-expired', expiresAt: now });
  bus.publish('t', { tag: 'no-expiry' });
  await settle();
  assert.deepEqual(got, ['fresh', 'no-expiry']);
  assert.equal(bus.getStats().dropped.EXPIRED, 1);
  await bus.close();
});

test('events that expire while waiting behind a slow subscriber are dropped for it only', async () => {
  const { bus, clock } = manualBus();
  const fast: string[] = [];
  const slow: string[] = [];
  let release!: () => void;
  bus.subscribe('t', (e: Ev) => void fast.push(e.tag));
  bus.subscribe('t', async (e: Ev) => {
    slow.push(e.tag);
    if (e.tag === 'a') await new Promise<void>((r) => (release = r));
  });
  const now = clock.now();
  bus.publish('t', { tag: 'a' });
  bus.publish('t', { tag: 'b', expiresAt: now + 50 });
  bus.publish('t', { tag: 'c', expiresAt: now + 500 });
  await settle();
  assert.deepEqual(fast, ['a', 'b', 'c']);
  clock.advance(100); // b expires while the slow subscriber is still on a
  release();
  await settle();
  assert.deepEqual(slow, ['a', 'c']);
  const st = bus.getStats();
  assert.equal(st.dropped.EXPIRED, 1);
  assert.equal(st.subscribers[1]!.dropped, 1);
  assert.equal(st.subscribers[0]!.dropped, 0);
  await bus.close();
});

test('a topic default TTL applies from the event timestamp; an explicit expiresAt overrides it', async () => {
  const { bus, clock } = manualBus();
  bus.configureTopic('prices', { ttlMs: 200 });
  const got: string[] = [];
  let release!: () => void;
  bus.subscribe('prices', async (e: Ev) => {
    got.push(e.tag);
    if (e.tag === 'blocker') await new Promise<void>((r) => (release = r));
  });
  const now = clock.now();
  bus.publish('prices', { tag: 'blocker' });
  bus.publish('prices', { tag: 'ttl' }); // expires at now + 200
  bus.publish('prices', { tag: 'old-timestamp', timestamp: now - 150 }); // expires at now + 50
  bus.publish('prices', { tag: 'long', expiresAt: now + 10_000 });
  await settle();
  clock.advance(100);
  release();
  await settle();
  assert.deepEqual(got, ['blocker', 'ttl', 'long']);
  assert.equal(bus.getStats().dropped.EXPIRED, 1);
  clock.advance(1000);
  await bus.close();
});

test('a stale signal behind a sequence gap expires instead of being delivered after the window', async () => {
  const { bus, clock } = manualBus({ reorderWindowMs: 50 });
  const got: number[] = [];
  bus.subscribe('t', (e: Ev) => void got.push(e.sequence));
  const now = clock.now();
  bus.publish('t', { sequence: 1 });
  bus.publish('t', { sequence: 3, expiresAt: now + 20 }); // waits for 2, then is too old
  bus.publish('t', { sequence: 4, expiresAt: now + 1000 });
  await settle();
  clock.advance(50);
  await settle();
  assert.deepEqual(got, [1, 4]);
  assert.equal(bus.getStats().dropped.EXPIRED, 1);
  await bus.close();
});
