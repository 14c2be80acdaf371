/**
 * The palisade stack the stress bench and the seed-named stress script run against: a local
 * Solana cluster (in a worker thread of its own by default, so the providers do not compete with
 * the stack under test for its event loop), a supervisor, the RPC pool with endpoint actors behind per-method breakers
 * (the seed's `CircuitBreakerManager.protect(rpcPool)`), and a signal bus. Everything it opens
 * is registered on one Closer.
 */
import { CircuitBreakerManager, type ProtectedRpcPool } from '../../src/breaker/index.ts';
import { SignalBus } from '../../src/bus/index.ts';
import type { Logger } from '../../src/log/index.ts';
import { RpcConnectionPool } from '../../src/rpc/index.ts';
import { Supervisor } from '../../src/runtime/index.ts';
import { Closer } from '../lib/closer.ts';
import { startScriptCluster, type ScriptCluster } from '../demo/cluster.ts';
import { withDeadline } from '../../test/support/wait.ts';

export interface StackOptions {
  logger: Logger;
  /** Bound of each topic's queue. Default 10000. */
  maxQueueSize?: number;
  maxSubscribers?: number;
  /** Heartbeat period of every actor (hang detection ≈ 4 periods). Default 250. */
  heartbeatMs?: number;
  /** Endpoint breaker cooldown. Default 1000. */
  cooldownMs?: number;
  /** Slot duration of the local chain. Default 400. */
  slotMs?: number;
  /** Run the local cluster in this thread (the old way, for comparison) instead of its own worker thread. */
  clusterInProcess?: boolean;
}

export interface Stack {
  cluster: ScriptCluster;
  supervisor: Supervisor;
  pool: RpcConnectionPool;
  protectedPool: ProtectedRpcPool<RpcConnectionPool>;
  breakers: CircuitBreakerManager;
  bus: SignalBus;
  closer: Closer;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const closer = new Closer();
  try {
    const cluster = await startScriptCluster({
      inProcess: o.clusterInProcess === true,
      logger: o.logger,
      slotMs: o.slotMs ?? 400,
    });
    closer.add('local cluster', () => cluster.close());
    // Stress kills the same workers again and again: allow many restarts before quarantine.
    const supervisor = new Supervisor({
      logger: o.logger,
      maxRestarts: 1000,
      withinMs: 60_000,
      heartbeatMs: o.heartbeatMs ?? 250,
      restartBackoff: { initialMs: 5, maxMs: 100 },
    });
    closer.add('supervisor', () => supervisor.shutdown({ drainMs: 1000 }));
    const bus = new SignalBus({
      maxQueueSize: o.maxQueueSize ?? 10_000,
      maxSubscribers: o.maxSubscribers ?? 100,
      supervisor,
      logger: o.logger,
    });
    closer.add('signal bus', () => bus.close({ timeoutMs: 0 }));
    const pool = new RpcConnectionPool(
      {
        endpoints: cluster.endpoints.map((e, i) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl, tier: i })),
        requestTimeoutMs: 10_000,
        attemptTimeoutMs: 5000,
        healthIntervalMs: 250,
        breaker: { failureThreshold: 5, cooldownMs: o.cooldownMs ?? 1000 },
      },
      { supervisor, logger: o.logger },
    );
    closer.add('rpc pool', () => pool.close());
    await withDeadline(pool.ready(), 60_000, 'endpoint actors start-up');
    const breakers = new CircuitBreakerManager({
      defaults: { failureThreshold: 50, cooldownMs: 1000 },
      logger: o.logger,
    });
    const protectedPool = breakers.protect(pool);
    return { cluster, supervisor, pool, protectedPool, breakers, bus, closer };
  } catch (err) {
    await closer.closeAll(o.logger, 10_000);
    throw err;
  }
}
