/**
 * startLocalClusterInWorker: the local Solana cluster in a worker thread of its own, controlled
 * through a comlink proxy. The providers then answer from another event loop, as remote
 * providers do, instead of competing with the process under test for its own.
 *
 * comlink fits here: a low-rate, method-shaped control plane (faults, stats, close). Its traps are
 * closed around it: a call whose answer never comes stays pending forever in comlink, and a dead
 * worker leaves every pending call pending forever. So every call has a deadline
 * (DEVNET_CONTROL_TIMEOUT), and when the worker exits or errors every pending call is rejected at
 * once and every later call at once (DEVNET_WORKER_EXITED).
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { systemClock, type Clock, type TimerHandle } from '../../clock.ts';
import { timeoutMs } from '../../validate.ts';
import { silentLogger, type Logger } from '../../log/index.ts';
import { resolveActorModule } from '../../runtime/bundle.ts';
import { LatencyHistogram, type LatencySummary } from '../../stats/latency.ts';
import type { DevnetEndpoint, LocalClusterStats } from '../cluster.ts';
import { DevnetError } from '../errors.ts';
import type { DevnetFault } from '../faults.ts';
import { DevnetControlTimeoutError, DevnetWorkerExitedError } from './errors.ts';
import {
  fromWireError,
  type ChainTip,
  type ClusterControlApi,
  type WorkerClusterOptions,
  type WorkerInit,
} from './protocol.ts';
import { workerEntry } from '../../runtime/worker-entry.ts';

const ENTRY = workerEntry('devnet-cluster');

export interface RemoteClusterOptions extends WorkerClusterOptions {
  /** The host's logger; the worker's log lines are forwarded to it (tagged thread: devnet-cluster). */
  logger?: Logger;
  /** Drives the control-call deadlines (tests pass a ManualClock). */
  clock?: Clock;
  /** Deadline of every control call (default 5000 ms). */
  callTimeoutMs?: number;
  /** Deadline of bundling, spawning and starting the cluster (default 60000 ms). */
  startTimeoutMs?: number;
  /** Deadline of the cluster's own close inside the worker; the worker is terminated either way (default 10000 ms). */
  closeTimeoutMs?: number;
  /** Exposes `testHooks` (spin, hang, exit, terminate) for tests of the failure paths. */
  testHooks?: boolean;
  /** Where the worker entry's esbuild bundle is cached (default: the runtime's cache). */
  bundleCacheDir?: string;
  /** Called once when the worker ends without close() (crash or exit). */
  onExit?: (err: DevnetWorkerExitedError) => void;
}

export interface RemoteClusterFaults {
  set(name: string, fault: DevnetFault | DevnetFault[]): Promise<void>;
  add(name: string, fault: DevnetFault): Promise<void>;
  clear(name?: string): Promise<void>;
  kill(name: string): Promise<void>;
  revive(name: string): Promise<void>;
  list(): Promise<Record<string, { killed: boolean; faults: DevnetFault[] }>>;
}

export interface RemoteChain {
  /** Produces n blocks now. */
  advanceSlots(n: number): Promise<ChainTip>;
  tip(): Promise<ChainTip>;
}

export type RemoteClusterState = 'running' | 'closing' | 'closed' | 'exited';

export interface RemoteControlStats {
  state: RemoteClusterState;
  threadId: number;
  /** Control calls made (start and close included). */
  calls: number;
  ok: number;
  /** Rejected by the cluster (unknown provider, bad fault, ...). */
  failed: number;
  timeouts: number;
  /** Pending or new calls rejected because the worker had exited. */
  rejectedExited: number;
  /** Calls refused or cut short by close(). */
  rejectedClosed: number;
  /** Answers that arrived after their call had timed out (ignored). */
  lateAnswers: number;
  pending: number;
  /** Round trip of answered calls, ms. */
  latency: LatencySummary;
  /** Set once the worker ended without close(). */
  exit: { code: number | null; error: string | null } | null;
  /** close() found the cluster's own close past its deadline (the worker was terminated anyway). */
  closeTimedOut: boolean;
}

export interface RemoteTestHooks {
  spin(ms: number): Promise<void>;
  hang(): Promise<never>;
  exit(code: number): Promise<void>;
  /** Terminates the worker from the host without close(). */
  terminate(): Promise<void>;
}

export interface RemoteLocalCluster {
  readonly endpoints: readonly DevnetEndpoint[];
  readonly faults: RemoteClusterFaults;
  readonly chain: RemoteChain;
  readonly threadId: number;
  endpoint(name: string): DevnetEndpoint;
  getStats(): Promise<LocalClusterStats>;
  /** One control round trip that does nothing (measures the proxy's cost). */
  ping(): Promise<void>;
  /** Host-side numbers of the control plane, synchronously. */
  getControlStats(): RemoteControlStats;
  /** Closes the cluster inside the worker (bounded), releases the proxy, terminates the worker. Idempotent. */
  close(): Promise<void>;
  /** Only with `testHooks: true`. */
  readonly testHooks: RemoteTestHooks | undefined;
}

function positiveMs(key: string, v: number | undefined, fallback: number): number {
  return v === undefined ? fallback : timeoutMs(key, v, { min: 1 });
}

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** The host side of the control plane: one worker, one comlink proxy, deadlines and exit handling. */
class ControlChannel {
  state: RemoteClusterState = 'running';
  readonly latency = new LatencyHistogram();
  readonly counts = { calls: 0, ok: 0, failed: 0, timeouts: 0, rejectedExited: 0, rejectedClosed: 0, lateAnswers: 0 };
  exit: { code: number | null; error: string | null } | null = null;
  closeTimedOut = false;
  private readonly pending = new Map<number, { method: string; reject: (err: Error) => void }>();
  private seq = 0;
  private exitError: unknown;
  readonly remote: Comlink.Remote<ClusterControlApi>;
  readonly exited: Promise<void>;

  constructor(
    readonly worker: Worker,
    private readonly logPort: MessagePort,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly callTimeoutMs: number,
    private readonly onExit: ((err: DevnetWorkerExitedError) => void) | undefined,
  ) {
    this.remote = Comlink.wrap<ClusterControlApi>(nodeEndpoint(worker));
    logPort.on('message', (line: unknown) => this.forwardLog(line));
    logPort.unref();
    worker.on('error', (err) => {
      this.exitError = err;
      this.logger.error({ err }, 'devnet: cluster thread error');
    });
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.onWorkerExit(code);
        resolve();
      });
    });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * One control call with a deadline. Rejects with DEVNET_CONTROL_TIMEOUT past the deadline,
   * DEVNET_WORKER_EXITED as soon as the worker is gone, DEVNET_CLOSED after close().
   */
  call<T>(method: string, invoke: () => Promise<T>, timeoutMs = this.callTimeoutMs, duringClose = false): Promise<T> {
    this.counts.calls++;
    if (this.state === 'exited') {
      this.counts.rejectedExited++;
      return Promise.reject(new DevnetWorkerExitedError(method, this.exit?.code ?? null, this.exitError));
    }
    if (this.state === 'closed' || (this.state === 'closing' && !duringClose)) {
      this.counts.rejectedClosed++;
      return Promise.reject(
        new DevnetError('DEVNET_CLOSED', `devnet control call ${method}: the cluster is ${this.state}`),
      );
    }
    const id = ++this.seq;
    const t0 = performance.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        this.clock.clearTimeout(timer);
        this.pending.delete(id);
        return true;
      };
      const timer: TimerHandle = this.clock.setTimeout(() => {
        if (!finish()) return;
        this.counts.timeouts++;
        this.logger.warn({ method, timeoutMs }, 'devnet: control call timed out');
        reject(new DevnetControlTimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        reject: (err) => {
          if (finish()) reject(err);
        },
      });
      let p: Promise<T>;
      try {
        p = invoke();
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (value) => {
          if (!finish()) return void this.counts.lateAnswers++;
          this.counts.ok++;
          this.latency.record(performance.now() - t0);
          resolve(value);
        },
        (err: unknown) => {
          if (!finish()) return void this.counts.lateAnswers++;
          this.counts.failed++;
          this.latency.record(performance.now() - t0);
          reject(fromWireError(err, method));
        },
      );
    });
  }

  /** Rejects every pending call with the error `make` builds for it. */
  rejectAll(make: (method: string) => Error): number {
    const all = [...this.pending.values()];
    for (const p of all) p.reject(make(p.method));
    return all.length;
  }

  private onWorkerExit(code: number): void {
    this.logPort.close();
    if (this.state === 'closing' || this.state === 'closed') {
      this.state = 'closed';
      this.counts.rejectedClosed += this.rejectAll(
        (m) => new DevnetError('DEVNET_CLOSED', `devnet control call ${m}: the cluster was closed`),
      );
      return;
    }
    this.state = 'exited';
    this.exit = {
      code,
      error:
        this.exitError instanceof Error
          ? this.exitError.message
          : this.exitError === undefined
            ? null
            : String(this.exitError),
    };
    const n = this.rejectAll((m) => new DevnetWorkerExitedError(m, code, this.exitError));
    this.counts.rejectedExited += n;
    this.logger.error(
      { code, pendingRejected: n, error: this.exit.error },
      'devnet: cluster thread exited without close()',
    );
    this.onExit?.(new DevnetWorkerExitedError('(none)', code, this.exitError));
  }

  private forwardLog(line: unknown): void {
    if (typeof line !== 'string') return;
    try {
      const {
        level,
        msg,
        time: _t,
        pid: _p,
        hostname: _h,
        name: _n,
        ...fields
      } = JSON.parse(line) as Record<string, unknown>;
      const method = LEVELS[level as number] ?? 'info';
      this.logger[method]({ ...fields, thread: 'devnet-cluster' }, typeof msg === 'string' ? msg : '');
    } catch {
      this.logger.info({ thread: 'devnet-cluster', line }, 'devnet: unparsed log line');
    }
  }
}

export async function startLocalClusterInWorker(options: RemoteClusterOptions = {}): Promise<RemoteLocalCluster> {
  const {
    logger: givenLogger,
    clock: givenClock,
    callTimeoutMs: cto,
    startTimeoutMs: sto,
    closeTimeoutMs: clo,
    testHooks,
    bundleCacheDir,
    onExit,
    ...clusterOptions
  } = options;
  const logger = givenLogger ?? silentLogger;
  const clock = givenClock ?? systemClock;
  const callTimeoutMs = positiveMs('devnet.callTimeoutMs', cto, 5000);
  const startTimeoutMs = positiveMs('devnet.startTimeoutMs', sto, 60_000);
  const closeTimeoutMs = positiveMs('devnet.closeTimeoutMs', clo, 10_000);

  const entry = await resolveActorModule('devnet-cluster', ENTRY, ...(bundleCacheDir ? [bundleCacheDir] : []));
  const { port1, port2 } = new MessageChannel();
  const init: WorkerInit = { logLevel: logger.level, logPort: port2, testHooks: testHooks === true };
  // Workers must not inherit tsx (`--import tsx`): they load the plain-ESM bundle.
  const worker = new Worker(new URL(entry.url), {
    execArgv: [],
    workerData: init,
    transferList: [port2],
    name: 'palisade-devnet-cluster',
  });
  const threadId = worker.threadId;
  const ch = new ControlChannel(worker, port1, clock, logger, callTimeoutMs, onExit);

  let endpoints: DevnetEndpoint[];
  try {
    ({ endpoints } = await ch.call('start', () => ch.remote.start(clusterOptions), startTimeoutMs));
  } catch (err) {
    ch.state = 'closing';
    await worker.terminate();
    await ch.exited;
    throw err;
  }
  logger.info({ threadId, endpoints: endpoints.map((e) => e.name) }, 'devnet: cluster started in its own thread');

  const r = ch.remote;
  const faults: RemoteClusterFaults = {
    set: (name, fault) => ch.call('faults.set', () => r.faults.set(name, fault)),
    add: (name, fault) => ch.call('faults.add', () => r.faults.add(name, fault)),
    clear: (name) => ch.call('faults.clear', () => r.faults.clear(name)),
    kill: (name) => ch.call('faults.kill', () => r.faults.kill(name)),
    revive: (name) => ch.call('faults.revive', () => r.faults.revive(name)),
    list: () => ch.call('faults.list', () => r.faults.list()),
  };
  const chain: RemoteChain = {
    advanceSlots: (n) => ch.call('chain.advanceSlots', () => r.chain.advanceSlots(n)),
    tip: () => ch.call('chain.tip', () => r.chain.tip()),
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (ch.state === 'running') {
        ch.state = 'closing';
        try {
          await ch.call('close', () => r.close(), closeTimeoutMs, true);
        } catch (err) {
          if ((err as { code?: unknown }).code === 'DEVNET_CONTROL_TIMEOUT') ch.closeTimedOut = true;
          logger.warn({ err }, 'devnet: the cluster did not close cleanly in its thread; terminating the thread');
        }
        try {
          r[Comlink.releaseProxy]();
        } catch (err) {
          logger.debug({ err }, 'devnet: releasing the comlink proxy failed');
        }
      }
      if (ch.state !== 'exited') ch.state = 'closing';
      await worker.terminate();
      await ch.exited;
      logger.info('devnet: cluster thread closed');
    })();
    return closing;
  };

  const hooks: RemoteTestHooks | undefined = testHooks
    ? {
        spin: (ms) => ch.call('testHooks.spin', () => r.testHooks.spin(ms)),
        hang: () => ch.call('testHooks.hang', () => r.testHooks.hang()),
        exit: (code) => ch.call('testHooks.exit', () => r.testHooks.exit(code)),
        terminate: async () => {
          await worker.terminate();
          await ch.exited;
        },
      }
    : undefined;

  return {
    endpoints,
    faults,
    chain,
    threadId,
    endpoint(name) {
      const e = endpoints.find((x) => x.name === name);
      if (!e) throw new DevnetError('DEVNET_UNKNOWN_PROVIDER', `unknown provider ${JSON.stringify(name)}`);
      return e;
    },
    getStats: () => ch.call('getStats', () => r.getStats()),
    ping: async () => void (await ch.call('ping', () => r.ping())),
    getControlStats: () => ({
      state: ch.state,
      threadId,
      ...ch.counts,
      pending: ch.pendingCount,
      latency: ch.latency.summary(),
      exit: ch.exit,
      closeTimedOut: ch.closeTimedOut,
    }),
    close,
    testHooks: hooks,
  };
}
