/**
 * `npm run cluster-demo`, short: a real nats-server, the local Solana cluster, a feed and two
 * trading processes, with the SIGKILL/restart, the provider kill and the engine stop squeezed
 * into a 10 s run. The demo's own checks decide its exit code; this test asserts the exit code
 * and that the report holds every check, each passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerBinary } from './support/nats.ts';

test('cluster demo (short): every check passes and it exits 0', {
  skip: natsServerBinary() ? false : 'nats-server not installed (apt-get install nats-server)',
  timeout: 90_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-cluster-test-'));
  try {
    const json = join(dir, 'report.json');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/cluster/main.ts',
        '--duration-ms',
        '10000',
        '--engine-down-ms',
        '1500',
        '--drain-ms',
        '15000',
        '--json',
        json,
        '--log-file',
        join(dir, 'demo.log'),
      ],
      {
        encoding: 'utf8',
        timeout: 85_000,
      },
    );
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      ok: boolean;
      checks: { name: string; ok: boolean; detail: string }[];
    };
    assert.equal(report.ok, true);
    const names = report.checks.map((c) => c.name);
    for (const want of [
      'critical signals lost',
      'exactly once',
      'restarted process caught up',
      'avoided by all',
      'engine down',
    ]) {
      assert.ok(
        names.some((n) => n.includes(want)),
        `a check about "${want}" in ${names.join(' | ')}`,
      );
    }
    for (const c of report.checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cluster demo: bad flags exit 2 with the usage line', () => {
  for (const args of [
    ['--duration-ms', 'soon'],
    ['--duration-ms', '1e9'],
    ['--engine-down-ms', '-5'],
    ['--surprise'],
  ]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/cluster/main.ts', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status} ${r.stderr}`);
    assert.match(r.stderr, /usage: npm run cluster-demo/);
  }
});
