import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActorStartError, Supervisor, type DeadLetter, type StartFailureReason } from '../src/runtime/index.ts';
import { ECHO, INIT_THROWS, NOT_A_FUNCTION, TOP_LEVEL_THROWS, sleep, tempModule } from './fixtures/actors/support.ts';

let sup: Supervisor;
const deadLetters: DeadLetter[] = [];
before(() => {
  sup = new Supervisor({ heartbeatMs: 0, spares: 1 });
  sup.on('deadLetter', (dl: DeadLetter) => deadLetters.push(dl));
});
after(() => sup.shutdown({ drainMs: 0 }));

const cases: [string, () => string | URL, StartFailureReason, string | undefined, RegExp][] = [
  ['a path with no file', () => '/nonexistent/palisade/actor.ts', 'module-not-found', undefined, /no file/],
  [
    'a TypeScript syntax error',
    () => tempModule('bad.ts', 'export default function (m: unknown) { return m +; }\n'),
    'syntax-error',
    undefined,
    /bad\.ts/,
  ],
  [
    'a JavaScript syntax error',
    () => tempModule('bad.mjs', 'export default function (m) { return m +; }\n'),
    'syntax-error',
    undefined,
    /Unexpected token|SyntaxError/,
  ],
  [
    'an import that cannot be resolved',
    () => tempModule('missing-dep.mjs', "import x from './nope.mjs';\nexport default () => x;\n"),
    'module-not-found',
    undefined,
    /nope\.mjs/,
  ],
  ['a missing export (known from the bundle)', () => ECHO, 'missing-export', 'nope', /export "nope" not found/],
  ['an export that is not a function', () => NOT_A_FUNCTION, 'missing-export', 'handler', /is a number/],
  [
    'a missing export of a plain JS module',
    () => tempModule('plain.mjs', 'export const a = 1;\n'),
    'missing-export',
    'handle',
    /export "handle" not found/,
  ],
  ['module top-level code that throws', () => TOP_LEVEL_THROWS, 'module-threw', undefined, /top level failed/],
  ['init(data) that throws', () => INIT_THROWS, 'init-failed', undefined, /cannot connect/],
];

for (const [what, module, reason, exportName, detail] of cases) {
  test(`start-up failure: ${what} → ready rejects ActorStartError(${reason}), no restart loop`, async () => {
    const name = `bad-${reason}-${Math.random().toString(36).slice(2, 8)}`;
    const ref = sup.spawn({ name, module: module(), ...(exportName ? { export: exportName } : {}) });
    const queued = ref.ask('sent before start');
    await assert.rejects(ref.ready, (e: unknown) => {
      assert.ok(e instanceof ActorStartError, `got ${String(e)}`);
      assert.equal(e.code, 'ACTOR_START_FAILED');
      assert.equal(e.reason, reason);
      assert.match(e.message, detail);
      return true;
    });
    await assert.rejects(queued, ActorStartError, 'messages sent before start are dead-lettered with the start error');
    assert.equal(ref.state, 'stopped');
    await sleep(30); // a restart loop would show up as restarts or new workers here
    const s = ref.stats;
    assert.equal(s.restarts, 0);
    assert.equal(s.crashes, 0);
    assert.ok(deadLetters.some((d) => d.actor === name && d.reason === 'start-failed'));
    assert.equal(ref.tell('after'), false);
  });
}

test('start timeout: init that never finishes fails the start, not a hang', async () => {
  const file = tempModule(
    'slow-init.mjs',
    'export function init() { return new Promise(() => {}); }\nexport default (m) => m;\n',
  );
  const ref = sup.spawn({ name: 'slow-init', module: file, startTimeoutMs: 50 });
  await assert.rejects(ref.ready, (e: unknown) => e instanceof ActorStartError && e.reason === 'start-timeout');
  assert.equal(ref.state, 'stopped');
});

test('after start-up failures, no stray workers are left (only the warm spare)', async () => {
  await sleep(20);
  const good = sup.spawn({ name: 'good', module: ECHO });
  await good.ready;
  assert.equal(await good.ask(1), 1);
  const w = sup.getStats().workers;
  assert.ok(w.live <= 2, `live workers ${w.live}`);
});
