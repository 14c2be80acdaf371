import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActorStoppedError, Supervisor, type DeadLetter } from '../src/runtime/index.ts';
import { ECHO, sharedLog, tick, until } from './fixtures/actors/support.ts';

/** Live handles by type, to compare before and after (workers, ports, timers, sockets). */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

test('shutdown drains mailboxes within drainMs, then terminates every worker and leaves no handle behind', async () => {
  const baseline = resources();
  const sup = new Supervisor({ spares: 2 });
  const log = sharedLog();
  const a = sup.spawn({ name: 'a', module: ECHO, init: { log: log.sab } });
  const b = sup.spawn({ name: 'b', module: ECHO, heartbeatMs: 50 });
  await Promise.all([a.ready, b.ready]);
  for (let i = 0; i < 20; i++) a.tell({ op: 'record', v: i });
  a.tell({ op: 'sleep', ms: 20 });
  b.tell({ op: 'sleep', ms: 20 });
  await sup.shutdown({ drainMs: 5000 });
  assert.equal(log.values().length, 20, 'queued work finished before the workers were terminated');
  assert.equal(a.stats.processed, 21);
  assert.equal(sup.getStats().deadLetters, 0);
  assert.equal(a.state, 'stopped');
  assert.equal(b.state, 'stopped');
  assert.equal(sup.getStats().workers.live, 0);
  assert.equal(sup.getStats().workers.spares, 0);
  await tick();
  const after = resources();
  for (const [type, n] of after)
    assert.ok(n <= (baseline.get(type) ?? 0), `leftover ${type}: ${n} (before: ${baseline.get(type) ?? 0})`);
});

test('shutdown past drainMs: pending asks reject ActorStoppedError, leftovers are dead-lettered, nothing accepted after', async () => {
  const baseline = resources();
  const sup = new Supervisor({ heartbeatMs: 0 });
  const dls: DeadLetter[] = [];
  sup.on('deadLetter', (d: DeadLetter) => dls.push(d));
  const ref = sup.spawn({ name: 'busy', module: ECHO });
  await ref.ready;
  const stuck = ref.ask({ op: 'sleep', ms: 60_000 });
  await tick();
  const queued = ref.ask('queued');
  ref.tell('queued tell');
  const done = sup.shutdown({ drainMs: 30 });
  assert.equal(sup.shutdown(), done, 'idempotent');
  assert.equal(ref.tell('after shutdown began'), false);
  await assert.rejects(stuck, ActorStoppedError);
  await assert.rejects(queued, ActorStoppedError);
  await done;
  assert.deepEqual(
    dls.map((d) => [d.message, d.reason]),
    [
      ['after shutdown began', 'shutdown'],
      [{ op: 'sleep', ms: 60_000 }, 'shutdown'],
      ['queued', 'shutdown'],
      ['queued tell', 'shutdown'],
    ],
  );
  assert.throws(() => sup.spawn({ name: 'late', module: ECHO }), ActorStoppedError);
  await tick();
  const after = resources();
  for (const [type, n] of after) assert.ok(n <= (baseline.get(type) ?? 0), `leftover ${type}: ${n}`);
});

test('shutdown while an actor is still starting or waiting out a restart backoff leaves nothing behind', async () => {
  const baseline = resources();
  const sup = new Supervisor({ heartbeatMs: 0, restartBackoff: { initialMs: 10_000 } });
  const ref = sup.spawn({ name: 'crashy', module: ECHO });
  await ref.ready;
  sup.injectFault('crashy', 'exit');
  await until(() => ref.stats.restarts === 1 && ref.state === 'running', 'first restart');
  sup.injectFault('crashy', 'exit');
  await until(() => ref.state === 'restarting' && ref.stats.crashes === 2, 'in backoff');
  const starting = sup.spawn({ name: 'starting', module: ECHO });
  const p = assert.rejects(ref.ask('waits for the restart'), ActorStoppedError);
  await sup.shutdown({ drainMs: 0 });
  await p;
  await assert.rejects(starting.ready, ActorStoppedError);
  await tick();
  const after = resources();
  for (const [type, n] of after) assert.ok(n <= (baseline.get(type) ?? 0), `leftover ${type}: ${n}`);
});
