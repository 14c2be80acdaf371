// CheckRunner's optional timing: the seed-named scripts print how long each check took; the demo
// and stress users, which do not ask for it, print exactly what they printed before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckRunner, formatCheck } from './support/checks.ts';

test('a timed runner prints each check with its duration, before the detail, on PASS and FAIL', async () => {
  const lines: string[] = [];
  const c = new CheckRunner((l) => lines.push(l), { timing: true });
  await c.run('ok check', () => 'fine');
  await c.run('bare check', () => undefined);
  await c.run('bad check', () => {
    throw new Error('boom');
  });
  c.skip('n/a check', 'not here');
  assert.equal(c.summary(), 1);
  assert.equal(lines.length, 5);
  assert.match(lines[0]!, /^PASS ok check \(\d+ ms\) — fine$/);
  assert.match(lines[1]!, /^PASS bare check \(\d+ ms\)$/);
  assert.match(lines[2]!, /^FAIL bad check \(\d+ ms\) — boom$/);
  assert.equal(lines[3], 'SKIP n/a check — not here');
  assert.equal(lines[4], '2 passed, 1 failed, 1 skipped');
  assert.ok(c.results.slice(0, 3).every((r) => typeof r.ms === 'number' && r.ms >= 0));
});

test('an untimed runner records no duration and prints none', async () => {
  const lines: string[] = [];
  const c = new CheckRunner((l) => lines.push(l));
  await c.run('ok check', () => 'fine');
  assert.deepEqual(lines, ['PASS ok check — fine']);
  assert.equal(c.results[0]!.ms, undefined);
  assert.equal(formatCheck({ name: 'x', ok: false, detail: 'why' }), 'FAIL x — why');
});
