/**
 * The endpoint actor: one RPC endpoint's keep-alive HTTP client, breaker, token bucket and health
 * prober, in its own worker under the supervisor. It publishes its health to the shared table the
 * pool reads, and answers attempts on its reply channel (see src/rpc/actor-protocol.ts).
 * Module state is the actor's state: fresh after a restart, with a fresh (CLOSED) breaker.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { actorLog } from './context.ts';
import { systemClock } from '../src/clock.ts';
import { CircuitBreaker } from '../src/breaker/index.ts';
import type { Logger } from '../src/log/index.ts';
import { registerSecretUrl } from '../src/log/redact.ts';
import { RpcEndpoint } from '../src/rpc/endpoint.ts';
import { HealthTable } from '../src/rpc/health.ts';
import type { EndpointLogger } from '../src/rpc/breaker-link.ts';
import type { AttemptOutcome } from '../src/rpc/types.ts';
import {
  MSG_ATTEMPT,
  MSG_CANCEL,
  NOTICE_STATE,
  type EndpointActorInit,
  type EndpointActorMessage,
  type EndpointActorReply,
} from '../src/rpc/actor-protocol.ts';

let endpoint: RpcEndpoint | undefined;
let replies: BroadcastChannel | undefined;
const running = new Map<number, AbortController>();

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function bridgeLogger(level: string): EndpointLogger {
  const min = LEVELS.indexOf(level);
  const at = (l: 'debug' | 'info' | 'warn' | 'error') =>
    min < 0 || LEVELS.indexOf(l) < min
      ? () => undefined
      : (obj: Record<string, unknown>, msg: string) => actorLog(l, msg, obj);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function init(data: EndpointActorInit): void {
  // Outcome messages are written here: mask this endpoint's keys in this thread's redaction too.
  registerSecretUrl(data.endpoint.url);
  registerSecretUrl(data.endpoint.wsUrl);
  const logger = bridgeLogger(data.logLevel);
  const health = new HealthTable(data.health);
  const breaker = new CircuitBreaker({
    name: `endpoint_${data.endpoint.name}`,
    failureThreshold: data.breaker.failureThreshold,
    cooldownMs: data.breaker.cooldownMs,
    jitterRatio: data.breaker.jitterRatio,
    // The breaker logs through the same bridge; it only uses these four methods.
    logger: logger as unknown as Logger,
  });
  replies = new BroadcastChannel(data.replyChannel);
  endpoint = new RpcEndpoint({
    endpoint: data.endpoint,
    health,
    breaker,
    clock: systemClock,
    random: Math.random,
    logger,
    maxSlotLag: data.maxSlotLag,
    healthIntervalMs: data.healthIntervalMs,
    maxSockets: data.maxSockets,
    maxResponseBytes: data.maxResponseBytes,
    stallAfterMs: data.stallAfterMs,
    // The health table already holds the new state; this only wakes the pool to publish it.
    onStateChange: () => replies?.postMessage([NOTICE_STATE, null] satisfies EndpointActorReply),
  });
}

/** Starts the attempt and returns at once, so attempts run concurrently. */
export default function handle(msg: EndpointActorMessage): void {
  if (msg[0] === MSG_ATTEMPT) {
    const [, id, method, params, timeoutMs, expiresAt, lossless] = msg;
    const left = expiresAt - Date.now();
    if (left <= 0) {
      // Delivered after the pool stopped waiting (e.g. re-delivered after a restart): do not send it.
      reply(id, {
        ok: false,
        class: 'timeout',
        latencyMs: 0,
        sent: false,
        error: 'Expired',
        message: 'expired before it was sent',
      });
      return;
    }
    const ctl = new AbortController();
    running.set(id, ctl);
    endpoint!.attempt({ method, params, timeoutMs: Math.min(timeoutMs, left), lossless }, ctl.signal).then(
      (o) => {
        running.delete(id);
        reply(id, o);
      },
      (err: unknown) => {
        running.delete(id);
        reply(id, {
          ok: false,
          class: 'transport',
          latencyMs: 0,
          sent: true,
          error: 'Error',
          message: String((err as Error)?.message ?? err),
        });
      },
    );
  } else if (msg[0] === MSG_CANCEL) {
    running.get(msg[1])?.abort();
  }
}

function reply(id: number, outcome: AttemptOutcome): void {
  replies!.postMessage([id, outcome] satisfies EndpointActorReply);
}
