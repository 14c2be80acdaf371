/**
 * One connection to the NATS JetStream engine, shared by everything in a process that talks to
 * it (the signal bus transport, shared endpoint health, replay).
 *
 * What it settles once so its users do not each get it wrong:
 * - a long-lived process never gives up reconnecting (`maxReconnectAttempts: -1`; the client's
 *   default gives up after ~20 s of outage);
 * - the server's version is checked at connect: palisade needs 2.9.0 (the consumer-create API
 *   the 3.x client uses), and `requireServer` names the version a newer feature needs;
 * - connection status is turned into three plain events (disconnected, reconnected, closed)
 *   with counters, so callers can pause work on `disconnected` instead of waiting for
 *   JetStream calls to time out;
 * - server URLs (which may carry credentials) are redacted in every error and log line.
 */
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from '../errors.ts';
import { redactText, redactUrl, silentLogger, type Logger } from '../log/index.ts';
import { integer, knownKeys, timeoutMs } from '../validate.ts';
import { EngineError } from './errors.ts';

/** The oldest nats-server palisade runs on. */
export const MIN_SERVER_VERSION = '2.9.0';

export interface EngineConnectionOptions {
  /** `nats://host:port` (or several, for a cluster). */
  servers: string | readonly string[];
  /** This process's name on the engine: letters, digits, `-` and `_` (it names durable consumers). */
  name: string;
  /** Pause between reconnect attempts. Default 250 ms. */
  reconnectTimeWaitMs?: number;
  /** How long the first connection may take. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Client pings the server this often to notice a dead link. Default 10000 ms. */
  pingIntervalMs?: number;
  logger?: Logger;
}

export type EngineStatus = 'disconnected' | 'reconnected' | 'closed';

export interface EngineConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly name: string;
  /** The server's version as it reported it at connect (e.g. "2.9.10"). */
  readonly serverVersion: string;
  /** False between a `disconnected` and the next `reconnected`, and after close. */
  readonly connected: boolean;
  /** Successful reconnections since connect. */
  readonly reconnects: number;
  readonly disconnects: number;
  /** Calls `listener` on every status change; returns a function that removes it. */
  onStatus(listener: (status: EngineStatus) => void): () => void;
  /** Whether the connected server is at least `version`. */
  supports(version: string): boolean;
  /** Throws ENGINE_TOO_OLD naming `feature`, the version it needs and the server's, if the server is older. */
  requireServer(version: string, feature: string): void;
  /** Closes the connection (idempotent). Pending JetStream calls fail. */
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const KNOWN = ['servers', 'name', 'reconnectTimeWaitMs', 'connectTimeoutMs', 'pingIntervalMs', 'logger'] as const;

/**
 * Checks options without connecting (so a bus can refuse bad config in its constructor).
 * `extraKeys`: keys a module embedding these options in its own section also accepts.
 */
export function checkConnectionOptions(
  section: string,
  o: unknown,
  extraKeys: readonly string[] = [],
): { servers: string[]; name: string } {
  if (o === null || typeof o !== 'object') throw new ConfigError(section, o, 'an object with servers and name');
  knownKeys(section, o, [...KNOWN, ...extraKeys]);
  const opts = o as EngineConnectionOptions;
  const raw = typeof opts.servers === 'string' ? [opts.servers] : opts.servers;
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ConfigError(`${section}.servers`, redactValue(opts.servers), 'a server URL or a non-empty array of them');
  const servers = raw.map((s: unknown) => {
    if (typeof s !== 'string' || s.trim().length === 0 || s.length > 2048)
      throw new ConfigError(`${section}.servers`, redactValue(s), 'non-empty URL strings like nats://127.0.0.1:4222');
    return s;
  });
  if (typeof opts.name !== 'string' || !NAME.test(opts.name)) {
    throw new ConfigError(
      `${section}.name`,
      opts.name,
      '1-64 letters, digits, - or _ (it names durable consumers and message ids)',
    );
  }
  if (opts.reconnectTimeWaitMs !== undefined)
    timeoutMs(`${section}.reconnectTimeWaitMs`, opts.reconnectTimeWaitMs, { min: 10 });
  if (opts.connectTimeoutMs !== undefined) timeoutMs(`${section}.connectTimeoutMs`, opts.connectTimeoutMs, { min: 10 });
  if (opts.pingIntervalMs !== undefined) integer(`${section}.pingIntervalMs`, opts.pingIntervalMs, 100, 3_600_000);
  return { servers, name: opts.name };
}

/**
 * Connects, checks the server's version and JetStream, and starts watching status. Rejects with
 * ENGINE_UNREACHABLE when the first connection fails (later outages are reconnected forever).
 */
export async function connectEngine(
  options: EngineConnectionOptions,
  extraKeys: readonly string[] = [],
): Promise<EngineConnection> {
  const { servers, name } = checkConnectionOptions('nats', options, extraKeys);
  const logger = options.logger ?? silentLogger;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
      reconnectJitter: 50,
      timeout: options.connectTimeoutMs ?? 5000,
      pingInterval: options.pingIntervalMs ?? 10_000,
      maxPingOut: 3,
    });
  } catch (err) {
    throw new EngineError(
      'ENGINE_UNREACHABLE',
      `cannot connect to the NATS engine at ${servers.map(redactUrl).join(', ')}: ${redactText(errMessage(err))}`,
      { cause: err },
    );
  }
  const serverVersion = nc.info?.version ?? '0.0.0';
  try {
    if (!versionAtLeast(serverVersion, MIN_SERVER_VERSION)) {
      throw new EngineError(
        'ENGINE_TOO_OLD',
        `nats-server ${serverVersion} is older than ${MIN_SERVER_VERSION}, the oldest palisade supports`,
      );
    }
    if (nc.info?.jetstream === false)
      throw new EngineError(
        'ENGINE_NO_JETSTREAM',
        `nats-server ${serverVersion} runs without JetStream: start it with -js`,
      );
    const jsm = await jetstreamManager(nc).catch((err: unknown) => {
      throw new EngineError(
        'ENGINE_NO_JETSTREAM',
        `JetStream is not available on the engine: ${redactText(errMessage(err))}`,
        { cause: err },
      );
    });
    const conn = new Connection(nc, jetstream(nc), jsm, name, serverVersion, logger);
    logger.info({ name, serverVersion, servers: servers.map(redactUrl) }, 'connected to the NATS engine');
    return conn;
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

class Connection implements EngineConnection {
  connected = true;
  reconnects = 0;
  disconnects = 0;
  private readonly listeners = new Set<(s: EngineStatus) => void>();
  private closing: Promise<void> | null = null;

  constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly name: string,
    readonly serverVersion: string,
    private readonly logger: Logger,
  ) {
    void this.watch();
  }

  onStatus(listener: (status: EngineStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  supports(version: string): boolean {
    return versionAtLeast(this.serverVersion, version);
  }

  requireServer(version: string, feature: string): void {
    if (!this.supports(version)) {
      throw new EngineError(
        'ENGINE_TOO_OLD',
        `${feature} needs nats-server ${version} or newer; the engine runs ${this.serverVersion}`,
      );
    }
  }

  close(): Promise<void> {
    this.closing ??= this.nc.close().catch(() => {});
    return this.closing;
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        if (!this.connected) continue;
        this.connected = false;
        this.disconnects++;
        this.logger.warn({ name: this.name, server: redactUrl(s.server) }, 'NATS engine disconnected; reconnecting');
        this.emit('disconnected');
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.reconnects++;
        this.logger.info(
          { name: this.name, server: redactUrl(s.server), reconnects: this.reconnects },
          'NATS engine reconnected',
        );
        this.emit('reconnected');
      } else if (s.type === 'error') {
        this.logger.warn({ name: this.name, err: redactText(errMessage(s.error)) }, 'NATS engine error');
      }
    }
    // The status iterator ends when the connection closes.
    this.connected = false;
    this.emit('closed');
  }

  private emit(status: EngineStatus): void {
    for (const l of [...this.listeners]) {
      try {
        l(status);
      } catch (err) {
        this.logger.error({ err, status }, 'NATS engine status listener threw');
      }
    }
  }
}

/** Compares dotted versions numerically ("2.9.10" >= "2.9.0"); a pre-release suffix is ignored. */
export function versionAtLeast(actual: string, wanted: string): boolean {
  const a = parseVersion(actual);
  const w = parseVersion(wanted);
  for (let i = 0; i < 3; i++) {
    if (a[i]! > w[i]!) return true;
    if (a[i]! < w[i]!) return false;
  }
  return true;
}

function parseVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

function redactValue(v: unknown): unknown {
  if (typeof v === 'string') return redactUrl(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? redactUrl(x) : x));
  return v;
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
