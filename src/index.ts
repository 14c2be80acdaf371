// The public API of palisade: what an embedding process needs. Each area is re-exported whole,
// except rpc, whose generic names get an Rpc prefix here (RpcCallOptions, RpcPoolStats, ...).
// The local cluster (a tool for tests and demos) is its own entry: `palisade/devnet`
// (src/devnet/index.ts).

// foundation
export { systemClock, ManualClock, type Clock, type TimerHandle, type Random } from './clock.ts';
export { PalisadeError, ConfigError } from './errors.ts';
export { seededRandom } from './random.ts';
export { LatencyHistogram, type LatencySummary } from './stats/latency.ts';
export {
  createLogger,
  silentLogger,
  redactUrl,
  redactText,
  redactDeep,
  registerSecretUrl,
  type Logger,
} from './log/index.ts';
export {
  loadConfig,
  getRpcPoolConfig,
  OPTIONS,
  type PalisadeConfig,
  type RpcPoolConfig,
  type EndpointConfig,
  type LoadConfigOptions,
} from './config/index.ts';

// breaker
export * from './breaker/index.ts';

// runtime
export * from './runtime/index.ts';

// the Solana edge: kit transport, landing, resilient subscriptions, chain sources
export * from './solana/index.ts';

// bus
export * from './bus/index.ts';

// engine (NATS JetStream)
export * from './engine/index.ts';

// rpc
export {
  RpcConnectionPool,
  RpcCallError,
  RpcCallArgumentError,
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
  type SharedHealthLink,
  type SharedHealthStats,
  type SharedEndpointView,
} from './rpc/index.ts';

// signing
export * from './signing/index.ts';

// observability (prom-client is an optional peer: it is only imported when no registry is passed)
export { registerPalisadeMetrics, OTHER_LABEL, BREAKER_STATE_VALUE, ACTOR_STATE_VALUE } from './observe/prometheus.ts';
export type {
  RegisterMetricsOptions,
  RegisteredMetrics,
  MetricsRegistry,
  MetricsSources,
} from './observe/prometheus.ts';
// traces through @opentelemetry/api only (no-op without an SDK); see the README's "Traces"
export {
  TRACER_NAME,
  withTraceparent,
  contextFromTraceparent,
  parseTraceparent,
  formatTraceparent,
  inSpan,
  type TraceparentFields,
} from './observe/trace.ts';
