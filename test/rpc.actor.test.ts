/**
 * Actor mode: each endpoint runs in its own worker under the supervisor. Real timers (workers
 * cannot share a ManualClock); assertions are on behaviour, and every wait has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Supervisor } from '../src/runtime/index.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { startFixtureServer } from './fixtures/rpc/server.ts';
import { count, until } from './fixtures/rpc/helpers.ts';

test('actor mode: endpoints in workers publish health through shared memory; calls and failover work', async () => {
  const a = await startFixtureServer({ slot: 500 });
  const b = await startFixtureServer({ slot: 500 });
  const sup = new Supervisor({});
  const pool = new RpcConnectionPool(
    {
      endpoints: [
        { name: 'a', url: a.url },
        { name: 'b', url: b.url },
      ],
      healthIntervalMs: 50,
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
    },
    { supervisor: sup },
  );
  try {
    assert.equal(pool.mode, 'actor');
    await pool.ready();
    const r = await pool.call('getVersion');
    assert.equal(r.endpoint, 'a');
    // The probers run inside the workers; their slots arrive through the shared table.
    await until(() => pool.getStats().endpoints.every((e) => e.slot === 500), 'slots from the workers');
    // Every method fails on a (its 50 ms probes too, so no probe success resets the count).
    a.fault = { kind: 'http', status: 503 };
    for (let i = 0; i < 3; i++) assert.equal((await pool.call('getVersion')).endpoint, 'b');
    await until(
      () => pool.getStats().endpoints[0]!.state === 'OPEN',
      'the breaker inside the worker opened; the host sees it',
    );
    const s = pool.getStats();
    assert.ok(s.endpoints[0]!.failuresByClass.http_5xx >= 1);
    const before = count(a, 'getVersion');
    assert.equal((await pool.call('getVersion')).endpoint, 'b');
    assert.equal(count(a, 'getVersion'), before, 'skipped while OPEN');
    assert.equal(s.endpoints[0]!.incarnations, 1);
  } finally {
    await pool.close();
    await sup.shutdown({ drainMs: 100 });
    await a.close();
    await b.close();
  }
});

for (const kind of ['exit', 'uncaught'] as const) {
  test(`actor mode: an endpoint actor crash (${kind}) mid-traffic costs 0 user-visible failures; it is restarted`, async () => {
    const a = await startFixtureServer();
    const b = await startFixtureServer();
    // Slow answers keep attempts in flight on the actor when it dies.
    a.fault = { kind: 'latency', ms: 20 };
    const sup = new Supervisor({});
    const pool = new RpcConnectionPool(
      {
        endpoints: [
          { name: 'a', url: a.url },
          { name: 'b', url: b.url },
        ],
      },
      { supervisor: sup, actorNamePrefix: `crash-${kind}` },
    );
    try {
      await pool.ready();
      let failures = 0;
      let done = 0;
      let stop = false;
      const worker = async (): Promise<void> => {
        while (!stop) {
          try {
            await pool.call('getVersion');
          } catch {
            failures++;
          }
          done++;
        }
      };
      const workers = Array.from({ length: 8 }, () => worker());
      await until(() => done >= 40, 'traffic on a');
      assert.equal(sup.injectFault(`crash-${kind}-a`, kind), true);
      await until(
        () => pool.getStats().endpoints[0]!.incarnations === 2 && pool.getStats().endpoints[0]!.alive,
        'the restarted actor',
        10_000,
      );
      const afterRestart = done;
      await until(() => done >= afterRestart + 40, 'traffic after the restart');
      stop = true;
      await Promise.all(workers);
      const s = pool.getStats();
      assert.equal(failures, 0, 'no call failed');
      assert.ok(s.endpoints[1]!.successes > 0, 'the other provider served while a was down');
      assert.ok(
        s.endpoints[0]!.failuresByClass.actor_crash > 0,
        'attempts in flight on the dead actor were failed over',
      );
      assert.equal(s.failed['RPC_POOL_EXHAUSTED'] ?? 0, 0);
      assert.equal(sup.getStats().actors.find((x) => x.name === `crash-${kind}-a`)!.restarts, 1);
    } finally {
      await pool.close();
      await sup.shutdown({ drainMs: 100 });
      await a.close();
      await b.close();
    }
  });
}
