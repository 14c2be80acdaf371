import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureServer } from './fixtures/rpc/server.ts';
import { count, probeRound, testPool, tick, until } from './fixtures/rpc/helpers.ts';

test('slot lag: an endpoint far behind the best is demoted, used only when nothing fresh is permitted', async () => {
  const a = await startFixtureServer({ slot: 1000 });
  const b = await startFixtureServer({ slot: 1100 });
  const t = await testPool(
    [
      { name: 'a', url: a.url },
      { name: 'b', url: b.url },
    ],
    { maxSlotLag: 20, healthIntervalMs: 1000 },
  );
  try {
    // Each prober judges its own lag when it probes: one more round and a sees b's slot.
    await probeRound(t, 1000);
    let [ea, eb] = t.pool.getStats().endpoints;
    assert.equal(ea!.slot, 1000);
    assert.equal(ea!.lag, 100);
    assert.equal(ea!.demoted, true);
    assert.equal(eb!.demoted, false);
    assert.equal(t.pool.getStats().bestSlot, 1100);
    for (let i = 0; i < 3; i++)
      assert.equal((await t.pool.call('getVersion')).endpoint, 'b', 'the tier-0 endpoint is demoted');
    assert.equal(count(a, 'getVersion'), 0);

    // Nothing fresh permitted: b fails on this call, so the demoted endpoint serves it.
    b.methodFaults.set('getVersion', { kind: 'http', status: 500 });
    const r = await t.pool.call('getVersion');
    assert.equal(r.endpoint, 'a');
    assert.equal(r.attempts, 2);
    b.methodFaults.clear();

    // a catches up: promoted at its next probe.
    a.slot = 1100;
    await probeRound(t, 1000);
    [ea, eb] = t.pool.getStats().endpoints;
    assert.equal(ea!.demoted, false);
    assert.equal(ea!.lag, 0);
    assert.equal((await t.pool.call('getVersion')).endpoint, 'a');
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('recovery is probed by the prober when the cooldown ends; user requests are never the probe', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  const t = await testPool([
    { name: 'a', url: a.url },
    { name: 'b', url: b.url },
  ]);
  try {
    a.fault = { kind: 'http', status: 503 };
    await t.pool.call('getVersion');
    await t.pool.call('getVersion');
    assert.equal(t.pool.getStats().endpoints[0]!.state, 'OPEN');
    const tripped = a.log.length;

    // The upstream recovers, but its recovery probe hangs: HALF_OPEN with the probe in flight.
    a.fault = { kind: 'none' };
    a.methodFaults.set('getSlot', { kind: 'hang' });
    t.clock.advance(1000);
    await until(() => a.log.length > tripped, 'the recovery probe');
    assert.equal(t.pool.getStats().endpoints[0]!.state, 'HALF_OPEN');
    for (let i = 0; i < 5; i++) assert.equal((await t.pool.call('getVersion')).endpoint, 'b');
    // The probe times out: OPEN again, with a longer cooldown (the breaker's backoff, × 2).
    t.clock.advance(800);
    await until(() => t.pool.getStats().endpoints[0]!.state === 'OPEN', 're-opened');
    assert.equal((await t.pool.call('getVersion')).endpoint, 'b');

    a.methodFaults.clear();
    t.clock.advance(1999);
    await tick();
    assert.equal(t.pool.getStats().endpoints[0]!.state, 'OPEN');
    t.clock.advance(1);
    await until(() => t.pool.getStats().endpoints[0]!.state === 'CLOSED', 'closed by the probe');
    assert.deepEqual(
      a.log.slice(tripped).map((l) => l.method),
      ['getSlot', 'getSlot'],
      'only probes reached the endpoint between OPEN and CLOSED',
    );
    assert.equal((await t.pool.call('getVersion')).endpoint, 'a');
    assert.equal(t.pool.getStats().endpoints[0]!.probes >= 3, true);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('an idle dead endpoint is opened by its freshness probes alone', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  const t = await testPool(
    [
      { name: 'a', url: a.url },
      { name: 'b', url: b.url },
    ],
    { healthIntervalMs: 1000 },
  );
  try {
    a.fault = { kind: 'http', status: 500 };
    await probeRound(t, 1000);
    await probeRound(t, 1000);
    const ea = t.pool.getStats().endpoints[0]!;
    assert.equal(ea.state, 'OPEN');
    assert.equal(ea.calls, 0, 'no user call paid for the discovery');
    assert.equal(ea.probeFailures, 2);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('a stalled attempt makes its endpoint suspect: new calls go elsewhere until it answers again', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  const t = await testPool(
    [
      { name: 'a', url: a.url },
      { name: 'b', url: b.url },
    ],
    { stallAfterMs: 200, healthIntervalMs: 1000, breaker: { failureThreshold: 5, cooldownMs: 1000, jitterRatio: 0 } },
  );
  try {
    a.fault = { kind: 'hang' };
    const stuck = t.pool.call('getVersion');
    await until(() => count(a, 'getVersion') === 1, 'the hung attempt');
    t.clock.advance(199);
    assert.equal(t.pool.getStats().endpoints[0]!.suspect, false);
    t.clock.advance(1);
    assert.equal(t.pool.getStats().endpoints[0]!.suspect, true, 'stalled past stallAfterMs');
    // The suspect endpoint is probed at once (the probe hangs too).
    await until(() => count(a, 'getSlot') === 2, 'the immediate probe');
    // While the first call is still stuck on a, new calls go to b without touching a.
    for (let i = 0; i < 3; i++) assert.equal((await t.pool.call('getHealth')).endpoint, 'b');
    assert.equal(count(a, 'getHealth'), 0);
    // The prompt probe gets 2 × stallAfterMs: it times out at t=600 and counts as a failure.
    t.clock.advance(400);
    await until(() => t.pool.getStats().endpoints[0]!.probeFailures === 1, 'the hung probe timed out');
    t.clock.advance(200);
    assert.equal((await stuck).endpoint, 'b', 'the stuck call failed over at its attempt deadline');
    // Still suspect after the timeouts: nothing has succeeded there since.
    assert.equal(t.pool.getStats().endpoints[0]!.suspect, true);
    assert.equal((await t.pool.call('getHealth')).endpoint, 'b');
    assert.equal(
      t.pool.getStats().endpoints[0]!.failuresByClass.timeout,
      1,
      'user attempts (probe failures are counted apart)',
    );
    // The upstream recovers; the next freshness probe (t=1000) succeeds and clears the suspicion.
    a.fault = { kind: 'none' };
    await probeRound(t, 200);
    assert.equal(t.pool.getStats().endpoints[0]!.suspect, false);
    assert.equal(t.pool.getStats().endpoints[0]!.state, 'CLOSED');
    assert.equal((await t.pool.call('getHealth')).endpoint, 'a');
    // Long-running methods are not watched.
    a.methodFaults.set('getProgramAccounts', { kind: 'hang' });
    const slow = t.pool.call('getProgramAccounts', ['x']);
    slow.catch(() => undefined);
    await until(() => count(a, 'getProgramAccounts') === 1, 'the long call');
    t.clock.advance(500);
    assert.equal(t.pool.getStats().endpoints[0]!.suspect, false);
    t.clock.advance(300);
    await slow.catch(() => undefined);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});
