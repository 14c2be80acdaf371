/** The local cluster in a worker thread of its own, controlled through a comlink proxy with deadlines. */
export { startLocalClusterInWorker } from './cluster.ts';
export type {
  RemoteLocalCluster,
  RemoteClusterOptions,
  RemoteClusterFaults,
  RemoteChain,
  RemoteControlStats,
  RemoteClusterState,
  RemoteTestHooks,
} from './cluster.ts';
export { DevnetControlTimeoutError, DevnetWorkerExitedError } from './errors.ts';
export type { ChainTip, WorkerClusterOptions } from './protocol.ts';
