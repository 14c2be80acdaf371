// Crash detection and recovery: a crash-kind × restart-strategy matrix (as Erlang/OTP's
// supervisor suite does), no loss and order kept across restarts (as Akka's supervision spec
// checks), poison messages, restart intensity → quarantine → revive, and backoff.
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { ManualClock } from '../src/clock.ts';
import { silentLogger } from '../src/log/index.ts';
import { ActorCell, type CellContext } from '../src/runtime/actor.ts';
import * as P from '../src/runtime/protocol.ts';
import {
  ActorCrashedError,
  ActorQuarantinedError,
  Supervisor,
  type CrashKind,
  type DeadLetter,
  type RestartStrategy,
  type SpawnOptions,
} from '../src/runtime/index.ts';
import { ECHO, capturingLogger, sharedLog, sleep, tick, until } from './fixtures/actors/support.ts';

type Trigger = { how: 'message'; op: 'uncaught' | 'rejection' | 'exit' | 'hang' | 'oom' } | { how: 'terminate' };
const KINDS: [string, Trigger, CrashKind, Partial<SpawnOptions>][] = [
  ['uncaught exception (async, in a timer)', { how: 'message', op: 'uncaught' }, 'uncaught', {}],
  ['unhandled rejection', { how: 'message', op: 'rejection' }, 'uncaught', {}],
  ['process.exit in the worker', { how: 'message', op: 'exit' }, 'exit', {}],
  ['worker.terminate() from outside', { how: 'terminate' }, 'terminated', {}],
  [
    'out of memory under resourceLimits',
    { how: 'message', op: 'oom' },
    'oom',
    { resourceLimits: { maxOldGenerationSizeMb: 24 } },
  ],
  ['hang (missed heartbeats)', { how: 'message', op: 'hang' }, 'hang', { heartbeatMs: 40 }],
];
const STRATEGIES: RestartStrategy[] = ['one_for_one', 'one_for_all'];

for (const strategy of STRATEGIES) {
  for (const [what, trigger, kind, extra] of KINDS) {
    test(`${strategy} × ${what}: in-flight message dead-lettered (maxAttempts 1), actor restarted, queued messages kept in order`, async () => {
      const sup = new Supervisor({ strategy, heartbeatMs: 0 });
      try {
        const log = sharedLog();
        const victim = sup.spawn({ name: 'victim', module: ECHO, maxAttempts: 1, init: { log: log.sab }, ...extra });
        const sibling = sup.spawn({ name: 'sibling', module: ECHO });
        await Promise.all([victim.ready, sibling.ready]);
        const crashes: { kind: string }[] = [];
        sup.on('crash', (c: { kind: string }) => crashes.push(c));

        for (let i = 1; i <= 5; i++) victim.tell({ op: 'record', v: i });
        const doomed =
          trigger.how === 'message'
            ? victim.ask({ op: 'crash', kind: trigger.op })
            : victim.ask({ op: 'sleep', ms: 60_000, mark: 0 });
        for (let i = 6; i <= 10; i++) victim.tell({ op: 'record', v: i });
        if (trigger.how === 'terminate') {
          await until(() => log.values().length === 6, 'the sleeping message has started');
          assert.equal(sup.injectFault('victim', 'terminate'), true);
        }
        await assert.rejects(doomed, (e: unknown) => {
          assert.ok(e instanceof ActorCrashedError, `got ${String(e)}`);
          assert.equal(e.kind, kind);
          assert.equal(e.attempts, 1);
          return true;
        });
        const expected =
          trigger.how === 'terminate' ? [1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        await until(() => log.values().length === expected.length, 'all ten records processed');
        assert.deepEqual(log.values(), expected);
        await until(() => victim.state === 'running', 'victim running again');
        const vs = victim.stats;
        assert.equal(vs.incarnation, 2);
        assert.equal(vs.restarts, 1);
        assert.deepEqual(vs.crashesByKind, { [kind]: 1 });
        assert.equal(vs.lastCrash?.kind, kind);
        assert.deepEqual(vs.deadLettersByReason, { 'max-attempts': 1 });
        assert.deepEqual(
          crashes.map((c) => c.kind),
          [kind],
        );
        assert.deepEqual(await victim.ask<{ incarnation: number }>({ op: 'info' }), { name: 'victim', incarnation: 2 });
        // Fresh module state: incarnation 2 has counted records 6-10, info and this count (not the 6 before the crash).
        assert.equal(await victim.ask({ op: 'count' }), 7, 'module state is fresh after a restart');

        await until(
          () => sibling.state === 'running' && sibling.stats.incarnation === (strategy === 'one_for_all' ? 2 : 1),
          'sibling incarnation',
        );
        assert.equal(sibling.stats.crashes, 0, 'a sibling restart is not a crash of the sibling');
        assert.equal(await sibling.ask('still here'), 'still here');
      } finally {
        await sup.shutdown({ drainMs: 0 });
      }
    });
  }
}

test('one_for_all: a sibling busy with a message gets it back without an attempt counted', async () => {
  const sup = new Supervisor({ strategy: 'one_for_all', heartbeatMs: 0 });
  try {
    const a = sup.spawn({ name: 'a', module: ECHO, maxAttempts: 1 });
    const b = sup.spawn({ name: 'b', module: ECHO, maxAttempts: 1 });
    await Promise.all([a.ready, b.ready]);
    const bWork = b.ask({ op: 'sleep', ms: 30, v: 'b done' });
    await tick();
    await assert.rejects(a.ask({ op: 'crash', kind: 'exit' }), ActorCrashedError);
    assert.equal(await bWork, 'b done', 're-delivered to the new incarnation of b');
    assert.equal(b.stats.deadLetters, 0);
    assert.equal(b.stats.incarnation, 2);
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('a crash retries the in-flight message (maxAttempts 2): it succeeds on the next incarnation, order kept', async () => {
  const sup = new Supervisor({ heartbeatMs: 0 });
  try {
    const log = sharedLog();
    const ref = sup.spawn({ name: 'retry', module: ECHO, init: { log: log.sab } });
    await ref.ready;
    ref.tell({ op: 'record', v: 1 });
    const p = ref.ask({ op: 'crash-until', incarnation: 2, kind: 'uncaught' });
    ref.tell({ op: 'record', v: 2 });
    assert.equal(await p, 'survived');
    await until(() => log.values().length === 2, 'both records');
    assert.deepEqual(log.values(), [1, 2]);
    assert.equal(ref.stats.deadLetters, 0);
    assert.equal(ref.stats.restarts, 1);
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('poison message: dead-lettered after maxAttempts (default 2) crashes; the actor is not quarantined under defaults', async () => {
  const { logger, lines } = capturingLogger();
  const sup = new Supervisor({ heartbeatMs: 0, logger });
  try {
    const log = sharedLog();
    const dls: DeadLetter[] = [];
    sup.on('deadLetter', (d: DeadLetter) => dls.push(d));
    const ref = sup.spawn({ name: 'poisoned', module: ECHO, init: { log: log.sab } });
    await ref.ready;
    ref.tell({ op: 'record', v: 1 });
    const poison = { op: 'crash', kind: 'exit' };
    const p = ref.ask(poison);
    ref.tell({ op: 'record', v: 2 });
    await assert.rejects(p, (e: unknown) => e instanceof ActorCrashedError && e.attempts === 2 && e.kind === 'exit');
    await until(() => log.values().length === 2, 'messages around the poison processed');
    assert.deepEqual(log.values(), [1, 2]);
    assert.equal(ref.state, 'running');
    const s = ref.stats;
    assert.equal(s.crashes, 2);
    assert.equal(s.restarts, 2);
    assert.deepEqual(s.deadLettersByReason, { 'max-attempts': 1 });
    assert.equal(dls.length, 1);
    assert.deepEqual(dls[0]!.message, poison);
    assert.equal(dls[0]!.attempts, 2);
    assert.ok(dls[0]!.error instanceof ActorCrashedError);
    assert.ok(lines.some((l) => l['msg'] === 'palisade runtime: actor crashed' && l['kind'] === 'exit'));
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('no loss and order kept while the worker is killed repeatedly under load (at-least-once: only adjacent re-deliveries)', async () => {
  const sup = new Supervisor({ heartbeatMs: 0, maxRestarts: 100 });
  try {
    const log = sharedLog(20_000);
    const ref = sup.spawn({ name: 'load', module: ECHO, init: { log: log.sab }, mailboxSize: 10_000, maxAttempts: 5 });
    await ref.ready;
    const N = 3000;
    for (let i = 0; i < N; i++) ref.tell({ op: 'record', v: i });
    const kinds = ['terminate', 'exit', 'uncaught', 'unhandled-rejection', 'async-uncaught'] as const;
    for (const [i, k] of kinds.entries()) {
      await until(() => ref.state === 'running', 'running before the next fault');
      assert.equal(sup.injectFault('load', k), true);
      await until(() => ref.stats.crashes === i + 1, `${k} took effect`);
    }
    await until(() => ref.stats.processed + ref.stats.deadLetters === N, `all ${N} accounted for`, 20_000);
    const seen = log.values();
    const dedup = seen.filter((v, i) => i === 0 || v !== seen[i - 1]);
    assert.deepEqual(
      dedup,
      Array.from({ length: N }, (_, i) => i),
    );
    assert.equal(ref.stats.deadLetters, 0);
    assert.equal(ref.stats.crashes, kinds.length);
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('restart intensity (injected clock): more than maxRestarts within withinMs quarantines; revive() brings it back', async () => {
  const clock = new ManualClock();
  const { logger, lines } = capturingLogger();
  const sup = new Supervisor({
    clock,
    logger,
    heartbeatMs: 0,
    maxRestarts: 2,
    withinMs: 1000,
    restartBackoff: { initialMs: 0 },
  });
  try {
    const ref = sup.spawn({ name: 'fragile', module: ECHO });
    await ref.ready;
    const states: string[] = [];
    ref.on('state', (s: string) => states.push(s));
    const quarantines: unknown[] = [];
    sup.on('quarantine', (q: unknown) => quarantines.push(q));

    // Crashes spread wider than the window never add up.
    for (let i = 0; i < 4; i++) {
      sup.injectFault('fragile', 'exit');
      await until(() => ref.stats.crashes === i + 1 && ref.state === 'running', `crash ${i + 1} recovered`);
      clock.advance(1001);
    }
    assert.equal(ref.state, 'running');

    // Three inside the window: two restarts allowed, the third crash quarantines.
    for (let i = 0; i < 2; i++) {
      sup.injectFault('fragile', 'exit');
      await until(() => ref.stats.crashes === 5 + i && ref.state === 'running', 'recovered');
      clock.advance(10);
    }
    await ref.ask({ op: 'sleep', ms: 1 });
    const blocked = ref.ask({ op: 'sleep', ms: 60_000 });
    await tick();
    const queued = ref.ask('queued');
    sup.injectFault('fragile', 'terminate');
    await assert.rejects(queued, ActorQuarantinedError);
    await assert.rejects(blocked, (e: unknown) => e instanceof ActorCrashedError || e instanceof ActorQuarantinedError);
    assert.equal(ref.state, 'quarantined');
    assert.equal(quarantines.length, 1);
    assert.equal(sup.getStats().quarantined, 1);
    assert.ok((ref.stats.deadLettersByReason['quarantined'] ?? 0) >= 1);
    assert.equal(ref.tell('while quarantined'), false);
    assert.ok(lines.some((l) => /quarantined/.test(String(l['msg']))));

    assert.equal(ref.revive(), true);
    await until(() => ref.state === 'running', 'revived');
    assert.equal(await ref.ask('back'), 'back');
    assert.ok(states.includes('quarantined') && states.at(-1) === 'running');
    assert.equal(ref.revive(), false, 'only a quarantined actor can be revived');
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('restarts after the first are backed off with jitter (injected clock and random)', async () => {
  const clock = new ManualClock();
  const randoms = [0, 1];
  const sup = new Supervisor({
    clock,
    heartbeatMs: 0,
    maxRestarts: 10,
    restartBackoff: { initialMs: 1000, multiplier: 2, maxMs: 10_000, jitter: 0.5 },
    random: () => randoms.shift() ?? 0.5,
  });
  try {
    const ref = sup.spawn({ name: 'backoff', module: ECHO });
    await ref.ready;
    const delays: number[] = [];
    sup.on('restart', (r: { delayMs: number }) => delays.push(r.delayMs));

    sup.injectFault('backoff', 'exit');
    await until(() => ref.stats.restarts === 1 && ref.state === 'running', 'first restart is immediate');

    sup.injectFault('backoff', 'exit');
    await until(() => ref.state === 'restarting' && ref.stats.crashes === 2, 'second crash seen');
    ref.tell('waits in the mailbox during backoff');
    await sleep(30);
    assert.equal(ref.state, 'restarting', 'not restarted before the backoff delay');
    clock.advance(499);
    await sleep(10);
    assert.equal(ref.state, 'restarting');
    clock.advance(1);
    await until(() => ref.state === 'running', 'restarted after 500 ms of clock time');
    await until(() => ref.stats.processed === 1, 'the message that waited is processed');

    sup.injectFault('backoff', 'exit');
    await until(() => ref.stats.crashes === 3, 'third crash');
    clock.advance(2999);
    await sleep(10);
    assert.equal(ref.state, 'restarting');
    clock.advance(1);
    await until(() => ref.state === 'running', 'restarted after 3000 ms');
    assert.deepEqual(delays, [0, 500, 3000]);
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('faults injected into an idle actor, every kind: each is detected, classified and recovered with nothing dead-lettered', async () => {
  const clock = new ManualClock();
  const sup = new Supervisor({ clock, maxRestarts: 20, restartBackoff: { initialMs: 0 } });
  try {
    const ref = sup.spawn({
      name: 'target',
      module: ECHO,
      heartbeatMs: 100,
      resourceLimits: { maxOldGenerationSizeMb: 24 },
    });
    await ref.ready;
    const expected: Record<string, CrashKind> = {
      uncaught: 'uncaught',
      'async-uncaught': 'uncaught',
      'unhandled-rejection': 'uncaught',
      exit: 'exit',
      terminate: 'terminated',
      oom: 'oom',
      hang: 'hang',
    };
    let n = 0;
    for (const [fault, kind] of Object.entries(expected)) {
      await until(() => ref.state === 'running', 'running');
      assert.equal(sup.injectFault('target', fault as never), true);
      n++;
      if (fault === 'hang') {
        for (let i = 0; i < 4; i++) {
          await sleep(5);
          clock.advance(100);
        }
      }
      await until(() => ref.stats.crashes === n, `${fault} detected`);
      assert.equal(ref.stats.lastCrash?.kind, kind, fault);
      await until(() => ref.state === 'running', `${fault} recovered`);
      assert.equal(await ref.ask('ping'), 'ping');
    }
    assert.equal(ref.stats.deadLetters, 0);
    assert.ok(ref.stats.recovery.count >= 1);
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

// A worker being terminated may still have messages on their way: here an incarnation whose
// start timed out finishes loading and answers the envelope it was handed, after the host has
// already given that envelope (same seq, 1) to the next incarnation. Driven through ActorCell with
// fake workers so the interleaving is exact rather than a race.
test('messages from an abandoned incarnation are ignored: its late reply does not settle an ask now owned by the next one', async () => {
  class FakeWorker extends EventEmitter {
    readonly posted: unknown[][] = [];
    terminated = false;
    postMessage(m: unknown[]): void {
      this.posted.push(m);
    }
    terminate(): Promise<number> {
      this.terminated = true;
      setImmediate(() => this.emit('exit', 1));
      return Promise.resolve(1);
    }
    ref(): void {}
    unref(): void {}
    delivered(): number[] {
      return this.posted.filter((m) => m[0] === P.H_DELIVER1).map((m) => m[1] as number);
    }
  }
  const clock = new ManualClock();
  const workers: FakeWorker[] = [];
  const crashes: string[] = [];
  let cell!: ActorCell;
  const ctx: CellContext = {
    clock,
    logger: silentLogger,
    askTimeoutMs: 0,
    acquireWorker: () => {
      const w = new FakeWorker();
      workers.push(w);
      return w as unknown as Worker;
    },
    prewarmModule: () => {},
    scheduleIdleCheck: () => {},
    recordDeadLetter: () => {},
    onCrash: (_c, kind) => {
      crashes.push(kind);
      cell.restart(0);
    },
    onStateChange: () => {},
    isAccepting: () => true,
    holdProcess: () => {},
    onStopped: () => {},
  };
  cell = new ActorCell(
    {
      name: 'late',
      exportName: 'default',
      mailboxSize: 16,
      overflow: 'reject',
      heartbeatMs: 0,
      resourceLimits: undefined,
      maxAttempts: 3,
      init: undefined,
      startTimeoutMs: 1000,
      ringBytes: 0,
      messageTimeoutMs: 0,
    },
    ctx,
  );
  cell.start({ url: 'file:///late.mjs', path: '/late.mjs', exports: null });
  const w1 = workers[0]!;
  w1.emit('message', [P.W_LOADED, 1, 0]);
  await cell.ready;
  w1.emit('exit', 1); // incarnation 1 dies idle; incarnation 2 starts at once
  assert.deepEqual(crashes, ['exit']);
  const w2 = workers[1]!;

  let settled: unknown = 'pending';
  const answer = cell.ask('q').then((v) => (settled = v));
  await tick();
  assert.deepEqual(w2.delivered(), [1], 'the ask went out with incarnation 2 (seq 1)');
  clock.advance(1000); // incarnation 2 never reported loaded: abandoned, incarnation 3 gets the ask
  assert.deepEqual(crashes, ['exit', 'start-failed']);
  assert.equal(w2.terminated, true);
  const w3 = workers[2]!;
  assert.deepEqual(w3.delivered(), [1], 'the ask went out again with incarnation 3, also as seq 1');

  // Incarnation 2, being torn down, delivers what it posted just before: loaded, and a reply to seq 1.
  w2.emit('message', [P.W_LOADED, 2, 5]);
  w2.emit('message', [P.W_REPLY, 1, 'from the abandoned incarnation']);
  await tick();
  assert.equal(settled, 'pending', 'a reply from an older incarnation settles nothing');
  assert.equal(
    cell.ref.stats.state,
    'restarting',
    'a load report from an older incarnation does not mark the actor running',
  );

  w3.emit('message', [P.W_LOADED, 3, 1]);
  w3.emit('message', [P.W_REPLY, 1, 'from the current incarnation']);
  assert.equal(await answer, 'from the current incarnation');
  assert.equal(cell.ref.stats.state, 'running');
  assert.equal(cell.ref.stats.processed, 1);
  await cell.stop('stopped');
});
