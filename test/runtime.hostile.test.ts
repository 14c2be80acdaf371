// Hostile input at the runtime's boundary: spawn and its options, the supervisor's options, ask
// and tell options, messages and replies that cannot cross a thread, and a closed supervisor.
// Each is a typed error (or a counted dead letter), nothing is half-done, the process survives.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.ts';
import {
  ActorHandlerError,
  ActorStartError,
  ActorStoppedError,
  MessageNotCloneableError,
  Supervisor,
  type DeadLetter,
  type SpawnOptions,
  type SupervisorOptions,
} from '../src/runtime/index.ts';
import { ECHO } from './fixtures/actors/support.ts';

const sup = new Supervisor({ heartbeatMs: 0, spares: 0 });
after(() => sup.shutdown({ drainMs: 0 }));

// (null, like undefined, means "the default".)
const HOSTILE_NUMBERS = [Number.NaN, Infinity, -Infinity, -1, 1.5, 2 ** 53, '5', {}];

function configError(key: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError for ${key}, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal((e as ConfigError & { key: string }).key, key);
    return true;
  };
}

test('spawn refuses what is not an options object, a name or a module, before registering anything', () => {
  for (const bad of [undefined, null, 'echo', 42, () => 1]) {
    assert.throws(() => sup.spawn(bad as unknown as SpawnOptions), ConfigError);
  }
  for (const name of ['', 5, null, 'x'.repeat(2000)]) {
    assert.throws(() => sup.spawn({ name, module: ECHO } as unknown as SpawnOptions), configError('name'));
  }
  for (const module of ['', 5, {}, new URL('https://example.com/actor.ts'), 'data:text/javascript,export default 1']) {
    assert.throws(
      () => sup.spawn({ name: 'm', module } as unknown as SpawnOptions),
      configError('module'),
      `module ${String(module)}`,
    );
  }
  assert.throws(() => sup.spawn({ name: 'e', module: ECHO, export: '' }), configError('export'));
  assert.deepEqual(sup.getStats().actors, [], 'no refused spawn left an actor behind');
  assert.equal(sup.get('m'), undefined);
});

test('spawn options: NaN, Infinity, negative, fractional, huge and mistyped values are ConfigErrors naming the key', () => {
  const numeric: (keyof SpawnOptions)[] = ['mailboxSize', 'maxAttempts', 'ringBytes', 'messageTimeoutMs'];
  for (const key of numeric) {
    for (const v of HOSTILE_NUMBERS) {
      // Infinity means "no limit" for a deadline; 1.5 ms is a valid deadline.
      if (key === 'messageTimeoutMs' && (v === Infinity || v === 1.5)) continue;
      assert.throws(
        () => sup.spawn({ name: `opt-${key}`, module: ECHO, [key]: v }),
        configError(key),
        `${key}: ${String(v)}`,
      );
    }
  }
  assert.throws(
    () => sup.spawn({ name: 'x', module: ECHO, messageTimeoutMs: 2 ** 31 }),
    configError('messageTimeoutMs'),
    'past what a Node timer can hold',
  );
  for (const v of [Number.NaN, -1]) {
    assert.throws(() => sup.spawn({ name: 'x', module: ECHO, heartbeatMs: v }), configError('heartbeatMs'));
    assert.throws(() => sup.spawn({ name: 'x', module: ECHO, startTimeoutMs: v }), configError('startTimeoutMs'));
  }
  assert.throws(
    () => sup.spawn({ name: 'x', module: ECHO, overflow: 'drop-newest' as never }),
    configError('overflow'),
  );
  for (const init of [() => 1, Symbol('s'), { nested: { f() {} } }]) {
    assert.throws(() => sup.spawn({ name: 'x', module: ECHO, init }), configError('init'));
  }
  for (const resourceLimits of [
    'big',
    { maxOldGenerationSizeMb: -1 },
    { maxOldGenerationSizeMb: Number.NaN },
    { stackSizeMb: 1e9 },
    { heapMb: 64 },
  ]) {
    assert.throws(
      () => sup.spawn({ name: 'x', module: ECHO, resourceLimits: resourceLimits as never }),
      ConfigError,
      JSON.stringify(resourceLimits),
    );
  }
  assert.deepEqual(sup.getStats().actors, [], 'nothing was registered');
});

test('supervisor options: hostile values are ConfigErrors, not a huge allocation, a worker storm or a timer that fires at once', () => {
  const cases: [string, SupervisorOptions][] = [
    ['maxRestarts', { maxRestarts: Number.NaN }],
    ['withinMs', { withinMs: -1 }],
    ['askTimeoutMs', { askTimeoutMs: Number.NaN }],
    ['askTimeoutMs', { askTimeoutMs: 2 ** 31 }],
    ['messageTimeoutMs', { messageTimeoutMs: -5 }],
    ['deadLetterLimit', { deadLetterLimit: 1e10 }],
    ['deadLetterLimit', { deadLetterLimit: Infinity }],
    ['spares', { spares: 1e6 }],
    ['spares', { spares: Number.NaN }],
    ['restartBackoff.maxMs', { restartBackoff: { maxMs: 2 ** 31 } }],
    ['restartBackoff.initialMs', { restartBackoff: { initialMs: Number.NaN } }],
    ['strategy', { strategy: 'all_for_one' as never }],
    ['workerExecArgv', { workerExecArgv: ['--ok', 5] as never }],
  ];
  for (const [key, o] of cases) assert.throws(() => new Supervisor(o), configError(key), JSON.stringify(o));
});

test('ask and tell options: bad timeouts, priorities and signals are typed errors; nothing is queued', async () => {
  const ref = sup.spawn({ name: 'opts', module: ECHO });
  await ref.ready;
  for (const timeoutMs of [Number.NaN, -1, 2 ** 31, '100', {}]) {
    await assert.rejects(ref.ask('x', { timeoutMs: timeoutMs as number }), configError('timeoutMs'), String(timeoutMs));
  }
  for (const messageTimeoutMs of [Number.NaN, -1, 2 ** 31]) {
    await assert.rejects(ref.ask('x', { messageTimeoutMs }), configError('messageTimeoutMs'));
  }
  await assert.rejects(ref.ask('x', { priority: 'urgent' as never }), configError('priority'));
  await assert.rejects(ref.ask('x', { signal: {} as AbortSignal }), configError('signal'));
  assert.throws(() => ref.tell('x', { priority: 'urgent' as never }), configError('priority'));
  assert.equal(await ref.ask('x', { timeoutMs: Infinity }), 'x', 'Infinity: no timeout');
  assert.equal(ref.stats.accepted, 1, 'only the valid ask was accepted');
  await ref.stop();
});

test('messages and replies that cannot cross the thread boundary are typed errors or counted dead letters', async () => {
  const dls: DeadLetter[] = [];
  const onDl = (d: DeadLetter): void => void dls.push(d);
  sup.on('deadLetter', onDl);
  try {
    for (const ringBytes of [0, 256 * 1024]) {
      const ref = sup.spawn({ name: `clone-${ringBytes}`, module: ECHO, ringBytes });
      await ref.ready;
      assert.throws(() => ref.tell(() => 1), MessageNotCloneableError);
      assert.throws(() => ref.tell(Symbol('s')), MessageNotCloneableError);
      await assert.rejects(
        ref.ask(() => 1),
        MessageNotCloneableError,
      );
      await assert.rejects(ref.ask({ deep: { f() {} } }), MessageNotCloneableError);
      // Refused at once when it would go straight to the worker (false), else when it leaves the mailbox: counted either way.
      const accepted = ref.tell({ deep: [1, { f: () => 1 }] });
      assert.equal(accepted, ringBytes === 0);
      await assert.rejects(
        ref.ask({ op: 'fn' }),
        (e: unknown) => e instanceof ActorHandlerError && e.remote.code === 'ACTOR_REPLY_NOT_CLONEABLE',
      );
      assert.equal(await ref.ask('still serving'), 'still serving');
      assert.equal(ref.stats.crashes, 0);
      await ref.stop();
    }
    assert.deepEqual(
      dls.map((d) => d.reason),
      ['not-cloneable', 'not-cloneable', 'not-cloneable', 'not-cloneable'],
      'each refused message reached the worker boundary and was dead-lettered with its reason',
    );
  } finally {
    sup.off('deadLetter', onDl);
  }
});

test('a bad module is a start error to the caller, never a crash of the host', async () => {
  const missing = sup.spawn({
    name: 'missing',
    module: new URL('./fixtures/actors/does-not-exist.ts', import.meta.url),
  });
  await assert.rejects(missing.ready, ActorStartError);
  assert.equal(missing.state, 'stopped');
  assert.equal(missing.tell('x'), false);
});

test('a closed supervisor: spawn is a typed error, tell is refused and counted, ask rejects, shutdown is idempotent', async () => {
  const closed = new Supervisor({ heartbeatMs: 0, spares: 0 });
  const ref = closed.spawn({ name: 'c', module: ECHO });
  await ref.ready;
  const done = closed.shutdown({ drainMs: 0 });
  assert.equal(closed.shutdown(), done);
  await done;
  assert.throws(
    () => closed.spawn({ name: 'late', module: ECHO }),
    (e: unknown) => e instanceof ActorStoppedError && e.code === 'ACTOR_STOPPED',
  );
  assert.equal(ref.tell('x'), false);
  await assert.rejects(ref.ask('x'), ActorStoppedError);
  assert.equal(ref.revive(), false);
  await ref.stop();
  await closed.stop('c');
  assert.throws(() => closed.injectFault('c', 'exit'), ConfigError, 'a forgotten actor is unknown');
  assert.equal(closed.getStats().deadLetters, 2);
  assert.equal(closed.getStats().workers.live, 0);
});
