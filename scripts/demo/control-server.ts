/**
 * The demo's control server, on 127.0.0.1 only: lets an operator (or `npm run fault-inject --
 * --target URL`) break the running demo on purpose and read its stats.
 *
 *   GET  /                           the live dashboard (an HTML page that polls /stats)
 *   GET  /health                     { ok: true }
 *   GET  /metrics                    Prometheus text exposition (when the demo registered metrics)
 *   GET  /stats                      the live stats (bus, supervisor, pool, generator, executor)
 *   GET  /actors                     actor names, states, incarnations; the crash kinds accepted
 *   POST /actors/kill                { "actor": "signal-validator", "kind": "uncaught" }
 *   GET  /providers                  provider ports and their active faults (local cluster only)
 *   POST /providers/fault            { "provider": "chainstack-local", "fault": { "kind": "429", "retryAfterSec": 1 } }
 *   POST /providers/clear            { "provider": "chainstack-local" }   (no provider: all)
 *   POST /providers/kill             { "provider": "helius-local" }
 *   POST /providers/revive           { "provider": "helius-local" }
 *
 * Reading is open; acting is not. Every POST needs the server's token, sent as
 * `Authorization: Bearer <token>`: loopback keeps other machines out, but any local process (or a
 * web page in a local browser) can reach loopback, and a route that kills actors in a process
 * with money behind it is a door. The demo prints the token at start.
 *
 * Errors answer `{ error: { code, message } }` with 400 (bad request), 401 (no or wrong token),
 * 404 (unknown route, actor or provider), 409 (the actor has no running worker right now) or 501
 * (no local cluster).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PalisadeError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/index.ts';
import { silentLogger } from '../../src/log/index.ts';

import { FAULT_KINDS, type FaultKind } from '../../src/runtime/index.ts';

/** The runtime's crash kinds, as the control server accepts them. */
export const ACTOR_FAULT_KINDS = FAULT_KINDS;
export type ActorFaultKindName = FaultKind;

export class DemoControlError extends PalisadeError {
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

export interface ControlActor {
  name: string;
  state: string;
  incarnation: number;
  restarts: number;
  /** Crash kinds this actor can be killed by (hang needs heartbeats, oom needs memory limits). */
  kinds: string[];
}

/** May be async: the local cluster runs in its own thread behind a comlink proxy by default. */
export interface ControlProviders {
  list(): Record<string, unknown> | Promise<Record<string, unknown>>;
  set(name: string, fault: unknown): void | Promise<void>;
  clear(name?: string): void | Promise<void>;
  kill(name: string): Promise<void>;
  revive(name: string): Promise<void>;
}

export interface ControlDeps {
  stats(): unknown;
  actors(): ControlActor[];
  /** False when the actor has no running worker right now. */
  killActor(name: string, kind: ActorFaultKindName): boolean;
  /** Absent when the demo runs against real providers. */
  providers?: ControlProviders;
  logger?: Logger;
  /** Hears every accepted fault request (the demo shows them in its live view). */
  onAction?: (what: string) => void;
  /** Prometheus exposition for GET /metrics (absent: 404). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** The token acting routes require. Default: 32 random hex characters, made at start. */
  token?: string;
}

export interface ControlServer {
  readonly port: number;
  readonly url: string;
  /** Requests served per route (answered, errors included). */
  readonly served: Record<string, number>;
  /** What POST routes need in `Authorization: Bearer <token>`. */
  readonly token: string;
  /** POST requests refused for a missing or wrong token. */
  readonly unauthorized: () => number;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;
const DASHBOARD = new URL('./dashboard.html', import.meta.url);

export async function startControlServer(deps: ControlDeps, port = 0): Promise<ControlServer> {
  const logger = deps.logger ?? silentLogger;
  const served: Record<string, number> = {};
  const token = deps.token ?? randomBytes(16).toString('hex');
  if (typeof token !== 'string' || token.length < 16)
    throw new DemoControlError(
      'CONTROL_BAD_TOKEN',
      400,
      'the control token must be a string of at least 16 characters',
    );
  const expected = Buffer.from(`Bearer ${token}`);
  const dashboard = readFileSync(DASHBOARD);
  let unauthorized = 0;
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const e =
        err instanceof DemoControlError
          ? err
          : new DemoControlError('CONTROL_INTERNAL', 500, (err as Error)?.message ?? String(err));
      if (e.status >= 500) logger.error({ err }, 'demo control server: request failed');
      send(res, e.status, { error: { code: e.code, message: e.message } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://control.local').pathname.replace(/\/+$/, '') || '/';
    const route = `${req.method} ${path}`;
    served[route] = (served[route] ?? 0) + 1;
    if (req.method !== 'GET' && req.method !== 'HEAD' && !authorized(req.headers.authorization)) {
      unauthorized++;
      logger.warn({ route }, 'demo control server: acting route refused without a valid token');
      // Drain nothing, decide nothing: the body of an unauthorized request is never parsed.
      throw new DemoControlError(
        'CONTROL_UNAUTHORIZED',
        401,
        'acting routes need "Authorization: Bearer <token>" (the demo prints the token at start)',
      );
    }
    switch (route) {
      case 'GET /':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': dashboard.length,
          'cache-control': 'no-store',
        });
        res.end(dashboard);
        return;
      case 'GET /health':
        return send(res, 200, { ok: true });
      case 'GET /metrics': {
        if (!deps.metrics) throw new DemoControlError('CONTROL_NOT_FOUND', 404, 'no metrics registered');
        const m = await deps.metrics();
        res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(m.body) });
        res.end(m.body);
        return;
      }
      case 'GET /stats':
        return send(res, 200, deps.stats());
      case 'GET /actors':
        return send(res, 200, { actors: deps.actors(), kinds: ACTOR_FAULT_KINDS });
      case 'POST /actors/kill': {
        const body = await readJson(req);
        const actor = str(body, 'actor');
        const kind = str(body, 'kind') as ActorFaultKindName;
        if (!ACTOR_FAULT_KINDS.includes(kind))
          throw new DemoControlError('CONTROL_BAD_KIND', 400, `kind must be one of ${ACTOR_FAULT_KINDS.join(', ')}`);
        const known = deps.actors().find((a) => a.name === actor);
        if (!known)
          throw new DemoControlError(
            'CONTROL_UNKNOWN_ACTOR',
            404,
            `no actor named ${JSON.stringify(actor)}; GET /actors lists them`,
          );
        if (!known.kinds.includes(kind))
          throw new DemoControlError(
            'CONTROL_BAD_KIND',
            400,
            `${actor} cannot be killed by ${kind} (it accepts ${known.kinds.join(', ')})`,
          );
        if (!deps.killActor(actor, kind))
          throw new DemoControlError(
            'CONTROL_ACTOR_NOT_RUNNING',
            409,
            `${actor} has no running worker right now (state ${known.state}); try again`,
          );
        deps.onAction?.(`control: ${kind} actor ${actor}`);
        return send(res, 200, { killed: actor, kind, incarnation: known.incarnation });
      }
      case 'GET /providers':
        return send(res, 200, { providers: await providers().list() });
      case 'POST /providers/fault': {
        const body = await readJson(req);
        const name = str(body, 'provider');
        const fault = body['fault'] ?? body['faults'];
        if (fault === undefined)
          throw new DemoControlError(
            'CONTROL_BAD_REQUEST',
            400,
            'body needs "fault": { "kind": ... } (or "faults": [...])',
          );
        await withProviderAsync(async () => providers().set(name, fault));
        deps.onAction?.(`control: fault on provider ${name}`);
        return send(res, 200, { providers: await providers().list() });
      }
      case 'POST /providers/clear': {
        const body = await readJson(req);
        const name = body['provider'];
        if (name !== undefined && typeof name !== 'string')
          throw new DemoControlError('CONTROL_BAD_REQUEST', 400, '"provider" must be a string');
        await withProviderAsync(async () => providers().clear(name as string | undefined));
        deps.onAction?.(`control: cleared faults of ${name ?? 'every provider'}`);
        return send(res, 200, { providers: await providers().list() });
      }
      case 'POST /providers/kill':
      case 'POST /providers/revive': {
        const body = await readJson(req);
        const name = str(body, 'provider');
        const kill = path.endsWith('kill');
        await withProviderAsync(() => (kill ? providers().kill(name) : providers().revive(name)));
        deps.onAction?.(`control: ${kill ? 'killed' : 'revived'} provider ${name}`);
        return send(res, 200, kill ? { killed: name } : { revived: name });
      }
      default:
        throw new DemoControlError(
          'CONTROL_NOT_FOUND',
          404,
          `unknown route ${route}; routes: GET / /health /metrics /stats /actors /providers, POST (with the token) /actors/kill /providers/fault /providers/clear /providers/kill /providers/revive`,
        );
    }
  }

  function authorized(header: string | undefined): boolean {
    if (typeof header !== 'string') return false;
    const got = Buffer.from(header);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  function providers(): ControlProviders {
    if (!deps.providers)
      throw new DemoControlError(
        'CONTROL_NO_CLUSTER',
        501,
        'provider faults need the local cluster (the demo runs against real providers)',
      );
    return deps.providers;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    served,
    token,
    unauthorized: () => unauthorized,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new DemoControlError('CONTROL_BODY_TOO_LARGE', 400, `body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DemoControlError('CONTROL_BAD_JSON', 400, 'body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DemoControlError('CONTROL_BAD_JSON', 400, 'body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '')
    throw new DemoControlError('CONTROL_BAD_REQUEST', 400, `body needs "${key}": a non-empty string`);
  return v;
}

/** Provider API errors (unknown provider, bad fault) become 404/400 answers; a cluster thread that is gone or blocked 503/504. */
async function withProviderAsync(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    throw asProviderError(err);
  }
}

function asProviderError(err: unknown): unknown {
  if (err instanceof DemoControlError) return err;
  const code = (err as { code?: unknown })?.code;
  if (code === 'DEVNET_UNKNOWN_PROVIDER') return new DemoControlError(code, 404, (err as Error).message);
  if (code === 'DEVNET_CONTROL_TIMEOUT') return new DemoControlError(code, 504, (err as Error).message);
  if (code === 'DEVNET_WORKER_EXITED' || code === 'DEVNET_CLOSED')
    return new DemoControlError(code, 503, (err as Error).message);
  if (typeof code === 'string' && code.startsWith('DEVNET_'))
    return new DemoControlError(code, 400, (err as Error).message);
  return err;
}
