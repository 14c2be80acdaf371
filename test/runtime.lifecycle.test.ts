// The supervisor's life cycle: what keeps the process alive, every order of spawn / tell / ask /
// restart / stop / shutdown, message deadlines, asks cancelled before they run, and stopped
// actors forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ManualClock } from '../src/clock.ts';
import { ConfigError } from '../src/errors.ts';
import {
  ActorCrashedError,
  ActorError,
  ActorStoppedError,
  AskTimeoutError,
  Supervisor,
  type ActorRef,
  type CrashInfo,
  type DeadLetter,
} from '../src/runtime/index.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';
import { ECHO, sharedLog, tempModule, tick, until } from './fixtures/actors/support.ts';

const FILE = 'test/runtime.lifecycle.test.ts';

function runScript(
  name: string,
  body: string,
): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const runtime = fileURLToPath(new URL('../src/runtime/index.ts', import.meta.url));
  const actor = fileURLToPath(ECHO);
  const script = tempModule(
    name,
    `import { Supervisor } from ${JSON.stringify(runtime)};\nconst ECHO = ${JSON.stringify(actor)};\n${body}`,
  );
  return spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: process.cwd(),
  });
}

test('pending work keeps the process alive: an ask awaited while its actor restarts (after a cold spawn, and in backoff) is answered', () => {
  // Top-level awaits: if nothing holds the event loop while the actor has no worker, node exits with 13.
  const r = runScript(
    'restart-alive.mts',
    `const sup = new Supervisor({ heartbeatMs: 0, spares: 0, restartBackoff: { initialMs: 200, jitter: 0 } });
const idle = () => new Promise((r) => setTimeout(r, 100)); // long enough for an idle worker to be unref'd
const ref = sup.spawn({ name: 'a', module: ECHO });
await ref.ready;
await idle();
sup.injectFault('a', 'exit');            // first crash: restarted at once, on a cold spawn (no spares)
console.log('after cold restart:', await ref.ask('one'));
await idle();
sup.injectFault('a', 'exit');            // second crash within the window: restarted after the backoff
await new Promise((r) => ref.once('state', r));
ref.tell('queued tell');
console.log('during backoff:', ref.state, await ref.ask('two'));
// no shutdown(): once idle, the process must still exit by itself
`,
  );
  assert.equal(r.error, undefined, `child did not exit by itself: ${String(r.error)}`);
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stdout, /after cold restart: one/);
  assert.match(r.stdout, /during backoff: restarting two/);
});

test('every order of spawn, tell, ask, restart, stop and shutdown is safe; spawn after shutdown is a typed error', async () => {
  // Warm the module memo first: a second supervisor then resolves its host within microtasks,
  // which is when a shutdown right after spawn used to find no worker pool.
  const warm = new Supervisor({ heartbeatMs: 0, spares: 0 });
  await warm.spawn({ name: 'w', module: ECHO }).ready;
  await warm.shutdown();

  const op = fc.oneof(
    fc.constant({ t: 'spawn' as const }),
    fc.record({ t: fc.constant('tell' as const), actor: fc.nat(1) }),
    fc.record({ t: fc.constant('ask' as const), actor: fc.nat(1) }),
    fc.record({ t: fc.constant('restart' as const), actor: fc.nat(1) }),
    fc.record({ t: fc.constant('stop' as const), actor: fc.nat(1) }),
    fc.record({ t: fc.constant('shutdown' as const), drainMs: fc.constantFrom(0, 3000) }),
    fc.constant({ t: 'tick' as const }),
  );
  type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;
  // The order that used to kill the host: tells queued, then a draining shutdown before the host was ready.
  const usedToCrash: Op[] = [{ t: 'spawn' }, { t: 'tell', actor: 0 }, { t: 'shutdown', drainMs: 3000 }];
  const uncaught: unknown[] = [];
  const onError = (e: unknown): void => {
    uncaught.push(e);
  };
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  try {
    await assertProperty(
      FILE,
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
        const sup = new Supervisor({ heartbeatMs: 0, spares: 0 });
        const refs: ActorRef[] = [];
        const asks: Promise<{ value: unknown } | { error: unknown }>[] = [];
        const shutdowns: Promise<void>[] = [];
        let shutDown = false;
        for (const o of ops) {
          const ref = 'actor' in o ? refs[o.actor % Math.max(1, refs.length)] : undefined;
          switch (o.t) {
            case 'spawn':
              if (shutDown) {
                assert.throws(
                  () => sup.spawn({ name: `a${refs.length}`, module: ECHO }),
                  (e: unknown) => e instanceof ActorStoppedError && e.code === 'ACTOR_STOPPED',
                );
              } else {
                refs.push(sup.spawn({ name: `a${refs.length}`, module: ECHO }));
              }
              break;
            case 'tell':
              ref?.tell('t');
              break;
            case 'ask':
              if (ref)
                asks.push(
                  ref.ask('q', { timeoutMs: 0 }).then(
                    (value) => ({ value }),
                    (error: unknown) => ({ error }),
                  ),
                );
              break;
            case 'restart':
              // A stopped actor is forgotten: its name is then unknown to the supervisor (a typed error).
              if (ref && ref.state === 'stopped')
                assert.throws(() => sup.injectFault(ref.name, 'terminate'), ConfigError);
              else if (ref) sup.injectFault(ref.name, 'terminate');
              break;
            case 'stop':
              if (ref) shutdowns.push(ref.stop());
              break;
            case 'shutdown':
              shutDown = true;
              shutdowns.push(sup.shutdown({ drainMs: o.drainMs }));
              break;
            case 'tick':
              await tick();
              break;
          }
        }
        for (const r of refs) r.ready.catch(() => {});
        shutdowns.push(sup.shutdown({ drainMs: 0 }));
        await Promise.all(shutdowns);
        for (const o of await Promise.all(asks)) {
          if ('error' in o) assert.ok(o.error instanceof ActorError, `an ask rejected with ${String(o.error)}`);
          else assert.equal(o.value, 'q');
        }
        assert.equal(sup.getStats().workers.live, 0, 'no worker left running');
        await tick();
        assert.deepEqual(uncaught, [], 'nothing was thrown outside a caller');
      }),
      fuzzParams(12, { examples: [[usedToCrash]] }),
    );
  } finally {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  }
});

test('a message past its deadline (messageTimeoutMs) makes the actor hung: killed, restarted, the message handled by the crash rules', async () => {
  const clock = new ManualClock();
  const sup = new Supervisor({ clock, heartbeatMs: 0 });
  try {
    const log = sharedLog();
    const ref = sup.spawn({
      name: 'stuck',
      module: ECHO,
      messageTimeoutMs: 1000,
      maxAttempts: 1,
      init: { log: log.sab },
    });
    await ref.ready;
    const crashes: CrashInfo[] = [];
    ref.on('crash', (c: CrashInfo) => crashes.push(c));
    const never = ref.ask({ op: 'never', mark: 1 }, { timeoutMs: 0 });
    const rejected = assert.rejects(never, (e: unknown) => e instanceof ActorCrashedError && e.kind === 'hang');
    await until(() => log.values().length === 1, 'the handler has started');
    clock.advance(999);
    await tick();
    assert.equal(crashes.length, 0, 'not before the deadline');
    for (let i = 0; i < 8; i++) {
      clock.advance(250);
      await tick();
    }
    await until(() => crashes.length === 1, 'the actor is found hung');
    await rejected;
    assert.equal(crashes.length, 1);
    assert.equal(crashes[0]!.kind, 'hang');
    assert.match(crashes[0]!.detail, /messageTimeoutMs/);
    assert.equal(ref.stats.deadLettersByReason['max-attempts'], 1);
    assert.equal(await ref.ask('after', { timeoutMs: 0 }), 'after', 'the restarted actor serves again');
    // An ask may set its own, shorter deadline.
    const own = ref.ask({ op: 'never', mark: 2 }, { timeoutMs: 0, messageTimeoutMs: 100 });
    const ownRejected = assert.rejects(own, ActorCrashedError);
    await until(() => log.values().length === 2, 'the second handler has started');
    for (let i = 0; i < 8; i++) {
      clock.advance(50);
      await tick();
    }
    await until(() => crashes.length === 2, "the actor is found hung on the ask's own deadline");
    await ownRejected;
    assert.equal(crashes.length, 2);
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('an ask that timed out while handed to a busy worker is never run there (cancelled before it starts)', async () => {
  const clock = new ManualClock();
  const sup = new Supervisor({ clock, heartbeatMs: 0 });
  try {
    const log = sharedLog();
    const dls: DeadLetter[] = [];
    sup.on('deadLetter', (d: DeadLetter) => dls.push(d));
    const ref = sup.spawn({ name: 'busy', module: ECHO, init: { log: log.sab } });
    await ref.ready;
    // Fast messages first: the measured service time opens the in-flight window beyond one.
    for (let i = 0; i < 50; i++) await ref.ask(i);
    const slow = ref.ask({ op: 'sleep', ms: 150, mark: 1 }, { timeoutMs: 0 });
    const doomed = ref.ask({ op: 'record', v: 99 }, { timeoutMs: 100 });
    assert.equal(ref.stats.inFlight, 2, 'both were handed to the worker (precondition)');
    const timedOut = assert.rejects(doomed, AskTimeoutError);
    await until(() => log.values().includes(1), 'the slow message has started');
    clock.advance(100);
    await timedOut;
    await slow;
    await until(() => ref.pending === 0, 'the worker has caught up');
    assert.equal(await ref.ask({ op: 'record', v: 2 }), undefined);
    assert.deepEqual(log.values(), [1, 2], 'the timed-out ask never ran');
    assert.deepEqual(
      dls.map((d) => [d.message, d.reason]),
      [[{ op: 'record', v: 99 }, 'ask-timeout']],
    );
    assert.equal(ref.stats.processed, 50 + 2, 'the cancelled ask is a dead letter, not processed');
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});

test('the supervisor forgets stopped actors (spawn/stop churn does not grow it); its totals keep what they did', async () => {
  const sup = new Supervisor({ heartbeatMs: 0 });
  try {
    const first = sup.spawn({ name: 'churn-0', module: ECHO });
    await first.ready;
    sup.injectFault('churn-0', 'exit');
    await until(() => first.stats.restarts === 1 && first.state === 'running', 'restarted');
    await first.stop();
    for (let i = 1; i <= 30; i++) {
      const ref = sup.spawn({ name: `churn-${i}`, module: ECHO });
      if (i % 3 === 0) await ref.ready;
      ref.tell('x');
      await ref.stop();
    }
    const failed = sup.spawn({ name: 'bad', module: new URL('./fixtures/actors/missing.ts', import.meta.url) });
    await assert.rejects(failed.ready);
    const stats = sup.getStats();
    assert.deepEqual(
      stats.actors.map((a) => a.name),
      [],
      'no stopped actor is kept',
    );
    assert.equal(stats.crashes, 1, 'a forgotten actor still counts in the totals');
    assert.equal(stats.restarts, 1);
    const kept = sup.spawn({ name: 'churn-0', module: ECHO });
    await kept.ready;
    assert.deepEqual(
      sup.getStats().actors.map((a) => a.name),
      ['churn-0'],
    );
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});
