import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { SignalBus } from '../src/bus/index.ts';
import { natsUrlForTests, startNatsServer } from './support/nats.ts';
import { sleep, uniqueEngine, waitFor } from './support/engine.ts';

const shared = await natsUrlForTests();
after(() => shared.dispose());

/** Starts the subscriber process; collects the sequences it reports handling. */
function tradingProcess(args: string[], handled: number[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./fixtures/engine/subscriber-process.ts', import.meta.url).pathname, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let markReady: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') markReady();
    const m = /^handled (\d+)$/.exec(line);
    if (m) handled.push(Number(m[1]));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = () => {
    child.kill('SIGTERM');
    return exited;
  };
  return { ready, stop };
}

test('a process restarting under the same name gets what it missed, in order, and nothing it had handled', async () => {
  const opts = uniqueEngine(shared.url);
  const o = opts('feed');
  const feed = new SignalBus({ nats: o });
  await feed.ready();
  const args = [shared.url, 'strategy', o.subjectPrefix, o.stream, 'trade'];

  const before: number[] = [];
  const p1 = tradingProcess(args, before);
  await p1.ready;
  for (let n = 1; n <= 20; n++) feed.publish('trade', { sequence: n });
  await waitFor('the first process to handle 20', () => before.length === 20, 10_000);
  assert.equal(await p1.stop(), 0);

  for (let n = 21; n <= 40; n++) feed.publish('trade', { sequence: n });
  await waitFor('the feed to have 40 acknowledged', () => feed.getStats().engine!.published === 40);

  const afterRestart: number[] = [];
  const p2 = tradingProcess(args, afterRestart);
  await p2.ready;
  await waitFor('the restarted process to catch up', () => afterRestart.length === 20, 10_000);
  for (let n = 41; n <= 45; n++) feed.publish('trade', { sequence: n });
  await waitFor('the live tail', () => afterRestart.length === 25, 10_000);
  await sleep(100);
  assert.equal(await p2.stop(), 0);
  assert.deepEqual(
    before,
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    afterRestart,
    Array.from({ length: 25 }, (_, i) => i + 21),
  );
  await feed.close();
});

test('the engine stopped and restarted: local delivery goes on, the outbox drains after reconnect, nothing lost or doubled', async () => {
  const server = await startNatsServer();
  try {
    const opts = uniqueEngine(server.url);
    const feed = new SignalBus({ nats: opts('feed', { storage: 'file', publishTimeoutMs: 500 }) });
    const strat = new SignalBus({ nats: opts('strat', { storage: 'file' }) });
    await Promise.all([feed.ready(), strat.ready()]);
    const local: number[] = [];
    const remote: number[] = [];
    await feed.subscribe('t', (e) => void local.push(e.sequence)).ready;
    await strat.subscribe('t', (e) => void remote.push(e.sequence)).ready;
    for (let n = 1; n <= 10; n++) feed.publish('t', { sequence: n }, n % 5 === 0 ? 'critical' : 'normal');
    await waitFor('the first ten across', () => remote.length === 10);

    await server.stop();
    await waitFor('the feed to notice the outage', () => !feed.getStats().engine!.connected);
    for (let n = 11; n <= 30; n++) assert.equal(feed.publish('t', { sequence: n }), true);
    await waitFor('local delivery during the outage', () => local.length === 30);
    await sleep(50);
    assert.equal(feed.getStats().engine!.outboxDepth, 20, JSON.stringify(feed.getStats().engine));
    assert.equal(remote.length, 10);

    await server.restart();
    await waitFor(
      'the outbox to drain and the other process to catch up',
      () => remote.length === 30 && feed.getStats().engine!.outboxDepth === 0,
      15_000,
    );
    await sleep(200);
    const fs = feed.getStats().engine!;
    assert.ok(fs.reconnects >= 1);
    assert.equal(fs.connected, true);
    assert.deepEqual(
      local,
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      remote,
      Array.from({ length: 30 }, (_, i) => i + 1),
      JSON.stringify(strat.getStats().engine),
    );
    await Promise.all([feed.close(), strat.close()]);
  } finally {
    await server.dispose();
  }
});

test('the outbox is bounded while the engine is down: publish refuses beyond it, counted OUTBOX_FULL, and local delivery of what it took goes on', async () => {
  const server = await startNatsServer();
  try {
    const opts = uniqueEngine(server.url);
    const feed = new SignalBus({ nats: opts('feed', { outboxSize: 5, publishTimeoutMs: 300 }) });
    await feed.ready();
    const local: number[] = [];
    feed.subscribe('t', (e) => void local.push(e.sequence));
    await server.stop();
    await waitFor('the feed to notice the outage', () => !feed.getStats().engine!.connected);
    const accepted = Array.from({ length: 8 }, (_, i) => feed.publish('t', { sequence: i + 1 }));
    assert.deepEqual(accepted, [true, true, true, true, true, false, false, false]);
    await sleep(10);
    assert.deepEqual(local, [1, 2, 3, 4, 5]);
    const st = feed.getStats();
    assert.equal(st.engine!.outboxDepth, 5);
    assert.equal(st.engine!.dropped.OUTBOX_FULL, 3);
    // Refused before the bus took it: not published, so not delivered locally either.
    assert.equal(st.published, 5);
    await feed.close({ timeoutMs: 100 });
    assert.equal(feed.getStats().engine!.dropped.BUS_CLOSED, 5);
  } finally {
    await server.dispose();
  }
});

test('unsubscribing while the engine is down: the consumer that could not be removed is counted and logged, the unsubscribe still completes', async () => {
  const server = await startNatsServer();
  try {
    const opts = uniqueEngine(server.url);
    const warnings: unknown[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (o: unknown) => void warnings.push(o),
      error() {},
      fatal() {},
      child() {
        return logger;
      },
    };
    const bus = new SignalBus({ nats: opts('strat'), logger: logger as never });
    await bus.ready();
    const sub = bus.subscribe('t', () => {});
    await sub.ready;
    await server.stop();
    await waitFor('the bus to notice the outage', () => !bus.getStats().engine!.connected);
    await sub.unsubscribe();
    assert.equal(bus.getStats().engine!.consumersLeftBehind, 1);
    assert.ok(
      warnings.some((w) => String((w as { consumer?: string }).consumer).startsWith('s_strat_t_1_')),
      'the consumer left behind is named in the log',
    );
    await bus.close({ timeoutMs: 100 });
  } finally {
    await server.dispose();
  }
});

test('a peer that accepts connections and never answers: ready() rejects ENGINE_UNREACHABLE after connectTimeoutMs', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const bus = new SignalBus({ nats: { servers: `nats://127.0.0.1:${port}`, name: 'feed', connectTimeoutMs: 300 } });
  await assert.rejects(bus.ready(), (e: unknown) => (e as { code?: string }).code === 'ENGINE_UNREACHABLE');
  // A subscription on a bus that never reached its engine made no consumer: none is left behind.
  const sub = bus.subscribe('t', () => {});
  sub.ready.catch(() => {});
  await sub.unsubscribe();
  assert.equal(bus.getStats().engine!.consumersLeftBehind, 0);
  await bus.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});
