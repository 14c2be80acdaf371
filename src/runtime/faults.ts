/**
 * Fault injection against a running supervisor: kill an actor's worker in any of the ways a real
 * actor dies. Used by scripts/fault/inject.ts and tests; a demo can expose these to let an
 * operator (or another process) break things on purpose.
 */
import type { Supervisor } from './supervisor.ts';
import { FAULT_KINDS, type FaultKind } from './protocol.ts';

export { FAULT_KINDS, type FaultKind };

/**
 * Crashes the named actor's worker:
 * - 'uncaught': an exception thrown from the worker's message handler
 * - 'async-uncaught': an exception thrown from a timer
 * - 'unhandled-rejection': a rejected promise nobody handles
 * - 'exit': process.exit(7) inside the worker
 * - 'terminate': worker.terminate() from the host
 * - 'oom': allocate until the worker's resourceLimits are exceeded (needs maxOldGenerationSizeMb)
 * - 'hang': a busy loop, found by missed heartbeats (needs heartbeatMs > 0)
 * Returns false when the actor has no running worker at the moment (starting, restarting, quarantined, stopped).
 */
export function killActor(supervisor: Supervisor, name: string, kind: FaultKind): boolean {
  return supervisor.injectFault(name, kind);
}

/** The fault kinds an actor spawned with these options can be killed by. */
export function faultKindsFor(options: {
  heartbeatMs?: number;
  resourceLimits?: { maxOldGenerationSizeMb?: number };
}): FaultKind[] {
  return FAULT_KINDS.filter(
    (k) =>
      (k !== 'hang' || (options.heartbeatMs ?? 1000) > 0) &&
      (k !== 'oom' || !!options.resourceLimits?.maxOldGenerationSizeMb),
  );
}
