// The public API of palisade. Each module group adds its exports in its own block.

// foundation
export { systemClock, ManualClock, type Clock, type TimerHandle, type Random } from './clock.ts';
export { PalisadeError, ConfigError } from './errors.ts';
export { seededRandom } from './random.ts';
export { LatencyHistogram, type LatencySummary } from './stats/latency.ts';
export { createLogger, silentLogger, redactUrl, redactText, redactDeep, type Logger } from './log/index.ts';
export { loadConfig, getRpcPoolConfig, OPTIONS, type PalisadeConfig, type RpcPoolConfig, type EndpointConfig, type LoadConfigOptions } from './config/index.ts';

// breaker
export {
  CircuitBreaker,
  CircuitBreakerManager,
  EndpointCircuitManager,
  CircuitOpenError,
  BulkheadFullError,
  TimeoutError,
  BreakerOptionError,
  countAllButCallerErrors,
  type CircuitState,
  type CircuitBreakerOptions,
  type CircuitBreakerStats,
  type BreakerPermit,
  type Operation,
  type StateChange,
  type StateChangeListener,
  type TransitionReason,
  type FailurePredicate,
  type BreakerDefaults,
  type CircuitBreakerManagerOptions,
  type CircuitBreakerManagerStats,
  type ProtectedRpcPool,
  type RpcCallable,
  type EndpointRef,
} from './breaker/index.ts';

// runtime
export {
  Supervisor,
  ActorRef,
  ActorError,
  ActorStartError,
  ActorHandlerError,
  ActorCrashedError,
  AskTimeoutError,
  AskAbortedError,
  MailboxFullError,
  MessageDroppedError,
  ActorQuarantinedError,
  ActorStoppedError,
  MessageNotCloneableError,
  killActor,
  faultKindsFor,
  FAULT_KINDS,
  type SupervisorOptions,
  type SupervisorStats,
  type ShutdownOptions,
  type ActorState,
  type ActorStats,
  type AskOptions,
  type CrashInfo,
  type CrashKind,
  type DeadLetter,
  type DeadLetterReason,
  type FaultKind,
  type Outcome,
  type OutcomeSink,
  type Overflow,
  type Priority,
  type RemoteErrorInfo,
  type RestartBackoff,
  type RestartStrategy,
  type SpawnOptions,
  type StartFailureReason,
  type TellOptions,
} from './runtime/index.ts';

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
export {
  OffThreadSigner,
  SigningKey,
  signMessageToWire,
  wireTransaction,
  requiredSigners,
  SignerError,
  SignerQueueFullError,
  SignerTimeoutError,
  SignerAbortedError,
  SignerWorkerDiedError,
  SignerClosedError,
  SignerTaskError,
  SignerStartError,
  SignerKeyError,
  SignerInputError,
  type OffThreadSignerOptions,
  type OffThreadSignerStats,
  type SignOptions,
  type SignerFailure,
  type SignedWire,
  type SignerErrorCode,
} from './signing/index.ts';
