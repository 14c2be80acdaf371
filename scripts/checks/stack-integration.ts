/**
 * The specification's integration example (npm alias `test-day3-integration`), run for real
 * against the local Solana cluster (three provider ports, one litesvm chain), plus its trading-events test:
 *
 *   const rpcPool = new RpcConnectionPool(config, dependencies);
 *   const circuitBreakerManager = new CircuitBreakerManager(config);
 *   const signalBus = new SignalBus(config);
 *   const protectedRpcPool = circuitBreakerManager.protect(rpcPool);
 *   signalBus.subscribe('rpc_call_completed', (event) => { ... });
 *   const result = await protectedRpcPool.call('getVersion', []);
 *
 * Prints PASS/FAIL per check and a final `N passed, N failed` line; exits non-zero on a failure.
 *   npm run test-day3-integration -- [--log-level info]
 */
import { Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction } from '@solana/web3.js';
import { pino } from 'pino';
import { CircuitBreakerManager } from '../../src/breaker/index.ts';
import { SignalBus } from '../../src/bus/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { startLocalCluster } from '../../src/devnet/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { RpcConnectionPool, createSolanaConnection, type RpcCallResult } from '../../src/rpc/index.ts';
import { Supervisor } from '../../src/runtime/index.ts';
import { CheckRunner, ensure } from '../../test/support/checks.ts';
import { Closer } from '../lib/closer.ts';
import { sleep, waitFor, withDeadline } from '../../test/support/wait.ts';

const level = process.argv.includes('--log-level') ? process.argv[process.argv.indexOf('--log-level') + 1] : 'silent';
const logger = createLogger({
  name: 'stack-integration',
  level: level ?? 'silent',
  destination: pino.destination({ fd: 2, sync: true }),
});
const checks = new CheckRunner();
const closer = new Closer();

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ logger, slotMs: 100 });
  closer.add('local cluster', () => cluster.close());
  const names = cluster.endpoints.map((e) => e.name);
  console.log(`local cluster: ${cluster.endpoints.map((e) => `${e.name} ${e.url}`).join(', ')}`);

  // The configuration the seed passes around: palisade's own, with the cluster's provider URLs.
  const config = loadConfig({
    env: {
      HELIUS_RPC_URL: cluster.endpoints[0]!.url,
      CHAINSTACK_RPC_URL: cluster.endpoints[1]!.url,
      SOLANA_RPC_URL: cluster.endpoints[2]!.url,
    },
    overrides: { 'breaker.cooldownMs': 1000, 'breaker.failureThreshold': 5 },
  });
  const supervisor = new Supervisor({ logger });
  closer.add('supervisor', () => supervisor.shutdown({ drainMs: 500 }));
  const signalBus = new SignalBus({ ...config.bus, supervisor, logger });
  closer.add('signal bus', () => signalBus.close({ timeoutMs: 1000 }));
  const rpcPool = new RpcConnectionPool(
    {
      endpoints: cluster.endpoints.map((e, i) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl, tier: i })),
      requestTimeoutMs: config.rpc.requestTimeoutMs,
      attemptTimeoutMs: config.rpc.attemptTimeoutMs,
      healthIntervalMs: 200,
      breaker: { failureThreshold: 3, cooldownMs: 1000 },
    },
    { supervisor, logger, bus: signalBus },
  );
  closer.add('rpc pool', () => rpcPool.close());
  await withDeadline(rpcPool.ready(), 60_000, 'endpoint actors start-up');

  // ---------------------------------------------------------------- the specification's integration example, as written
  const circuitBreakerManager = new CircuitBreakerManager(config);
  const protectedRpcPool = circuitBreakerManager.protect(rpcPool);
  const completed: { method: string; ok: boolean; endpoint?: string; attempts: number }[] = [];
  signalBus.subscribe(
    'rpc_call_completed',
    (event: { method: string; ok: boolean; endpoint?: string; attempts: number }) => {
      completed.push({
        method: event.method,
        ok: event.ok,
        ...(event.endpoint ? { endpoint: event.endpoint } : {}),
        attempts: event.attempts,
      });
    },
  );

  const stateChanges: string[] = [];
  signalBus.subscribe(
    'rpc_endpoint_state_changed',
    (e: { endpoint: string; from: string; to: string }) => void stateChanges.push(`${e.endpoint} ${e.from}→${e.to}`),
  );

  await checks.run(
    'current pattern preserved: rpcPool.call("getVersion", []) answers from the local cluster',
    async () => {
      const result = await rpcPool.call<{ 'solana-core': string }>('getVersion', []);
      ensure(result.ok === true, 'result.ok should be true');
      ensure(typeof result.result['solana-core'] === 'string', 'getVersion should carry solana-core');
      return `solana-core ${result.result['solana-core']} via ${result.endpoint} in ${result.latencyMs.toFixed(2)} ms`;
    },
  );

  let result: RpcCallResult | undefined;
  await checks.run('enhanced pattern: protectedRpcPool.call("getVersion", []) works through the breaker', async () => {
    result = await protectedRpcPool.call('getVersion', []);
    ensure(result!.ok === true, 'result.ok should be true');
    const b = circuitBreakerManager.get('rpc_getVersion');
    ensure(b.getState() === 'CLOSED', `breaker rpc_getVersion should be CLOSED, is ${b.getState()}`);
    ensure(b.getStats().successes >= 1, 'the breaker should have counted the call');
    return `endpoint ${result!.endpoint}, breaker rpc_getVersion CLOSED with ${b.getStats().successes} success`;
  });

  await checks.run("signalBus.subscribe('rpc_call_completed', ...) hears the protected call", async () => {
    const ev = await waitFor(
      () => completed.find((e) => e.method === 'getVersion' && e.ok),
      2000,
      'an rpc_call_completed event',
    );
    return `event { method: ${ev.method}, ok: ${ev.ok}, endpoint: ${ev.endpoint}, attempts: ${ev.attempts} }`;
  });

  await checks.run('the call interface is unchanged: same result shape with and without protection', async () => {
    const a = await rpcPool.call('getSlot', []);
    const b = await protectedRpcPool.call('getSlot', []);
    ensure(
      Object.keys(a).sort().join() === Object.keys(b).sort().join(),
      `shapes differ: ${Object.keys(a)} vs ${Object.keys(b)}`,
    );
    ensure(typeof a.result === 'number' && typeof b.result === 'number', 'getSlot answers numbers');
    return `{ ${Object.keys(b).join(', ')} }`;
  });

  await checks.run(
    'fault isolation: with the primary provider killed, protected calls are still served, its endpoint breaker opens, the method breaker stays CLOSED',
    async () => {
      await cluster.faults.kill(names[0]!);
      const served: string[] = [];
      for (let i = 0; i < 20; i++) served.push((await protectedRpcPool.call('getSlot', [])).endpoint);
      ensure(
        served.every((e) => e !== names[0]),
        `calls were answered by ${served.join(',')}`,
      );
      const ep = await waitFor(
        () => rpcPool.getStats().endpoints.find((e) => e.name === names[0] && e.state !== 'CLOSED'),
        5000,
        `${names[0]}'s breaker to open`,
      );
      ensure(
        circuitBreakerManager.get('rpc_getSlot').getState() === 'CLOSED',
        'the per-method breaker should not trip: every call was served',
      );
      return `20/20 served by ${[...new Set(served)].join(', ')}; ${names[0]} endpoint ${ep.state}; rpc_getSlot CLOSED`;
    },
  );

  await checks.run('recovery: the revived provider is probed back to CLOSED and serves again', async () => {
    await cluster.faults.revive(names[0]!);
    const ep = await waitFor(
      async () => {
        await protectedRpcPool.call('getSlot', []);
        const e = rpcPool.getStats().endpoints.find((x) => x.name === names[0]);
        return e && e.state === 'CLOSED' && e.alive ? e : undefined;
      },
      15_000,
      `${names[0]} to be CLOSED again`,
      50,
    );
    const again = await waitFor(
      async () => ((await protectedRpcPool.call('getSlot', [])).endpoint === names[0] ? true : undefined),
      5000,
      `${names[0]} to serve again`,
      20,
    );
    return `${names[0]} ${ep.state}, serving again: ${again}`;
  });

  // ---------------------------------------------------------------- the seed's trading-events test
  await checks.run('seed: Signal Bus with Real Trading Events (4 critical BUY signals processed)', async () => {
    const bus = new SignalBus();
    const processedSignals: { token: string; action: string; timestamp: number; processedAt: number }[] = [];
    bus.subscribe('trade_signal', (signal: { token: string; action: string; timestamp: number }) => {
      processedSignals.push({
        token: signal.token,
        action: signal.action,
        timestamp: signal.timestamp,
        processedAt: Date.now(),
      });
    });
    const memeTokens = ['BONK', 'PEPE', 'DOGE', 'SHIB'];
    for (const token of memeTokens) {
      bus.publish(
        'trade_signal',
        { token, action: 'BUY', price: Math.random() * 0.001, confidence: 0.8, timestamp: Date.now() },
        'critical',
      );
    }
    await sleep(200);
    try {
      ensure(processedSignals.length === 4, `Should process all trade signals (got ${processedSignals.length})`);
      ensure(
        processedSignals.every((s) => s.action === 'BUY'),
        'All signals should be BUY actions',
      );
    } finally {
      await bus.close();
    }
    return `${processedSignals.map((s) => s.token).join(', ')}`;
  });

  await checks.run(
    'end to end: a critical BUY signal on the bus becomes a SOL transfer sent and confirmed through the protected pool',
    async () => {
      const conn = createSolanaConnection(
        Object.assign(protectedRpcPool, { wsEndpoint: () => rpcPool.wsEndpoint() }),
        'confirmed',
      );
      const payer = Keypair.generate();
      const to = Keypair.generate().publicKey;
      const airdrop = await conn.requestAirdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
      await conn.confirmTransaction(
        { signature: airdrop, ...(await conn.getLatestBlockhash()), abortSignal: AbortSignal.timeout(15_000) },
        'confirmed',
      );
      const done = new Promise<string>((resolve, reject) => {
        signalBus.subscribe('trade_signal', async (signal: { token: string; action: string }) => {
          if (signal.action !== 'BUY') return;
          try {
            const latest = await conn.getLatestBlockhash('confirmed');
            const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(
              SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: LAMPORTS_PER_SOL / 100 }),
            );
            tx.sign(payer);
            const sig = await conn.sendRawTransaction(tx.serialize());
            const res = await conn.confirmTransaction(
              { signature: sig, ...latest, abortSignal: AbortSignal.timeout(15_000) },
              'confirmed',
            );
            if (res.value.err) throw new Error(JSON.stringify(res.value.err));
            resolve(sig);
          } catch (err) {
            reject(err as Error);
          }
        });
      });
      ensure(
        signalBus.publish(
          'trade_signal',
          { token: 'BONK', action: 'BUY', price: 0.00002, confidence: 0.9 },
          'critical',
        ),
        'the bus should accept the signal',
      );
      const sig = await withDeadline(done, 30_000, 'the transfer');
      const balance = await conn.getBalance(to, 'confirmed');
      ensure(balance === LAMPORTS_PER_SOL / 100, `recipient balance ${balance}`);
      return `signature ${sig.slice(0, 16)}…, recipient holds ${balance / LAMPORTS_PER_SOL} SOL`;
    },
  );

  await checks.run(
    'every rpc call and endpoint state change was reported on the bus, and nothing on it was dropped',
    async () => {
      await sleep(50);
      const s = signalBus.getStats();
      const topic = s.topics.find((t) => t.topic === 'rpc_call_completed');
      ensure(topic !== undefined && topic.published > 0, 'rpc_call_completed events were published');
      ensure(
        stateChanges.some((c) => c.startsWith(`${names[0]} CLOSED→`)) &&
          stateChanges.some((c) => c.startsWith(names[0]!) && c.endsWith('→CLOSED')),
        `state changes heard: ${stateChanges.join(', ')}`,
      );
      const drops = Object.entries(s.dropped).filter(([, n]) => n > 0);
      ensure(drops.length === 0, `bus drops: ${JSON.stringify(Object.fromEntries(drops))}`);
      return `${topic.published} rpc_call_completed events (${completed.filter((e) => e.ok).length} ok); state changes ${stateChanges.join(', ')}; 0 drops`;
    },
  );

  await checks.run('clean shutdown: bus, pool, supervisor and cluster close with no worker left', async () => {
    await signalBus.close({ timeoutMs: 2000 });
    await rpcPool.close();
    await supervisor.shutdown({ drainMs: 500 });
    const live = supervisor.getStats().workers.live;
    ensure(live === 0, `${live} workers still alive`);
    await cluster.close();
    return 'all closed, 0 live workers';
  });
}

try {
  await main();
} catch (err) {
  checks.record('set-up', false, (err as Error).message);
} finally {
  await closer.closeAll(logger, 10_000);
}
process.exit(checks.summary());
