/**
 * The demo's control server (routes, typed errors, loopback only) and the fault-inject target
 * client against it, with a real Supervisor and a real worker actor: the kill route crashes the
 * actor and the supervisor restarts it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Supervisor, faultKindsFor, killActor } from '../src/runtime/index.ts';
import { startControlServer, type ControlServer } from '../scripts/demo/control-server.ts';
import { runAgainstTarget, faultInjectTarget } from '../scripts/fault/demo-client.ts';
import { waitFor } from './support/wait.ts';

const ECHO = new URL('./fixtures/demo/echo-actor.ts', import.meta.url);

const TOKEN = 'test-token-0123456789abcdef';

async function post(url: string, body: unknown, token: string | null = TOKEN): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.json() };
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

describe('demo control server', () => {
  let sup: Supervisor;
  let server: ControlServer;
  const faults: Record<string, unknown> = {};
  const killed: string[] = [];
  const actions: string[] = [];

  before(async () => {
    sup = new Supervisor({ heartbeatMs: 200, restartBackoff: { initialMs: 0, jitter: 0 } });
    const ref = sup.spawn({ name: 'echo', module: ECHO, heartbeatMs: 200 });
    await ref.ready;
    server = await startControlServer({
      stats: () => ({
        bus: { dropped: {}, byPriority: { critical: { dropped: 0 } } },
        supervisor: sup.getStats(),
      }),
      actors: () =>
        sup.getStats().actors.map((a) => ({
          name: a.name,
          state: a.state,
          incarnation: a.incarnation,
          restarts: a.restarts,
          kinds: faultKindsFor({ heartbeatMs: 200 }),
        })),
      killActor: (n, k) => killActor(sup, n, k),
      providers: {
        list: () => ({ ...faults }),
        set: (n, f) => {
          if (n !== 'p1') throw Object.assign(new Error(`unknown provider ${n}`), { code: 'DEVNET_UNKNOWN_PROVIDER' });
          faults[n] = f;
        },
        clear: (n) => {
          if (n) delete faults[n];
        },
        kill: async (n) => void killed.push(n),
        revive: async (n) => void killed.push(`revive ${n}`),
      },
      onAction: (a) => actions.push(a),
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'palisade_test_metric 1\n' }),
      token: TOKEN,
    });
  });

  after(async () => {
    await server.close();
    await sup.shutdown({ drainMs: 0 });
  });

  it('listens on 127.0.0.1 and serves health, actors and stats', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual((await get(`${server.url}/health`)).body, { ok: true });
    const actors = (await get(`${server.url}/actors`)).body;
    assert.equal(actors.actors[0].name, 'echo');
    assert.ok(actors.kinds.includes('hang'));
    const stats = (await get(`${server.url}/stats`)).body;
    assert.equal(stats.supervisor.actors[0].name, 'echo');
  });

  it('acting routes without the token (or with a wrong one) are refused with 401 and change nothing', async () => {
    const before = sup.getStats().actors[0]!;
    const actionsBefore = actions.length;
    const refusedBefore = server.unauthorized();
    const attempts: [string, unknown, string | null][] = [
      ['/actors/kill', { actor: 'echo', kind: 'exit' }, null],
      ['/actors/kill', { actor: 'echo', kind: 'exit' }, 'wrong-token-0123456789abcdef'],
      ['/actors/kill', { actor: 'echo', kind: 'exit' }, TOKEN.slice(0, -1)],
      ['/providers/kill', { provider: 'p1' }, null],
      ['/providers/fault', { provider: 'p1', fault: { kind: '500' } }, ''],
      ['/providers/clear', {}, null],
    ];
    for (const [path, body, token] of attempts) {
      const r = await post(`${server.url}${path}`, body, token);
      assert.equal(r.status, 401, `${path} with token ${JSON.stringify(token)}`);
      assert.equal(r.body.error.code, 'CONTROL_UNAUTHORIZED');
    }
    // Nothing changed: no kill, no provider fault, no action heard, same incarnation.
    await new Promise((r) => setTimeout(r, 50));
    const afterStats = sup.getStats().actors[0]!;
    assert.equal(afterStats.incarnation, before.incarnation);
    assert.equal(afterStats.crashes, before.crashes);
    assert.deepEqual(killed, []);
    assert.deepEqual(faults, {});
    assert.equal(actions.length, actionsBefore);
    assert.equal(server.unauthorized() - refusedBefore, attempts.length);
    // Reading stays open.
    assert.equal((await get(`${server.url}/health`)).status, 200);
  });

  it('serves the dashboard page at / and the Prometheus text at /metrics without a token', async () => {
    const page = await fetch(`${server.url}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<title>palisade/);
    const m = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(m.status, 200);
    assert.equal(await m.text(), 'palisade_test_metric 1\n');
  });

  it('POST /actors/kill crashes the actor and the supervisor restarts it', async () => {
    const before = sup.getStats().actors[0]!;
    const r = await post(`${server.url}/actors/kill`, { actor: 'echo', kind: 'uncaught' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { killed: 'echo', kind: 'uncaught', incarnation: before.incarnation });
    const a = await waitFor(
      () => {
        const s = sup.getStats().actors[0]!;
        return s.incarnation > before.incarnation && s.state === 'running' ? s : undefined;
      },
      10_000,
      'echo to run again',
    );
    assert.equal(a.restarts, before.restarts + 1);
    assert.equal(a.lastCrash?.kind, 'uncaught');
    assert.equal(await sup.get('echo')!.ask('ping', { timeoutMs: 5000 }), 'pong:ping');
    assert.ok(actions.includes('control: uncaught actor echo'));
  });

  it('answers bad requests with typed errors: unknown actor 404, bad kind 400, bad JSON 400, unknown route 404', async () => {
    const unknown = await post(`${server.url}/actors/kill`, { actor: 'nobody', kind: 'exit' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'CONTROL_UNKNOWN_ACTOR');
    const kind = await post(`${server.url}/actors/kill`, { actor: 'echo', kind: 'meteor' });
    assert.equal(kind.status, 400);
    assert.equal(kind.body.error.code, 'CONTROL_BAD_KIND');
    const oom = await post(`${server.url}/actors/kill`, { actor: 'echo', kind: 'oom' });
    assert.equal(oom.status, 400, 'oom needs memory limits this actor does not have');
    const json = await post(`${server.url}/actors/kill`, '{not json');
    assert.equal(json.status, 400);
    assert.equal(json.body.error.code, 'CONTROL_BAD_JSON');
    const missing = await post(`${server.url}/actors/kill`, { kind: 'exit' });
    assert.equal(missing.body.error.code, 'CONTROL_BAD_REQUEST');
    const route = await get(`${server.url}/nope`);
    assert.equal(route.status, 404);
    assert.equal(route.body.error.code, 'CONTROL_NOT_FOUND');
  });

  it('sets, clears, kills and revives provider faults, mapping unknown providers to 404', async () => {
    const set = await post(`${server.url}/providers/fault`, {
      provider: 'p1',
      fault: { kind: '429', retryAfterSec: 1 },
    });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.providers.p1, { kind: '429', retryAfterSec: 1 });
    const bad = await post(`${server.url}/providers/fault`, { provider: 'p9', fault: { kind: '500' } });
    assert.equal(bad.status, 404);
    assert.equal(bad.body.error.code, 'DEVNET_UNKNOWN_PROVIDER');
    assert.equal((await post(`${server.url}/providers/clear`, { provider: 'p1' })).status, 200);
    assert.deepEqual((await get(`${server.url}/providers`)).body.providers, {});
    assert.deepEqual((await post(`${server.url}/providers/kill`, { provider: 'p1' })).body, { killed: 'p1' });
    assert.deepEqual((await post(`${server.url}/providers/revive`, { provider: 'p1' })).body, { revived: 'p1' });
    assert.deepEqual(killed, ['p1', 'revive p1']);
  });

  it('the fault-inject target mode kills actors through it and sees each one recover', async () => {
    const lines: string[] = [];
    const report = await runAgainstTarget({
      target: server.url,
      token: TOKEN,
      durationMs: 600,
      intervalMs: 250,
      kinds: ['exit', 'terminate'],
      seed: 2,
      recoverTimeoutMs: 10_000,
      write: (l) => lines.push(l),
    });
    assert.ok(report.killed >= 1, `killed ${report.killed}`);
    assert.equal(report.notRecovered, 0);
    assert.equal(report.recovered, report.killed);
    assert.ok(report.restartsDelta >= report.killed);
    assert.equal(report.ok, true);
    assert.ok(lines.some((l) => /killed/.test(l)));
  });

  it('the target mode refuses a non-loopback target and a server that is not there', async () => {
    const out: string[] = [];
    assert.equal(await faultInjectTarget(['--target', 'http://example.com:80'], (l) => out.push(l)), 2);
    assert.match(out.join('\n'), /--target/);
    const closed = await startControlServer({ stats: () => ({}), actors: () => [], killActor: () => false });
    const url = closed.url;
    await closed.close();
    assert.equal(await faultInjectTarget(['--target', url, '--duration-ms', '100'], (l) => out.push(l)), 3);
  });

  it('without a local cluster the provider routes answer 501', async () => {
    const s = await startControlServer({ stats: () => ({}), actors: () => [], killActor: () => false, token: TOKEN });
    try {
      const r = await post(`${s.url}/providers/kill`, { provider: 'x' });
      assert.equal(r.status, 501);
      assert.equal(r.body.error.code, 'CONTROL_NO_CLUSTER');
    } finally {
      await s.close();
    }
  });
});
