import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignalBus } from '../src/bus/index.ts';
import { replaySignals, type ReplayedFrom } from '../src/engine/index.ts';
import { PalisadeError } from '../src/errors.ts';
import { natsUrlForTests } from './support/nats.ts';
import { sleep, uniqueEngine, waitFor } from './support/engine.ts';

const server = await natsUrlForTests();
after(() => server.dispose());

/** A stream holding ten signals on `t` (five, a pause, five), one on another topic, one not JSON. */
async function recordedLog() {
  const opts = uniqueEngine(server.url);
  const o = opts('feed');
  const feed = new SignalBus({ nats: o });
  await feed.ready();
  for (let n = 1; n <= 5; n++)
    feed.publish('t', { n, sequence: 100 + n, expiresAt: 1 }, n === 3 ? 'critical' : 'normal');
  feed.publish('other', { n: 0 });
  await waitFor('the first six stored', () => feed.getStats().engine!.published === 6);
  await sleep(30);
  const midway = new Date();
  await sleep(30);
  const nc = await connect({ servers: server.url });
  await jetstream(nc).publish(`${o.subjectPrefix}.t`, 'not json');
  await nc.close();
  for (let n = 6; n <= 10; n++) feed.publish('t', { n, sequence: 100 + n });
  await waitFor('all stored', () => feed.getStats().engine!.published === 11);
  await feed.close();
  return { o, midway };
}

test('replay from a stream sequence or a time reads the log back into a bus, in order, with where each event came from', async () => {
  const { o, midway } = await recordedLog();
  const nats = { servers: server.url, subjectPrefix: o.subjectPrefix, stream: o.stream };

  const bus = new SignalBus();
  const got: Array<{ n: number; priority: string; replayed: ReplayedFrom }> = [];
  bus.subscribe(
    't',
    async (e) => {
      await sleep(0); // a slow backtest handler sets the pace; nothing is shed
      got.push(e as never);
    },
    { mailboxSize: 64 },
  );
  const all = await replaySignals({ nats, topic: 't', from: 1, into: bus });
  await waitFor('all handled', () => got.length === 10);
  assert.equal(all.replayed, 10);
  assert.equal(all.skipped.NOT_JSON, 1);
  assert.deepEqual(
    got.map((e) => e.n),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(got[2]!.priority, 'critical');
  assert.equal(got[0]!.replayed.sequence, 101);
  assert.equal(got[0]!.replayed.publisher, 'feed');
  assert.equal(got[0]!.replayed.expiresAt, 1);
  assert.equal(bus.getStats().droppedEvents, 0);

  const later = new SignalBus();
  const fromTime: number[] = [];
  later.subscribe('t', (e) => void fromTime.push(e.n as number));
  const r = await replaySignals({ nats, topic: 't', from: midway, into: later });
  await sleep(10);
  assert.deepEqual(fromTime, [6, 7, 8, 9, 10]);
  assert.equal(r.skipped.NOT_JSON, 1);

  const fromSeq = new SignalBus();
  const tail: number[] = [];
  fromSeq.subscribe('t', (e) => void tail.push(e.n as number));
  await replaySignals({ nats, topic: 't', from: got[7]!.replayed.streamSequence, into: fromSeq, limit: 2 });
  await sleep(10);
  assert.deepEqual(tail, [8, 9]);
  await Promise.all([bus.close(), later.close(), fromSeq.close()]);
});

test('npm run replay prints the events as JSON lines and a summary; bad arguments exit 2', async () => {
  const { o } = await recordedLog();
  const script = new URL('../scripts/tools/replay.ts', import.meta.url).pathname;
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 20_000 });
  const ok = run([
    '--topic',
    't',
    '--from',
    '1',
    '--servers',
    server.url,
    '--stream',
    o.stream,
    '--prefix',
    o.subjectPrefix,
  ]);
  assert.equal(ok.status, 0, ok.stderr);
  const lines = ok.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { n: number });
  assert.deepEqual(
    lines.map((l) => l.n),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.match(ok.stderr, /"replayed":10/);
  // Each run starts a process; one bad argument stands for the rest (the API's checks are tested below).
  const bad = run(['--topic', 't', '--from', 'yesterday']);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /expected a stream sequence/);
  const missing = run(['--topic', 't', '--from', '1', '--servers', server.url, '--stream', 'NO_SUCH_STREAM']);
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /ENGINE_SETUP_FAILED/);
});

test('replay refuses bad arguments with typed errors', async () => {
  const typed = (code: string) => (e: unknown) => e instanceof PalisadeError && e.code === code;
  const bus = new SignalBus();
  const nats = { servers: server.url };
  await assert.rejects(replaySignals({ nats, topic: 't', from: 0, into: bus }), typed('CONFIG_INVALID'));
  await assert.rejects(replaySignals({ nats, topic: 't', from: NaN, into: bus }), typed('CONFIG_INVALID'));
  await assert.rejects(replaySignals({ nats, topic: 't', from: new Date('nope'), into: bus }), typed('CONFIG_INVALID'));
  await assert.rejects(replaySignals({ nats, topic: 't.>', from: 1, into: bus }), typed('INVALID_SUBJECT'));
  await assert.rejects(replaySignals({ nats, topic: 't', from: 1, into: {} as never }), typed('CONFIG_INVALID'));
  const engineBus = new SignalBus({ nats: uniqueEngine(server.url)('x') });
  await engineBus.ready();
  await assert.rejects(replaySignals({ nats, topic: 't', from: 1, into: engineBus }), typed('CONFIG_INVALID'));
  await engineBus.close();
  await bus.close();
  await assert.rejects(replaySignals({ nats, topic: 't', from: 1, into: bus }), typed('ENGINE_CLOSED'));
});
