/**
 * The local cluster in its own worker thread behind a comlink proxy: calls over HTTP and through
 * web3.js and the pool work; faults set through the proxy are seen over HTTP; errors keep their
 * class and code across the thread; a dead worker rejects pending and later calls at once; a
 * blocked worker's calls time out by the injected clock; close leaves no handle behind.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Connection } from '@solana/web3.js';
import { ManualClock } from '../src/clock.ts';
import { ConfigError } from '../src/errors.ts';
import { createLogger } from '../src/log/index.ts';
import { DevnetError } from '../src/devnet/index.ts';
import {
  startLocalClusterInWorker,
  type RemoteLocalCluster,
  type RemoteClusterOptions,
} from '../src/devnet/remote/index.ts';
import { RpcConnectionPool } from '../src/rpc/index.ts';
import { freshPost, post, result, waitFor } from './devnet.helpers.ts';

/** Resources a cluster thread holds while it runs (its worker and ports show as MessagePort). */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo())
    if (r !== 'Timeout' && r !== 'Immediate') out[r] = (out[r] ?? 0) + 1;
  return out;
}

async function withCluster<T>(options: RemoteClusterOptions, fn: (c: RemoteLocalCluster) => Promise<T>): Promise<T> {
  const c = await startLocalClusterInWorker(options);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Whether `p` is still pending after the event loop had a few turns. */
async function isPending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return !settled;
}

describe('devnet cluster in a worker thread (comlink control plane)', () => {
  it('serves JSON-RPC from its own thread: plain HTTP, web3.js Connection and the pool; slots advanced through the proxy are seen over HTTP', async () => {
    await withCluster({ slotMs: 50 }, async (c) => {
      assert.equal(c.endpoints.length, 3);
      assert.notEqual(c.threadId, 0, 'runs in a worker thread');
      const [a] = c.endpoints;
      const conn = new Connection(a!.url, { commitment: 'confirmed', wsEndpoint: a!.wsUrl });
      assert.equal(typeof (await conn.getVersion())['solana-core'], 'string');

      const before = (await result(a!.url, 'getSlot', [{ commitment: 'processed' }])) as number;
      const tip = await c.chain.advanceSlots(500);
      assert.ok(tip.slot >= before + 500, `tip ${tip.slot} after ${before} + 500`);
      const after = (await result(a!.url, 'getSlot', [{ commitment: 'processed' }])) as number;
      assert.ok(after >= tip.slot, `HTTP slot ${after} behind the proxy's tip ${tip.slot}`);

      const pool = new RpcConnectionPool(
        { endpoints: c.endpoints.map((e, i) => ({ name: e.name, url: e.url, tier: i })), requestTimeoutMs: 5000 },
        { mode: 'inline' },
      );
      try {
        const r = await pool.call('getBlockHeight', []);
        assert.equal(r.ok, true);
        assert.equal(typeof r.result, 'number');
      } finally {
        await pool.close();
      }
      const stats = await c.getStats();
      assert.ok(stats.providers.reduce((n, p) => n + p.rpcCalls, 0) >= 3, 'the cluster counted the requests');
    });
  });

  it('faults set through the proxy are seen over HTTP: 429 with Retry-After, clear, kill → ECONNREFUSED, revive', async () => {
    await withCluster({}, async (c) => {
      const [a, b] = c.endpoints;
      await c.faults.set(a!.name, { kind: '429', retryAfterSec: 3 });
      const limited = await post(a!.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '3');
      await limited.arrayBuffer();
      assert.equal((await c.faults.list())[a!.name]!.faults[0]!.kind, '429');

      await c.faults.clear(a!.name);
      assert.equal(typeof (await result(a!.url, 'getSlot')), 'number');

      await c.faults.add(b!.name, { kind: '503', count: 1 });
      assert.equal((await freshPost(b!.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' })).status, 503);
      assert.equal(
        (await freshPost(b!.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' })).status,
        200,
        'count: 1 strikes once',
      );

      await c.faults.kill(a!.name);
      await assert.rejects(freshPost(a!.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' }), { code: 'ECONNREFUSED' });
      assert.equal((await c.faults.list())[a!.name]!.killed, true);
      assert.equal(typeof (await result(b!.url, 'getSlot')), 'number', 'the other ports still serve');
      await c.faults.revive(a!.name);
      assert.equal(typeof (await result(a!.url, 'getSlot')), 'number');
    });
  });

  it('errors keep their class and code across the thread; bad options are ConfigErrors and leave no worker behind', async () => {
    const before = resources();
    await assert.rejects(
      startLocalClusterInWorker({ providers: [] }),
      (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && /devnet\.providers/.test(e.message),
    );
    await assert.rejects(startLocalClusterInWorker({ callTimeoutMs: 0 }), ConfigError);
    assert.deepEqual(resources(), before);

    await withCluster({}, async (c) => {
      await assert.rejects(
        c.faults.set('nope', { kind: '500' }),
        (e: unknown) => e instanceof DevnetError && e.code === 'DEVNET_UNKNOWN_PROVIDER',
      );
      await assert.rejects(
        c.faults.set(c.endpoints[0]!.name, { kind: 'teapot' } as never),
        (e: unknown) => e instanceof DevnetError && e.code === 'DEVNET_BAD_FAULT',
      );
      await assert.rejects(c.chain.advanceSlots(0), { code: 'DEVNET_BAD_ADVANCE' });
      const s = c.getControlStats();
      assert.equal(s.failed, 3);
      assert.equal(s.state, 'running');
    });
  });

  it("forwards the worker's log lines to the host logger, tagged with the thread", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink });
    await withCluster({ logger }, async (c) => {
      await c.faults.set(c.endpoints[1]!.name, { kind: '500' });
      await waitFor(() => lines.find((l) => l['msg'] === 'devnet: faults set'), 5000, 'the forwarded log line');
      const line = lines.find((l) => l['msg'] === 'devnet: faults set')!;
      assert.equal(line['thread'], 'devnet-cluster');
      assert.equal(line['provider'], c.endpoints[1]!.name);
      assert.equal(line['level'], 30);
    });
  });

  it('a worker that exits rejects its pending calls and every later call with DEVNET_WORKER_EXITED instead of hanging', async () => {
    const exits: unknown[] = [];
    const c = await startLocalClusterInWorker({ testHooks: true, onExit: (e) => exits.push(e) });
    try {
      const hung = c.testHooks!.hang();
      assert.equal(await isPending(hung), true, 'hang() is pending while the worker lives');
      const exitCall = c.testHooks!.exit(7);
      await assert.rejects(
        hung,
        (e: unknown) =>
          e instanceof DevnetError && e.code === 'DEVNET_WORKER_EXITED' && (e as { exitCode?: unknown }).exitCode === 7,
      );
      await assert.rejects(exitCall, { code: 'DEVNET_WORKER_EXITED' });
      await assert.rejects(c.faults.list(), { code: 'DEVNET_WORKER_EXITED' });
      await assert.rejects(c.getStats(), { code: 'DEVNET_WORKER_EXITED' });
      const s = c.getControlStats();
      assert.equal(s.state, 'exited');
      assert.equal(s.exit?.code, 7);
      assert.equal(s.rejectedExited, 4);
      assert.equal(s.pending, 0);
      assert.equal(exits.length, 1);
      // The thread took its servers with it.
      await assert.rejects(freshPost(c.endpoints[0]!.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' }), {
        code: 'ECONNREFUSED',
      });
    } finally {
      await c.close();
    }
  });

  it('a worker terminated from outside rejects the pending call with DEVNET_WORKER_EXITED', async () => {
    const c = await startLocalClusterInWorker({ testHooks: true });
    try {
      const hung = c.testHooks!.hang();
      assert.equal(await isPending(hung), true);
      await c.testHooks!.terminate();
      await assert.rejects(hung, { code: 'DEVNET_WORKER_EXITED' });
      await assert.rejects(c.faults.kill(c.endpoints[0]!.name), { code: 'DEVNET_WORKER_EXITED' });
    } finally {
      await c.close();
    }
  });

  it('a control call that never answers (worker busy-looping) rejects with DEVNET_CONTROL_TIMEOUT at its deadline; close still terminates the thread', async () => {
    const clock = new ManualClock();
    const before = resources();
    const c = await startLocalClusterInWorker({ testHooks: true, clock, callTimeoutMs: 2000, closeTimeoutMs: 3000 });
    const spin = c.testHooks!.spin(120_000);
    const list = c.faults.list();
    assert.equal(await isPending(list), true, 'a blocked worker does not answer');
    clock.advance(1999);
    assert.equal(await isPending(list), true, 'not before the deadline');
    clock.advance(1);
    await assert.rejects(
      list,
      (e: unknown) =>
        e instanceof DevnetError &&
        e.code === 'DEVNET_CONTROL_TIMEOUT' &&
        (e as { method?: unknown }).method === 'faults.list',
    );
    await assert.rejects(spin, { code: 'DEVNET_CONTROL_TIMEOUT' });
    assert.equal(c.getControlStats().timeouts, 2);

    const closing = c.close();
    clock.advance(3000); // the cluster's own close cannot run in a blocked thread: its deadline passes, the thread is terminated
    await closing;
    const s = c.getControlStats();
    assert.equal(s.closeTimedOut, true);
    assert.equal(s.state, 'closed');
    assert.equal(s.pending, 0);
    await assert.rejects(c.faults.list(), { code: 'DEVNET_CLOSED' });
    assert.deepEqual(resources(), before, 'no worker, port or socket left');
  });

  it('close() closes the cluster in its thread, terminates it and leaves no handle; later calls are DEVNET_CLOSED', async () => {
    const before = resources();
    const c = await startLocalClusterInWorker({});
    const url = c.endpoints[0]!.url;
    assert.equal(typeof (await result(url, 'getSlot')), 'number');
    await Promise.all([c.close(), c.close()]);
    const s = c.getControlStats();
    assert.equal(s.state, 'closed');
    assert.equal(s.closeTimedOut, false);
    await assert.rejects(c.faults.list(), (e: unknown) => e instanceof DevnetError && e.code === 'DEVNET_CLOSED');
    assert.deepEqual(resources(), before, 'no worker, port or socket left');
    await assert.rejects(freshPost(url, { jsonrpc: '2.0', id: 1, method: 'getSlot' }), { code: 'ECONNREFUSED' });
  });
});
