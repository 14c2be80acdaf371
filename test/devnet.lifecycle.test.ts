/**
 * Starting and stopping: close() leaves no server, socket or timer behind (with a WebSocket
 * subscriber, a hung request and pooled connections open at the time), bad options and busy
 * ports are clear errors, and `npm run devnet` starts, serves and stops cleanly.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer as createNetServer } from 'node:net';
import { Connection, Keypair, LAMPORTS_PER_SOL } from '@solana/web3.js';
import { WebSocket } from 'ws';
import { systemClock, type Clock, type TimerHandle } from '../src/clock.ts';
import { ConfigError } from '../src/errors.ts';
import { DevnetError, startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../src/devnet/index.ts';
import { freshPost, post, result, rpc, waitFor } from './devnet.helpers.ts';

const NET_KINDS = new Set(['TCPServerWrap', 'TCPSocketWrap', 'Timeout']);
function netHandles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (NET_KINDS.has(r)) out[r] = (out[r] ?? 0) + 1;
  return out;
}

function nextMessage(ws: WebSocket, match: (m: any) => boolean): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching websocket message')), 5000);
    const onMessage = (data: unknown): void => {
      const m = JSON.parse(String(data));
      if (!match(m)) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(m);
    };
    ws.on('message', onMessage);
  });
}

/** systemClock, counting the timers still pending (unref'd timers are invisible to getActiveResourcesInfo). */
function trackingClock(): Clock & { pending: () => number } {
  const live = new Set<TimerHandle>();
  return {
    now: () => systemClock.now(),
    setTimeout(fn, ms) {
      const h: TimerHandle = systemClock.setTimeout(() => {
        live.delete(h);
        fn();
      }, ms);
      live.add(h);
      return h;
    },
    clearTimeout(h) {
      live.delete(h);
      systemClock.clearTimeout(h);
    },
    pending: () => live.size,
  };
}

describe('devnet lifecycle', { timeout: 60_000 }, () => {
  it('close() leaves no handles, even with a subscriber, a hung request and pooled sockets open', async () => {
    const baseline = netHandles();
    const clock = trackingClock();
    const cluster = await startLocalCluster({ slotMs: 5, clock });
    const [a, b] = cluster.endpoints;
    await result(a!.url, 'getSlot');
    await result(b!.url, 'getSlot');

    const ws = new WebSocket(a!.wsUrl);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'slotSubscribe' }));
    const sub = await nextMessage(ws, (m) => m.id === 1);
    const note = await nextMessage(ws, (m) => m.method === 'slotNotification');
    assert.equal(note.params.subscription, sub.result);
    assert.equal(typeof note.params.result.slot, 'number');
    assert.equal(note.params.result.parent, note.params.result.slot - 1);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    cluster.faults.set(a!.name, { kind: 'latency', ms: 60_000, methods: ['getBalance'] });
    const delayed = rpc(a!.url, 'getBalance', ['11111111111111111111111111111111']).catch((e: unknown) => e);
    await waitFor(() => (cluster.getStats().providers[0]!.faultsInjected['latency'] === 1 ? true : undefined));
    cluster.faults.set(b!.name, { kind: 'hang' });
    const hung = post(b!.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' }, AbortSignal.timeout(10_000)).catch(
      (e: unknown) => e,
    );
    await waitFor(() => (cluster.getStats().providers[1]!.hangingNow === 1 ? true : undefined));

    await cluster.close();
    await cluster.close();
    assert.equal(await closed, 1000, 'subscribers get a normal close, so web3.js does not reconnect forever');
    assert.ok((await hung) instanceof Error, 'the hung request ends with the cluster');
    assert.ok((await delayed) instanceof Error, 'a delayed request ends with the cluster');
    assert.equal(clock.pending(), 0, 'no slot or latency timer left');
    await waitFor(
      () => (JSON.stringify(netHandles()) === JSON.stringify(baseline) ? true : undefined),
      5000,
      'handles back to baseline',
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(baseline)} → ${JSON.stringify(netHandles())}`);
    });
    await assert.rejects(
      cluster.faults.revive(a!.name),
      (e: unknown) => e instanceof DevnetError && e.code === 'DEVNET_CLOSED',
    );
  });

  it('PubSub: signatureSubscribe notifies at the asked commitment; unknown ids and methods are errors', async () => {
    const cluster = await startLocalCluster({ providers: ['p'], slotMs: 5 });
    const e = cluster.endpoints[0]!;
    const ws = new WebSocket(e.wsUrl);
    try {
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const sig = await result(e.url, 'requestAirdrop', ['11111111111111111111111111111112', 1_000_000_000]);
      ws.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 'f',
          method: 'signatureSubscribe',
          params: [sig, { commitment: 'finalized' }],
        }),
      );
      const sub = await nextMessage(ws, (m) => m.id === 'f');
      const note = await nextMessage(ws, (m) => m.method === 'signatureNotification');
      assert.equal(note.params.subscription, sub.result);
      assert.deepEqual(note.params.result.value, { err: null });
      const status = await result(e.url, 'getSignatureStatuses', [[sig]]);
      assert.equal(status.value[0].confirmationStatus, 'finalized', 'notified only once finalized');
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'signatureUnsubscribe', params: [sub.result] }));
      assert.equal(
        (await nextMessage(ws, (m) => m.id === 2)).error.code,
        -32602,
        'a signature subscription ends with its notification',
      );
      // accountSubscribe is served now (test/devnet.pubsub.test.ts); programSubscribe is not.
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'programSubscribe', params: [] }));
      assert.equal((await nextMessage(ws, (m) => m.id === 3)).error.code, -32601);
      ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'ping' }));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'rootSubscribe' }));
      const root = await nextMessage(ws, (m) => m.id === 4);
      const rootNote = await nextMessage(ws, (m) => m.method === 'rootNotification');
      assert.equal(rootNote.params.subscription, root.result);
      assert.equal(typeof rootNote.params.result, 'number');
    } finally {
      ws.terminate();
      await cluster.close();
    }
  });

  it('with fixed ports, PubSub is also on port + 1, so a web3.js Connection without wsEndpoint confirms', async () => {
    let cluster: LocalCluster | undefined;
    for (let attempt = 0; !cluster && attempt < 5; attempt++) {
      const port = await new Promise<number>((resolve) => {
        const probe = createNetServer().listen(0, '127.0.0.1', () => {
          const p = (probe.address() as { port: number }).port;
          probe.close(() => resolve(p));
        });
      });
      if (port >= 65535) continue;
      cluster = await startLocalCluster({ providers: ['solo'], basePort: port, slotMs: 5 }).catch(() => undefined);
    }
    assert.ok(cluster, 'found two free adjacent ports');
    try {
      const e = cluster.endpoints[0]!;
      const conn = new Connection(e.url, 'confirmed');
      const who = Keypair.generate().publicKey;
      const sig = await conn.requestAirdrop(who, LAMPORTS_PER_SOL);
      const res = await conn.confirmTransaction({ signature: sig, ...(await conn.getLatestBlockhash()) }, 'confirmed');
      assert.equal(res.value.err, null);
      assert.equal(await conn.getBalance(who), LAMPORTS_PER_SOL);
      const plain = await freshPost(`http://127.0.0.1:${e.port + 1}`, {});
      assert.equal(plain.status, 426, 'port + 1 speaks WebSocket only');
      // web3.js closes its idle socket after 500 ms; killing the port under an open one would
      // start web3.js's endless reconnect loop (its behaviour, not the cluster's).
      await waitFor(
        () => (cluster!.getStats().providers[0]!.ws.connections === 0 ? true : undefined),
        5000,
        'web3.js to close its idle socket',
      );
      await cluster.faults.kill('solo');
      await assert.rejects(freshPost(`http://127.0.0.1:${e.port + 1}`, {}), { code: 'ECONNREFUSED' });
      await cluster.faults.revive('solo');
      assert.equal((await freshPost(`http://127.0.0.1:${e.port + 1}`, {})).status, 426);
    } finally {
      await cluster.close();
    }
  });

  it('bad options are ConfigErrors; a busy port is a DevnetError and nothing is left listening', async () => {
    const bad = async (o: LocalClusterOptions): Promise<void> => {
      await assert.rejects(startLocalCluster(o), (e: unknown) => e instanceof ConfigError);
    };
    await bad({ providers: [] });
    await bad({ providers: ['x', 'x'] });
    await bad({ providers: ['bad name'] });
    await bad({ slotMs: 0 });
    await bad({ basePort: 70_000 });
    await bad({ basePort: -1 });

    const first = await startLocalCluster({ providers: ['one'] });
    const baseline = netHandles();
    try {
      await assert.rejects(
        startLocalCluster({ providers: ['x', 'y'], basePort: first.endpoints[0]!.port - 2 }),
        (e: unknown) => e instanceof DevnetError && e.code === 'DEVNET_LISTEN_FAILED',
      );
      // Provider x listened before y failed; it must have been closed again.
      const servers = (): number => netHandles()['TCPServerWrap'] ?? 0;
      await waitFor(
        () => (servers() <= (baseline['TCPServerWrap'] ?? 0) ? true : undefined),
        5000,
        'no leftover servers',
      ).catch((e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(baseline)} → ${JSON.stringify(netHandles())}`);
      });
      assert.equal((await rpc(first.endpoints[0]!.url, 'getHealth')).result, 'ok');
    } finally {
      await first.close();
    }
  });

  it('npm run devnet: prints endpoints and env lines, serves, stops on SIGTERM and on --for-ms', async () => {
    const script = fileURLToPath(new URL('../scripts/tools/devnet.ts', import.meta.url));
    const run = (
      args: string[],
    ): { child: ReturnType<typeof spawn>; out: () => string; exit: Promise<number | null> } => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PALISADE_LOG_LEVEL: 'info' },
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, out: () => out, exit };
    };
    const longRun = run(['--base-port', '0', '--slot-ms', '20', '--for-ms', '60000']);
    const shortRun = run(['--base-port', '0', '--providers', 'solo', '--for-ms', '200']);
    try {
      const url = await waitFor(
        () => /helius-local\s+(http:\/\/\S+)/.exec(longRun.out())?.[1],
        20_000,
        'the endpoint banner',
      );
      assert.match(longRun.out(), /export HELIUS_RPC_URL=http:\/\/127\.0\.0\.1:\d+/);
      assert.match(longRun.out(), /export CHAINSTACK_RPC_URL=/);
      assert.match(longRun.out(), /export SOLANA_RPC_URL=/);
      assert.match(longRun.out(), /__admin\/fault/);
      assert.equal(await result(url, 'getHealth'), 'ok');
      longRun.child.kill('SIGTERM');
      assert.equal(await longRun.exit, 0);
      assert.match(longRun.out(), /devnet: stopping/);
      assert.equal(await shortRun.exit, 0);
      assert.match(shortRun.out(), /solo\s+http:\/\/127\.0\.0\.1:\d+/);
      assert.match(shortRun.out(), /--for-ms elapsed/);
    } finally {
      longRun.child.kill('SIGKILL');
      shortRun.child.kill('SIGKILL');
    }
  });
});
