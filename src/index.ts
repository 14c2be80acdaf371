// The public API of palisade. Areas without name clashes are re-exported whole; bus, rpc and devnet
// are listed because some of their names are renamed here (Priority, FaultKind, CallOptions, ...).

// foundation
export { systemClock, ManualClock, type Clock, type TimerHandle, type Random } from './clock.ts';
export { PalisadeError, ConfigError } from './errors.ts';
export { seededRandom } from './random.ts';
export { LatencyHistogram, type LatencySummary } from './stats/latency.ts';
export { createLogger, silentLogger, redactUrl, redactText, redactDeep, type Logger } from './log/index.ts';
export { loadConfig, getRpcPoolConfig, OPTIONS, type PalisadeConfig, type RpcPoolConfig, type EndpointConfig, type LoadConfigOptions } from './config/index.ts';

// breaker
export * from './breaker/index.ts';

// runtime
export * from './runtime/index.ts';

// the Solana edge: kit transport, landing, resilient subscriptions, chain sources
export * from './solana/index.ts';

// bus
export {
  SignalBus,
  SignalBusError,
  DROP_REASONS,
  WORKER_CREDIT,
  type SignalBusOptions,
  type CloseOptions,
  type SignalBusErrorCode,
  type Priority as SignalPriority,
  type DropReason,
  type SignalEvent,
  type InlineHandler,
  type WorkerHandlerSpec,
  type QuarantineOptions,
  type SubscribeOptions,
  type TopicOptions,
  type Subscription,
  type SubscriberState,
  type SubscriberStats,
  type TopicStats,
  type SignalBusStats,
} from './bus/index.ts';

// rpc
export {
  RpcConnectionPool,
  RpcCallError,
  RpcPoolError,
  RpcHttpError,
  RpcEndpointError,
  RpcBadResponseError,
  RpcTimeoutError,
  EndpointActorError,
  normalizePoolConfig,
  classifyError,
  isEndpointRpcCode,
  provablyNotSent,
  FAILURE_CLASSES as RPC_FAILURE_CLASSES,
  SKIP_CLASSES as RPC_SKIP_CLASSES,
  createSolanaConnection,
  createPoolFetch,
  PoolConnection,
  signatureOfSendParams,
  type RpcPoolDependencies,
  type RpcCallResult,
  type CallOptions as RpcCallOptions,
  type PoolMode as RpcPoolMode,
  type RpcPoolInputConfig,
  type PoolEndpointConfig,
  type EndpointBreakerConfig,
  type RpcAttempt,
  type RpcPoolErrorCode,
  type FailureClass as RpcFailureClass,
  type SkipClass as RpcSkipClass,
  type OutcomeClass as RpcOutcomeClass,
  type PoolStats as RpcPoolStats,
  type EndpointStats as RpcEndpointStats,
  type CallablePool,
  type SolanaConnectionConfig,
  type WsStats,
} from './rpc/index.ts';

// devnet
export { startLocalCluster, envForEndpoints, LocalChain, parseFault, DevnetError, JsonRpcError } from './devnet/index.ts';
export type { LocalCluster, LocalClusterOptions, LocalClusterStats, DevnetEndpoint, ClusterFaults, DevnetFault, FaultKind as DevnetFaultKind, ProviderStats } from './devnet/index.ts';
export { startLocalClusterInWorker, DevnetControlTimeoutError, DevnetWorkerExitedError } from './devnet/remote/index.ts';
export type { RemoteLocalCluster, RemoteClusterOptions, RemoteClusterFaults, RemoteChain, RemoteControlStats, ChainTip } from './devnet/remote/index.ts';

// signing
export * from './signing/index.ts';
