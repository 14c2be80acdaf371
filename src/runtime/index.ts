/**
 * palisade's actor runtime: handlers in worker threads, host-side bounded mailboxes, a supervisor
 * that restarts or quarantines, and nothing lost on a crash.
 *
 * Usage
 *
 *   import { Supervisor } from 'palisade';
 *   const sup = new Supervisor({ strategy: 'one_for_one', maxRestarts: 5, withinMs: 60_000, logger });
 *   const ref = sup.spawn({ name: 'scorer', module: new URL('./scorer.ts', import.meta.url) });
 *   await ref.ready;                          // rejects with ActorStartError on a bad module
 *   ref.tell({ token: 'BONK' }, { priority: 'critical' });   // false if the mailbox refused it
 *   const score = await ref.ask({ token: 'BONK' }, { timeoutMs: 500 });
 *   ref.on('outcome', (o) => ...);           // processed | failed | dead-letter, per message
 *   ref.setOutcomeSink({ processed(msgs, n) {...}, settled(o) {...} });  // the same, batched (hot paths)
 *   ref.reapFinished();                       // account now for tells the worker finished (no ack wait)
 *   ref.on('state', (state, previous) => ...);
 *   sup.on('deadLetter', (dl) => ...);       // also sup.deadLetters(), sup.getStats()
 *   await sup.shutdown({ drainMs: 2000 });
 *
 * The actor module (TypeScript or JavaScript) exports the handler (default export unless
 * `export` says otherwise) and optionally `init(data)`, called with the spawn option `init`
 * (structured-cloneable; SharedArrayBuffers are shared) before the first message of every
 * incarnation. Module top-level state is the actor's state and is fresh after a restart.
 *
 *   // scorer.ts
 *   let seen = 0;
 *   export function init(data: { weights: SharedArrayBuffer }) { ... }
 *   export default function handle(msg: { token: string }) { seen++; return score(msg); }
 *
 * Inside an actor, `actors/context.ts` gives `actorLog(level, msg, fields)` (written by the
 * host's logger) and `actorInfo()` (name, incarnation). TypeScript modules are bundled with
 * esbuild (packages stay external) into os.tmpdir()/palisade-bundles; `import.meta.url` inside a
 * bundled module therefore points into that cache.
 *
 * Semantics: one message at a time per actor, FIFO within a priority, critical before normal
 * before low. A handler that throws is a failed message (ask rejects with ActorHandlerError),
 * not a crash. Crashes (uncaught exception, unhandled rejection, process.exit, terminate, OOM
 * under resourceLimits, a hang found by heartbeats) restart the actor; the message it was
 * executing is retried up to `maxAttempts` then dead-lettered ('max-attempts'), the rest are
 * re-delivered in order. Delivery is at-least-once across crashes. Everything that will not be
 * processed is a counted dead letter with a reason (sup.deadLetters(), 'deadLetter' events,
 * getStats()).
 *
 * How it works (src/runtime):
 * - mailbox.ts: host-side bounded lanes; overflow 'reject' | 'drop-oldest' | 'drop-lowest'.
 * - actor.ts: one ActorCell per actor, the coordinator of the parts below (delivery.ts, asks.ts,
 *   incarnation.ts, actor-stats.ts, actor-ref.ts, spawn-options.ts). Envelopes leave the mailbox into an in-flight window
 *   (sized from measured service time: ~2 ms of work ahead of a critical message, 1..4096) and
 *   are handed to the worker through ring.ts, a SharedArrayBuffer ring with a compact codec
 *   (shapes sent once; structured-clone-only values go by postMessage, ordered by sequence
 *   number). A busy worker needs no message at all; a sleeping one gets one wake-up per burst.
 *   The worker acknowledges in batches (a trickle's acks deferred 1 ms; the host can also read
 *   finished tells from shared memory, reapFinished); a control block in shared memory says which
 *   envelope was executing, so after a crash the host retries exactly that one and re-sends the rest.
 * - workers.ts: warm spares, generic and per module (module already imported), so a restart
 *   costs init + first message; the dying worker announces itself so recovery starts before
 *   its isolate is torn down.
 * - supervisor.ts: restart intensity, backoff with jitter, quarantine, one_for_one/one_for_all,
 *   dead letters, stats, shutdown. deadlines.ts: ask timeouts without a timer per ask.
 * - bundle.ts: TypeScript actor modules bundled by esbuild into a content-hashed cache.
 * - actors/host.ts: the worker side. faults.ts: kill an actor by crash kind (fault injection).
 *
 * piscina and comlink: measured as peers of `ask` in bench/runtime.bench.ts and not used. Both
 * are slower per round trip here, and neither fits: piscina is a stateless task pool (no actor
 * state across messages, no supervision; its default atomics: 'sync' parks the worker's event
 * loop between tasks, stalling actor timers and sockets), comlink is an RPC proxy with no
 * timeouts whose promises stay pending forever when the worker dies.
 */
export { Supervisor, type SupervisorOptions, type SupervisorStats, type ShutdownOptions } from './supervisor.ts';
export { ActorRef } from './actor-ref.ts';
export {
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
  type CrashKind,
  type RemoteErrorInfo,
  type StartFailureReason,
} from './errors.ts';
export type {
  ActorState,
  ActorStats,
  AskOptions,
  CrashInfo,
  DeadLetter,
  DeadLetterReason,
  Outcome,
  OutcomeSink,
  Overflow,
  Priority,
  RestartBackoff,
  RestartStrategy,
  SpawnOptions,
  TellOptions,
} from './types.ts';
export { killActor, faultKindsFor, FAULT_KINDS, type FaultKind } from './faults.ts';
export { resolveActorModule } from './bundle.ts';
