/**
 * Ed25519 signing on a piscina pool, so the host thread (which runs the signal bus router and
 * its inline subscribers) never spends CPU on a signature.
 *
 * Why piscina here and not in the actor runtime: a signature is stateless, CPU-bound and
 * independent of every other one — exactly piscina's task model. Actors keep state between
 * messages and need supervision, ordered mailboxes and heartbeats, which piscina does not give.
 *
 * What it buys, measured (bench/results/signing.md): most of the win over web3.js's
 * `tx.sign()` + `serialize()` (~2.3 ms of host CPU) is node:crypto's native ed25519 (~37 µs).
 * Handing that signature to a worker still costs the host ~30 µs (post, receive, settle), so
 * off-thread is about even with in-thread node:crypto at steady rates; what it adds is that no
 * signature, however slow, stalls the host, a burst is spread over the worker's time rather than
 * one loop turn, and a stuck signature is cut by a deadline that terminates its worker.
 *
 * Contract: `sign(message, key)` → the 64-byte ed25519 signature of `message` (a Solana
 * signature is nothing more). Every task has a deadline (an AbortSignal armed on the injected
 * clock); more pending signatures than `maxThreads + maxQueue` is SIGNER_QUEUE_FULL at once; a
 * worker that dies rejects its task with SIGNER_WORKER_DIED and piscina starts a fresh one;
 * after `close()` nothing is pending. Every failure is counted by code in `stats()` and logged.
 *
 * Waiting signatures queue here, FIFO, not in piscina: piscina is handed at most maxThreads
 * tasks, each to a free worker. Its own queue is not FIFO for abortable tasks (every task here
 * has a deadline signal): a task that finds no free worker is put back at the tail of its skip
 * queue (or, with stricterFIFO, new ones at the head), and with 64 in flight some signatures
 * waited the whole run (measured: max latency 1.6–1.9 s over a 2 s run, either setting).
 *
 * Keys cross per task as node:crypto KeyObjects (see key.ts) rather than being installed once
 * per worker: the pool stays stateless (a replaced worker needs nothing re-installed, any key
 * can be used at any time, and the secret is not held by idle workers), at the price of one
 * KeyObject clone per task — a handle to the native key, not its bytes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { ConfigError, withoutStack } from '../errors.ts';
import { MAX_TIMER_MS, integer } from '../validate.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { resolveActorModule } from '../runtime/bundle.ts';
import { Deque } from '../runtime/deque.ts';
import { LatencyHistogram, type LatencySummary } from '../stats/latency.ts';
import {
  SignerAbortedError,
  SignerClosedError,
  SignerError,
  SignerInputError,
  SignerKeyError,
  SignerQueueFullError,
  SignerStartError,
  SignerTaskError,
  SignerTimeoutError,
  SignerWorkerDiedError,
} from './errors.ts';
import { SigningKey } from './key.ts';
import { workerEntry } from '../runtime/worker-entry.ts';

const DEFAULT_WORKER = workerEntry('signer');
const QUEUE_FULL_LOG_EVERY_MS = 1000;

export interface OffThreadSignerOptions {
  /** Workers kept alive even when idle. Default 1 (a cold spawn costs ~30 ms). */
  minThreads?: number;
  /** Most workers at once. Default 1: one worker signs ~20k/s here, far above any trading rate. */
  maxThreads?: number;
  /** An idle worker above minThreads exits after this many ms. Default 30000. */
  idleTimeout?: number;
  /** Signatures that may wait beyond those running. Default 256. */
  maxQueue?: number;
  /** Deadline of one signature, queued to returned. Default 2000 ms. */
  taskTimeoutMs?: number;
  /**
   * piscina's wait strategy between tasks. Default 'disabled': the worker waits for tasks in
   * its event loop. With 'sync' it parks in Atomics.wait after each task, so its event loop
   * (timers, promise jobs, inspector, anything asynchronous in it) stands still until the next
   * task, and the host polls every worker's port after each completion. Kept as an option only
   * so the benchmark can measure both.
   */
  atomics?: 'disabled' | 'sync';
  /** Worker entry (default actors/signer.ts). Tests substitute one that hangs or exits. */
  workerModule?: string | URL;
  /** Where the runtime caches the bundled worker. Default: the runtime's cache. */
  bundleCacheDir?: string;
  logger?: Logger;
  clock?: Clock;
}

export interface SignOptions {
  /** Aborting it rejects the signature with SIGNER_ABORTED (and frees its slot). */
  signal?: AbortSignal;
}

export type SignerFailure =
  | 'queueFull'
  | 'timeout'
  | 'aborted'
  | 'workerDied'
  | 'closed'
  | 'taskFailed'
  | 'startFailed';

export interface OffThreadSignerStats {
  /** Live worker threads. */
  threads: number;
  /** Accepted signatures not yet settled (running + queued). */
  pending: number;
  /** Of those, waiting in piscina's queue for a worker. */
  queued: number;
  capacity: number;
  signed: number;
  /** Signatures made by ready() to load the worker module; not counted in `signed`. */
  warmups: number;
  failed: Record<SignerFailure, number>;
  workersStarted: number;
  workersExited: number;
  /** `sign()` call to signature in hand, host-observed, ms. */
  latency: LatencySummary;
}

interface Task {
  readonly message: Uint8Array;
  readonly key: SigningKey;
  readonly t0: number;
  state: 'queued' | 'running' | 'settled';
  /** On a worker now. Outlives a caller's abort: the deadline still guards the worker's slot. */
  onWorker: boolean;
  ctl: AbortController | null;
  timer: TimerHandle | null;
  callerSignal: AbortSignal | undefined;
  onCallerAbort: (() => void) | undefined;
  resolve: (sig: Uint8Array) => void;
  reject: (err: SignerError) => void;
}

type WorkerReply = Uint8Array | { error: string };

export class OffThreadSigner {
  private readonly o: Required<Omit<OffThreadSignerOptions, 'logger' | 'clock' | 'bundleCacheDir'>> & {
    bundleCacheDir: string | undefined;
  };
  private readonly logger: Logger;
  private readonly clock: Clock;
  private pool: Piscina | null = null;
  private readonly starting: Promise<Piscina>;
  /** FIFO of accepted tasks not yet on a worker; settled ones are skipped when reached. */
  private readonly waiting = new Deque<Task>();
  private readonly live = new Set<Task>();
  private running = 0;
  private drained: (() => void) | null = null;
  private startError: SignerError | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly latency = new LatencyHistogram();
  private readonly failed: Record<SignerFailure, number> = {
    queueFull: 0,
    timeout: 0,
    aborted: 0,
    workerDied: 0,
    closed: 0,
    taskFailed: 0,
    startFailed: 0,
  };
  private signed = 0;
  private warmups = 0;
  private workersStarted = 0;
  private workersExited = 0;
  private queueFullSinceLog = 0;
  private queueFullLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(options: OffThreadSignerOptions = {}) {
    const minThreads = intOption('minThreads', options.minThreads, 1, 0);
    const maxThreads = intOption('maxThreads', options.maxThreads, Math.max(1, minThreads), 1);
    if (minThreads > maxThreads) throw new ConfigError('minThreads', minThreads, `at most maxThreads (${maxThreads})`);
    const atomics = options.atomics ?? 'disabled';
    if (atomics !== 'disabled' && atomics !== 'sync') throw new ConfigError('atomics', atomics, "'disabled' or 'sync'");
    this.o = {
      minThreads,
      maxThreads,
      idleTimeout:
        options.idleTimeout === undefined ? 30_000 : integer('idleTimeout', options.idleTimeout, 0, MAX_TIMER_MS),
      maxQueue: intOption('maxQueue', options.maxQueue, 256, 0),
      taskTimeoutMs:
        options.taskTimeoutMs === undefined ? 2000 : integer('taskTimeoutMs', options.taskTimeoutMs, 1, MAX_TIMER_MS),
      atomics,
      workerModule: options.workerModule ?? DEFAULT_WORKER,
      bundleCacheDir: options.bundleCacheDir,
    };
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.starting = this.start();
    // A start failure rejects what waits and every later sign() (and ready()); never unhandled.
    this.starting.catch((err: unknown) => {
      this.startError = err instanceof SignerError ? err : new SignerStartError(err);
      const kind: SignerFailure = err instanceof SignerClosedError ? 'closed' : 'startFailed';
      for (const task of [...this.live]) this.settle(task, this.fail(kind, this.startError));
    });
  }

  get capacity(): number {
    return this.o.maxThreads + this.o.maxQueue;
  }

  /** Resolves once the pool runs and each of its minThreads workers has loaded the signing module. */
  async ready(): Promise<void> {
    const pool = await this.starting;
    const { privateKey } = generateKeyPairSync('ed25519');
    const probe = new Uint8Array(32);
    await Promise.all(
      Array.from({ length: Math.max(1, this.o.minThreads) }, async () => {
        const reply = (await pool.run(
          { message: probe, key: privateKey },
          { signal: AbortSignal.timeout(30_000) },
        )) as WorkerReply;
        if (!(reply instanceof Uint8Array)) throw new SignerTaskError(reply.error);
        this.warmups++;
      }),
    );
  }

  /**
   * The ed25519 signature of `message` by `key`, computed on a worker thread. Rejects with a
   * SignerError: SIGNER_QUEUE_FULL (nothing queued), SIGNER_TIMEOUT, SIGNER_ABORTED,
   * SIGNER_WORKER_DIED, SIGNER_CLOSED, SIGNER_TASK_FAILED, SIGNER_START_FAILED, SIGNER_BAD_KEY,
   * SIGNER_BAD_INPUT.
   */
  sign(message: Uint8Array, key: SigningKey, options: SignOptions = {}): Promise<Uint8Array> {
    if (!(message instanceof Uint8Array) || message.length === 0)
      return Promise.reject(new SignerInputError('message must be a non-empty Uint8Array'));
    if (!(key instanceof SigningKey))
      return Promise.reject(new SignerKeyError('expected a SigningKey (SigningKey.fromSecretKey(secretKey))'));
    if (this.closed) {
      this.failed.closed++;
      return Promise.reject(withoutStack(() => new SignerClosedError()));
    }
    if (this.startError) return Promise.reject(this.fail('startFailed', this.startError));
    if (this.live.size >= this.capacity) return Promise.reject(this.queueFull());
    const callerSignal = options.signal;
    if (callerSignal?.aborted) {
      this.failed.aborted++;
      return Promise.reject(new SignerAbortedError(callerSignal.reason));
    }

    return new Promise<Uint8Array>((resolve, reject) => {
      const task: Task = {
        message,
        key,
        t0: performance.now(),
        state: 'queued',
        onWorker: false,
        ctl: null,
        timer: null,
        callerSignal,
        onCallerAbort: undefined,
        resolve,
        reject,
      };
      // Armed before anything asynchronous, so even a task waiting for the pool to start has its deadline.
      task.timer = this.clock.setTimeout(() => {
        task.timer = null;
        this.end(task, 'timeout');
      }, this.o.taskTimeoutMs);
      if (callerSignal) {
        task.onCallerAbort = () => this.end(task, 'aborted');
        callerSignal.addEventListener('abort', task.onCallerAbort, { once: true });
      }
      this.live.add(task);
      this.waiting.push(task);
      this.pump();
    });
  }

  /** The live worker threads, for fault injection (terminate one to rehearse a worker death). */
  threads(): readonly Worker[] {
    return this.pool?.threads ?? [];
  }

  stats(): OffThreadSignerStats {
    return {
      threads: this.pool?.threads.length ?? 0,
      pending: this.live.size,
      queued: this.live.size - this.running,
      capacity: this.capacity,
      signed: this.signed,
      warmups: this.warmups,
      failed: { ...this.failed },
      workersStarted: this.workersStarted,
      workersExited: this.workersExited,
      latency: this.latency.summary(),
    };
  }

  /**
   * Stops accepting signatures, lets those pending finish for up to `drainMs` (default the task
   * deadline), then stops every worker; whatever is still pending then is rejected with
   * SIGNER_CLOSED. Nothing is pending and no worker runs once it resolves. Idempotent.
   */
  close(options: { drainMs?: number } = {}): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const drainMs = options.drainMs ?? this.o.taskTimeoutMs;
    this.closing = (async () => {
      if (this.live.size > 0) {
        let timer: TimerHandle | undefined;
        const deadline = new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, drainMs)));
        const drained = new Promise<void>((resolve) => (this.drained = resolve));
        await Promise.race([drained, deadline]);
        this.drained = null;
        if (timer !== undefined) this.clock.clearTimeout(timer);
      }
      // Still waiting for a worker: never started, rejected now. Still running: destroy() below
      // terminates its worker and piscina rejects it, which settles it as closed.
      for (const task of [...this.live])
        if (task.state === 'queued')
          this.settle(
            task,
            this.fail(
              'closed',
              withoutStack(() => new SignerClosedError()),
            ),
          );
      const pool = await this.starting.catch(() => null);
      if (pool) await pool.destroy();
      for (const task of [...this.live])
        this.settle(
          task,
          this.fail(
            'closed',
            withoutStack(() => new SignerClosedError()),
          ),
        );
      this.logger.info({ stats: this.stats() }, 'signer closed');
    })();
    return this.closing;
  }

  private async start(): Promise<Piscina> {
    let url: string;
    try {
      url = (await resolveActorModule('signer', this.o.workerModule, this.o.bundleCacheDir)).url;
    } catch (err) {
      throw new SignerStartError(err);
    }
    if (this.closed) throw withoutStack(() => new SignerClosedError());
    const pool = new Piscina({
      filename: url,
      minThreads: this.o.minThreads,
      maxThreads: this.o.maxThreads,
      idleTimeout: this.o.idleTimeout,
      // Tasks wait in this class's FIFO; piscina only ever holds tasks a worker is free for.
      maxQueue: this.capacity,
      atomics: this.o.atomics,
      // Workers must not inherit the tsx loader of a tsx-run parent (slow spawn, useless in a worker).
      execArgv: [],
      closeTimeout: this.o.taskTimeoutMs,
    });
    pool.on('workerCreate', () => this.workersStarted++);
    pool.on('workerDestroy', () => this.workersExited++);
    // piscina emits 'error' for a worker that fails with no task on it; unhandled it would throw.
    pool.on('error', (err: unknown) =>
      this.logger.error({ err: errorText(err) }, 'signer: worker failed while idle (replaced)'),
    );
    this.pool = pool;
    queueMicrotask(() => this.pump());
    this.logger.debug(
      { minThreads: this.o.minThreads, maxThreads: this.o.maxThreads, atomics: this.o.atomics },
      'signer pool started',
    );
    return pool;
  }

  /** Hands waiting tasks, oldest first, to free workers. */
  private pump(): void {
    const pool = this.pool;
    if (pool === null) return;
    while (this.running < this.o.maxThreads) {
      const task = this.waiting.shift();
      if (task === undefined) return;
      if (task.state !== 'queued') continue;
      this.dispatch(pool, task);
    }
  }

  private dispatch(pool: Piscina, task: Task): void {
    task.state = 'running';
    task.onWorker = true;
    task.ctl = new AbortController();
    this.running++;
    (
      pool.run({ message: task.message, key: task.key.keyObject }, { signal: task.ctl.signal }) as Promise<WorkerReply>
    ).then(
      (reply) => {
        this.offWorker(task);
        if (reply instanceof Uint8Array) {
          if (task.state !== 'settled') {
            this.signed++;
            this.latency.record(performance.now() - task.t0);
          }
          this.settle(task, reply);
        } else {
          this.settle(task, this.fail('taskFailed', new SignerTaskError(reply.error)));
        }
        this.pump();
      },
      (err: unknown) => {
        this.offWorker(task);
        if (task.state !== 'settled') this.settle(task, this.classify(err));
        this.pump();
      },
    );
  }

  /**
   * A deadline or the caller's abort. A waiting task ends at once. A running one is rejected at
   * once too, but only its deadline terminates the worker (piscina aborts it): a caller's abort
   * lets the worker finish and the signature is dropped, rather than paying a respawn.
   */
  private end(task: Task, why: 'timeout' | 'aborted'): void {
    if (why === 'timeout' && task.onWorker) {
      this.logger.warn(
        { timeoutMs: this.o.taskTimeoutMs },
        'signer: task overran its deadline on a worker; the worker is terminated and replaced',
      );
      task.ctl?.abort();
    }
    if (task.state === 'settled') return;
    const err =
      why === 'timeout'
        ? this.fail(
            'timeout',
            withoutStack(() => new SignerTimeoutError(this.o.taskTimeoutMs)),
          )
        : this.fail('aborted', new SignerAbortedError(task.callerSignal?.reason));
    this.settle(task, err);
  }

  private settle(task: Task, outcome: Uint8Array | SignerError): void {
    if (task.state === 'settled') return;
    task.state = 'settled';
    if (!task.onWorker) this.clearTimer(task);
    if (task.callerSignal && task.onCallerAbort) task.callerSignal.removeEventListener('abort', task.onCallerAbort);
    this.live.delete(task);
    if (outcome instanceof Uint8Array) task.resolve(outcome);
    else task.reject(outcome);
    if (this.live.size === 0) this.drained?.();
  }

  private offWorker(task: Task): void {
    this.running--;
    task.onWorker = false;
    this.clearTimer(task);
  }

  private clearTimer(task: Task): void {
    if (task.timer !== null) this.clock.clearTimeout(task.timer);
    task.timer = null;
  }

  private classify(err: unknown): SignerError {
    if (err instanceof SignerStartError) return this.fail('startFailed', err);
    if (this.closed)
      return this.fail(
        'closed',
        withoutStack(() => new SignerClosedError()),
      );
    const text = errorText(err);
    this.logger.warn({ err: text }, 'signer: worker died with a task on it (piscina replaces the worker)');
    return this.fail('workerDied', new SignerWorkerDiedError(err));
  }

  private fail<E extends SignerError>(kind: SignerFailure, err: E): E {
    this.failed[kind]++;
    return err;
  }

  private queueFull(): SignerQueueFullError {
    this.failed.queueFull++;
    this.queueFullSinceLog++;
    const now = this.clock.now();
    // In a surge this can fire thousands of times a second: log the first, then a count per second.
    if (now - this.queueFullLoggedAt >= QUEUE_FULL_LOG_EVERY_MS) {
      this.logger.warn(
        { refused: this.queueFullSinceLog, capacity: this.capacity, totalRefused: this.failed.queueFull },
        'signer: queue full, signatures refused',
      );
      this.queueFullLoggedAt = now;
      this.queueFullSinceLog = 0;
    }
    return withoutStack(() => new SignerQueueFullError(this.capacity));
  }
}

function intOption(key: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new ConfigError(key, value, `an integer >= ${min}`);
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
