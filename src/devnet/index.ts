/** The local Solana cluster: one litesvm chain served on several fault-injectable provider ports. */
export { startLocalCluster, envForEndpoints, DEFAULT_PROVIDERS } from './cluster.ts';
export type { LocalCluster, LocalClusterOptions, LocalClusterStats, DevnetEndpoint, ClusterFaults } from './cluster.ts';
export { LocalChain } from './chain.ts';
export type { ChainOptions, ChainStats, Commitment, TxRecord, SignatureStatusJson } from './chain.ts';
export { parseFault, FAULT_KINDS } from './faults.ts';
export type { DevnetFault, FaultKind, FaultLimits } from './faults.ts';
export { DevnetError, JsonRpcError, RPC_CODES } from './errors.ts';
export type { ProviderStats } from './provider.ts';
export { SUBSCRIPTION_LIMIT_CODE, DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION, DEFAULT_MAX_BUFFERED_BYTES } from './subscriptions.ts';
export type { SubscriptionLimits, SubscriptionStats } from './subscriptions.ts';
