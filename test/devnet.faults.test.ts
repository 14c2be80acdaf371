/**
 * Every fault kind of a provider port, observed from a plain fetch the way an RPC client meets
 * it, switched through the API and through the admin route.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { DevnetError, parseFault, startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { freshPost, post, result, rpc, waitFor } from './devnet.helpers.ts';

function causeCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: string; cause?: { code?: string } } }).cause;
  return cause?.code ?? cause?.cause?.code;
}

describe('devnet faults', { timeout: 60_000 }, () => {
  const clock = new ManualClock();
  const draws: number[] = [];
  let cluster: LocalCluster;
  let a: string;
  let b: string;
  let c: string;

  before(async () => {
    cluster = await startLocalCluster({ providers: ['a', 'b', 'c'], clock, random: () => draws.shift() ?? 0 });
    [a, b, c] = cluster.endpoints.map((e) => e.url) as [string, string, string];
  });
  beforeEach(() => cluster.faults.clear());
  after(() => cluster.close());

  it('429 carries Retry-After and a JSON body; count limits it to the next N requests', async () => {
    cluster.faults.set('a', { kind: '429', retryAfterSec: 7, count: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await post(a, { jsonrpc: '2.0', id: 'q', method: 'getSlot' });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '7');
      const body = (await res.json()) as { error: { code: number }; id: unknown };
      assert.equal(body.error.code, 429);
      assert.equal(body.id, 'q');
    }
    assert.equal(typeof (await result(a, 'getSlot')), 'number', 'the third request is served');
    assert.deepEqual(cluster.faults.list()['a']!.faults, [], 'a spent fault removes itself');
    assert.equal(cluster.getStats().providers[0]!.faultsInjected['429'], 2);
    assert.equal(typeof (await result(b, 'getSlot')), 'number', 'other ports are unaffected');
  });

  it('HTTP 500 and 503', async () => {
    cluster.faults.set('a', { kind: '500' });
    cluster.faults.set('b', { kind: '503' });
    const r500 = await post(a, { jsonrpc: '2.0', id: 1, method: 'getSlot' });
    assert.equal(r500.status, 500);
    await r500.text();
    const r503 = await post(b, { jsonrpc: '2.0', id: 1, method: 'getSlot' });
    assert.equal(r503.status, 503);
    await r503.text();
  });

  it('-32005 node behind, with data.numSlotsBehind, for single calls and batches', async () => {
    cluster.faults.set('a', { kind: 'node-behind', numSlotsBehind: 42 });
    const r = await rpc(a, 'getBalance', ['11111111111111111111111111111111'], 'z');
    assert.deepEqual(r, {
      jsonrpc: '2.0',
      error: { code: -32005, message: 'Node is behind by 42 slots', data: { numSlotsBehind: 42 } },
      id: 'z',
    });
    const batch = (await (
      await post(a, [
        { jsonrpc: '2.0', id: 1, method: 'getSlot' },
        { jsonrpc: '2.0', id: 2, method: 'getSlot' },
      ])
    ).json()) as Array<{ id: number; error: { code: number } }>;
    assert.deepEqual(
      batch.map((x) => [x.id, x.error.code]),
      [
        [1, -32005],
        [2, -32005],
      ],
    );
    cluster.faults.set('b', parseFault({ kind: '-32005' }));
    assert.equal((await rpc(b, 'getSlot')).error?.code, -32005, '"-32005" is an alias of node-behind');
  });

  it('hang: the request is read and never answered until the client aborts', async () => {
    cluster.faults.set('a', { kind: 'hang' });
    const ac = new AbortController();
    const pending = post(a, { jsonrpc: '2.0', id: 1, method: 'getSlot' }, ac.signal);
    await waitFor(
      () => (cluster.getStats().providers[0]!.hangingNow === 1 ? true : undefined),
      5000,
      'the hang to hold the request',
    );
    ac.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await waitFor(
      () => (cluster.getStats().providers[0]!.hangingNow === 0 ? true : undefined),
      5000,
      'the hung socket to close',
    );
    cluster.faults.clear('a');
    assert.equal(typeof (await result(a, 'getSlot')), 'number');
  });

  it('reset: the connection is destroyed mid-request and fetch fails', async () => {
    cluster.faults.set('a', { kind: 'reset', count: 1 });
    const err = await post(a, { jsonrpc: '2.0', id: 1, method: 'getSlot' }).then(
      () => assert.fail('expected a transport error'),
      (e: unknown) => e,
    );
    assert.equal((err as Error).name, 'TypeError');
    assert.ok(['ECONNRESET', 'UND_ERR_SOCKET'].includes(causeCode(err) ?? ''), `cause ${causeCode(err)}`);
    assert.equal(typeof (await result(a, 'getSlot')), 'number', 'count 1: the next request is served');
  });

  it('latency delays the answer by the injected clock (ms + jitter × random)', async () => {
    cluster.faults.set('a', { kind: 'latency', ms: 100, jitterMs: 50 });
    draws.push(0.5);
    let done = false;
    const pending = result(a, 'getSlot').then((v) => {
      done = true;
      return v;
    });
    await waitFor(
      () => (cluster.getStats().providers[0]!.faultsInjected['latency'] === 1 ? true : undefined),
      5000,
      'the latency fault',
    );
    clock.advance(124);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, 'not answered before 125 ms of clock time');
    clock.advance(1);
    assert.equal(typeof (await pending), 'number');
  });

  it('probability draws from the injected random; methods limits a fault to some calls', async () => {
    cluster.faults.set('a', { kind: '500', probability: 0.5 });
    draws.push(0.1, 0.9, 0.3, 0.7);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(a, { jsonrpc: '2.0', id: i, method: 'getSlot' });
      statuses.push(res.status);
      await res.text();
    }
    assert.deepEqual(statuses, [500, 200, 500, 200]);

    cluster.faults.set('b', { kind: 'node-behind', methods: ['sendTransaction', 'simulateTransaction'] });
    assert.equal(typeof (await result(b, 'getSlot')), 'number');
    assert.equal((await rpc(b, 'sendTransaction', ['x'])).error?.code, -32005);
  });

  it('slot-lag: the port answers as a node N slots behind; getHealth turns unhealthy past 128', async () => {
    clock.advance(400 * 300);
    const tip = cluster.chain.slot;
    cluster.faults.set('c', { kind: 'slot-lag', slots: 20 });
    assert.equal(await result(c, 'getSlot', [{ commitment: 'processed' }]), tip - 20);
    assert.equal(await result(a, 'getSlot', [{ commitment: 'processed' }]), tip);
    const bh = await result(c, 'getLatestBlockhash', [{ commitment: 'processed' }]);
    assert.equal(bh.context.slot, tip - 20);
    assert.equal(
      bh.value.blockhash,
      cluster.chain.blockAt(tip - 20).blockhash,
      'a lagging node hands out an older blockhash',
    );
    assert.equal(await result(c, 'getHealth'), 'ok');
    const behind = await result(c, 'getSlot', [{ commitment: 'processed', minContextSlot: tip - 20 }]);
    assert.equal(behind, tip - 20);
    assert.equal((await rpc(c, 'getSlot', [{ commitment: 'processed', minContextSlot: tip }])).error?.code, -32016);
    cluster.faults.set('c', { kind: 'slot-lag', slots: 200 });
    const health = await rpc(c, 'getHealth');
    assert.equal(health.error?.code, -32005);
    assert.equal(health.error?.data.numSlotsBehind, 200);
  });

  it('kill refuses connections for real; revive serves again on the same port', async () => {
    const port = cluster.endpoints[0]!.port;
    assert.equal(typeof (await result(a, 'getSlot')), 'number');
    await cluster.faults.kill('a');
    await assert.rejects(freshPost(a, { jsonrpc: '2.0', id: 1, method: 'getSlot' }), { code: 'ECONNREFUSED' });
    // A pooled client may first meet its stale keep-alive socket; a new connection is refused.
    const seen: string[] = [];
    for (let i = 0; i < 3 && seen.at(-1) !== 'ECONNREFUSED'; i++) {
      await post(a, { jsonrpc: '2.0', id: 1, method: 'getSlot' }).then(
        () => assert.fail('a killed port answered'),
        (e: unknown) => seen.push(causeCode(e) ?? String(e)),
      );
    }
    assert.equal(seen.at(-1), 'ECONNREFUSED', `fetch saw ${seen.join(', ')}`);
    assert.equal(cluster.faults.list()['a']!.killed, true);
    assert.equal(typeof (await result(b, 'getSlot')), 'number', 'the chain still serves on the other ports');
    await cluster.faults.revive('a');
    assert.equal(cluster.endpoints[0]!.port, port);
    assert.equal(typeof (await result(a, 'getSlot')), 'number');
  });

  it('admin route: set, list, clear, kill one port from itself and revive it from another', async () => {
    const set = await post(`${a}/__admin/fault`, { kind: '503', count: 1 });
    assert.equal(set.status, 200);
    const listed = (await set.json()) as { providers: Record<string, { faults: Array<{ kind: string }> }> };
    assert.equal(listed.providers['a']!.faults[0]!.kind, '503');
    const hit = await post(a, { jsonrpc: '2.0', id: 1, method: 'getSlot' });
    assert.equal(hit.status, 503);
    await hit.text();

    await (await post(`${a}/__admin/fault`, { provider: 'b', kind: '500' })).text();
    const list = (await (await fetch(`${c}/__admin/faults`, { signal: AbortSignal.timeout(5000) })).json()) as {
      providers: Record<string, { faults: unknown[] }>;
    };
    assert.deepEqual(list.providers['b']!.faults, [{ kind: '500' }]);
    const admin = await post(`${b}/__admin/clear`, {});
    assert.equal(admin.status, 200, 'admin routes are not subject to the port faults');
    await admin.text();
    assert.equal(typeof (await result(b, 'getSlot')), 'number');

    await (await post(`${a}/__admin/fault`, { provider: '*', kind: 'latency', ms: 1, append: true })).text();
    assert.ok(Object.values(cluster.faults.list()).every((p) => p.faults.length === 1));
    await (await post(`${a}/__admin/clear`, { provider: '*' })).text();

    const kill = await post(`${a}/__admin/kill`, {});
    assert.deepEqual(await kill.json(), { killed: 'a' });
    await waitFor(() => (cluster.faults.list()['a']!.killed ? true : undefined), 5000, 'a to stop');
    await assert.rejects(freshPost(a, { jsonrpc: '2.0', id: 1, method: 'getSlot' }), { code: 'ECONNREFUSED' });
    const revive = await post(`${b}/__admin/revive`, { provider: 'a' });
    assert.deepEqual(await revive.json(), { revived: 'a' });
    assert.equal(typeof (await result(a, 'getSlot')), 'number');

    const adv = (await (await post(`${c}/__admin/advance`, { slots: 3 })).json()) as { slot: number };
    assert.equal(adv.slot, cluster.chain.slot);

    const bad = await post(`${a}/__admin/fault`, { kind: 'meteor' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /unknown fault kind/);
    const unknown = await post(`${a}/__admin/teleport`, {});
    assert.equal(unknown.status, 404);
    await unknown.text();
    const wrongVerb = await fetch(`${a}/__admin/kill`, { signal: AbortSignal.timeout(5000) });
    assert.equal(wrongVerb.status, 400);
    await wrongVerb.text();
    const stats = (await (await fetch(`${a}/__admin/stats`, { signal: AbortSignal.timeout(5000) })).json()) as {
      chain: { slot: number };
    };
    assert.equal(stats.chain.slot, cluster.chain.slot);
  });

  it('faults are validated with clear typed errors', () => {
    const bad = (f: unknown, re: RegExp): void =>
      assert.throws(
        () => parseFault(f),
        (e: unknown) => e instanceof DevnetError && e.code === 'DEVNET_BAD_FAULT' && re.test(e.message),
      );
    bad({ kind: 'meteor' }, /unknown fault kind/);
    bad(null, /must be an object/);
    bad({ kind: 'latency' }, /ms must be/);
    bad({ kind: 'latency', ms: -1 }, /ms must be/);
    bad({ kind: '500', probability: 2 }, /\[0, 1\]/);
    bad({ kind: '500', count: 0 }, /at least 1/);
    bad({ kind: '500', count: 1.5 }, /integer/);
    bad({ kind: '500', methods: [] }, /methods/);
    bad({ kind: '500', colour: 'red' }, /unknown fault field/);
    bad({ kind: 'slot-lag', slots: 5, count: 1 }, /state of the port/);
    assert.deepEqual(parseFault({ kind: 429 }), { kind: '429', retryAfterSec: 1 });
    assert.throws(
      () => cluster.faults.set('nope', { kind: '500' }),
      (e: unknown) => e instanceof DevnetError && e.code === 'DEVNET_UNKNOWN_PROVIDER',
    );
  });
});
