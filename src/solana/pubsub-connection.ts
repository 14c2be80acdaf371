/**
 * One JSON-RPC PubSub WebSocket connection to one provider: open with a deadline, requests
 * (subscribe / unsubscribe) answered by id with a deadline, notifications handed to a callback,
 * and the time of the last message of any kind, which the subscription watchdog reads. It never
 * reconnects by itself: moving to another provider is the subscription manager's decision.
 */
import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../clock.ts';
import { PalisadeError } from '../errors.ts';
import { redactText } from '../log/redact.ts';

/** The part of a WebSocket this module uses (the `ws` package's client, or a test double). */
export interface SocketLike {
  on(event: 'open', fn: () => void): unknown;
  on(event: 'message', fn: (data: unknown) => void): unknown;
  on(event: 'close', fn: (code: number) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  send(data: string): void;
  terminate(): void;
}

export type SocketFactory = (url: string) => SocketLike;

export const defaultSocketFactory: SocketFactory = (url) =>
  new WebSocket(url, { maxPayload: 16 * 1024 * 1024 }) as unknown as SocketLike;

export class PubsubError extends PalisadeError {
  constructor(code: 'PUBSUB_CONNECT_FAILED' | 'PUBSUB_TIMEOUT' | 'PUBSUB_CLOSED' | 'PUBSUB_REJECTED', message: string) {
    super(code, redactText(message));
  }
}

export interface Notification {
  method: string;
  subscription: number;
  result: unknown;
}

interface Waiting {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

export class PubsubConnection {
  readonly url: string;
  /** Clock time of the last message received (answer or notification); the open time before any. */
  lastMessageAt: number;
  private readonly socket: SocketLike;
  private readonly clock: Clock;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  private onClosed: ((reason: string) => void) | undefined;

  private constructor(url: string, socket: SocketLike, clock: Clock) {
    this.url = url;
    this.socket = socket;
    this.clock = clock;
    this.lastMessageAt = clock.now();
  }

  /** Opens a connection or rejects (PUBSUB_CONNECT_FAILED) within `timeoutMs`. */
  static open(
    url: string,
    opts: {
      clock: Clock;
      timeoutMs: number;
      factory: SocketFactory;
      onNotification: (n: Notification) => void;
      onClosed: (reason: string) => void;
    },
  ): Promise<PubsubConnection> {
    return new Promise((resolve, reject) => {
      let socket: SocketLike;
      try {
        socket = opts.factory(url);
      } catch (err) {
        return reject(new PubsubError('PUBSUB_CONNECT_FAILED', `cannot connect: ${(err as Error).message}`));
      }
      const conn = new PubsubConnection(url, socket, opts.clock);
      let settled = false;
      const timer = opts.clock.setTimeout(() => fail(`no open within ${opts.timeoutMs} ms`), opts.timeoutMs);
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        opts.clock.clearTimeout(timer);
        conn.shutdown(why);
        reject(new PubsubError('PUBSUB_CONNECT_FAILED', `cannot connect: ${why}`));
      };
      socket.on('open', () => {
        if (settled) return;
        settled = true;
        opts.clock.clearTimeout(timer);
        conn.state = 'open';
        conn.lastMessageAt = opts.clock.now();
        conn.onClosed = opts.onClosed;
        resolve(conn);
      });
      socket.on('message', (data) => conn.onMessage(data, opts.onNotification));
      socket.on('error', (err) => {
        if (!settled) fail(err.message);
      });
      socket.on('close', (code) => {
        if (!settled) return fail(`closed with code ${code} before opening`);
        conn.shutdown(`closed by the provider (code ${code})`);
      });
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Sends a request and resolves with its result; rejects on a JSON-RPC error, a timeout or a close. */
  request(method: string, params: unknown[], timeoutMs: number): Promise<unknown> {
    if (this.state !== 'open')
      return Promise.reject(new PubsubError('PUBSUB_CLOSED', `${method}: the connection is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiting.delete(id);
        reject(new PubsubError('PUBSUB_TIMEOUT', `${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      try {
        this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      } catch (err) {
        this.clock.clearTimeout(timer);
        this.waiting.delete(id);
        reject(new PubsubError('PUBSUB_CLOSED', `${method}: ${(err as Error).message}`));
      }
    });
  }

  /** Fire and forget (unsubscribes); a closed connection ignores it. */
  notify(method: string, params: unknown[]): void {
    if (this.state !== 'open') return;
    try {
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }));
    } catch {
      /* closing anyway */
    }
  }

  /** Ends the connection at once (no close handshake: a stalled peer would not answer it). */
  close(reason = 'closed by the client'): void {
    this.onClosed = undefined;
    this.shutdown(reason);
  }

  private shutdown(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    try {
      this.socket.terminate();
    } catch {
      /* already gone */
    }
    for (const w of this.waiting.values()) {
      this.clock.clearTimeout(w.timer);
      w.reject(new PubsubError('PUBSUB_CLOSED', reason));
    }
    this.waiting.clear();
    const cb = this.onClosed;
    this.onClosed = undefined;
    cb?.(reason);
  }

  private onMessage(data: unknown, onNotification: (n: Notification) => void): void {
    if (this.state === 'closed') return;
    this.lastMessageAt = this.clock.now();
    let msg: {
      id?: unknown;
      result?: unknown;
      error?: { code?: unknown; message?: unknown };
      method?: unknown;
      params?: { subscription?: unknown; result?: unknown };
    };
    try {
      msg = JSON.parse(String(data));
    } catch {
      return; // a garbled frame says nothing; the watchdog judges the stream
    }
    if (msg === null || typeof msg !== 'object') return;
    if (typeof msg.id === 'number' && this.waiting.has(msg.id)) {
      const w = this.waiting.get(msg.id)!;
      this.waiting.delete(msg.id);
      this.clock.clearTimeout(w.timer);
      if (msg.error)
        w.reject(new PubsubError('PUBSUB_REJECTED', `${String(msg.error.code)} ${String(msg.error.message)}`));
      else w.resolve(msg.result);
      return;
    }
    if (typeof msg.method === 'string' && msg.params && typeof msg.params.subscription === 'number') {
      onNotification({ method: msg.method, subscription: msg.params.subscription, result: msg.params.result });
    }
  }
}
