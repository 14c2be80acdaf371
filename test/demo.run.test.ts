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
import { openDashboard } from './support/browser.ts';

/** The page's document, as the browser-side predicates below use it (this project compiles without the DOM lib). */
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  querySelectorAll(selector: string): ArrayLike<{ dataset: Record<string, string | undefined> }>;
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN_DEADLINE_MS = 120_000;

describe('demo run (child process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-demo-test-'));
  let child: ChildProcess | undefined;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes with exit 0, critical lost 0, every drop counted, order kept, a transfer confirmed, and the kill route restarts an actor', {
    timeout: RUN_DEADLINE_MS + 10_000,
  }, async () => {
    const json = join(dir, 'report.json');
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/demo/main.ts',
        '--duration-ms',
        '8000',
        '--surge-factor',
        '10',
        '--quiet',
        '--trace',
        '--json',
        json,
        '--log-level',
        'error',
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const deadline = setTimeout(() => child?.kill('SIGKILL'), RUN_DEADLINE_MS);

    try {
      // The control server is up before the run starts: crash the price subscriber through it.
      const url = await waitFor(
        () => /control server: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1],
        60_000,
        'the control server line',
      );
      const token = await waitFor(() => /control token: ([0-9a-f]+)/.exec(out)?.[1], 10_000, 'the control token line');
      const actors = async () =>
        (
          (await (await fetch(`${url}/actors`, { signal: AbortSignal.timeout(5000) })).json()) as {
            actors: { name: string; state: string; incarnation: number }[];
          }
        ).actors;
      const before = (await actors()).find((a) => a.name === 'risk-monitor');
      assert.ok(before, 'the demo has a risk-monitor actor');
      const body = JSON.stringify({ actor: 'risk-monitor', kind: 'terminate' });
      const refused = await fetch(`${url}/actors/kill`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
      assert.equal(refused.status, 401, 'no token, no kill');
      const kill = await fetch(`${url}/actors/kill`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(kill.status, 200);
      const back = await waitFor(
        async () =>
          (await actors()).find(
            (a) => a.name === 'risk-monitor' && a.incarnation > before.incarnation && a.state === 'running',
          ),
        15_000,
        'risk-monitor to run again',
      );
      assert.ok(back.incarnation > before.incarnation);

      const code = await exited;
      assert.equal(
        code,
        0,
        `exit ${code}\n--- stdout tail:\n${out.slice(-3000)}\n--- stderr tail:\n${err.slice(-2000)}`,
      );
    } finally {
      clearTimeout(deadline);
    }
    assert.match(out, /critical lost: 0 of/);
    assert.match(out, /\d+ passed, 0 failed/);
    // --trace: one trace from the signal through the validator worker and the executor to the send and its confirmation.
    assert.match(
      out,
      /^trace [0-9a-f]{32}: \d+ spans of \d+ traced trade signals \(signal → validator → executor → send → confirmation\)$/m,
    );
    const tree = out.slice(out.lastIndexOf('\ntrace '));
    for (const hop of [
      /^ {2}signal trade_signal /m,
      /deliver trade_signal \[worker signal-validator\]/,
      /execute BUY /,
      /(rpc sendTransaction \[via |─ send )/,
      /(└─ confirmation |rpc getSignatureStatuses)/,
      /· attempt \S+ ok /,
    ])
      assert.match(tree, hop);

    const r = JSON.parse(readFileSync(json, 'utf8')) as DemoReport;
    assert.equal(r.ok, true);
    assert.ok(r.critical.accepted > 0);
    assert.equal(r.critical.lost, 0);
    for (const s of r.critical.subscribers)
      assert.equal(
        s.handled + s.droppedWithReason >= r.critical.accepted,
        true,
        `${s.name} accounts for every accepted critical signal`,
      );
    for (const s of r.subscribers)
      assert.equal(s.unaccounted, 0, `${s.name}: owed = delivered + failed + dropped + queued`);
    assert.equal(r.ordering.violations, 0);
    assert.equal(r.signals.publishErrors, 0);
    assert.ok(
      r.signals.byPriority.normal.accepted > r.signals.byPriority.critical.accepted,
      'the stream has more normal than critical signals',
    );
    assert.ok(r.transactions.confirmed >= 1);
    assert.equal(r.faults.enabled, true);
    assert.ok(r.faults.outages.length === 1 && r.faults.outages[0]!.revivedAtMs !== null);
    assert.ok(r.faults.actorRecoveries.length >= 3 && r.faults.actorRecoveries.every((a) => a.recoveredMs !== null));
    assert.ok(r.runtime.restarts >= 4, `3 scheduled crashes + the control-route kill, got ${r.runtime.restarts}`);
    assert.equal(r.runtime.quarantined, 0);
    assert.deepEqual(
      r.checks.filter((c) => !c.ok),
      [],
    );
  });

  it("SIGTERM stops intake, drains, prints the report and exits with the checks' verdict", {
    timeout: RUN_DEADLINE_MS + 10_000,
  }, async () => {
    const json = join(dir, 'sigterm.json');
    const c = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/demo/main.ts',
        '--duration-ms',
        '600000',
        '--no-faults',
        '--rate',
        '400',
        '--quiet',
        '--json',
        json,
        '--log-level',
        'error',
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = c;
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    const deadline = setTimeout(() => c.kill('SIGKILL'), RUN_DEADLINE_MS);
    try {
      await waitFor(() => /^run: /m.test(out), 60_000, 'the run to start');
      const url = /control server: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      const token = /control token: ([0-9a-f]+)/.exec(out)![1]!;
      // While trades confirm: the metrics, and the dashboard in a real browser watching a provider die.
      await checkDashboard(url, token);
      await checkMetrics(url);
      c.kill('SIGTERM');
      const code = await exited;
      assert.equal(
        code,
        0,
        `exit ${code}\n--- stdout tail:\n${out.slice(-3000)}\n--- stderr tail:\n${err.slice(-2000)}`,
      );
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

/** Every family the issue names is there, with values that agree with the demo's own stats. */
async function checkMetrics(url: string): Promise<void> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  for (const family of [
    'palisade_breaker_state',
    'palisade_breaker_transitions_total',
    'palisade_rpc_requests_total',
    'palisade_rpc_request_duration_seconds',
    'palisade_bus_published_total',
    'palisade_bus_dropped_total',
    'palisade_bus_queue_depth',
    'palisade_mailbox_depth',
    'palisade_actor_restarts_total',
    'palisade_actor_state',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), `${family} is exported`);
  }
  const num = (re: RegExp): number[] => [...text.matchAll(re)].map((m) => Number(m[1]));
  const successes = num(/^palisade_rpc_requests_total\{endpoint="[^"]+",outcome="success"\} (\d+)$/gm);
  assert.ok(successes.reduce((a, b) => a + b, 0) > 0, 'some RPC attempts succeeded');
  const states = num(/^palisade_breaker_state\{breaker="endpoint:[^"]+"\} (-?\d+)$/gm);
  assert.equal(states.length, 3, 'one breaker state per provider');
  assert.ok(states.every((v) => v >= 0 && v <= 2));
  const published = num(/^palisade_bus_published_total\{topic="[^"]+",priority="critical"\} (\d+)$/gm);
  assert.ok(published.reduce((a, b) => a + b, 0) > 0, 'critical signals were published');
  const actorStates = num(/^palisade_actor_state\{actor="[^"]+"\} (\d+)$/gm);
  assert.ok(actorStates.length >= 3 && actorStates.every((v) => v >= 0 && v <= 4));
}

/** The dashboard loads, keeps updating, and shows a provider killed through the control route turning OPEN. */
async function checkDashboard(url: string, token: string): Promise<void> {
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
  const page = await openDashboard(`${url}/`);
  try {
    await page.waitFor(() => Number(document.body.dataset.updates ?? 0) >= 3, 'three updates');
    const names = await page.eval(() =>
      Array.from(document.querySelectorAll('#endpoints tbody tr'), (tr) => tr.dataset.endpoint ?? ''),
    );
    assert.equal(names.length, 3, `three providers on the page, got ${JSON.stringify(names)}`);
    const victim = names[names.length - 1]!;
    assert.equal((await post('/providers/kill', { provider: victim })).status, 200);
    try {
      await page.waitFor(
        (name) =>
          document.querySelector(`#endpoints tr[data-endpoint="${name}"] [data-state]`)?.getAttribute('data-state') ===
          'OPEN',
        `${victim} shown OPEN`,
        victim,
      );
      await page.screenshot('dashboard-test.png');
    } finally {
      assert.equal((await post('/providers/revive', { provider: victim })).status, 200);
    }
  } finally {
    await page.close();
  }
}
