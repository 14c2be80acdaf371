/**
 * A chain source as a supervised actor: a resilient logs subscription on one address (signals
 * derived from a program's logs) or the slot stream runs in a worker under the supervisor, and
 * this host side drains it and publishes each event into the bus with its sequence number.
 *
 * The host owns the cursor (last sequence published, its slot, the signatures at that slot) and
 * sends it with every drain: the worker drops what is published, and a worker restarted after a
 * crash resumes right after the cursor, backfilling what happened meanwhile. So the topic's
 * sequence stays continuous through crashes: no hole, no repeat. An event whose sequence is not
 * the next one is not published and is counted (it would mean a bug or a worker that dropped
 * events for a host that stopped draining).
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { ConfigError } from '../errors.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { redactText } from '../log/redact.ts';
import type { PoolEndpointConfig } from '../rpc/config.ts';
import type { ActorRef } from '../runtime/actor-ref.ts';
import type { Supervisor } from '../runtime/supervisor.ts';
import { workerEntry } from '../runtime/worker-entry.ts';
import { knownKeys, nonEmptyString, oneOf, timeoutMs, integer } from '../validate.ts';
import type { DrainReply, SourceCursor, SourceEvent, SourceInit, SourceKind } from './source-protocol.ts';

export const CHAIN_SOURCE_MODULE = workerEntry('chain-source');

/** The bus surface a source publishes into (SignalBus). */
export interface SourceBus {
  publish(topic: string, event: object, priority?: 'critical' | 'normal' | 'low'): boolean;
}

export interface ChainSourceOptions {
  /** Actor name under the supervisor (unique). */
  name: string;
  /** Bus topic the events go to. */
  topic: string;
  kind: SourceKind;
  /** logs: the address whose transactions are the signals (a program id, an account). */
  address?: string;
  commitment?: 'processed' | 'confirmed' | 'finalized';
  /** The providers, as in the pool's configuration; the worker runs its own pool over them. */
  endpoints: PoolEndpointConfig[];
  /** Subscription watchdog in the worker (default 3000 ms). */
  watchdogMs?: number;
  /** Drain period (default 50 ms). */
  drainMs?: number;
  /** Events per drain (default 512). */
  maxBatch?: number;
  priority?: 'critical' | 'normal' | 'low';
  clock?: Clock;
  logger?: Logger;
}

export interface ChainSourceStats {
  name: string;
  topic: string;
  published: number;
  refusedByBus: number;
  /** Events whose sequence was not the next one (never published). */
  sequenceBreaks: number;
  drains: number;
  drainFailures: number;
  /** Worker incarnations seen after the first (each a restart that resumed from the cursor). */
  resumes: number;
  cursor: SourceCursor;
  backlog: number;
  subscription: Record<string, unknown> | undefined;
}

const KEYS = [
  'name',
  'topic',
  'kind',
  'address',
  'commitment',
  'endpoints',
  'watchdogMs',
  'drainMs',
  'maxBatch',
  'priority',
  'clock',
  'logger',
] as const;

export class ChainSource {
  readonly name: string;
  readonly topic: string;
  private readonly supervisor: Supervisor;
  private readonly bus: SourceBus;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly init: SourceInit;
  private readonly drainMs: number;
  private readonly maxBatch: number;
  private readonly priority: 'critical' | 'normal' | 'low';
  private ref: ActorRef | undefined;
  private timer: TimerHandle | undefined;
  private running = false;
  private draining: Promise<void> | undefined;
  private incarnation = 0;
  private readonly cursor: SourceCursor = { seq: 0, slot: -1, signatures: [] };
  private readonly stats = {
    published: 0,
    refusedByBus: 0,
    sequenceBreaks: 0,
    drains: 0,
    drainFailures: 0,
    resumes: 0,
    backlog: 0,
  };
  private subscription: Record<string, unknown> | undefined;

  constructor(supervisor: Supervisor, bus: SourceBus, options: ChainSourceOptions) {
    if (!supervisor || typeof (supervisor as { spawn?: unknown }).spawn !== 'function')
      throw new ConfigError('chainSource.supervisor', supervisor, 'a Supervisor');
    if (!bus || typeof bus.publish !== 'function') throw new ConfigError('chainSource.bus', bus, 'a SignalBus');
    if (options === null || typeof options !== 'object')
      throw new ConfigError('chainSource', options, 'an options object');
    knownKeys('chainSource', options, KEYS);
    this.supervisor = supervisor;
    this.bus = bus;
    this.name = nonEmptyString('chainSource.name', options.name, 128);
    this.topic = nonEmptyString('chainSource.topic', options.topic, 256);
    const kind = oneOf('chainSource.kind', options.kind, ['logs', 'slot'] as const);
    if (kind === 'logs') nonEmptyString('chainSource.address', options.address, 64);
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0)
      throw new ConfigError('chainSource.endpoints', options.endpoints, 'a non-empty list of { url, ... }');
    this.init = {
      kind,
      ...(options.address !== undefined ? { address: options.address } : {}),
      commitment: oneOf('chainSource.commitment', options.commitment ?? 'confirmed', [
        'processed',
        'confirmed',
        'finalized',
      ] as const),
      endpoints: options.endpoints.map((e) => ({ ...e })),
      watchdogMs: timeoutMs('chainSource.watchdogMs', options.watchdogMs ?? 3000, { min: 10 }),
    };
    this.drainMs = timeoutMs('chainSource.drainMs', options.drainMs ?? 50, { min: 1 });
    this.maxBatch = integer('chainSource.maxBatch', options.maxBatch ?? 512, 1, 100_000);
    this.priority = oneOf('chainSource.priority', options.priority ?? 'normal', ['critical', 'normal', 'low'] as const);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /** Spawns the actor and starts draining. Resolves when the worker has loaded. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.ref = this.supervisor.spawn({ name: this.name, module: CHAIN_SOURCE_MODULE, init: this.init, maxAttempts: 2 });
    await this.ref.ready;
    this.schedule(0);
  }

  /** The actor's ref (to watch its state, or to kill it in a test). */
  get actor(): ActorRef | undefined {
    return this.ref;
  }

  getStats(): ChainSourceStats {
    return {
      name: this.name,
      topic: this.topic,
      ...this.stats,
      cursor: { ...this.cursor, signatures: [...this.cursor.signatures] },
      subscription: this.subscription,
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    await this.draining?.catch(() => undefined);
    await this.ref?.stop();
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        // A full batch means more is waiting: drain again at once.
        this.schedule(this.stats.backlog > 0 ? 0 : this.drainMs);
      });
    }, ms);
  }

  private async drain(): Promise<void> {
    const ref = this.ref;
    if (!ref) return;
    let reply: DrainReply;
    try {
      reply = await ref.ask<DrainReply>(
        { op: 'drain', cursor: this.cursor, max: this.maxBatch },
        { timeoutMs: Math.max(1000, this.drainMs * 20) },
      );
    } catch (err) {
      // A crash mid-drain: the supervisor restarts the worker; the next drain resumes it from the cursor.
      this.stats.drainFailures++;
      this.logger.warn(
        { source: this.name, err: redactText(String((err as Error)?.message ?? err)) },
        'chain source drain failed; will resume from the cursor',
      );
      return;
    }
    this.stats.drains++;
    if (reply.incarnation !== this.incarnation) {
      if (this.incarnation !== 0) {
        this.stats.resumes++;
        this.logger.info(
          { source: this.name, incarnation: reply.incarnation, resumedAfter: this.cursor.seq },
          'chain source restarted and resumed from the cursor',
        );
      }
      this.incarnation = reply.incarnation;
    }
    this.stats.backlog = reply.backlog;
    this.subscription = reply.subscription;
    for (const e of reply.events) this.publish(e);
  }

  private publish(e: SourceEvent): void {
    if (e.seq <= this.cursor.seq) return; // sent again after a lost reply; already published
    if (e.seq !== this.cursor.seq + 1) {
      this.stats.sequenceBreaks++;
      this.logger.error(
        { source: this.name, expected: this.cursor.seq + 1, got: e.seq },
        'chain source sequence break: event not published',
      );
      return;
    }
    const ok = this.bus.publish(this.topic, { ...e, sequence: e.seq, source: this.name }, this.priority);
    if (ok) this.stats.published++;
    else this.stats.refusedByBus++;
    // The cursor moves even when the bus refused it (counted there with its reason): re-offering
    // the same sequence would only be refused again as a duplicate.
    this.cursor.seq = e.seq;
    if (e.slot > this.cursor.slot) {
      this.cursor.slot = e.slot;
      this.cursor.signatures = [];
    }
    if (e.signature !== undefined && e.slot === this.cursor.slot) this.cursor.signatures.push(e.signature);
  }
}
