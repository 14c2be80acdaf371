/**
 * startLocalCluster: one chain served on several loopback ports that stand in for RPC providers
 * (helius-local, chainstack-local, public-local), each with its own HTTP server, WebSocket
 * PubSub and fault state, all answering from the same SVM.
 */
import { systemClock, type Clock, type Random } from '../clock.ts';
import { ConfigError } from '../errors.ts';
import { timeoutMs } from '../validate.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { LocalChain, type ChainOptions, type ChainStats } from './chain.ts';
import { DevnetError } from './errors.ts';
import { parseFault, type DevnetFault } from './faults.ts';
import { ProviderServer, type AdminApi, type ProviderStats } from './provider.ts';
import type { SubscriptionLimits } from './subscriptions.ts';
import { integer, knownKeys } from '../validate.ts';

export const DEFAULT_PROVIDERS = ['helius-local', 'chainstack-local', 'public-local'] as const;

export interface LocalClusterOptions {
  /** Provider names, one port each (default helius-local, chainstack-local, public-local). */
  providers?: readonly string[];
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** First port; provider i listens on basePort + i × portStep. 0 (default) picks ephemeral ports. */
  basePort?: number;
  /** Distance between fixed ports (default 2). */
  portStep?: number;
  /**
   * With fixed ports, also serve PubSub on port + 1, where web3.js looks when given no
   * `wsEndpoint` (default true when basePort > 0 and portStep >= 2; never with ephemeral ports).
   */
  wsOnNextPort?: boolean;
  /** Milliseconds per slot (default 400, as on mainnet). */
  slotMs?: number;
  logger?: Logger;
  clock?: Clock;
  random?: Random;
  /** Chain tuning: start slot, confirmation/finalization depth, blockhash age, history size. */
  chain?: Omit<ChainOptions, 'slotMs' | 'clock' | 'logger'>;
  /**
   * PubSub limits per WebSocket connection: `maxSubscriptionsPerConnection` (default 1024; past it
   * a subscribe gets JSON-RPC error -32000) and `maxBufferedBytes` (default 4 MiB waiting unsent;
   * past it the client is closed as too slow).
   */
  ws?: SubscriptionLimits;
}

export interface DevnetEndpoint {
  name: string;
  /** JSON-RPC over HTTP. */
  url: string;
  /** PubSub over WebSocket, same port (pass it as web3.js `wsEndpoint`). */
  wsUrl: string;
  port: number;
}

export interface ClusterFaults {
  /** Replaces the faults of a provider port. */
  set(name: string, fault: DevnetFault | DevnetFault[]): void;
  /** Adds one fault to those already active on a port. */
  add(name: string, fault: DevnetFault): void;
  /** Removes the faults of one port, or of every port without a name (a killed port stays killed). */
  clear(name?: string): void;
  /** Stops a port for real: listener closed, sockets destroyed, new connections refused. */
  kill(name: string): Promise<void>;
  /** Serves a killed port again, on the same port number. */
  revive(name: string): Promise<void>;
  list(): Record<string, { killed: boolean; faults: DevnetFault[] }>;
}

export interface LocalClusterStats {
  chain: ChainStats;
  providers: ProviderStats[];
}

export interface LocalCluster {
  readonly endpoints: readonly DevnetEndpoint[];
  readonly faults: ClusterFaults;
  readonly chain: LocalChain;
  endpoint(name: string): DevnetEndpoint;
  getStats(): LocalClusterStats;
  /** Closes every server, socket and timer. Idempotent. */
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function validate(
  options: LocalClusterOptions,
): Required<Pick<LocalClusterOptions, 'providers' | 'host' | 'basePort' | 'portStep' | 'slotMs'>> {
  const providers = options.providers ?? DEFAULT_PROVIDERS;
  if (!Array.isArray(providers) || providers.length === 0)
    throw new ConfigError('devnet.providers', providers, 'a non-empty list of provider names');
  for (const p of providers)
    if (typeof p !== 'string' || !NAME.test(p))
      throw new ConfigError('devnet.providers', p, 'names of letters, digits, . _ -');
  if (new Set(providers).size !== providers.length)
    throw new ConfigError('devnet.providers', providers, 'distinct names');
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !host) throw new ConfigError('devnet.host', host, 'a host name or address');
  const basePort = options.basePort ?? 0;
  const portStep = options.portStep ?? 2;
  if (!Number.isInteger(portStep) || portStep < 1)
    throw new ConfigError('devnet.portStep', portStep, 'an integer >= 1');
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + (providers.length - 1) * portStep > 65535) {
    throw new ConfigError(
      'devnet.basePort',
      basePort,
      `0 (ephemeral) or a port that leaves room for ${providers.length} providers`,
    );
  }
  const slotMs = options.slotMs === undefined ? 400 : timeoutMs('devnet.slotMs', options.slotMs, { min: 1 });
  return { providers, host, basePort, portStep, slotMs };
}

function wsLimits(ws: unknown): SubscriptionLimits {
  if (ws === undefined) return {};
  if (ws === null || typeof ws !== 'object' || Array.isArray(ws))
    throw new ConfigError('devnet.ws', ws, 'an object { maxSubscriptionsPerConnection?, maxBufferedBytes? }');
  knownKeys('devnet.ws', ws, ['maxSubscriptionsPerConnection', 'maxBufferedBytes']);
  const o = ws as SubscriptionLimits;
  const limits: SubscriptionLimits = {};
  if (o.maxSubscriptionsPerConnection !== undefined)
    limits.maxSubscriptionsPerConnection = integer(
      'devnet.ws.maxSubscriptionsPerConnection',
      o.maxSubscriptionsPerConnection,
      1,
      1_000_000,
    );
  if (o.maxBufferedBytes !== undefined)
    limits.maxBufferedBytes = integer('devnet.ws.maxBufferedBytes', o.maxBufferedBytes, 1024, 2 ** 31 - 1);
  return limits;
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const { providers, host, basePort, portStep, slotMs } = validate(options);
  const ws = wsLimits(options.ws);
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const chain = new LocalChain({ ...options.chain, slotMs, clock, logger });
  const servers = new Map<string, ProviderServer>();

  const server = (name: string): ProviderServer => {
    const s = typeof name === 'string' ? servers.get(name) : undefined;
    if (!s)
      throw new DevnetError(
        'DEVNET_UNKNOWN_PROVIDER',
        `unknown provider ${JSON.stringify(name)}; known: ${[...servers.keys()].join(', ')}`,
      );
    return s;
  };

  const faults: ClusterFaults = {
    set(name, fault) {
      const list = (Array.isArray(fault) ? fault : [fault]).map(parseFault);
      server(name).faults.set(list);
      logger.info({ provider: name, faults: list }, 'devnet: faults set');
    },
    add(name, fault) {
      const f = parseFault(fault);
      server(name).faults.add(f);
      logger.info({ provider: name, fault: f }, 'devnet: fault added');
    },
    clear(name) {
      const targets = name === undefined ? [...servers.values()] : [server(name)];
      for (const s of targets) s.faults.clear();
      logger.info({ provider: name ?? '*' }, 'devnet: faults cleared');
    },
    kill: (name) => server(name).kill(),
    revive: (name) => server(name).revive(),
    list() {
      const out: Record<string, { killed: boolean; faults: DevnetFault[] }> = {};
      for (const [name, s] of servers) out[name] = { killed: s.isKilled, faults: s.faults.list() };
      return out;
    },
  };

  const getStats = (): LocalClusterStats => ({
    chain: chain.getStats(),
    providers: [...servers.values()].map((s) => s.getStats()),
  });
  const admin: AdminApi = { handle: (op, method, body, self) => adminOp(op, method, body, self) };

  async function adminOp(
    op: string,
    method: string,
    body: Record<string, unknown>,
    self: string,
  ): ReturnType<AdminApi['handle']> {
    const want = (m: string): void => {
      if (method !== m) throw new DevnetError('DEVNET_ADMIN_METHOD', `${op} takes ${m}, not ${method}`);
    };
    const target = (): string => (typeof body['provider'] === 'string' ? body['provider'] : self);
    switch (op) {
      case 'faults':
        want('GET');
        return { status: 200, body: { providers: faults.list() } };
      case 'stats':
        want('GET');
        return { status: 200, body: getStats() };
      case 'fault': {
        want('POST');
        const { provider: _p, append, faults: many, ...one } = body;
        // Every fault and provider is checked before any is applied: a refused request changes nothing.
        const list = (Array.isArray(many) ? many : [one]).map(parseFault);
        const names = body['provider'] === '*' ? [...servers.keys()] : [target()];
        for (const name of names) server(name);
        for (const name of names) {
          if (append === true) for (const f of list) faults.add(name, f);
          else faults.set(name, list);
        }
        return { status: 200, body: { providers: faults.list() } };
      }
      case 'clear':
        want('POST');
        faults.clear(body['provider'] === '*' ? undefined : target());
        return { status: 200, body: { providers: faults.list() } };
      case 'kill': {
        want('POST');
        const name = target();
        server(name);
        // Killing the port that carries this answer happens once the answer is written.
        if (name === self)
          return {
            status: 200,
            body: { killed: name },
            after: () => void faults.kill(name).catch((err: unknown) => logger.error({ err }, 'devnet: kill failed')),
          };
        await faults.kill(name);
        return { status: 200, body: { killed: name } };
      }
      case 'revive': {
        want('POST');
        const name = target();
        await faults.revive(name);
        return { status: 200, body: { revived: name } };
      }
      case 'advance': {
        want('POST');
        const n = body['slots'];
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100_000)
          throw new DevnetError('DEVNET_BAD_ADVANCE', 'advance needs { "slots": 1..100000 }');
        chain.advanceSlots(n);
        return { status: 200, body: { slot: chain.slot, blockHeight: chain.blockHeight } };
      }
      default:
        return {
          status: 404,
          body: { error: `unknown admin route ${op}; try GET faults|stats, POST fault|clear|kill|revive|advance` },
        };
    }
  }

  providers.forEach((name, i) => {
    const port = basePort === 0 ? 0 : basePort + i * portStep;
    const wsCompanionPort = port !== 0 && portStep >= 2 && (options.wsOnNextPort ?? true) ? port + 1 : undefined;
    servers.set(
      name,
      new ProviderServer({ name, host, port, chain, logger, clock, random, admin, wsCompanionPort, ws }),
    );
  });
  try {
    for (const s of servers.values()) await s.listen();
  } catch (err) {
    for (const s of servers.values()) await s.close();
    throw err;
  }
  chain.start();

  const endpoints: DevnetEndpoint[] = [...servers.values()].map((s) => ({
    name: s.name,
    url: s.url,
    wsUrl: s.wsUrl,
    port: s.port,
  }));
  let closing: Promise<void> | undefined;
  return {
    endpoints,
    faults,
    chain,
    endpoint(name) {
      const e = endpoints.find((x) => x.name === name);
      if (!e) throw new DevnetError('DEVNET_UNKNOWN_PROVIDER', `unknown provider ${JSON.stringify(name)}`);
      return e;
    },
    getStats,
    close() {
      closing ??= (async () => {
        chain.stop();
        await Promise.all([...servers.values()].map((s) => s.close()));
        logger.info('devnet: cluster closed');
      })();
      return closing;
    },
  };
}

/** Environment lines that point palisade's configuration at the cluster's providers. */
export function envForEndpoints(endpoints: readonly DevnetEndpoint[]): string[] {
  const vars: Record<string, string> = {
    helius: 'HELIUS_RPC_URL',
    chainstack: 'CHAINSTACK_RPC_URL',
    public: 'SOLANA_RPC_URL',
  };
  const lines: string[] = [];
  for (const e of endpoints) {
    const key = Object.keys(vars).find((k) => e.name.startsWith(k));
    if (key) lines.push(`${vars[key]}=${e.url}`);
  }
  return lines;
}
