import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/clock.ts';
import { DeadlineQueue } from '../src/runtime/deadlines.ts';
import { tempModule } from './fixtures/actors/support.ts';

interface Item {
  id: string;
  deadline: number;
  settled: boolean;
}

test('deadlines expire in order per timeout value with one timer; settled entries never expire', () => {
  const clock = new ManualClock(0);
  const expired: string[] = [];
  const q = new DeadlineQueue<Item>(
    clock,
    (e) => (e.settled ? -1 : e.deadline),
    (e) => expired.push(e.id),
  );
  const add = (id: string, timeoutMs: number): Item => {
    const it = { id, deadline: clock.now() + timeoutMs, settled: false };
    q.add(it, timeoutMs);
    return it;
  };
  const a = add('a', 100);
  add('b', 100);
  clock.advance(10);
  add('c', 30); // earlier deadline than a and b, different timeout: re-arms the timer
  add('d', 100);
  assert.equal(clock.pendingTimers, 1, 'one timer, whatever the number of deadlines');
  a.settled = true;
  q.trim(100);
  clock.advance(29);
  assert.deepEqual(expired, []);
  clock.advance(1);
  assert.deepEqual(expired, ['c']);
  clock.advance(60);
  assert.deepEqual(expired, ['c', 'b'], 'a was settled');
  clock.advance(10);
  assert.deepEqual(expired, ['c', 'b', 'd']);
  assert.equal(clock.pendingTimers, 0);
  add('e', 5);
  q.clear();
  clock.advance(10);
  assert.deepEqual(expired, ['c', 'b', 'd']);
});

test("an idle supervisor does not keep the process alive (workers are unref'd once idle)", () => {
  const runtime = fileURLToPath(new URL('../src/runtime/index.ts', import.meta.url));
  const actor = fileURLToPath(new URL('./fixtures/actors/echo.ts', import.meta.url));
  const script = tempModule(
    'idle-exit.mts',
    `import { Supervisor } from ${JSON.stringify(runtime)};
const sup = new Supervisor({ heartbeatMs: 100 });
const ref = sup.spawn({ name: 'a', module: ${JSON.stringify(actor)} });
await ref.ready;
for (let i = 0; i < 100; i++) await ref.ask(i);
console.log('answered', await ref.ask('last'));
// no shutdown(): the process must still be able to exit
`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 20_000,
    cwd: process.cwd(),
  });
  assert.equal(r.error, undefined, `child did not exit by itself: ${String(r.error)}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /answered last/);
});
