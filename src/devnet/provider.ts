/**
 * One provider port of the local cluster: an HTTP server answering Solana JSON-RPC (single and
 * batch) from the shared chain, the PubSub WebSocket on the same port (HTTP upgrade), a fault
 * state consulted on every request, and a small admin route. `kill()` really stops the port
 * (listener closed, every socket destroyed, so new connections are refused); `revive()` listens
 * on the same port again.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Clock, Random, TimerHandle } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { encodeBase58 } from '../encoding/base58.ts';
import type { LocalChain } from './chain.ts';
import { DevnetError, JsonRpcError, RPC_CODES } from './errors.ts';
import { FaultState, type FaultDecision } from './faults.ts';
import { HEALTH_CHECK_SLOT_DISTANCE, METHODS, type CallContext } from './methods.ts';
import { paramList } from './params.ts';
import { SubscriptionHub, type SubscriptionLimits, type SubscriptionStats } from './subscriptions.ts';

/** Solana's RPC request body limit. */
const MAX_BODY_BYTES = 50 * 1024;
const ADMIN_PREFIX = '/__admin/';

/** The admin operations a port exposes over HTTP, served by the cluster (they span ports). */
export interface AdminApi {
  handle(
    op: string,
    method: string,
    body: Record<string, unknown>,
    self: string,
  ): Promise<{ status: number; body: unknown; after?: () => void }>;
}

export interface ProviderOptions {
  name: string;
  host: string;
  port: number;
  chain: LocalChain;
  logger: Logger;
  clock: Clock;
  random: Random;
  admin: AdminApi;
  /**
   * Also serve PubSub alone on this port: web3.js derives `ws://host:(port+1)` when it is given
   * no `wsEndpoint`, as solana-test-validator lays its ports out.
   */
  wsCompanionPort?: number | undefined;
  /** Per-connection PubSub limits. */
  ws?: SubscriptionLimits;
}

export interface ProviderStats {
  name: string;
  url: string;
  killed: boolean;
  httpRequests: number;
  rpcCalls: number;
  /** JSON-RPC error answers by code (method errors, not injected faults). */
  rpcErrors: Record<string, number>;
  /** Requests each fault kind struck. */
  faultsInjected: Record<string, number>;
  /** Requests left unanswered by the hang fault and still open. */
  hangingNow: number;
  /** Requests refused at the boundary (body too large, wrong HTTP method, non-loopback admin). */
  refused: Record<string, number>;
  ws: SubscriptionStats & ReturnType<SubscriptionHub['faultStats']>;
}

type RpcReply = { jsonrpc: '2.0'; result?: unknown; error?: unknown; id: unknown };

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

function validId(id: unknown): boolean {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

export class ProviderServer {
  readonly name: string;
  readonly host: string;
  readonly faults: FaultState;
  private portNumber: number;
  private readonly chain: LocalChain;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly admin: AdminApi;
  private readonly identity: string;
  private readonly server: Server;
  /** The PubSub-only listener on port + 1, when asked for. */
  private readonly companion: { server: Server; port: number } | undefined;
  private readonly wss: WebSocketServer;
  private readonly hub: SubscriptionHub;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<TimerHandle>();
  private readonly hanging = new Set<ServerResponse>();
  private killed = true;
  private closed = false;
  private readonly counters = {
    httpRequests: 0,
    rpcCalls: 0,
    rpcErrors: {} as Record<string, number>,
    refused: {} as Record<string, number>,
  };

  constructor(options: ProviderOptions) {
    this.name = options.name;
    this.host = options.host;
    this.portNumber = options.port;
    this.chain = options.chain;
    this.logger = options.logger.child({ provider: options.name });
    this.clock = options.clock;
    this.admin = options.admin;
    this.faults = new FaultState(options.random);
    this.identity = encodeBase58(createHash('sha256').update(`palisade-devnet-node:${options.name}`).digest());
    this.hub = new SubscriptionHub(this.chain, () => this.faults.lag, this.logger, options.ws);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    this.server = this.createListener((req, res) => this.onRequest(req, res));
    if (options.wsCompanionPort !== undefined) {
      const server = this.createListener((_req, res) => {
        res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
        res.end('this port serves the PubSub WebSocket only');
      });
      this.companion = { server, port: options.wsCompanionPort };
    }
    this.hub.setPubsubFaults(() => this.faults.pubsub);
  }

  private createListener(onRequest: (req: IncomingMessage, res: ServerResponse) => void): Server {
    const server = createServer(onRequest);
    // Clients pool connections; outlive their idle timeouts so a reused socket is not closed under them.
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 35_000;
    server.requestTimeout = 0;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (this.killed || (req.url ?? '').startsWith(ADMIN_PREFIX)) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.hub.attach(ws));
    });
    server.on('clientError', (_err, socket: Socket) => socket.destroy());
    return server;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://${this.hostForUrl()}:${this.portNumber}`;
  }

  get wsUrl(): string {
    return `ws://${this.hostForUrl()}:${this.portNumber}`;
  }

  get isKilled(): boolean {
    return this.killed;
  }

  async listen(): Promise<void> {
    if (this.closed) throw new DevnetError('DEVNET_CLOSED', `provider ${this.name} is closed`);
    if (!this.killed) return;
    this.portNumber = await this.listenOn(this.server, this.portNumber);
    if (this.companion) {
      try {
        await this.listenOn(this.companion.server, this.companion.port);
      } catch (err) {
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        throw err;
      }
    }
    this.killed = false;
    this.logger.info({ url: this.url, wsCompanionPort: this.companion?.port }, 'devnet: provider serving');
  }

  private listenOn(server: Server, port: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const onError = (err: Error): void => {
        server.off('listening', onListening);
        reject(
          new DevnetError(
            'DEVNET_LISTEN_FAILED',
            `provider ${this.name} cannot listen on ${this.host}:${port}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      const onListening = (): void => {
        server.off('error', onError);
        const addr = server.address();
        resolve(addr && typeof addr === 'object' ? addr.port : port);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, this.host);
    });
  }

  /** Stops serving: the listener closes and every open socket (HTTP and WebSocket) is destroyed. */
  async kill(reason = 'killed'): Promise<void> {
    if (this.killed) return;
    this.killed = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    this.hanging.clear();
    const servers = this.companion ? [this.server, this.companion.server] : [this.server];
    const closed = Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    this.hub.dropAll();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
    this.logger.info({ port: this.portNumber, reason }, 'devnet: provider stopped serving');
  }

  async revive(): Promise<void> {
    if (!this.killed) return;
    await this.listen();
    this.logger.info({ port: this.portNumber }, 'devnet: provider revived');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.hub.closeAll(250);
    await this.kill('closed');
    this.hub.dispose();
    this.wss.close();
  }

  getStats(): ProviderStats {
    return {
      name: this.name,
      url: this.url,
      killed: this.killed,
      httpRequests: this.counters.httpRequests,
      rpcCalls: this.counters.rpcCalls,
      rpcErrors: { ...this.counters.rpcErrors },
      faultsInjected: { ...this.faults.injected },
      hangingNow: this.hanging.size,
      refused: { ...this.counters.refused },
      ws: { ...this.hub.getStats(), ...this.hub.faultStats() },
    };
  }

  private hostForUrl(): string {
    return this.host.includes(':') ? `[${this.host}]` : this.host;
  }

  private refuse(res: ServerResponse, status: number, reason: string, text: string): void {
    this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    res.end(text);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.counters.httpRequests++;
    const url = req.url ?? '/';
    if (url.startsWith(ADMIN_PREFIX)) {
      this.onAdmin(req, res, url);
      return;
    }
    const path = url.split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      this.afterFaults(this.faults.decide(['getHealth']), req, res, [], false, () => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(this.faults.lag > HEALTH_CHECK_SLOT_DISTANCE ? 'behind' : 'ok');
      });
      return;
    }
    if (req.method !== 'POST') {
      this.refuse(res, 405, 'method', 'Used HTTP Method is not allowed. POST or OPTIONS is required');
      return;
    }
    this.readBody(req, res, (text) => this.onRpc(text, req, res));
  }

  private readBody(req: IncomingMessage, res: ServerResponse, then: (text: string) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        this.refuse(res, 413, 'bodyTooLarge', 'Payload Too Large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) then(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => undefined);
  }

  private onRpc(text: string, req: IncomingMessage, res: ServerResponse): void {
    let payload: unknown;
    let parsed = true;
    try {
      payload = JSON.parse(text);
    } catch {
      parsed = false;
    }
    const calls = parsed ? (Array.isArray(payload) ? payload : [payload]) : [];
    const methods = calls
      .map((c) => (c && typeof c === 'object' ? (c as { method?: unknown }).method : undefined))
      .filter((m): m is string => typeof m === 'string');
    this.afterFaults(this.faults.decide(methods), req, res, calls, Array.isArray(payload), (lag) => {
      let reply: unknown;
      if (!parsed) {
        reply = { jsonrpc: '2.0', error: { code: RPC_CODES.parseError, message: 'Parse error' }, id: null };
      } else if (Array.isArray(payload)) {
        if (payload.length === 0)
          reply = { jsonrpc: '2.0', error: { code: RPC_CODES.invalidRequest, message: 'Invalid request' }, id: null };
        else {
          const replies = payload.map((c) => this.callOne(c, lag)).filter((r): r is RpcReply => r !== undefined);
          reply = replies.length ? replies : undefined;
        }
      } else {
        reply = this.callOne(payload, lag);
      }
      const body = reply === undefined ? '' : JSON.stringify(reply);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  }

  /** Applies a fault decision: the delay, then the fault's answer or the normal one. */
  private afterFaults(
    d: FaultDecision,
    req: IncomingMessage,
    res: ServerResponse,
    calls: unknown[],
    batch: boolean,
    answer: (lag: number) => void,
  ): void {
    const act = (): void => {
      if (this.killed || res.destroyed) return;
      const a = d.action;
      if (!a) {
        try {
          answer(d.lag);
        } catch (err) {
          // A bug here must cost one request, never the process that serves every provider.
          this.logger.error({ err }, 'devnet: answering failed');
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('Internal Server Error');
        }
        return;
      }
      switch (a.kind) {
        case '429': {
          const body = JSON.stringify({
            jsonrpc: '2.0',
            error: { code: 429, message: 'Too many requests for a specific RPC call' },
            id: this.firstId(calls),
          });
          res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(a.retryAfterSec ?? 1) });
          res.end(body);
          return;
        }
        case '500':
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('Internal Server Error');
          return;
        case '503':
          res.writeHead(503, { 'Content-Type': 'text/plain' });
          res.end('Service Unavailable');
          return;
        case 'node-behind': {
          const n = a.numSlotsBehind ?? 150;
          const error = {
            code: RPC_CODES.nodeUnhealthy,
            message: `Node is behind by ${n} slots`,
            data: { numSlotsBehind: n },
          };
          const replies = calls.map((c) => ({ jsonrpc: '2.0', error, id: this.idOf(c) }));
          const body = JSON.stringify(batch ? replies : (replies[0] ?? { jsonrpc: '2.0', error, id: null }));
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(body);
          return;
        }
        case 'hang':
          // Hold the request open; it ends when the client gives up or the port is killed.
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
          return;
        case 'reset':
          req.socket.resetAndDestroy();
          return;
      }
    };
    if (d.delayMs <= 0) return act();
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      act();
    }, d.delayMs);
    this.timers.add(t);
  }

  private idOf(call: unknown): unknown {
    const id = call && typeof call === 'object' ? (call as { id?: unknown }).id : undefined;
    return validId(id) ? id : null;
  }

  private firstId(calls: unknown[]): unknown {
    return calls.length === 1 ? this.idOf(calls[0]) : null;
  }

  private callOne(call: unknown, lag: number): RpcReply | undefined {
    if (!call || typeof call !== 'object' || Array.isArray(call))
      return this.errorReply(null, RPC_CODES.invalidRequest, 'Invalid request');
    const c = call as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown };
    const hasId = 'id' in c;
    if (c.jsonrpc !== '2.0' || typeof c.method !== 'string' || (hasId && !validId(c.id))) {
      return this.errorReply(hasId && validId(c.id) ? c.id : null, RPC_CODES.invalidRequest, 'Invalid request');
    }
    this.counters.rpcCalls++;
    const handler = Object.hasOwn(METHODS, c.method) ? METHODS[c.method] : undefined;
    let reply: RpcReply;
    if (!handler) {
      reply = this.errorReply(c.id, RPC_CODES.methodNotFound, 'Method not found');
    } else {
      const ctx: CallContext = { chain: this.chain, lag, identity: this.identity };
      try {
        reply = { jsonrpc: '2.0', result: handler(paramList(c.params), ctx), id: c.id };
      } catch (err) {
        if (err instanceof JsonRpcError) {
          this.countError(err.rpcCode);
          reply = { jsonrpc: '2.0', error: err.toJSON(), id: c.id };
        } else {
          this.logger.error({ err, method: c.method }, 'devnet: method failed unexpectedly');
          reply = this.errorReply(c.id, RPC_CODES.internalError, 'Internal error');
        }
      }
    }
    // A request without an id is a notification: processed, never answered.
    return hasId ? reply : undefined;
  }

  private errorReply(id: unknown, code: number, message: string): RpcReply {
    this.countError(code);
    return { jsonrpc: '2.0', error: { code, message }, id: id ?? null };
  }

  private countError(code: number): void {
    const k = String(code);
    this.counters.rpcErrors[k] = (this.counters.rpcErrors[k] ?? 0) + 1;
  }

  private onAdmin(req: IncomingMessage, res: ServerResponse, url: string): void {
    if (!isLoopback(req.socket.remoteAddress)) {
      this.refuse(res, 403, 'adminNotLoopback', 'admin routes answer loopback clients only');
      return;
    }
    const op = url.slice(ADMIN_PREFIX.length).split('?')[0] ?? '';
    const method = req.method ?? 'GET';
    this.readBody(req, res, (text) => {
      let body: Record<string, unknown> = {};
      if (text.trim()) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch (err) {
          this.sendJson(res, 400, { error: `admin body must be a JSON object: ${(err as Error).message}` });
          return;
        }
      }
      this.admin.handle(op, method, body, this.name).then(
        (r) => {
          this.sendJson(res, r.status, r.body);
          if (r.after) res.once('finish', r.after);
        },
        (err: unknown) => {
          const e = err as Error & { code?: string };
          this.sendJson(res, err instanceof DevnetError ? 400 : 500, { error: e.message, code: e.code });
        },
      );
    });
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
