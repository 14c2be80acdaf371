/**
 * The local cluster the demo and the stress bench run against: by default in a worker thread of
 * its own behind a comlink proxy (startLocalClusterInWorker), so the providers answer from
 * another event loop, as remote providers do; with `inProcess` the cluster shares the trading
 * process's thread as before (for comparison). Both behind one async interface.
 */
import type { Logger } from '../../src/log/index.ts';
import { startLocalCluster, type DevnetEndpoint, type LocalClusterStats } from '../../src/devnet/index.ts';
import {
  startLocalClusterInWorker,
  type RemoteClusterFaults,
  type RemoteControlStats,
} from '../../src/devnet/remote/index.ts';

export type ClusterMode = 'worker' | 'in-process';

export interface ScriptCluster {
  readonly mode: ClusterMode;
  readonly endpoints: readonly DevnetEndpoint[];
  readonly faults: RemoteClusterFaults;
  getStats(): Promise<LocalClusterStats>;
  /** The comlink control plane's own numbers (null in process). */
  controlStats(): RemoteControlStats | null;
  close(): Promise<void>;
}

export interface ScriptClusterOptions {
  inProcess: boolean;
  logger: Logger;
  slotMs?: number;
}

export async function startScriptCluster(o: ScriptClusterOptions): Promise<ScriptCluster> {
  const slot = o.slotMs === undefined ? {} : { slotMs: o.slotMs };
  if (!o.inProcess) {
    const c = await startLocalClusterInWorker({ logger: o.logger, ...slot });
    return {
      mode: 'worker',
      endpoints: c.endpoints,
      faults: c.faults,
      getStats: () => c.getStats(),
      controlStats: () => c.getControlStats(),
      close: () => c.close(),
    };
  }
  const c = await startLocalCluster({ logger: o.logger, ...slot });
  // Same contract as the remote faults: a rejected promise, never a synchronous throw.
  const async =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    async (...a: A): Promise<Awaited<R>> =>
      await fn(...a);
  return {
    mode: 'in-process',
    endpoints: c.endpoints,
    faults: {
      set: async(c.faults.set),
      add: async(c.faults.add),
      clear: async(c.faults.clear),
      kill: async(c.faults.kill),
      revive: async(c.faults.revive),
      list: async(c.faults.list),
    },
    getStats: async () => c.getStats(),
    controlStats: () => null,
    close: () => c.close(),
  };
}
