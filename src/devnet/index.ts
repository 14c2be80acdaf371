/**
 * The local Solana cluster, a tool for tests and demos: one litesvm chain served on several
 * fault-injectable provider ports, in process or in its own worker thread. Its own entry,
 * `palisade/devnet`, so the library (`palisade`) does not carry it.
 */
export { startLocalCluster, envForEndpoints, DEFAULT_PROVIDERS } from './cluster.ts';
export type { LocalCluster, LocalClusterOptions, LocalClusterStats, DevnetEndpoint, ClusterFaults } from './cluster.ts';
export { LocalChain } from './chain.ts';
export type { ChainOptions, ChainStats, Commitment, TxRecord, SignatureStatusJson } from './chain.ts';
export { parseFault, DEVNET_FAULT_KINDS } from './faults.ts';
export type { DevnetFault, DevnetFaultKind, FaultLimits } from './faults.ts';
export { DevnetError, JsonRpcError, RPC_CODES } from './errors.ts';
export type { ProviderStats } from './provider.ts';
export {
  SUBSCRIPTION_LIMIT_CODE,
  DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
  DEFAULT_MAX_BUFFERED_BYTES,
} from './subscriptions.ts';
export type { SubscriptionLimits, SubscriptionStats } from './subscriptions.ts';
export { startLocalClusterInWorker, DevnetControlTimeoutError, DevnetWorkerExitedError } from './remote/index.ts';
export type {
  RemoteLocalCluster,
  RemoteClusterOptions,
  RemoteClusterFaults,
  RemoteChain,
  RemoteControlStats,
  ChainTip,
} from './remote/index.ts';
