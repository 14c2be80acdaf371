/**
 * Start-up of the demo's stack: the providers (the local cluster, or real ones from the
 * environment), the supervisor, the signal bus, the RPC pool with one endpoint actor per provider
 * behind per-method breakers, and a first getVersion that proves a provider answers. Everything
 * it opens is handed to the run's closer.
 */
import { getRpcPoolConfig, loadConfig } from '../../src/config/index.ts';
import { CircuitBreakerManager } from '../../src/breaker/index.ts';
import { Supervisor } from '../../src/runtime/index.ts';
import { SignalBus } from '../../src/bus/index.ts';
import { RpcConnectionPool, createSolanaConnection, type PoolConnection } from '../../src/rpc/index.ts';
import { describeError } from '../../test/support/checks.ts';
import { withDeadline } from '../../test/support/wait.ts';
import { startScriptCluster, type ScriptCluster } from './cluster.ts';
import { DemoStartError, type DemoContext, type NamedSubscription } from './context.ts';
import { CountingRpc } from './rpc-client.ts';

export interface ProviderEndpoint {
  name: string;
  url: string;
  wsUrl?: string;
  tier: number;
  weight?: number;
}

export interface DemoStack {
  /** The local cluster; null against real providers. */
  cluster: ScriptCluster | null;
  endpoints: ProviderEndpoint[];
  supervisor: Supervisor;
  bus: SignalBus;
  /** Set once the drain has closed the bus, so the closer does not close it again. */
  busState: { closed: boolean };
  /** The pool's own event topics, subscribed before the pool existed. */
  early: NamedSubscription[];
  /** What the pool published on the bus, with the bus's refusals counted, by topic. */
  poolPublished: Record<string, { accepted: number; refused: number }>;
  pool: RpcConnectionPool;
  /** The per-method breakers in front of the pool. */
  breakers: CircuitBreakerManager;
  rpc: CountingRpc;
  conn: PoolConnection;
}

async function startProviders(
  ctx: DemoContext,
): Promise<{ cluster: ScriptCluster | null; endpoints: ProviderEndpoint[] }> {
  const { o, logger, closer, say } = ctx;
  if (o.real) {
    const endpoints = getRpcPoolConfig(loadConfig()).endpoints.map((e) => ({
      name: e.name,
      url: e.url,
      tier: e.tier,
      weight: e.weight,
    }));
    say(
      `real providers: ${endpoints.map((e) => e.name).join(' → ')} (from HELIUS_RPC_URL / CHAINSTACK_RPC_URL / SOLANA_RPC_URL); no local fault injection`,
    );
    return { cluster: null, endpoints };
  }
  say(
    `starting the local Solana cluster (litesvm; one chain, one port per provider) ${o.clusterInProcess ? 'in this thread (--cluster-in-process)' : 'in a worker thread of its own (comlink control)'} ...`,
  );
  const cluster = await startScriptCluster({ inProcess: o.clusterInProcess === true, logger });
  closer.add('local cluster', () => cluster.close());
  const endpoints = cluster.endpoints.map((e, i) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl, tier: i }));
  for (const e of cluster.endpoints) say(`  ${e.name.padEnd(18)} ${e.url}`);
  return { cluster, endpoints };
}

export async function startStack(ctx: DemoContext): Promise<DemoStack> {
  const { o, logger, closer, say, note } = ctx;
  const { cluster, endpoints } = await startProviders(ctx);

  const supervisor = new Supervisor({ logger, maxRestarts: 5, withinMs: 60_000, heartbeatMs: 1000 });
  closer.add('supervisor', () => supervisor.shutdown({ drainMs: 1000 }));
  const bus = new SignalBus({
    maxQueueSize: 4096,
    reorderWindowMs: 50,
    supervisor,
    logger,
    closeTimeoutMs: o.drainMs,
    tracing: o.trace === true,
  });
  const busState = { closed: false };
  closer.add('signal bus', () => (busState.closed ? undefined : bus.close({ timeoutMs: 0 })));
  // The pool reports on the bus too ('rpc_call_completed', as the specification asks); subscribed before the
  // pool exists so none of its events meets a topic without subscribers. The view shows state changes.
  const rpcEvents = { completed: 0, stateChanges: 0 };
  const early: NamedSubscription[] = [
    { name: 'rpc-events', sub: bus.subscribe('rpc_call_completed', () => void rpcEvents.completed++) },
    {
      name: 'rpc-state',
      sub: bus.subscribe('rpc_endpoint_state_changed', (e: { endpoint?: string; from?: string; to?: string }) => {
        rpcEvents.stateChanges++;
        note(`endpoint ${e.endpoint}: ${e.from} → ${e.to}`);
      }),
    },
  ];
  // What the pool publishes, with the bus's refusals counted (the pool itself ignores them).
  const poolPublished: Record<string, { accepted: number; refused: number }> = {};
  const poolBus = {
    publish(topic: string, event: Record<string, unknown>, priority?: 'critical' | 'normal' | 'low'): boolean {
      const c = poolPublished[topic] ?? { accepted: 0, refused: 0 };
      poolPublished[topic] = c;
      const ok = bus.publish(topic, event, priority);
      if (ok) c.accepted++;
      else c.refused++;
      return ok;
    },
  };

  const cooldownMs = Math.max(400, Math.min(3000, Math.round(o.durationMs * 0.04)));
  const pool = new RpcConnectionPool(
    {
      endpoints,
      requestTimeoutMs: 5000,
      attemptTimeoutMs: 1500,
      healthIntervalMs: 250,
      maxSlotLag: 50,
      breaker: { failureThreshold: 3, cooldownMs, jitterRatio: 0.1 },
    },
    { supervisor, logger, bus: poolBus },
  );
  closer.add('rpc pool', () => pool.close());
  say('starting the supervisor and one endpoint actor per provider ...');
  await withDeadline(pool.ready(), 60_000, 'endpoint actors start-up');
  // As the specification integrates them: a per-method breaker in front of the pool, same call().
  const breakers = new CircuitBreakerManager({ defaults: { failureThreshold: 20, cooldownMs: 1000 }, logger });
  const protectedPool = breakers.protect(pool);
  const rpc = new CountingRpc(protectedPool as never, () => pool.wsEndpoint());
  try {
    const v = await rpc.call('getVersion', [], { timeoutMs: 10_000 });
    say(
      `  providers answer: solana-core ${(v.result as { 'solana-core'?: string })?.['solana-core'] ?? '?'} via ${v.endpoint}`,
    );
  } catch (err) {
    throw new DemoStartError(`no provider answered getVersion: ${describeError(err)}`, { cause: err });
  }
  const conn = createSolanaConnection(rpc, { commitment: 'confirmed', confirmPollMs: 400 });
  return { cluster, endpoints, supervisor, bus, busState, early, poolPublished, pool, breakers, rpc, conn };
}
