/**
 * What crosses the thread between the host (RemoteLocalCluster) and the worker entry
 * (actors/devnet-cluster.ts): the control API the worker exposes through comlink, the options it
 * is started with (structured-clone data only: no logger, clock or random function), and the
 * error wire format. comlink sends a thrown Error as { message, name, stack } only, so errors
 * are turned into plain records here to keep their stable `code` across the thread.
 */
import type { ProxyMarked } from 'comlink';
import { ConfigError, PalisadeError } from '../../errors.ts';
import type { DevnetEndpoint, LocalClusterOptions, LocalClusterStats } from '../cluster.ts';
import { DevnetError } from '../errors.ts';
import type { DevnetFault } from '../faults.ts';
import type { MessagePort } from 'node:worker_threads';

export type WorkerClusterOptions = Omit<LocalClusterOptions, 'logger' | 'clock' | 'random'> & {
  /** Seed of the worker's random source (fault probability, jitter); Math.random without it. */
  randomSeed?: number;
};

export interface ChainTip {
  slot: number;
  blockHeight: number;
  transactionTotal: number;
}

/**
 * The API exposed in the worker; comlink makes every member async on the host. The nested groups
 * are ProxyMarked so comlink's types let the host call through them (comlink routes the path).
 */
export interface ClusterControlApi {
  start(options: WorkerClusterOptions): Promise<{ endpoints: DevnetEndpoint[] }>;
  faults: {
    set(name: string, fault: DevnetFault | DevnetFault[]): void;
    add(name: string, fault: DevnetFault): void;
    clear(name?: string): void;
    kill(name: string): Promise<void>;
    revive(name: string): Promise<void>;
    list(): Record<string, { killed: boolean; faults: DevnetFault[] }>;
  } & ProxyMarked;
  chain: {
    advanceSlots(n: number): ChainTip;
    tip(): ChainTip;
  } & ProxyMarked;
  getStats(): LocalClusterStats;
  /** Answers at once: the cost of a control round trip. */
  ping(): number;
  close(): Promise<void>;
  /** Present only when started with testHooks (tests make the thread block, hang or die). */
  testHooks: {
    /** Blocks the thread's event loop for up to `ms` of wall time. */
    spin(ms: number): void;
    /** Never answers. */
    hang(): Promise<never>;
    /** Ends the worker thread with this exit code. */
    exit(code: number): void;
  } & ProxyMarked;
}

export interface WorkerInit {
  /** pino level for the worker's log lines (they are forwarded to the host's logger). */
  logLevel: string;
  /** Port the worker posts its log lines on. */
  logPort: MessagePort;
  testHooks: boolean;
}

export interface WireError {
  palisadeWireError: true;
  name: string;
  code: string | undefined;
  message: string;
  /** ConfigError's key. */
  key: string | undefined;
}

export function toWireError(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  const key = (e as { key?: unknown }).key;
  return {
    palisadeWireError: true,
    name: e.name,
    code: typeof code === 'string' ? code : undefined,
    message: e.message,
    key: typeof key === 'string' ? key : undefined,
  };
}

function isWireError(v: unknown): v is WireError {
  return typeof v === 'object' && v !== null && (v as { palisadeWireError?: unknown }).palisadeWireError === true;
}

/** Rebuilds a typed error on the host: ConfigError and DevnetError keep their class and code. */
export function fromWireError(v: unknown, method: string): Error {
  if (!isWireError(v)) {
    if (v instanceof Error)
      return new DevnetError(
        'DEVNET_REMOTE_ERROR',
        `devnet control call ${method} failed in the cluster thread: ${v.message}`,
        { cause: v },
      );
    return new DevnetError(
      'DEVNET_REMOTE_ERROR',
      `devnet control call ${method} failed in the cluster thread: ${String(v)}`,
    );
  }
  if (v.code === 'CONFIG_INVALID') {
    const e = new ConfigError(v.key ?? 'devnet', undefined, 'see message');
    e.message = v.message;
    return e;
  }
  if (v.code?.startsWith('DEVNET_')) return new DevnetError(v.code, v.message);
  if (v.code) return new PalisadeError(v.code, `${v.name}: ${v.message}`);
  return new DevnetError(
    'DEVNET_REMOTE_ERROR',
    `devnet control call ${method} failed in the cluster thread: ${v.name}: ${v.message}`,
  );
}
