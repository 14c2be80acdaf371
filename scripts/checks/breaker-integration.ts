/**
 * The specification's circuit-breaker integration checks against the local Solana cluster:
 * `CircuitBreakerManager.protect(pool)` with the same call interface, per-endpoint isolation
 * (one provider's outage opens only its breaker), failover, per-method isolation, the signal bus
 * hearing `rpc_call_completed`, and the seed's business goal: a dead provider isolated in under a
 * second while calls keep succeeding.
 *
 *   npm run test-circuit-breaker-integration            # endpoint actors under a supervisor
 *   npm run test-circuit-breaker-integration -- --inline
 *
 * Prints one line per check and `N passed, N failed`; exits non-zero when any check failed.
 */
import { CircuitBreakerManager, EndpointCircuitManager } from '../../src/breaker/index.ts';
import { SignalBus } from '../../src/bus/index.ts';
import { getRpcPoolConfig, loadConfig } from '../../src/config/index.ts';
import { startLocalCluster } from '../../src/devnet/index.ts';
import { createLogger, redactText } from '../../src/log/index.ts';
import { Supervisor } from '../../src/runtime/index.ts';
import { RpcConnectionPool, type RpcPoolDependencies } from '../../src/rpc/pool.ts';
import { RpcCallError } from '../../src/rpc/errors.ts';
import { CheckRunner, describeError, ensure } from '../../test/support/checks.ts';
import { refusedUrl } from '../lib/loopback.ts';
import { sleep } from '../../test/support/wait.ts';

const inline = process.argv.includes('--inline');
const logger = createLogger({ name: 'breaker-integration', level: process.env['PALISADE_LOG_LEVEL'] ?? 'error' });
const checks = new CheckRunner((line) => console.log(redactText(line)), { timing: true });

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ logger });
  const [h, c, p] = cluster.endpoints;
  const config = getRpcPoolConfig(
    loadConfig({ env: { HELIUS_RPC_URL: h!.url, CHAINSTACK_RPC_URL: c!.url, SOLANA_RPC_URL: p!.url } }),
  );
  const supervisor = inline ? undefined : new Supervisor({ logger });
  const signalBus = new SignalBus({ logger });
  const completed: { ok: boolean; endpoint?: string }[] = [];
  signalBus.subscribe('rpc_call_completed', (event: { ok: boolean; endpoint?: string }) => {
    completed.push(event);
  });
  // Inline mode can share its endpoint breakers with the caller; actor mode keeps them in the actors.
  const endpointCircuits = inline
    ? new EndpointCircuitManager({ defaults: { failureThreshold: 5, cooldownMs: 60_000 }, logger })
    : undefined;
  const deps: RpcPoolDependencies = {
    logger,
    bus: signalBus,
    ...(supervisor ? { supervisor } : { mode: 'inline' as const }),
    ...(endpointCircuits ? { endpointCircuits } : {}),
  };
  const rpcPool = new RpcConnectionPool({ ...config, healthIntervalMs: 200 }, deps);
  const circuitBreakerManager = new CircuitBreakerManager({
    defaults: { failureThreshold: 3, cooldownMs: 30_000 },
    logger,
  });
  const protectedRpcPool = circuitBreakerManager.protect(rpcPool);
  try {
    await rpcPool.ready();
    console.log(`local cluster: ${cluster.endpoints.map((e) => e.name).join(', ')}; pool mode: ${rpcPool.mode}`);

    await checks.run('protect(pool): same call interface, result unchanged', async () => {
      const result = await protectedRpcPool.call('getVersion', []);
      ensure(result.ok === true, 'not ok');
      ensure(result.endpoint === 'helius', `served by ${result.endpoint}, expected helius (first in failover order)`);
      ensure(circuitBreakerManager.get('rpc_getVersion').getState() === 'CLOSED', 'rpc_getVersion not CLOSED');
      return `served by ${result.endpoint} in ${result.latencyMs.toFixed(1)} ms`;
    });

    await checks.run('caller errors pass through uncounted (JSON-RPC -32602)', async () => {
      for (let i = 0; i < 5; i++) {
        const e = await protectedRpcPool.call('getBalance', ['not-a-pubkey']).catch((x: unknown) => x);
        ensure(e instanceof RpcCallError && e.rpcCode === -32602, `expected -32602, got ${String(e)}`);
      }
      ensure(
        circuitBreakerManager.get('rpc_getBalance').getState() === 'CLOSED',
        'rpc_getBalance opened on caller errors',
      );
      ensure(rpcPool.getStats().endpoints[0]!.state === 'CLOSED', 'helius opened on caller errors');
      return '5 × -32602, every breaker CLOSED';
    });

    await checks.run(
      'per-endpoint isolation and failover: helius killed → isolated in < 1 s, calls keep succeeding',
      async () => {
        await cluster.faults.kill('helius-local');
        const t0 = performance.now();
        let calls = 0;
        let failures = 0;
        let isolatedMs: number | undefined;
        while (performance.now() - t0 < 1500) {
          try {
            await protectedRpcPool.call('getSlot', []);
          } catch {
            failures++;
          }
          calls++;
          if (isolatedMs === undefined && rpcPool.getStats().endpoints[0]!.state === 'OPEN')
            isolatedMs = performance.now() - t0;
          await sleep(5);
        }
        const s = rpcPool.getStats();
        ensure(failures === 0, `${failures} of ${calls} calls failed`);
        ensure(
          isolatedMs !== undefined && isolatedMs < 1000,
          `helius not isolated within 1 s (${isolatedMs ?? 'never'})`,
        );
        ensure(
          s.endpoints[1]!.state === 'CLOSED' && s.endpoints[2]!.state === 'CLOSED',
          'another endpoint changed state',
        );
        if (endpointCircuits) {
          ensure(
            endpointCircuits.getBreaker(h!.url).getState() === 'OPEN',
            'helius breaker (EndpointCircuitManager) not OPEN',
          );
          ensure(endpointCircuits.getBreaker(c!.url).getState() === 'CLOSED', 'chainstack breaker not CLOSED');
        }
        ensure(
          circuitBreakerManager.get('rpc_getSlot').getState() === 'CLOSED',
          'the method breaker opened: the outage cascaded',
        );
        return `isolated after ${isolatedMs.toFixed(0)} ms; ${calls} calls, 0 failed; chainstack and public CLOSED`;
      },
    );

    await checks.run('failover continues: chainstack returns 503 → public serves', async () => {
      cluster.faults.set('chainstack-local', { kind: '503' });
      for (let i = 0; i < 10; i++) {
        const r = await protectedRpcPool.call('getLatestBlockhash', [{ commitment: 'confirmed' }]);
        ensure(r.ok, 'not ok');
      }
      const r = await protectedRpcPool.call('getSlot', []);
      ensure(r.endpoint === 'public', `served by ${r.endpoint}`);
      ensure(rpcPool.getStats().endpoints[1]!.state === 'OPEN', 'chainstack not OPEN');
      return `served by ${r.endpoint}; failovers so far ${rpcPool.getStats().failovers}`;
    });

    await checks.run(
      'per-method isolation: a pool with only a dead endpoint opens rpc_getSlot, not rpc_getVersion',
      async () => {
        const deadPool = new RpcConnectionPool(
          { ...config, endpoints: [{ url: await refusedUrl(), weight: 1 }] },
          { logger, mode: 'inline' },
        );
        const manager = new CircuitBreakerManager({ defaults: { failureThreshold: 3, cooldownMs: 30_000 }, logger });
        const guarded = manager.protect(deadPool);
        try {
          for (let i = 0; i < 5; i++) await guarded.call('getSlot', []).catch(() => undefined);
          ensure(manager.get('rpc_getSlot').getState() === 'OPEN', 'rpc_getSlot not OPEN');
          ensure(manager.get('rpc_getVersion').getState() === 'CLOSED', 'rpc_getVersion not CLOSED');
          return `states ${JSON.stringify(manager.states())}`;
        } finally {
          await deadPool.close();
        }
      },
    );

    await checks.run('signal bus: rpc_call_completed events heard', async () => {
      const deadline = Date.now() + 2000;
      while (completed.length === 0 && Date.now() < deadline) await sleep(5);
      ensure(completed.length > 0, 'no rpc_call_completed event');
      return `${completed.length} events, ${completed.filter((e) => e.ok).length} ok`;
    });
  } finally {
    await rpcPool.close();
    await supervisor?.shutdown({ drainMs: 100 });
    await signalBus.close();
    await cluster.close();
  }
  process.exitCode = checks.summary();
}

main().catch((err: unknown) => {
  console.error(`the run itself failed: ${redactText(String((err as Error)?.stack ?? err))}`);
  checks.record('the run itself', false, describeError(err));
  process.exit(checks.summary());
});
