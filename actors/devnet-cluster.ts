/**
 * Worker entry: the local Solana cluster (startLocalCluster) in a thread of its own, so its HTTP
 * servers, WebSockets and SVM do not compete with the trading process for the host's event loop,
 * as real remote providers would not. Controlled from the host through comlink
 * (src/devnet/remote/): a low-rate, method-shaped control plane. Log lines are forwarded to the
 * host's logger over a port of their own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createLogger } from '../src/log/index.ts';
import { startLocalCluster, type LocalCluster } from '../src/devnet/cluster.ts';
import { DevnetError } from '../src/devnet/errors.ts';
import { toWireError, type ClusterControlApi, type WorkerInit } from '../src/devnet/remote/protocol.ts';
import { seededRandom } from '../src/random.ts';

if (!parentPort) throw new Error('actors/devnet-cluster.ts runs as a worker thread (use startLocalClusterInWorker)');
const init = workerData as WorkerInit;
const logger = createLogger({
  name: 'devnet-cluster',
  level: init.logLevel,
  destination: { write: (line: string) => init.logPort.postMessage(line) },
});

let cluster: LocalCluster | null = null;
const live = (): LocalCluster => {
  if (!cluster)
    throw new DevnetError('DEVNET_CLOSED', 'the cluster in this thread is not running (not started yet, or closed)');
  return cluster;
};

const api: ClusterControlApi = {
  async start(options) {
    if (cluster) throw new DevnetError('DEVNET_ALREADY_STARTED', 'the cluster in this thread is already running');
    const { randomSeed, ...rest } = options;
    cluster = await startLocalCluster({
      ...rest,
      logger,
      ...(randomSeed !== undefined ? { random: seededRandom(randomSeed) } : {}),
    });
    return { endpoints: cluster.endpoints.map((e) => ({ ...e })) };
  },
  faults: Comlink.proxy({
    set: (name, fault) => live().faults.set(name, fault),
    add: (name, fault) => live().faults.add(name, fault),
    clear: (name) => live().faults.clear(name),
    kill: (name) => live().faults.kill(name),
    revive: (name) => live().faults.revive(name),
    list: () => live().faults.list(),
  }),
  chain: Comlink.proxy({
    advanceSlots(n) {
      const c = live();
      if (!Number.isInteger(n) || n < 1 || n > 100_000)
        throw new DevnetError('DEVNET_BAD_ADVANCE', `advanceSlots takes an integer 1..100000, not ${n}`);
      c.chain.advanceSlots(n);
      return { slot: c.chain.slot, blockHeight: c.chain.blockHeight, transactionTotal: c.chain.transactionTotal };
    },
    tip() {
      const c = live().chain;
      return { slot: c.slot, blockHeight: c.blockHeight, transactionTotal: c.transactionTotal };
    },
  }),
  getStats: () => live().getStats(),
  ping: () => Date.now(),
  async close() {
    const c = cluster;
    cluster = null;
    await c?.close();
  },
  testHooks: Comlink.proxy({
    spin(ms) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        // blocking the thread on purpose
      }
    },
    hang: () => new Promise<never>(() => {}),
    exit(code) {
      process.exit(code);
    },
  }),
};

/** Every member answers a thrown error as a wire record, so its class and code survive the thread. */
function guarded<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'function') {
      out[k] = async (...args: unknown[]) => {
        try {
          return await (v as (...a: unknown[]) => unknown).apply(obj, args);
        } catch (err) {
          throw toWireError(err);
        }
      };
    } else if (v && typeof v === 'object') out[k] = guarded(v as object);
    else out[k] = v;
  }
  return out as T;
}

const exposed = guarded(api) as unknown as Record<PropertyKey, unknown>;
if (!init.testHooks) delete exposed['testHooks'];
// Released by the host (comlink.releaseProxy): close the cluster if the host did not.
exposed[Comlink.finalizer] = () =>
  void api.close().catch((err: unknown) => logger.error({ err }, 'devnet-cluster: close on release failed'));
Comlink.expose(exposed, nodeEndpoint(parentPort));
