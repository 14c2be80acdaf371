import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalBus, SignalBusError } from '../src/bus/index.ts';
import { PalisadeError } from '../src/errors.ts';
import { manualBus, settle } from './fixtures/bus/helpers.ts';

function nothingPublished(bus: SignalBus): void {
  const st = bus.getStats();
  assert.equal(st.published, 0);
  assert.equal(st.droppedEvents, 0);
  for (const t of st.topics) assert.equal(t.depth, 0);
}

test('bad topics, events and priorities are typed errors at the call, and nothing is published', async () => {
  const { bus } = manualBus();
  const cases: Array<[() => unknown, string]> = [
    [() => bus.publish('', {}), 'INVALID_TOPIC'],
    [() => bus.publish(42 as never, {}), 'INVALID_TOPIC'],
    [() => bus.publish(undefined as never, {}), 'INVALID_TOPIC'],
    [() => bus.publish('t', null as never), 'INVALID_EVENT'],
    [() => bus.publish('t', 'text' as never), 'INVALID_EVENT'],
    [() => bus.publish('t', [1, 2] as never), 'INVALID_EVENT'],
    [() => bus.publish('t', 7 as never), 'INVALID_EVENT'],
    [() => bus.publish('t', { sequence: -1 }), 'INVALID_EVENT'],
    [() => bus.publish('t', { sequence: 1.5 }), 'INVALID_EVENT'],
    [() => bus.publish('t', { sequence: '3' }), 'INVALID_EVENT'],
    [() => bus.publish('t', { timestamp: 'yesterday' }), 'INVALID_EVENT'],
    [() => bus.publish('t', { expiresAt: 'soon' }), 'INVALID_EVENT'],
    [() => bus.publish('t', {}, 'urgent' as never), 'INVALID_PRIORITY'],
    [() => bus.publish('t', {}, null as never), 'INVALID_PRIORITY'],
  ];
  for (const [call, code] of cases) {
    assert.throws(
      call,
      (e: unknown) => e instanceof SignalBusError && e instanceof PalisadeError && e.code === code,
      `expected ${code}`,
    );
  }
  nothingPublished(bus);
  await bus.close();
});

test('bad handlers and subscribe options are typed errors', async () => {
  const { bus } = manualBus();
  for (const h of [null, undefined, 42, 'fn', {}, { module: '' }, { module: 5 }, { module: './x.ts', export: 3 }]) {
    assert.throws(() => bus.subscribe('t', h as never), { code: 'INVALID_HANDLER' });
  }
  assert.throws(() => bus.subscribe('', () => {}), { code: 'INVALID_TOPIC' });
  assert.throws(() => bus.subscribe('t', () => {}, { mailboxSize: 0 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bus.subscribe('t', () => {}, { quarantine: { minSamples: 50, windowSize: 10 } }), {
    code: 'CONFIG_INVALID',
  });
  assert.equal(bus.getStats().subscribers.length, 0);
  await bus.close();
});

test('bad bus and topic options are ConfigErrors', () => {
  for (const o of [
    { maxQueueSize: 0 },
    { maxQueueSize: 1.5 },
    { maxSubscribers: -1 },
    { reorderWindowMs: -5 },
    { latencySampleEvery: 3 },
    { quarantine: { failureRate: 2 } },
  ]) {
    assert.throws(() => new SignalBus(o), { code: 'CONFIG_INVALID' });
  }
  const bus = new SignalBus();
  assert.throws(() => bus.configureTopic('t', { ttlMs: 0 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bus.configureTopic('t', { firstSequence: -2 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bus.configureTopic('', {}), { code: 'INVALID_TOPIC' });
});

test('maxSubscribers bounds the bus', async () => {
  const { bus } = manualBus({ maxSubscribers: 2 });
  bus.subscribe('a', () => {});
  const s = bus.subscribe('b', () => {});
  assert.throws(() => bus.subscribe('c', () => {}), { code: 'TOO_MANY_SUBSCRIBERS' });
  await s.unsubscribe();
  bus.subscribe('c', () => {});
  await bus.close();
});

test('events published to a topic nobody listens to are counted, not silently lost', async () => {
  const { bus } = manualBus();
  bus.publish('nobody', {});
  bus.publish('nobody', {}, 'critical');
  await settle();
  const st = bus.getStats();
  assert.equal(st.dropped.NO_SUBSCRIBERS, 2);
  assert.equal(st.byPriority.critical.dropped, 1);
  assert.equal(st.droppedEvents, 2);
  await bus.close();
});

test('close() delivers what was accepted (gaps given up), waits for async handlers, then refuses', async () => {
  const { bus } = manualBus();
  const got: number[] = [];
  bus.subscribe('t', async (e: { sequence: number }) => {
    await new Promise((r) => setTimeout(r, 5));
    got.push(e.sequence);
  });
  bus.publish('t', { sequence: 1 });
  bus.publish('t', { sequence: 2 });
  bus.publish('t', { sequence: 4 }); // 3 never comes
  await bus.close();
  assert.deepEqual(got, [1, 2, 4]);
  assert.equal(bus.publish('t', {}), false);
  const st = bus.getStats();
  assert.equal(st.closed, true);
  assert.equal(st.dropped.BUS_CLOSED, 1);
  assert.equal(st.sequencesSkipped, 1);
  assert.throws(() => bus.subscribe('t', () => {}), { code: 'BUS_CLOSED' });
  await bus.close(); // idempotent
});

test('close() gives up on a handler that never settles after its timeout, counting what is left', async () => {
  const { bus, clock } = manualBus();
  bus.subscribe('t', () => new Promise(() => {}));
  for (let i = 0; i < 4; i++) bus.publish('t', {});
  await settle();
  const closing = bus.close({ timeoutMs: 1000 });
  await settle();
  clock.advance(1000);
  await closing;
  const st = bus.getStats();
  assert.equal(st.dropped.BUS_CLOSED, 3, 'the three queued behind the stuck handler');
  assert.equal(clock.pendingTimers, 0, 'no timer left behind');
});

test('a handler can publish (to its own or another topic) and close the bus without breaking order', async () => {
  const { bus } = manualBus();
  const got: string[] = [];
  bus.subscribe('a', (e: { sequence: number }) => {
    got.push(`a${e.sequence}`);
    if (e.sequence < 3) bus.publish('a', {});
    bus.publish('b', {});
  });
  bus.subscribe('b', (e: { sequence: number }) => {
    got.push(`b${e.sequence}`);
    if (e.sequence === 3) void bus.close();
  });
  bus.publish('a', {});
  await settle();
  await bus.close();
  assert.deepEqual(
    got.filter((x) => x.startsWith('a')),
    ['a1', 'a2', 'a3'],
  );
  assert.deepEqual(
    got.filter((x) => x.startsWith('b')),
    ['b1', 'b2', 'b3'],
  );
});
