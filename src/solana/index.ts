/**
 * The Solana edge: @solana/kit over the pool, transactions that land without ever executing an
 * intent twice, subscriptions that survive a provider, and chain sources as supervised actors.
 */
export { createKitTransport, KitTransportError, type KitTransportOptions } from './kit-transport.ts';
export {
  BlockhashCache,
  BlockhashUnavailableError,
  type BlockhashCacheOptions,
  type BlockhashCacheStats,
  type CachedBlockhash,
  type BlockhashCommitment,
} from './blockhash-cache.ts';
export {
  SendEndpoints,
  type SendEndpointsOptions,
  type SendEndpointStats,
  type SendAttempt,
  type SendOutcome,
} from './send-endpoints.ts';
export {
  TransactionLander,
  LandInputError,
  type LandResult,
  type LandStatus,
  type LandErrorCode,
  type LandOptions,
  type TransactionLanderOptions,
  type LanderStats,
} from './land.ts';
export {
  ResilientSubscriptions,
  SubscriptionError,
  type ResilientSubscriptionsOptions,
  type SubscriptionPool,
  type Subscription as ChainSubscription,
  type SubscriptionStats as ChainSubscriptionStats,
  type SlotEvent,
  type LogsEvent,
  type AccountEvent,
  type SignatureEvent,
  type LogsCursor,
  type FailoverRecord,
  type FailoverReason,
  type SubCommitment,
} from './subscriptions.ts';
export { PubsubError, type SocketFactory, type SocketLike } from './pubsub-connection.ts';
export { ChainSource, type ChainSourceOptions, type ChainSourceStats, type SourceBus } from './chain-source.ts';
export type { SourceCursor, SourceEvent, SourceKind } from './source-protocol.ts';
