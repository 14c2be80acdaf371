/**
 * A short real demo run as a child process (`npm start` with a short duration): local cluster,
 * endpoint actors, worker subscribers, the surge, the fault schedule; while it runs, the control
 * server's kill route crashes an actor and the test watches it come back. The run must exit 0
 * with a report whose invariants hold. Asserts counts and invariants, never timings.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoReport } from '../scripts/demo/report.ts';
import { waitFor } from './support/wait.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN_DEADLINE_MS = 120_000;

describe('demo run (child process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-demo-test-'));
  let child: ChildProcess | undefined;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes with exit 0, critical lost 0, every drop counted, order kept, a transfer confirmed, and the kill route restarts an actor', { timeout: RUN_DEADLINE_MS + 10_000 }, async () => {
    const json = join(dir, 'report.json');
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo/main.ts', '--duration-ms', '8000', '--surge-factor', '10', '--quiet', '--json', json, '--log-level', 'error'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const deadline = setTimeout(() => child?.kill('SIGKILL'), RUN_DEADLINE_MS);

    try {
      // The control server is up before the run starts: crash the price subscriber through it.
      const url = await waitFor(() => /control server: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], 60_000, 'the control server line');
      const actors = async () => ((await (await fetch(`${url}/actors`, { signal: AbortSignal.timeout(5000) })).json()) as { actors: { name: string; state: string; incarnation: number }[] }).actors;
      const before = (await actors()).find((a) => a.name === 'risk-monitor');
      assert.ok(before, 'the demo has a risk-monitor actor');
      const kill = await fetch(`${url}/actors/kill`, { method: 'POST', body: JSON.stringify({ actor: 'risk-monitor', kind: 'terminate' }), signal: AbortSignal.timeout(5000) });
      assert.equal(kill.status, 200);
      const back = await waitFor(async () => (await actors()).find((a) => a.name === 'risk-monitor' && a.incarnation > before.incarnation && a.state === 'running'), 15_000, 'risk-monitor to run again');
      assert.ok(back.incarnation > before.incarnation);

      const code = await exited;
      assert.equal(code, 0, `exit ${code}\n--- stdout tail:\n${out.slice(-3000)}\n--- stderr tail:\n${err.slice(-2000)}`);
    } finally {
      clearTimeout(deadline);
    }
    assert.match(out, /critical lost: 0 of/);
    assert.match(out, /\d+ passed, 0 failed/);

    const r = JSON.parse(readFileSync(json, 'utf8')) as DemoReport;
    assert.equal(r.ok, true);
    assert.ok(r.critical.accepted > 0);
    assert.equal(r.critical.lost, 0);
    for (const s of r.critical.subscribers) assert.equal(s.handled + s.droppedWithReason >= r.critical.accepted, true, `${s.name} accounts for every accepted critical signal`);
    for (const s of r.subscribers) assert.equal(s.unaccounted, 0, `${s.name}: owed = delivered + failed + dropped + queued`);
    assert.equal(r.ordering.violations, 0);
    assert.equal(r.signals.publishErrors, 0);
    assert.ok(r.signals.byPriority.normal.accepted > r.signals.byPriority.critical.accepted, 'the stream has more normal than critical signals');
    assert.ok(r.transactions.confirmed >= 1);
    assert.equal(r.faults.enabled, true);
    assert.ok(r.faults.outages.length === 1 && r.faults.outages[0]!.revivedAtMs !== null);
    assert.ok(r.faults.actorRecoveries.length >= 3 && r.faults.actorRecoveries.every((a) => a.recoveredMs !== null));
    assert.ok(r.runtime.restarts >= 4, `3 scheduled crashes + the control-route kill, got ${r.runtime.restarts}`);
    assert.equal(r.runtime.quarantined, 0);
    assert.deepEqual(r.checks.filter((c) => !c.ok), []);
  });

  it('SIGTERM stops intake, drains, prints the report and exits with the checks\' verdict', { timeout: RUN_DEADLINE_MS + 10_000 }, async () => {
    const json = join(dir, 'sigterm.json');
    const c = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo/main.ts', '--duration-ms', '600000', '--no-faults', '--rate', '400', '--quiet', '--json', json, '--log-level', 'error'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    const deadline = setTimeout(() => c.kill('SIGKILL'), RUN_DEADLINE_MS);
    try {
      await waitFor(() => /^run: /m.test(out), 60_000, 'the run to start');
      // Let some trades confirm, then ask it to stop.
      await new Promise((r) => setTimeout(r, 3000));
      c.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, `exit ${code}\n--- stdout tail:\n${out.slice(-3000)}\n--- stderr tail:\n${err.slice(-2000)}`);
    } finally {
      clearTimeout(deadline);
    }
    assert.match(err, /SIGTERM: stopping intake/);
    assert.match(out, /stopping \(SIGTERM\): intake stopped/);
    const r = JSON.parse(readFileSync(json, 'utf8')) as DemoReport;
    assert.equal(r.shutdown.reason, 'SIGTERM');
    assert.ok(r.ranMs < 60_000, 'it stopped long before the requested 10 minutes');
    assert.equal(r.critical.lost, 0);
    assert.deepEqual(r.shutdown.notDrained, []);
    assert.equal(r.ok, true);
  });
});
