/**
 * What an actor module may import to talk to its host: logging through the host's logger (no
 * pino inside workers) and who it is. Works from any bundle copy: it only uses the worker's
 * parent port and a global the actor host sets before loading the module.
 */
import { parentPort } from 'node:worker_threads';
import { W_LOG, type LogLevel } from '../src/runtime/protocol.ts';

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
