/**
 * An unchanged @solana/web3.js v1 `Connection` on top of the pool: every HTTP JSON-RPC request
 * web3.js makes goes through `pool.call` (its `fetch` option), so failover, breakers, rate-limit
 * rests and deadlines apply to all of web3.js. The caller's JSON-RPC `id` is echoed unchanged.
 *
 * Subscriptions: web3.js keeps one WebSocket. Each time it (re)connects, the URL is chosen anew:
 * the wsUrl of the first healthy endpoint in tier order, moving one endpoint further on each
 * consecutive WebSocket error, so a dead provider's socket moves to a live one. web3.js's
 * console output on socket errors is replaced by counters (`wsStats()`).
 *
 * Confirmations: a provider can die while a transaction is waiting for its notification, so
 * `confirmTransaction` here races web3.js's own confirmation against polling
 * `getSignatureStatuses` through the pool, which fails over like any other call. Whichever sees
 * the required commitment first wins; the other is cancelled.
 */
import {
  Connection,
  type Commitment,
  type ConnectionConfig,
  type RpcResponseAndContext,
  type SignatureResult,
  type TransactionConfirmationStrategy,
} from '@solana/web3.js';
import { redactText } from '../log/redact.ts';
import { RpcCallError, RpcPoolError } from './errors.ts';
import type { CallOptions, RpcCallResult } from './pool.ts';
import { timeoutMs } from '../validate.ts';

/** Anything with the pool's `call` (a pool, or a `CircuitBreakerManager.protect(pool)` wrapper). */
export interface CallablePool {
  call(method: string, params?: unknown[], options?: CallOptions): Promise<RpcCallResult>;
  /** The WebSocket URL to use, skipping `skip` healthy endpoints (the pool's own method). */
  wsEndpoint?(skip?: number): string;
}

export interface SolanaConnectionConfig
  extends Omit<ConnectionConfig, 'fetch' | 'fetchMiddleware' | 'httpAgent' | 'disableRetryOnRateLimit'> {
  /** Poll interval of the failover-safe confirmation (default 400 ms, about one slot). */
  confirmPollMs?: number;
}

/** The name web3.js reports as `rpcEndpoint`: requests never go there, the pool routes them. */
export const POOL_PSEUDO_ENDPOINT = 'http://palisade-rpc-pool.invalid/';

type JsonRpcRequest = { jsonrpc?: string; id?: unknown; method?: unknown; params?: unknown };

/** The fetch web3.js calls: parses the JSON-RPC body (single or batch) and answers through the pool. */
export function createPoolFetch(
  pool: CallablePool,
): (input: unknown, init?: { body?: unknown; signal?: AbortSignal | null }) => Promise<Response> {
  return async (_input, init) => {
    const text =
      typeof init?.body === 'string'
        ? init.body
        : init?.body instanceof Uint8Array
          ? Buffer.from(init.body).toString('utf8')
          : '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return json({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    const signal = init?.signal ?? undefined;
    if (Array.isArray(parsed)) {
      const answers = await Promise.all(parsed.map((r) => answer(pool, r as JsonRpcRequest, signal)));
      return json(answers);
    }
    return json(await answer(pool, parsed as JsonRpcRequest, signal));
  };
}

async function answer(pool: CallablePool, req: JsonRpcRequest, signal: AbortSignal | undefined): Promise<unknown> {
  const id = req?.id ?? null;
  if (!req || typeof req !== 'object' || typeof req.method !== 'string') {
    return { jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid Request' } };
  }
  const params = req.params === undefined ? [] : Array.isArray(req.params) ? req.params : [req.params];
  try {
    const r = await pool.call(req.method, params, signal ? { signal } : {});
    return { jsonrpc: '2.0', id, result: r.result };
  } catch (err) {
    if (err instanceof RpcCallError) {
      // The node's own JSON-RPC error, so web3.js raises what it would have raised directly
      // (SendTransactionError with logs, SolanaJSONRPCError with the code).
      return {
        jsonrpc: '2.0',
        id,
        error: { code: err.rpcCode, message: err.message, ...(err.data !== undefined ? { data: err.data } : {}) },
      };
    }
    // Pool exhaustion, deadline, abort, an open breaker: web3.js rejects with this error as is.
    throw err;
  }
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
}

/**
 * A web3.js `Connection` whose HTTP requests go through the pool. `commitmentOrConfig` is
 * web3.js's own (minus fetch/httpAgent, which the pool owns). `wsEndpoint` defaults to the first
 * healthy endpoint's wsUrl.
 */
export function createSolanaConnection(
  pool: CallablePool,
  commitmentOrConfig?: Commitment | SolanaConnectionConfig,
): PoolConnection {
  const cfg: SolanaConnectionConfig =
    typeof commitmentOrConfig === 'string' ? { commitment: commitmentOrConfig } : { ...(commitmentOrConfig ?? {}) };
  const fixedWs = cfg.wsEndpoint;
  // A CircuitBreakerManager.protect(pool) wrapper has only `call`; its `pool` knows the endpoints.
  const source = pool.wsEndpoint ? pool : (pool as { pool?: CallablePool }).pool;
  const pickWs =
    fixedWs !== undefined ? () => fixedWs : source?.wsEndpoint ? (skip: number) => source.wsEndpoint!(skip) : undefined;
  if (!pickWs)
    throw new RpcPoolError(
      'RPC_POOL_EXHAUSTED',
      'createSolanaConnection',
      [],
      'no wsEndpoint: pass one in the config or give a pool with endpoints',
    );
  const { confirmPollMs, ...web3Config } = cfg;
  return new PoolConnection(
    POOL_PSEUDO_ENDPOINT,
    {
      ...web3Config,
      wsEndpoint: pickWs(0),
      fetch: createPoolFetch(pool) as unknown as ConnectionConfig['fetch'],
      // The pool owns retries and rate-limit rests; web3.js's hidden 429 loop would fight it.
      disableRetryOnRateLimit: true,
      httpAgent: false,
    },
    confirmPollMs === undefined ? 400 : timeoutMs('confirmPollMs', confirmPollMs, { min: 1 }),
    pickWs,
  );
}

/** The parts of web3.js's internal WebSocket client this adapter hooks (rpc-websockets CommonClient). */
interface Web3WsClient {
  webSocketFactory: (address: string, options: unknown) => unknown;
  reconnect: boolean;
  socket?: unknown;
  close(code?: number, data?: string): void;
  removeAllListeners(event: string): unknown;
  on(event: string, fn: (arg: unknown) => void): unknown;
}

export interface WsStats {
  /** WebSocket errors seen (connection refused, reset, ...). */
  errors: number;
  /** Connections opened. */
  opens: number;
  /** The URL of the last connection attempt, redacted. */
  url: string;
  lastError: string | undefined;
}

const COMMITMENT_RANK: Record<string, number> = {
  processed: 0,
  recent: 0,
  confirmed: 1,
  single: 1,
  singleGossip: 1,
  finalized: 2,
  max: 2,
  root: 2,
};

export class PoolConnection extends Connection {
  readonly confirmPollMs: number;
  private readonly ws: WsStats = { errors: 0, opens: 0, url: '', lastError: undefined };
  private wsFailuresInARow = 0;

  constructor(endpoint: string, config: ConnectionConfig, confirmPollMs: number, pickWs: (skip: number) => string) {
    super(endpoint, config);
    this.confirmPollMs = confirmPollMs;
    const client = (this as unknown as { _rpcWebSocket: Web3WsClient })._rpcWebSocket;
    const factory = client.webSocketFactory;
    // Every (re)connect goes to the endpoint that is healthy now, not the one chosen at start.
    client.webSocketFactory = (_address, options) => {
      const url = pickWs(this.wsFailuresInARow);
      this.ws.url = redactText(url);
      return factory(url, options);
    };
    client.on('open', () => {
      this.ws.opens++;
      this.wsFailuresInARow = 0;
    });
    // web3.js prints every socket error to the console; count them instead, keeping its state change.
    client.removeAllListeners('error');
    client.on('error', (err) => {
      (this as unknown as { _rpcWebSocketConnected: boolean })._rpcWebSocketConnected = false;
      this.ws.errors++;
      this.wsFailuresInARow++;
      this.ws.lastError = redactText(String((err as Error)?.message ?? err));
    });
  }

  wsStats(): WsStats {
    return { ...this.ws };
  }

  /**
   * Closes the subscription WebSocket for good (web3.js has no close of its own and would
   * otherwise reconnect forever, keeping the process alive). HTTP calls keep working.
   */
  close(): void {
    const client = (this as unknown as { _rpcWebSocket: Web3WsClient })._rpcWebSocket;
    client.reconnect = false;
    try {
      if (client.socket) client.close(1000);
    } catch {
      /* already closed */
    }
  }

  // web3.js's deprecated (signature, commitment) overload stays available.
  override confirmTransaction(
    strategy: TransactionConfirmationStrategy | string,
    commitment?: Commitment,
  ): Promise<RpcResponseAndContext<SignatureResult>>;
  override async confirmTransaction(
    strategy: TransactionConfirmationStrategy | string,
    commitment?: Commitment,
  ): Promise<RpcResponseAndContext<SignatureResult>> {
    const signature = typeof strategy === 'string' ? strategy : strategy.signature;
    const userSignal = typeof strategy === 'string' ? undefined : strategy.abortSignal;
    const ctl = new AbortController();
    const onUserAbort = (): void => ctl.abort(userSignal?.reason);
    userSignal?.addEventListener('abort', onUserAbort, { once: true });
    const merged =
      typeof strategy === 'string'
        ? strategy
        : ({ ...strategy, abortSignal: ctl.signal } as TransactionConfirmationStrategy);
    const want = COMMITMENT_RANK[commitment ?? this.commitment ?? 'finalized'] ?? 2;
    let stopped = false;
    const own = super.confirmTransaction(merged as TransactionConfirmationStrategy, commitment);
    // The poll never rejects on its own: a failed status read just waits for the next round.
    const poll = (async (): Promise<RpcResponseAndContext<SignatureResult> | undefined> => {
      while (!stopped) {
        await new Promise((r) => setTimeout(r, this.confirmPollMs));
        if (stopped) return undefined;
        try {
          const res = await this.getSignatureStatus(signature);
          const v = res.value;
          if (v && (COMMITMENT_RANK[v.confirmationStatus ?? 'processed'] ?? 0) >= want) {
            return { context: res.context, value: { err: v.err } };
          }
        } catch {
          /* the pool already failed over; try again next round */
        }
      }
      return undefined;
    })();
    try {
      const first = await Promise.race([own, poll.then((r) => r ?? own)]);
      return first;
    } finally {
      stopped = true;
      userSignal?.removeEventListener('abort', onUserAbort);
      // Cancel web3.js's subscription wait if polling won; ignore its AbortError then.
      own.catch(() => undefined);
      if (!ctl.signal.aborted && typeof strategy !== 'string') ctl.abort(new Error('confirmed by status polling'));
    }
  }
}
