import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { configTable } from '../scripts/tools/config-table.ts';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };

test('the README opens with the two commands, and CI runs the test command it gives', () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.match(firstBlock, /^npm ci && npm start\b/m);
  assert.match(firstBlock, /^npm ci && npm test\b/m);
  assert.ok(readme.indexOf('```sh') < 200, 'the commands come first');
  const ci = readFileSync(new URL('.ci/run', root), 'utf8');
  assert.match(ci, /^npm ci\b/m);
  assert.match(ci, /^npm test$/m);
});

test('the README configuration table is the one the loader validates with', () => {
  assert.ok(readme.includes(configTable()), 'regenerate it with: npx tsx scripts/tools/config-table.ts');
});

test('every npm script the README names exists', () => {
  const named = new Set([...readme.matchAll(/npm run ([a-z0-9-]+)/g)].map((m) => m[1]!));
  assert.ok(named.size >= 10);
  for (const name of named) assert.ok(pkg.scripts[name], `npm run ${name} is in the README but not in package.json`);
});

test('the README API examples run and print what the README says', { timeout: 90_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/examples/api-tour.ts'], {
    cwd: root,
    timeout: 80_000,
  });
  assert.match(stdout, /breaker CLOSED -> OPEN \(FAILURE_THRESHOLD\)/);
  assert.match(stdout, /refused CIRCUIT_OPEN retry after/);
  assert.match(stdout, /^HALF_OPEN$/m);
  assert.match(stdout, /^ok CLOSED$/m);
  assert.match(stdout, /^after kill: chainstack-local$/m);
  assert.match(stdout, /\{ token: 'BONK', score: 90, seen: 1 \}/);
  assert.match(stdout, /inline got WIF seq 1 critical/);
  assert.match(stdout, /published 1 delivered 2 dropped 0/);
});
