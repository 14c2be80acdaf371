/**
 * The endpoint actor's own small protocol, shared by the pool (host) and actors/endpoint.ts.
 *
 * Requests travel as `tell` messages through the actor's supervised mailbox; the handler only
 * starts the HTTP request and returns at once, so one endpoint serves many requests concurrently
 * (an actor handler that returned the request's promise would serialise them). Outcomes come
 * back on a BroadcastChannel private to the endpoint, named in the actor's init data.
 */
import type { NormalizedEndpoint, NormalizedPoolConfig } from './config.ts';
import type { AttemptOutcome } from './types.ts';

export const MSG_ATTEMPT = 1;
export const MSG_CANCEL = 2;

/** [MSG_ATTEMPT, id, method, params, timeoutMs, expiresAt (epoch ms: drop if delivered later), lossless integers] */
export type AttemptMessage = [typeof MSG_ATTEMPT, number, string, unknown, number, number, boolean];
/** [MSG_CANCEL, id] */
export type CancelMessage = [typeof MSG_CANCEL, number];
export type EndpointActorMessage = AttemptMessage | CancelMessage;

/** [id, outcome] on the endpoint's reply channel; [NOTICE_STATE, null] after a breaker transition. */
export type EndpointActorReply = [number, AttemptOutcome] | [typeof NOTICE_STATE, null];
export const NOTICE_STATE = 0;

export interface EndpointActorInit {
  endpoint: NormalizedEndpoint;
  health: SharedArrayBuffer;
  replyChannel: string;
  breaker: NormalizedPoolConfig['breaker'];
  maxSlotLag: number;
  healthIntervalMs: number;
  maxSockets: number;
  maxResponseBytes: number;
  stallAfterMs: number;
  /** The host logger's level: lower-level lines are not even sent across. */
  logLevel: string;
}
