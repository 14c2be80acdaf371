/**
 * One endpoint's HTTP client: node:http(s) with a keep-alive Agent. Measured against global
 * fetch (undici) on loopback in bench/rpc.bench.ts, the plain agent is the faster of the two, and
 * it lets a deadline destroy the exact socket of a hung request.
 */
import http from 'node:http';
import https from 'node:https';
import type { Clock, TimerHandle } from '../clock.ts';
import { DEFAULT_MAX_RESPONSE_BYTES } from './config.ts';
import { RpcBadResponseError, RpcHttpError, RpcTimeoutError } from './errors.ts';

export interface HttpReply {
  status: number;
  body: string;
}

export interface HttpTransportOptions {
  clock: Clock;
  /** Sockets kept per endpoint; enough for the bursts a trading process makes. */
  maxSockets?: number;
  headers?: Record<string, string>;
  /** Largest body read, in bytes (default 16 MiB); past it the socket is destroyed and the post fails (RpcBadResponseError). */
  maxResponseBytes?: number;
}

const NO_RETRY_AFTER = undefined;
const MAX_RETRY_AFTER_MS = 10 * 60_000;
/** Of a non-2xx body only this much is kept: it only feeds an error message. */
const ERROR_BODY_KEEP = 2048;

export class HttpTransport {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly target: http.RequestOptions;
  private readonly clock: Clock;
  private readonly maxResponseBytes: number;
  private closed = false;

  constructor(url: string, options: HttpTransportOptions) {
    const u = new URL(url);
    const isHttps = u.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: 15_000,
      maxSockets: options.maxSockets ?? 64,
      scheduling: 'lifo' as const,
    };
    this.agent = isHttps ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.request = isHttps ? https.request : http.request;
    this.clock = options.clock;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.target = {
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port || (isHttps ? 443 : 80),
      path: u.pathname + u.search,
      agent: this.agent,
      headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
      ...(u.username ? { auth: `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` } : {}),
    };
  }

  /**
   * POSTs a JSON body. Resolves with any 2xx answer; rejects with RpcHttpError on other statuses,
   * RpcTimeoutError past `timeoutMs`, RpcBadResponseError for a body over maxResponseBytes (its
   * socket is destroyed at once, so nothing more is read), the signal's reason on abort, or the
   * socket error.
   */
  post(body: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve, reject) => {
      if (this.closed) return reject(Object.assign(new Error('transport closed'), { code: 'ECONNABORTED' }));
      if (signal?.aborted) return reject(signal.reason);
      let settled = false;
      let timer: TimerHandle | undefined;
      let onAbort: (() => void) | undefined;
      const finish = (err: unknown, reply?: HttpReply): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(reply!);
      };
      const req = this.request(this.target, (res) => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const limit = this.maxResponseBytes;
        const tooLarge = (bytes: string): void => {
          finish(new RpcBadResponseError(`response body over maxResponseBytes (${limit}): ${bytes}`));
          req.destroy();
        };
        const declared = Number(res.headers['content-length']);
        if (declared > limit) return tooLarge(`Content-Length ${declared}`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (settled) return;
          size += c.length;
          if (size > limit) return tooLarge(`${size} bytes read so far`);
          if (ok || size - c.length < ERROR_BODY_KEEP) chunks.push(c);
        });
        res.on('error', (e) => finish(e));
        res.on('aborted', () => finish(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
        res.on('end', () => {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          if (ok) return finish(undefined, { status, body: text });
          const retryAfter =
            status === 429 || status === 503
              ? parseRetryAfter(res.headers['retry-after'], this.clock.now())
              : NO_RETRY_AFTER;
          finish(new RpcHttpError(status, retryAfter, text.slice(0, ERROR_BODY_KEEP)));
        });
      });
      req.on('error', (e) => finish(e));
      timer = this.clock.setTimeout(() => {
        const e = RpcTimeoutError.make(timeoutMs);
        finish(e);
        req.destroy(e);
      }, timeoutMs);
      if (signal) {
        onAbort = () => {
          finish(signal.reason);
          req.destroy();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      req.setHeader('content-length', Buffer.byteLength(body));
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

/** Retry-After is delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  const trimmed = v.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}
