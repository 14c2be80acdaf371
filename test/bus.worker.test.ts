import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalBus } from '../src/bus/index.ts';
import { ManualClock } from '../src/clock.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { waitFor } from './fixtures/bus/helpers.ts';

const RECORDER = new URL('./fixtures/bus/recorder.ts', import.meta.url);

// Whatever a test opened is closed after it, even when it failed half-way (no worker outlives a test).
const opened: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  const closing = Promise.all(
    opened
      .splice(0)
      .reverse()
      .map((close) => close().catch(() => {})),
  );
  await Promise.race([closing, new Promise((r) => setTimeout(r, 10_000).unref())]);
});
function newBus(options: ConstructorParameters<typeof SignalBus>[0] = {}): SignalBus {
  const bus = new SignalBus(options);
  opened.push(() => bus.close());
  return bus;
}
function newSupervisor(): Supervisor {
  const supervisor = new Supervisor({ heartbeatMs: 0 });
  opened.push(() => supervisor.shutdown());
  return supervisor;
}

function sharedLog(capacity: number) {
  const log = new SharedArrayBuffer((capacity + 1) * 4);
  const flags = new SharedArrayBuffer(16);
  const a = new Int32Array(log);
  return { init: { log, flags }, values: () => Array.from(a.subarray(1, 1 + Atomics.load(a, 0))) };
}

test('a worker subscriber gets every event in sequence order, beside an inline one', { timeout: 30_000 }, async () => {
  const bus = newBus({ latencySampleEvery: 1 });
  const rec = sharedLog(5000);
  const inline: number[] = [];
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init });
  bus.subscribe('t', (e: { sequence: number }) => void inline.push(e.sequence));
  assert.equal(sub.kind, 'worker');
  await sub.ready;
  // Out of order and with mixed priorities: the worker must still see 1..N in order.
  const N = 3000;
  for (let s = N; s >= 1; s--)
    bus.publish('t', { sequence: s }, s % 7 === 0 ? 'critical' : s % 3 === 0 ? 'low' : 'normal');
  await waitFor(() => rec.values().length === N, 10_000, 'the worker to record every event');
  assert.deepEqual(
    rec.values(),
    Array.from({ length: N }, (_, i) => i + 1),
  );
  assert.deepEqual(
    inline,
    Array.from({ length: N }, (_, i) => i + 1),
  );
  await waitFor(() => bus.getStats().delivered === 2 * N, 5000, 'outcomes for every event');
  const st = bus.getStats();
  const w = st.subscribers.find((s) => s.kind === 'worker')!;
  assert.equal(w.delivered, N);
  assert.equal(w.state, 'running');
  assert.equal(st.droppedEvents, 0);
  assert.ok(st.workerLatency.count > 0, 'publish → worker outcome latency is measured');
  await bus.close();
  assert.equal(
    bus.getStats().subscribers[0]!.actor?.state,
    'stopped',
    'close stops the worker (and the bus-owned supervisor)',
  );
});

test('a worker subscriber crashing mid-stream is restarted and loses nothing', { timeout: 30_000 }, async () => {
  const supervisor = newSupervisor();
  const bus = newBus({ supervisor });
  const rec = sharedLog(5000);
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init, name: 'recorder' });
  await sub.ready;
  const N = 2000;
  for (let s = 1; s <= N; s++) bus.publish('t', s === 700 ? { crashOnce: true } : {});
  await waitFor(() => rec.values().length >= N, 15_000, 'every event recorded after the restart');
  assert.deepEqual(
    rec.values(),
    Array.from({ length: N }, (_, i) => i + 1),
    'in order, none lost, none twice',
  );
  await waitFor(() => bus.getStats().delivered === N, 5000, 'all outcomes');
  const st = bus.getStats();
  const w = st.subscribers[0]!;
  assert.equal(w.restarts, 1);
  assert.equal(w.actor!.crashes, 1);
  assert.equal(w.state, 'running');
  assert.equal(st.droppedEvents, 0);
  await bus.close();
  await supervisor.shutdown();
});

test('a poison event that crashes its worker on every delivery is dead-lettered and counted as WORKER_DEAD_LETTER; the rest go on', {
  timeout: 30_000,
}, async () => {
  const supervisor = newSupervisor();
  const bus = newBus({ supervisor });
  const rec = sharedLog(100);
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init, name: 'poisoned' });
  await sub.ready;
  for (let s = 1; s <= 5; s++) bus.publish('t', s === 3 ? { poison: true } : {});
  await waitFor(() => rec.values().length === 4, 15_000, 'the four healthy events recorded');
  // Outcomes reach the bus a little after the worker records (acks are batched): wait for them.
  await waitFor(
    () => {
      const st = bus.getStats();
      return (st.dropped.WORKER_DEAD_LETTER ?? 0) === 1 && st.subscribers[0]!.delivered === 4;
    },
    5000,
    'the poison event counted and the four outcomes in',
  );
  assert.deepEqual(rec.values(), [1, 2, 4, 5], 'in order, the poison event never recorded');
  const st = bus.getStats();
  const w = st.subscribers[0]!;
  assert.equal(w.dropped, 1);
  assert.equal(w.delivered, 4);
  assert.equal(w.restarts, 2, 'maxAttempts 2: two deliveries, two crashes, then the dead letter');
  assert.equal(w.state, 'running', 'one poison event does not quarantine its subscriber');
  assert.equal(st.droppedEvents, 1);
  await bus.close();
  await supervisor.shutdown();
});

test('a busy worker subscriber sheds overflow from its bounded mailbox, counted as SUBSCRIBER_MAILBOX_FULL; every event accounted for', {
  timeout: 30_000,
}, async () => {
  const supervisor = newSupervisor();
  const bus = newBus({ supervisor });
  const rec = sharedLog(10_000);
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init, name: 'busy', mailboxSize: 2 });
  await sub.ready;
  // The first event keeps the worker busy while the rest arrive in the same turn: far more than
  // the runtime's credit window plus a mailbox of 2 can hold.
  const N = 5000;
  bus.publish('t', { spinMs: 300 });
  for (let s = 2; s <= N; s++) bus.publish('t', {});
  await waitFor(
    () => {
      const w = bus.getStats().subscribers[0]!;
      return w.delivered + w.dropped === N;
    },
    15_000,
    'every event delivered or dropped',
  );
  const st = bus.getStats();
  const w = st.subscribers[0]!;
  assert.ok((st.dropped.SUBSCRIBER_MAILBOX_FULL ?? 0) > 0, 'overflow was shed');
  assert.equal(st.dropped.SUBSCRIBER_MAILBOX_FULL, w.dropped, 'every drop has this reason');
  assert.equal(st.droppedEvents, w.dropped);
  const seen = rec.values();
  assert.equal(seen.length, w.delivered);
  assert.ok(
    seen.every((v, i) => i === 0 || v > seen[i - 1]!),
    'what was delivered is in sequence order',
  );
  await bus.close();
  await supervisor.shutdown();
});

test('events queued for a worker survive a kill from outside while it is busy', { timeout: 30_000 }, async () => {
  const supervisor = newSupervisor();
  const bus = newBus({ supervisor });
  const rec = sharedLog(2000);
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init, name: 'busy-recorder' });
  await sub.ready;
  const N = 1500;
  for (let s = 1; s <= N; s++) bus.publish('t', s % 100 === 0 ? { spinMs: 2 } : {});
  await waitFor(() => rec.values().length > 200, 10_000, 'the worker to be under way');
  assert.equal(supervisor.injectFault('busy-recorder', 'terminate'), true);
  await waitFor(
    () => bus.getStats().delivered + bus.getStats().droppedEvents >= N,
    15_000,
    'every event accounted for',
  );
  const vals = rec.values();
  // Delivery across a crash is at-least-once: the message executing at the kill may run again.
  const distinct = [...new Set(vals)];
  assert.deepEqual(
    distinct,
    Array.from({ length: N }, (_, i) => i + 1),
    'every event, in order',
  );
  const st = bus.getStats();
  assert.equal(st.droppedEvents, 0);
  assert.ok(st.subscribers[0]!.restarts >= 1);
  await bus.close();
  await supervisor.shutdown();
});

test('an event a worker cannot receive is refused at publish with EVENT_NOT_CLONEABLE; nothing half-published', {
  timeout: 30_000,
}, async () => {
  const bus = newBus();
  const rec = sharedLog(10);
  const inline: unknown[] = [];
  bus.subscribe('t', (e) => void inline.push(e));
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init });
  await sub.ready;
  assert.throws(() => bus.publish('t', { callback: () => 1 }), { code: 'EVENT_NOT_CLONEABLE' });
  assert.throws(() => bus.publish('t', { deep: { list: [1, Symbol('x')] } }), { code: 'EVENT_NOT_CLONEABLE' });
  assert.throws(() => bus.publish('t', { p: Promise.resolve(1) }), { code: 'EVENT_NOT_CLONEABLE' });
  assert.equal(bus.getStats().published, 0);
  assert.equal(bus.publish('t', { when: new Date(0), big: 10n, map: new Map([[1, { a: 1 }]]) }), true);
  await waitFor(() => rec.values().length === 1, 5000, 'the good event');
  assert.equal(inline.length, 1);
  await bus.close();
});

test('a worker subscriber that cannot start: ready rejects, it is stopped, events for it are counted', {
  timeout: 30_000,
}, async () => {
  const bus = newBus();
  const sub = bus.subscribe('t', { module: new URL('./fixtures/bus/does-not-exist.ts', import.meta.url) });
  await assert.rejects(sub.ready, { code: 'ACTOR_START_FAILED' });
  bus.publish('t', {});
  await waitFor(() => bus.getStats().droppedEvents === 1, 2000, 'the drop');
  const st = bus.getStats();
  assert.equal(st.subscribers[0]!.state, 'stopped');
  assert.equal(st.dropped.SUBSCRIBER_STOPPED, 1);
  await bus.close();
});

test('a worker handler failing most of the time is quarantined by the bus', { timeout: 30_000 }, async () => {
  const bus = newBus({ quarantine: { minSamples: 4, windowSize: 8, cooloffMs: 60_000 } });
  const rec = sharedLog(100);
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init });
  await sub.ready;
  for (let i = 0; i < 20; i++) bus.publish('t', { fail: true });
  await waitFor(() => bus.getStats().subscribers[0]!.state === 'quarantined', 5000, 'quarantine');
  // Events already handed to the runtime still run (and fail); later ones are not sent at all.
  await waitFor(() => bus.getStats().failed + bus.getStats().droppedEvents === 20, 5000, 'the first 20 accounted for');
  for (let i = 0; i < 5; i++) bus.publish('t', {});
  await waitFor(() => bus.getStats().failed + bus.getStats().droppedEvents === 25, 5000, 'all 25 accounted for');
  const st = bus.getStats();
  assert.ok(st.failed >= 4);
  assert.ok(st.dropped.SUBSCRIBER_QUARANTINED >= 5);
  assert.equal(st.subscribers[0]!.quarantines, 1);
  assert.deepEqual(rec.values(), [], 'the healthy-looking events after quarantine never reached the worker');
  await bus.close();
});

test('an event expired by the time it would be handed to a worker subscriber is dropped as EXPIRED, counted, never sent', {
  timeout: 30_000,
}, async () => {
  const supervisor = newSupervisor();
  const clock = new ManualClock();
  const bus = newBus({ supervisor, clock });
  const rec = sharedLog(10);
  // mailboxSize 2: two events in the runtime at a time, the rest wait on the host, where expiry is checked.
  const sub = bus.subscribe('t', { module: RECORDER }, { init: rec.init, mailboxSize: 2 });
  await sub.ready;
  const now = clock.now();
  bus.publish('t', {});
  bus.publish('t', {});
  bus.publish('t', { expiresAt: now + 100 });
  bus.publish('t', {});
  // Dispatch runs in a later microtask, so every hand-over to the worker happens after this: event 3 is too old by then.
  clock.advance(200);
  // Event 4 is handed over only after event 3 was checked, so once 4 is delivered the drop of 3 has been counted.
  await waitFor(() => bus.getStats().delivered === 3, 10_000, 'events 1, 2 and 4 delivered');
  assert.deepEqual(rec.values(), [1, 2, 4], 'the expired event never reached the worker; order kept');
  const st = bus.getStats();
  assert.equal(st.dropped.EXPIRED, 1);
  assert.equal(st.droppedEvents, 1);
  assert.equal(st.delivered, 3);
  assert.equal(st.subscribers[0]!.dropped, 1);
  await bus.close();
});
