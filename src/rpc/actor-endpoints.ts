/**
 * Actor mode, host side: spawns one endpoint actor per endpoint under the supervisor and turns
 * attempts into messages. The actor owns the endpoint's HTTP client, breaker, limiter and prober;
 * the host keeps only a table of pending attempts, resolved from the endpoint's reply channel.
 *
 * When an actor crashes, every attempt pending on it resolves at once as `actor_crash` (the pool
 * fails over), the endpoint is marked down in the shared health table so nothing is routed to it,
 * and the supervisor restarts it; the new incarnation marks itself up when its init has run.
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { Logger } from '../log/index.ts';
import {
  MSG_ATTEMPT,
  MSG_CANCEL,
  NOTICE_STATE,
  type AttemptMessage,
  type EndpointActorInit,
  type EndpointActorReply,
} from './actor-protocol.ts';
import type { NormalizedEndpoint, NormalizedPoolConfig } from './config.ts';
import type { AttemptOutcome, AttemptRequest } from './types.ts';
import type { HealthTable } from './health.ts';
import type { EndpointHandle } from './types.ts';
import { workerEntry } from '../runtime/worker-entry.ts';

/** The part of the runtime's Supervisor the pool uses. */
export interface SupervisorLike {
  spawn(options: {
    name: string;
    module: string | URL;
    init?: unknown;
    mailboxSize?: number;
    heartbeatMs?: number;
    maxAttempts?: number;
  }): ActorRefLike;
  stop(name: string): Promise<void>;
}

export interface ActorRefLike {
  readonly ready: Promise<void>;
  readonly state: string;
  tell(message: unknown): boolean;
  on(event: 'state', fn: (state: string, previous: string) => void): unknown;
  off(event: 'state', fn: (state: string, previous: string) => void): unknown;
}

export const ENDPOINT_ACTOR_MODULE = workerEntry('endpoint');

/**
 * The mailbox only holds attempts until the worker takes them (the handler returns at once), so
 * it is sized for a burst of concurrent calls, not for a backlog.
 */
const MAILBOX_SIZE = 16_384;
/** Extra time past an attempt's own deadline before the host stops waiting for the actor. */
const REPLY_GRACE_MS = 100;
let poolSeq = 0;

export interface ActorEndpointsOptions {
  cfg: NormalizedPoolConfig;
  health: HealthTable;
  supervisor: SupervisorLike;
  logger: Logger;
  /** Prefix of actor names (unique per pool). */
  namePrefix?: string;
  /** Told the endpoint index after each breaker transition inside its actor. */
  onStateChange?: (index: number) => void;
}

export async function createActorEndpoints(o: ActorEndpointsOptions): Promise<EndpointHandle[]> {
  const pool = ++poolSeq;
  const prefix = o.namePrefix ?? `rpc-endpoint-${process.pid}-${pool}`;
  const handles = o.cfg.endpoints.map(
    (ep) =>
      new ActorEndpoint(
        ep,
        o,
        `${prefix}-${ep.name}`,
        `palisade-rpc:${process.pid}:${pool}:${ep.index}:${Math.random().toString(36).slice(2)}`,
      ),
  );
  try {
    await Promise.all(handles.map((h) => h.ready));
  } catch (err) {
    await Promise.all(handles.map((h) => h.close()));
    throw err;
  }
  return handles;
}

interface Pending {
  resolve(o: AttemptOutcome): void;
  timer: ReturnType<typeof setTimeout>;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  sentAt: number;
}

class ActorEndpoint implements EndpointHandle {
  readonly ready: Promise<void>;
  private readonly ref: ActorRefLike;
  private readonly replies: BroadcastChannel;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private readonly onState: (state: string, previous: string) => void;

  constructor(
    private readonly ep: NormalizedEndpoint,
    private readonly o: ActorEndpointsOptions,
    private readonly actorName: string,
    channelName: string,
  ) {
    this.replies = new BroadcastChannel(channelName);
    this.replies.unref();
    this.replies.onmessage = (ev: unknown) => this.onReply((ev as { data: EndpointActorReply }).data);
    const init: EndpointActorInit = {
      endpoint: ep,
      health: o.health.buffer,
      replyChannel: channelName,
      breaker: o.cfg.breaker,
      maxSlotLag: o.cfg.maxSlotLag,
      healthIntervalMs: o.cfg.healthIntervalMs,
      maxSockets: o.cfg.maxSockets,
      maxResponseBytes: o.cfg.maxResponseBytes,
      stallAfterMs: o.cfg.stallAfterMs,
      logLevel: typeof o.logger.level === 'string' ? o.logger.level : 'info',
    };
    this.ref = o.supervisor.spawn({
      name: actorName,
      module: ENDPOINT_ACTOR_MODULE,
      init,
      maxAttempts: 1,
      mailboxSize: MAILBOX_SIZE,
    });
    this.onState = (state) => {
      if (state === 'running' || state === 'starting') return;
      // Down (restarting, quarantined, stopped): route nothing here and fail over what was pending.
      o.health.setAlive(ep.index, false);
      this.failPending(`endpoint actor ${state}`);
    };
    this.ref.on('state', this.onState);
    this.ready = this.ref.ready;
  }

  attempt(req: AttemptRequest, signal?: AbortSignal): Promise<AttemptOutcome> {
    if (this.closed) return Promise.resolve(down('endpoint closed', false));
    const id = this.nextId++;
    const msg: AttemptMessage = [
      MSG_ATTEMPT,
      id,
      req.method,
      req.params,
      req.timeoutMs,
      Date.now() + req.timeoutMs,
      req.lossless === true,
    ];
    return new Promise<AttemptOutcome>((resolve) => {
      let accepted: boolean;
      try {
        accepted = this.ref.tell(msg);
      } catch (err) {
        // e.g. params that cannot be cloned: the caller's request is at fault, nothing was sent.
        resolve({
          ok: false,
          class: 'caller_error',
          latencyMs: 0,
          sent: false,
          error: (err as Error).name,
          message: (err as Error).message,
          rpcCode: -32602,
        });
        return;
      }
      if (!accepted) return resolve(OVERLOADED);
      const p: Pending = {
        resolve,
        timer: setTimeout(
          () =>
            this.settle(id, down(`no reply from the endpoint actor within ${req.timeoutMs + REPLY_GRACE_MS} ms`, true)),
          req.timeoutMs + REPLY_GRACE_MS,
        ),
        signal,
        onAbort: undefined,
        sentAt: performance.now(),
      };
      p.timer.unref();
      if (signal) {
        p.onAbort = () => {
          this.ref.tell([MSG_CANCEL, id]);
          this.settle(id, {
            ok: false,
            class: 'aborted',
            latencyMs: performance.now() - p.sentAt,
            sent: true,
            error: 'AbortError',
            message: 'aborted by the caller',
          });
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(id, p);
    });
  }

  private onReply(reply: EndpointActorReply): void {
    if (reply[0] === NOTICE_STATE) this.o.onStateChange?.(this.ep.index);
    else this.settle(reply[0], reply[1] as AttemptOutcome);
  }

  private settle(id: number, outcome: AttemptOutcome): void {
    const p = this.pending.get(id);
    if (!p) return; // already settled (timeout, abort, crash): a late reply
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    p.resolve(outcome);
  }

  private failPending(why: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, down(why, true));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ref.off('state', this.onState);
    this.failPending('endpoint closed');
    try {
      await this.o.supervisor.stop(this.actorName);
    } finally {
      this.o.health.setAlive(this.ep.index, false);
      this.replies.close();
    }
  }
}

const OVERLOADED: AttemptOutcome = Object.freeze({
  ok: false,
  class: 'overloaded',
  latencyMs: 0,
  sent: false,
  error: 'MailboxFullError',
  message: 'the endpoint actor mailbox refused the attempt',
});

function down(message: string, sent: boolean): AttemptOutcome {
  return { ok: false, class: 'actor_crash', latencyMs: 0, sent, error: 'EndpointActorError', message };
}
