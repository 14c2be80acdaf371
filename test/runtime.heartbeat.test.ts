// Hang detection by heartbeats, driven by an injected clock: a worker whose event loop does not
// answer HEARTBEAT_MISSES pings in a row is terminated and restarted; a busy-but-async actor is not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { ActorCrashedError, Supervisor, type ActorRef } from '../src/runtime/index.ts';
import { ECHO, sharedLog, sleep, tick, until } from './fixtures/actors/support.ts';

const HB = 100;
const clock = new ManualClock();
const log = sharedLog();
let sup: Supervisor;
let ref: ActorRef;
before(async () => {
  sup = new Supervisor({ clock, restartBackoff: { initialMs: 0 } });
  ref = sup.spawn({ name: 'hb', module: ECHO, heartbeatMs: HB, maxAttempts: 1, init: { log: log.sab } });
  await ref.ready;
});
after(() => sup.shutdown({ drainMs: 0 }));

/** One heartbeat period of clock time, then wait until the worker has answered the ping. */
async function beatAndWaitForPong(): Promise<void> {
  const answered = ref.stats.heartbeats.answered;
  clock.advance(HB);
  await until(() => ref.stats.heartbeats.answered === answered + 1, 'pong');
}

test('a healthy actor answers every heartbeat, even while an async handler is awaiting', async () => {
  const slow = ref.ask({ op: 'sleep', ms: 150, v: 'slow done' });
  await tick();
  for (let i = 0; i < 6; i++) await beatAndWaitForPong();
  assert.equal(await slow, 'slow done');
  const s = ref.stats;
  assert.ok(s.heartbeats.sent >= 6);
  assert.equal(s.crashes, 0);
  assert.equal(s.incarnation, 1);
});

test('a hung worker (busy loop in the handler) is terminated after missed heartbeats and restarted', async () => {
  const hung = ref.ask({ op: 'crash', kind: 'hang', mark: 1 });
  ref.tell({ op: 'echo', v: 'queued behind the hang' });
  await until(() => log.values().includes(1), 'the worker entered the busy loop');
  clock.advance(HB); // ping sent, never answered
  clock.advance(HB); // missed 1
  clock.advance(HB); // missed 2
  await sleep(10);
  assert.equal(ref.stats.crashes, 0, 'not yet: fewer misses than the limit');
  assert.equal(ref.state, 'running');
  clock.advance(HB); // missed 3 → terminate
  await assert.rejects(hung, (e: unknown) => e instanceof ActorCrashedError && e.kind === 'hang');
  await until(() => ref.state === 'running' && ref.stats.processed >= 1, 'restarted and processing');
  assert.equal(ref.stats.lastCrash?.kind, 'hang');
  assert.equal(ref.stats.incarnation, 2);
  assert.equal(await ref.ask('alive'), 'alive');
  // heartbeats resume on the new incarnation
  const sent = ref.stats.heartbeats.sent;
  await beatAndWaitForPong();
  assert.equal(ref.stats.heartbeats.sent, sent + 1);
});

test('heartbeatMs 0 disables heartbeats', async () => {
  const quiet = sup.spawn({ name: 'quiet', module: ECHO, heartbeatMs: 0 });
  await quiet.ready;
  clock.advance(HB * 10);
  await tick();
  assert.equal(quiet.stats.heartbeats.sent, 0);
  assert.throws(() => sup.injectFault('quiet', 'hang'), /heartbeat/);
});
