/**
 * The supervisor: spawns actors in worker threads, decides what a crash leads to (restart now,
 * restart after backoff, quarantine), keeps the dead letters, and shuts everything down.
 *
 * Restart intensity is per actor: more than `maxRestarts` crashes within `withinMs` quarantine
 * it (its mailbox is dead-lettered; `revive()` brings it back). With 'one_for_all' a crash also
 * restarts every sibling; a sibling restart is not a crash of the sibling and does not count
 * against its intensity or its in-flight message's attempts.
 */
import { EventEmitter } from 'node:events';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { systemClock, type Clock, type Random } from '../clock.ts';
import { ConfigError } from '../errors.ts';
import { RUNTIME_DEFAULTS } from '../defaults.ts';
import * as v from '../validate.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { ActorCell, type CellContext } from './actor.ts';
import type { ActorRef } from './actor-ref.ts';
import { defaultCacheDir, resolveActorModule, type ResolvedModule } from './bundle.ts';
import { ActorStoppedError, type CrashKind } from './errors.ts';
import type { FaultKind } from './protocol.ts';
import type {
  ActorState,
  ActorStats,
  DeadLetter,
  DeadLetterReason,
  RestartBackoff,
  RestartStrategy,
  SpawnOptions,
} from './types.ts';
import { noLimitAsZero, resolveSpawnOptions } from './spawn-options.ts';
import { WorkerPool, type WorkerPoolStats } from './workers.ts';
import { workerEntry } from './worker-entry.ts';

export interface SupervisorOptions {
  strategy?: RestartStrategy;
  /** Restarts allowed per actor within `withinMs`; one more crash quarantines it. Default 5. */
  maxRestarts?: number;
  withinMs?: number;
  /** Backoff for the 2nd and later restarts within the window (the first is immediate). */
  restartBackoff?: RestartBackoff;
  logger?: Logger;
  /** Time source for intensity windows, backoff, heartbeats and ask timeouts. Default: system clock. */
  clock?: Clock;
  /** Shorthand for a clock whose now() is this (timers stay the system's). */
  now?: () => number;
  /** Jitter source. Default Math.random. */
  random?: Random;
  /** Warm spare workers kept per resource-limits group. Default 1; 0 disables. */
  spares?: number;
  /** Dead letters kept for inspection (all are counted), at most 1,000,000. Default 1000. */
  deadLetterLimit?: number;
  /** Default ask timeout; 0 or Infinity disables. Default 30000. */
  askTimeoutMs?: number;
  /** Default run deadline of one message in its worker (SpawnOptions.messageTimeoutMs); 0 or Infinity disables. Default 60000. */
  messageTimeoutMs?: number;
  /** Default heartbeat period for spawned actors; 0 disables. Default 1000. */
  heartbeatMs?: number;
  /** Where bundled TypeScript actor modules are cached. Default os.tmpdir()/palisade-bundles/v1. */
  cacheDir?: string;
  /**
   * Node options for actor workers. Default [] (not the parent's: a tsx loader inherited from the
   * parent costs ~70 ms per spawn and cannot load .ts in workers anyway). E.g. ['--cpu-prof'] to profile actors.
   */
  workerExecArgv?: string[];
}

export interface ShutdownOptions {
  /** Time to let mailboxes drain before workers are terminated. Default 5000. */
  drainMs?: number;
}

export interface SupervisorStats {
  strategy: RestartStrategy;
  actors: ActorStats[];
  restarts: number;
  crashes: number;
  quarantined: number;
  deadLetters: number;
  deadLettersByReason: Partial<Record<DeadLetterReason, number>>;
  workers: WorkerPoolStats & { live: number };
}

const HOST_ENTRY = workerEntry('host');
/** An actor idle this long lets go of the process (its worker is unref'd). */
const IDLE_UNREF_MS = 20;
/** Period of the do-nothing interval that holds the process while an actor waits for a worker. */
const KEEP_ALIVE_MS = 1 << 30;
/** Warm spares per group at most: each is a live worker thread (an isolate, tens of MB). */
const MAX_SPARES = 16;
/** Dead letters kept for inspection at most (the list is allocated up front). */
const MAX_DEAD_LETTER_LIMIT = 1_000_000;

/**
 * Events: 'deadLetter' (DeadLetter), 'crash' (CrashInfo), 'restart' ({ actor, delayMs, kind }),
 * 'quarantine' ({ actor, detail }), 'state' ({ actor, state, previous }).
 */
export class Supervisor extends EventEmitter {
  readonly strategy: RestartStrategy;
  private readonly maxRestarts: number;
  private readonly withinMs: number;
  private readonly backoff: Required<RestartBackoff>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly heartbeatMs: number;
  private readonly messageTimeoutMs: number;
  private readonly cacheDir: string;
  /** Live actors (stopped ones are forgotten; their counts stay in `retired`). */
  private readonly cells = new Map<string, ActorCell>();
  private readonly retired = { restarts: 0, crashes: 0 };
  /** Actors without a worker that are getting one: while any, a ref'd handle holds the process. */
  private readonly holders = new Set<ActorCell>();
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private readonly live = new Map<Worker, Promise<void>>();
  private readonly deadLetterRing: (DeadLetter | undefined)[];
  private deadLetterNext = 0;
  private deadLetterTotal = 0;
  private readonly deadLettersByReason: Partial<Record<DeadLetterReason, number>> = {};
  private pool: WorkerPool | null = null;
  private readonly hostReady: Promise<void>;
  private accepting = true;
  private shutdownPromise: Promise<void> | null = null;
  private readonly ctx: CellContext;
  private readonly idleCandidates = new Set<ActorCell>();
  private idleSweep: ReturnType<typeof setTimeout> | null = null;

  constructor(options: SupervisorOptions = {}) {
    super();
    const o = options;
    this.strategy = o.strategy ?? 'one_for_one';
    if (this.strategy !== 'one_for_one' && this.strategy !== 'one_for_all')
      throw new ConfigError('strategy', o.strategy, "'one_for_one' | 'one_for_all'");
    this.maxRestarts =
      o.maxRestarts === undefined ? RUNTIME_DEFAULTS.maxRestarts : v.integer('maxRestarts', o.maxRestarts, 0);
    this.withinMs =
      o.withinMs === undefined ? RUNTIME_DEFAULTS.withinMs : v.timeoutMs('withinMs', o.withinMs, { min: 1 });
    const b = o.restartBackoff ?? {};
    if (b === null || typeof b !== 'object')
      throw new ConfigError('restartBackoff', b, '{ initialMs, maxMs, multiplier, jitter }');
    this.backoff = {
      initialMs: b.initialMs === undefined ? 50 : v.timeoutMs('restartBackoff.initialMs', b.initialMs, { min: 0 }),
      maxMs: b.maxMs === undefined ? 5000 : v.timeoutMs('restartBackoff.maxMs', b.maxMs, { min: 0 }),
      multiplier: b.multiplier === undefined ? 2 : v.finite('restartBackoff.multiplier', b.multiplier, 1),
      jitter: b.jitter === undefined ? 0.2 : v.ratio('restartBackoff.jitter', b.jitter),
    };
    this.logger = o.logger ?? silentLogger;
    const base = o.clock ?? systemClock;
    this.clock = o.now
      ? { now: o.now, setTimeout: (fn, ms) => base.setTimeout(fn, ms), clearTimeout: (h) => base.clearTimeout(h) }
      : base;
    this.random = o.random ?? Math.random;
    this.heartbeatMs =
      o.heartbeatMs === undefined
        ? RUNTIME_DEFAULTS.heartbeatMs
        : v.timeoutMs('heartbeatMs', o.heartbeatMs, { min: 0 });
    const askTimeoutMs = noLimitAsZero(
      v.timeoutMs('askTimeoutMs', o.askTimeoutMs ?? RUNTIME_DEFAULTS.askTimeoutMs, { min: 0, infinity: true }),
    );
    this.messageTimeoutMs = noLimitAsZero(
      v.timeoutMs('messageTimeoutMs', o.messageTimeoutMs ?? 60_000, { min: 0, infinity: true }),
    );
    const spares = v.integer('spares', o.spares ?? 1, 0, MAX_SPARES);
    // The ring is allocated up front: a bound keeps a typo from asking for gigabytes (or a RangeError).
    const limit = v.integer('deadLetterLimit', o.deadLetterLimit ?? 1000, 0, MAX_DEAD_LETTER_LIMIT);
    this.deadLetterRing = new Array<DeadLetter | undefined>(limit);
    this.cacheDir = o.cacheDir ?? defaultCacheDir();
    const execArgv = o.workerExecArgv ?? [];
    if (!Array.isArray(execArgv) || execArgv.some((a) => typeof a !== 'string'))
      throw new ConfigError('workerExecArgv', o.workerExecArgv, 'an array of strings');

    // The pool is made even when shutdown() came first: actors spawned before it still drain their mailboxes.
    this.hostReady = resolveActorModule('palisade-host', HOST_ENTRY, this.cacheDir).then((host) => {
      this.pool = new WorkerPool(new URL(host.url), spares, this.logger, execArgv);
      if (this.accepting) this.pool.prewarm();
    });
    this.hostReady.catch((err: unknown) =>
      this.logger.error({ err }, 'palisade runtime: the actor host could not be bundled'),
    );
    this.ctx = {
      clock: this.clock,
      logger: this.logger,
      askTimeoutMs,
      acquireWorker: (limits, moduleUrl) => this.acquireWorker(limits, moduleUrl),
      prewarmModule: (limits, moduleUrl) => this.pool?.prewarmModule(limits, moduleUrl),
      scheduleIdleCheck: (cell) => this.scheduleIdleCheck(cell),
      recordDeadLetter: (dl) => this.recordDeadLetter(dl),
      onCrash: (cell, kind, detail) => this.onCrash(cell, kind, detail),
      onStateChange: (cell, state, previous) => this.emit('state', { actor: cell.name, state, previous }),
      isAccepting: () => this.accepting,
      holdProcess: (cell, hold) => this.holdProcess(cell, hold),
      onStopped: (cell) => this.forget(cell),
    };
  }

  /**
   * Starts an actor in its own worker. Returns at once: messages sent before it is running wait
   * in its mailbox. `ref.ready` rejects with an ActorStartError if it cannot start (bad path,
   * syntax error, missing export, init threw); invalid options throw a ConfigError here.
   */
  spawn(options: SpawnOptions): ActorRef {
    if (!this.accepting) throw new ActorStoppedError(String(options?.name), 'the supervisor is shut down');
    const o = resolveSpawnOptions(options, { heartbeatMs: this.heartbeatMs, messageTimeoutMs: this.messageTimeoutMs });
    const existing = this.cells.get(o.name);
    if (existing && existing.state !== 'stopped')
      throw new ConfigError('name', o.name, 'a name not used by a live actor of this supervisor');
    const cell = new ActorCell(o, this.ctx);
    cell.ref.on('crash', (info) => this.emit('crash', info));
    this.cells.set(o.name, cell);
    // A module that cannot be resolved rejects (a start failure), never throws out of spawn half-done.
    const mod = new Promise<ResolvedModule>((r) => r(resolveActorModule(o.name, options.module, this.cacheDir)));
    Promise.all([this.hostReady, mod])
      .then(
        ([, mod]) => cell.start(mod),
        (err: Error) => cell.failToResolve(err),
      )
      .catch((err: unknown) => {
        // Nothing thrown while starting may escape to the process: it fails this actor's start.
        this.logger.error({ actor: o.name, err }, 'palisade runtime: actor start threw');
        cell.failToResolve(err instanceof Error ? err : new Error(String(err)));
      });
    return cell.ref;
  }

  get(name: string): ActorRef | undefined {
    return this.cells.get(name)?.ref;
  }

  /** Stops one actor: unfinished messages are dead-lettered ('stopped') and its worker terminated. */
  async stop(name: string): Promise<void> {
    const cell = this.cells.get(name);
    if (cell) await cell.stop('stopped');
  }

  /**
   * Kills an actor's worker the way `kind` describes (fault injection: scripts/fault/inject.ts,
   * demos, tests). False if the actor has no running worker right now; a ConfigError for a name
   * the supervisor does not know (never spawned, or stopped and so forgotten).
   */
  injectFault(name: string, kind: FaultKind): boolean {
    const cell = this.cells.get(name);
    if (!cell) throw new ConfigError('actor', name, 'the name of an actor of this supervisor');
    return cell.injectFault(kind);
  }

  /** The most recent dead letters, oldest first (at most deadLetterLimit; all are counted in stats). */
  deadLetters(): DeadLetter[] {
    const n = this.deadLetterRing.length;
    if (n === 0) return [];
    const out: DeadLetter[] = [];
    for (let i = 0; i < n; i++) {
      const dl = this.deadLetterRing[(this.deadLetterNext + i) % n];
      if (dl) out.push(dl);
    }
    return out;
  }

  getStats(): SupervisorStats {
    const actors = [...this.cells.values()].map((c) => c.stats());
    let restarts = this.retired.restarts;
    let crashes = this.retired.crashes;
    let quarantined = 0;
    for (const a of actors) {
      restarts += a.restarts;
      crashes += a.crashes;
      if (a.state === 'quarantined') quarantined++;
    }
    const pool = this.pool?.stats() ?? { spares: 0, warmTakes: 0, coldSpawns: 0 };
    return {
      strategy: this.strategy,
      actors,
      restarts,
      crashes,
      quarantined,
      deadLetters: this.deadLetterTotal,
      deadLettersByReason: { ...this.deadLettersByReason },
      workers: { ...pool, live: this.live.size },
    };
  }

  /**
   * Stops accepting, lets mailboxes drain for up to `drainMs`, then terminates every worker
   * (spares included) and waits for them to exit. Whatever is left is dead-lettered
   * ('shutdown') and pending asks reject with ActorStoppedError. Idempotent.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.shutdownPromise) return this.shutdownPromise;
    const drainMs =
      options.drainMs === undefined ? RUNTIME_DEFAULTS.drainMs : v.timeoutMs('drainMs', options.drainMs, { min: 0 });
    this.accepting = false;
    this.shutdownPromise = this.doShutdown(drainMs);
    return this.shutdownPromise;
  }

  private async doShutdown(drainMs: number): Promise<void> {
    const cells = [...this.cells.values()];
    if (drainMs > 0) {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const deadline = new Promise<void>((r) => {
        timer = this.clock.setTimeout(r, drainMs);
      });
      await Promise.race([Promise.all(cells.map((c) => c.whenIdle())), deadline]);
      if (timer !== undefined) this.clock.clearTimeout(timer);
    }
    await Promise.all(cells.map((c) => c.stop('shutdown')));
    if (this.idleSweep !== null) clearTimeout(this.idleSweep);
    this.idleSweep = null;
    this.idleCandidates.clear();
    await this.hostReady.catch(() => {});
    await this.pool?.close();
    // Workers already being terminated (a kill in progress, a failed start) are waited for too.
    for (const w of this.live.keys()) void w.terminate();
    await Promise.all(this.live.values());
    this.holders.clear();
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.logger.info(
      { actors: cells.length, deadLetters: this.deadLetterTotal },
      'palisade runtime: supervisor shut down',
    );
  }

  /** Process liveness only (not logic), so a real ref'd handle rather than the injected clock. */
  private holdProcess(cell: ActorCell, hold: boolean): void {
    if (hold) this.holders.add(cell);
    else this.holders.delete(cell);
    if (this.holders.size > 0 && this.keepAlive === null) this.keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    else if (this.holders.size === 0 && this.keepAlive !== null) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }

  /** A stopped actor is dropped (its name may be reused); what it did stays in the totals. */
  private forget(cell: ActorCell): void {
    if (this.cells.get(cell.name) !== cell) return;
    this.cells.delete(cell.name);
    this.idleCandidates.delete(cell);
    const s = cell.stats();
    this.retired.restarts += s.restarts;
    this.retired.crashes += s.crashes;
  }

  /** Process liveness only (not logic), so a real unref'd timer rather than the injected clock. */
  private scheduleIdleCheck(cell: ActorCell): void {
    this.idleCandidates.add(cell);
    if (this.idleSweep !== null) return;
    this.idleSweep = setTimeout(() => {
      this.idleSweep = null;
      const cells = [...this.idleCandidates];
      this.idleCandidates.clear();
      for (const c of cells) c.idleCheck();
    }, IDLE_UNREF_MS);
    this.idleSweep.unref();
  }

  private acquireWorker(limits: ResourceLimits | undefined, moduleUrl: string): Worker | null {
    // No pool: the host is not bundled yet (start waits for it) or the pool is closed (shut down).
    const got = this.pool?.acquire(limits, moduleUrl) ?? null;
    if (got === null) return null;
    const { worker } = got;
    this.live.set(
      worker,
      new Promise<void>((r) =>
        worker.once('exit', () => {
          this.live.delete(worker);
          r();
        }),
      ),
    );
    return worker;
  }

  private recordDeadLetter(dl: DeadLetter): void {
    this.deadLetterTotal++;
    this.deadLettersByReason[dl.reason] = (this.deadLettersByReason[dl.reason] ?? 0) + 1;
    const n = this.deadLetterRing.length;
    if (n > 0) {
      this.deadLetterRing[this.deadLetterNext] = dl;
      this.deadLetterNext = (this.deadLetterNext + 1) % n;
    }
    if (this.listenerCount('deadLetter') > 0) this.emit('deadLetter', dl);
  }

  private onCrash(cell: ActorCell, kind: CrashKind | 'sibling', detail: string): void {
    if (!this.accepting) {
      void cell.stop('shutdown');
      return;
    }
    if (kind === 'sibling') {
      cell.restart(0);
      this.emit('restart', { actor: cell.name, delayMs: 0, kind });
      return;
    }
    const t = this.clock.now();
    cell.restartTimes = cell.restartTimes.filter((x) => t - x < this.withinMs);
    if (cell.restartTimes.length >= this.maxRestarts) {
      const why = `${kind}: ${detail} (more than ${this.maxRestarts} restarts within ${this.withinMs} ms)`;
      cell.quarantine(why);
      this.emit('quarantine', { actor: cell.name, detail: why });
      return;
    }
    cell.restartTimes.push(t);
    const n = cell.restartTimes.length;
    const delayMs = n <= 1 ? 0 : this.backoffDelay(n - 1);
    this.logger.warn({ actor: cell.name, kind, delayMs, restartsInWindow: n }, 'palisade runtime: restarting actor');
    cell.restart(delayMs);
    this.emit('restart', { actor: cell.name, delayMs, kind });
    if (this.strategy === 'one_for_all') {
      for (const other of this.cells.values()) {
        if (other !== cell && other.canRestartWithSibling()) other.kill('sibling');
      }
    }
  }

  /** Delay before the (k+1)-th restart in the window: exponential, capped, with jitter against synchronized retries. */
  private backoffDelay(k: number): number {
    const b = this.backoff;
    const raw = b.initialMs * b.multiplier ** (k - 1);
    const jittered = raw * (1 - b.jitter + 2 * b.jitter * this.random());
    return Math.max(0, Math.min(b.maxMs, jittered));
  }
}

export type { ActorState };
