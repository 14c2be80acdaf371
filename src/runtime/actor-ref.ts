/**
 * ActorRef: the handle users hold for one actor. It forwards to the actor's cell through the
 * narrow ActorHandle below, so the handle and the cell do not import each other.
 */
import { EventEmitter } from 'node:events';
import type { ActorState, ActorStats, AskOptions, OutcomeSink, TellOptions } from './types.ts';

/** What an ActorRef needs from its actor (implemented by ActorCell). */
export interface ActorHandle {
  readonly name: string;
  readonly ready: Promise<void>;
  readonly state: ActorState;
  readonly pending: number;
  setOutcomeSink(sink: OutcomeSink | null): void;
  reapFinished(): number;
  tell(message: unknown, options?: TellOptions): boolean;
  ask(message: unknown, options?: AskOptions): Promise<unknown>;
  revive(): boolean;
  stop(reason: 'stopped' | 'shutdown'): Promise<void>;
  stats(): ActorStats;
}

/**
 * The handle users hold. Events:
 * - 'state' (state, previous): 'starting' | 'running' | 'restarting' | 'quarantined' | 'stopped'
 * - 'outcome' (Outcome): every message's fate (processed / failed / dead-letter); only computed while listened to
 * - 'crash' (CrashInfo)
 */
export class ActorRef extends EventEmitter {
  readonly name: string;
  /** Resolves once the first incarnation has loaded; rejects with ActorStartError on a start-up failure. */
  readonly ready: Promise<void>;
  /** @internal cached `listenerCount('outcome') > 0`, so the hot path does not count listeners per message. */
  outcomeListeners = false;
  readonly #cell: ActorHandle;

  constructor(cell: ActorHandle) {
    super();
    this.#cell = cell;
    this.name = cell.name;
    this.ready = cell.ready;
    this.on('newListener', (event: string) => {
      if (event === 'outcome') this.outcomeListeners = true;
    });
    this.on('removeListener', (event: string) => {
      if (event === 'outcome') this.outcomeListeners = this.listenerCount('outcome') > 0;
    });
  }

  get state(): ActorState {
    return this.#cell.state;
  }

  /** Messages accepted and not yet finished (queued + handed to the worker); cheap, for producer backpressure. */
  get pending(): number {
    return this.#cell.pending;
  }

  /**
   * Receives outcomes in batches instead of (or besides) 'outcome' events; null removes it.
   * One sink per actor: setting another replaces it.
   */
  setOutcomeSink(sink: OutcomeSink | null): void {
    this.#cell.setOutcomeSink(sink);
  }

  /**
   * Reports (to the sink and 'outcome' listeners) the tells the worker has already finished,
   * read from shared memory, instead of waiting for its acknowledgement message. Cheap (a few
   * atomic loads); for producers that want their credit back within the same event-loop turn.
   * Returns the number reported. Not meant for outcome callbacks (a nested batch would reach
   * the sink before the one it is reading has been handled).
   */
  reapFinished(): number {
    return this.#cell.reapFinished();
  }

  /** Queues a message; false when the mailbox refuses it (counted and dead-lettered with the reason). */
  tell(message: unknown, options?: TellOptions): boolean {
    return this.#cell.tell(message, options);
  }

  /** The handler's reply. Rejects with a typed ActorError when it cannot be had. */
  ask<R = unknown>(message: unknown, options?: AskOptions): Promise<R> {
    return this.#cell.ask(message, options) as Promise<R>;
  }

  /** Brings a quarantined actor back (fresh restart-intensity window). False if it was not quarantined. */
  revive(): boolean {
    return this.#cell.revive();
  }

  /** Stops this actor for good: unfinished messages are dead-lettered ('stopped'); resolves when its worker has exited. */
  stop(): Promise<void> {
    return this.#cell.stop('stopped');
  }

  get stats(): ActorStats {
    return this.#cell.stats();
  }
}
