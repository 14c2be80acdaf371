/**
 * What an actor module may import to talk to its host: logging through the host's logger (no
 * pino inside workers), who it is, and the trace an event carries. Works from any bundle copy:
 * it only uses the worker's parent port and a global the actor host sets before loading the module.
 */
import { parentPort } from 'node:worker_threads';
import { W_LOG, type LogLevel } from '../src/runtime/protocol.ts';
import { parseTraceparent } from '../src/observe/traceparent.ts';

export interface ActorInfo {
  name: string;
  incarnation: number;
}

/** The running actor's name and incarnation (1 on first start, +1 per restart); null outside an actor. */
export function actorInfo(): ActorInfo | null {
  const info = (globalThis as { __palisadeActor?: ActorInfo }).__palisadeActor;
  return info ?? null;
}

/** Writes a log line through the supervisor's logger, tagged with the actor's name. Fields must be cloneable. */
export function actorLog(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  parentPort?.postMessage([W_LOG, level, message, fields ?? null]);
}

/**
 * The W3C traceparent a bus event carries into a worker subscriber (a bus created with
 * `tracing: true` sets it to the host's delivery span), or null when it has none or a malformed
 * one. Put it in what the worker sends on (a `traceparent` field of an event published again,
 * or `withTraceparent` from src/observe/trace.ts) and the trace continues there.
 */
export function eventTraceparent(event: unknown): string | null {
  if (event === null || typeof event !== 'object') return null;
  const tp = (event as { traceparent?: unknown }).traceparent;
  return parseTraceparent(tp) === null ? null : (tp as string);
}
