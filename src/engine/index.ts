export {
  connectEngine,
  checkConnectionOptions,
  versionAtLeast,
  MIN_SERVER_VERSION,
  type EngineConnection,
  type EngineConnectionOptions,
  type EngineStatus,
} from './connect.ts';
export { EngineError, type EngineErrorCode } from './errors.ts';
export { replaySignals, type ReplayOptions, type ReplayResult, type ReplayedFrom } from './replay.ts';
export {
  ENGINE_DROP_REASONS,
  type EngineDropReason,
  type EngineStats,
  type EngineSubscriptionStats,
  type NatsBusOptions,
} from './types.ts';
export { PRIORITY_HEADER, PUBLISHER_HEADER, MSG_ID_HEADER, WIRE_REJECTS, type WireReject } from './wire.ts';
export {
  SharedEndpointHealth,
  normalizeSharedHealthConfig,
  endpointKeyId,
  type SharedHealthConfig,
} from './shared-health.ts';
