/**
 * The Solana RPC pool: failover across providers with per-endpoint breakers (in the host thread
 * or one actor per endpoint), rate-limit rests, slot-freshness demotion, deadlines, and an
 * unchanged @solana/web3.js Connection on top.
 *
 *   const pool = new RpcConnectionPool(getRpcPoolConfig(), { circuitBreaker, supervisor, logger, bus });
 *   const { result, endpoint, latencyMs, attempts } = await pool.call('getSlot', []);
 *   const connection = createSolanaConnection(pool, 'confirmed');
 */
export {
  RpcConnectionPool,
  type RpcPoolDependencies,
  type RpcCallResult,
  type CallOptions,
  type PoolMode,
  type CallBreaker,
  type BusLike,
  type EndpointHandle,
} from './pool.ts';
export {
  normalizePoolConfig,
  type RpcPoolInputConfig,
  type PoolEndpointConfig,
  type EndpointBreakerConfig,
  type NormalizedPoolConfig,
} from './config.ts';
export {
  RpcCallError,
  RpcCallArgumentError,
  RpcPoolError,
  RpcHttpError,
  RpcEndpointError,
  RpcBadResponseError,
  RpcTimeoutError,
  EndpointActorError,
  type RpcAttempt,
  type RpcPoolErrorCode,
} from './errors.ts';
export {
  classifyError,
  isEndpointRpcCode,
  provablyNotSent,
  FAILURE_CLASSES,
  SKIP_CLASSES,
  type FailureClass,
  type SkipClass,
  type OutcomeClass,
} from './classify.ts';
export type { PoolStats, EndpointStats } from './stats.ts';
export {
  createSolanaConnection,
  createPoolFetch,
  PoolConnection,
  POOL_PSEUDO_ENDPOINT,
  type CallablePool,
  type SolanaConnectionConfig,
  type WsStats,
} from './web3-adapter.ts';
export { signatureOfSendParams } from './signature.ts';
export type { SharedHealthLink, SharedHealthStats, SharedEndpointView } from './shared-link.ts';
