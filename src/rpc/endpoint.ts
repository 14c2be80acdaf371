/**
 * One RPC endpoint: its keep-alive HTTP client, its breaker, its token bucket and its health
 * prober. The same class runs in the host thread (`mode: 'inline'`) or inside an endpoint actor
 * (`actors/endpoint.ts`); either way it publishes its health to the shared table the pool reads.
 *
 * Attempts return plain, structured-cloneable outcomes instead of throwing, so an outcome can
 * cross a thread boundary unchanged and the pool decides what to do with it in one place.
 */
import type { Clock, Random, TimerHandle } from '../clock.ts';
import { redactDeep, redactText } from '../log/redact.ts';
import { quietLogger, type EndpointBreaker, type BreakerPermit, type EndpointLogger } from './breaker-link.ts';
import { classifyError, isEndpointRpcCode, provablyNotSent } from './classify.ts';
import type { NormalizedEndpoint } from './config.ts';
import { RpcBadResponseError, RpcEndpointError, RpcHttpError } from './errors.ts';
import { STATE_CLOSED, stateCode, type HealthTable } from './health.ts';
import { TokenBucket } from './token-bucket.ts';
import type { AttemptOutcome, AttemptRequest } from './types.ts';
import { HttpTransport } from './transport.ts';
import { type LosslessRead, losslessResult, mayHoldUnsafeInteger } from './lossless.ts';

export interface EndpointOptions {
  endpoint: NormalizedEndpoint;
  health: HealthTable;
  breaker: EndpointBreaker;
  clock: Clock;
  random: Random;
  logger?: EndpointLogger;
  maxSlotLag: number;
  healthIntervalMs: number;
  maxSockets?: number;
  /** See RpcPoolInputConfig.maxResponseBytes. */
  maxResponseBytes?: number;
  /** See RpcPoolInputConfig.stallAfterMs (0 disables). */
  stallAfterMs?: number;
  /** Called after every breaker transition (the pool publishes state changes at once). */
  onStateChange?: () => void;
  /** Run the freshness/recovery prober (default true). */
  probe?: boolean;
}

/** 429 without Retry-After: rest base × 2^(n-1), capped, with jitter in [50%, 100%]. */
const REST_BASE_MS = 1000;
const REST_CAP_MS = 30_000;
/** Methods that may legitimately run long: their slowness says nothing about the endpoint. */
const LONG_RUNNING = new Set([
  'getProgramAccounts',
  'getBlock',
  'getBlocks',
  'getBlocksWithLimit',
  'getSignaturesForAddress',
  'getConfirmedSignaturesForAddress2',
  'getTransaction',
  'getLargestAccounts',
  'getTokenLargestAccounts',
  'getSupply',
  'getVoteAccounts',
  'getClusterNodes',
  'getInflationReward',
]);
const PROBE_PARAMS = [{ commitment: 'confirmed' }];
const HTTP_PAYLOAD_TOO_LARGE = 413;
/** Longest provider text kept in an error message. */
const MAX_MESSAGE_CHARS = 1024;
const JSON_RPC_INVALID_REQUEST = -32600;
/** A slot report older than this many probe intervals is not used to judge lag. */
const FRESH_INTERVALS = 3;

const SKIP_CIRCUIT_OPEN: AttemptOutcome = Object.freeze({
  ok: false,
  class: 'circuit_open',
  latencyMs: 0,
  sent: false,
});
const SKIP_RESTING: AttemptOutcome = Object.freeze({ ok: false, class: 'resting', latencyMs: 0, sent: false });
const SKIP_THROTTLED: AttemptOutcome = Object.freeze({ ok: false, class: 'throttled', latencyMs: 0, sent: false });

export class RpcEndpoint {
  readonly config: NormalizedEndpoint;
  private readonly i: number;
  private readonly health: HealthTable;
  private readonly breaker: EndpointBreaker;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: EndpointLogger;
  private readonly transport: HttpTransport;
  private readonly bucket: TokenBucket | undefined;
  private readonly maxSlotLag: number;
  private readonly healthIntervalMs: number;
  private nextId = 1;
  private consecutive429 = 0;
  private probeTimer: TimerHandle | undefined;
  private readonly probeEnabled: boolean;
  private probing = false;
  private closed = false;
  private readonly stallAfterMs: number;
  /** Start times (clock ms) of watched attempts in flight, oldest first. */
  private readonly watched = new Map<number, number>();
  private watchSeq = 0;
  private stallTimer: TimerHandle | undefined;
  private readonly unsubscribe: () => void;
  private readonly notify: (() => void) | undefined;

  constructor(o: EndpointOptions) {
    this.config = o.endpoint;
    this.i = o.endpoint.index;
    this.health = o.health;
    this.breaker = o.breaker;
    this.clock = o.clock;
    this.random = o.random;
    this.logger = o.logger ?? quietLogger;
    this.maxSlotLag = o.maxSlotLag;
    this.healthIntervalMs = o.healthIntervalMs;
    this.transport = new HttpTransport(o.endpoint.url, {
      clock: o.clock,
      ...(o.maxResponseBytes ? { maxResponseBytes: o.maxResponseBytes } : {}),
      ...(o.maxSockets ? { maxSockets: o.maxSockets } : {}),
    });
    this.bucket =
      o.endpoint.rateLimitRps > 0
        ? new TokenBucket(o.endpoint.rateLimitRps, o.endpoint.rateLimitRps, o.clock.now())
        : undefined;
    this.probeEnabled = o.probe !== false;
    this.stallAfterMs = o.stallAfterMs ?? 0;
    this.notify = o.onStateChange;
    this.unsubscribe = this.breaker.onStateChange((change) => this.onBreakerTransition(change.to));
    this.health.setState(this.i, stateCode(this.breaker.getState()));
    this.health.setAlive(this.i, true);
    if (this.probeEnabled) this.scheduleProbe(0);
    if (this.stallAfterMs > 0) this.scheduleStallSweep();
  }

  /**
   * One attempt for a user's call. Skips (without a request) when the breaker is not CLOSED: a
   * HALF_OPEN endpoint is the prober's to test, never a user's.
   */
  attempt(req: AttemptRequest, signal?: AbortSignal): Promise<AttemptOutcome> {
    // Not an async function: one promise layer less on the hot path.
    if (this.breaker.getState() !== 'CLOSED') return Promise.resolve(SKIP_CIRCUIT_OPEN);
    const restUntil = this.health.rateLimitedUntil(this.i);
    const now = restUntil > 0 || this.bucket ? this.clock.now() : 0;
    if (restUntil > now) return Promise.resolve(SKIP_RESTING);
    if (this.bucket && !this.bucket.tryTake(now, this.health.rateShare(this.i))) {
      this.health.setThrottledUntil(this.i, this.bucket.nextTokenAt(now, this.health.rateShare(this.i)));
      return Promise.resolve(SKIP_THROTTLED);
    }
    const id = this.nextId++;
    let body: string;
    try {
      body = this.requestBody(id, req.method, req.params);
    } catch (err) {
      // BigInt, a cycle, ...: the caller's request cannot be sent anywhere. Nothing acquired yet.
      return Promise.resolve({
        ok: false,
        class: 'caller_error',
        latencyMs: 0,
        sent: false,
        error: 'TypeError',
        message: `params cannot be sent as JSON: ${(err as Error).message}`,
        rpcCode: -32602,
      });
    }
    const permit = this.breaker.tryAcquire();
    if (!permit) return Promise.resolve(SKIP_CIRCUIT_OPEN);
    return this.send(id, body, req.method, req.timeoutMs, permit, signal, req.lossless === true);
  }

  private requestBody(id: number, method: string, params: unknown): string {
    return `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params ?? [])}}`;
  }

  private async send(
    id: number,
    body: string,
    method: string,
    timeoutMs: number,
    permit: BreakerPermit,
    signal: AbortSignal | undefined,
    lossless: boolean,
  ): Promise<AttemptOutcome> {
    const h = this.health;
    const i = this.i;
    const started = performance.now();
    h.addInFlight(i, 1);
    const seq = ++this.watchSeq;
    const watch = this.stallAfterMs > 0 && !LONG_RUNNING.has(method);
    if (watch) this.watched.set(seq, this.clock.now());
    let outcome: AttemptOutcome;
    try {
      const reply = await this.transport.post(body, timeoutMs, signal);
      const latencyMs = performance.now() - started;
      // Read before interpret settles the permit, so a reader that refuses the text is one outcome.
      const exact = lossless && mayHoldUnsafeInteger(reply.body) ? await losslessResult(reply.body) : undefined;
      outcome = this.interpret(id, reply.body, latencyMs, permit, exact);
    } catch (err) {
      const latencyMs = performance.now() - started;
      if (signal?.aborted) {
        permit.release();
        outcome = {
          ok: false,
          class: 'aborted',
          latencyMs,
          sent: true,
          error: 'AbortError',
          message: 'aborted by the caller',
        };
      } else if (err instanceof RpcHttpError && err.status === HTTP_PAYLOAD_TOO_LARGE) {
        // The node answered about the request (its size), not about its own health: like a
        // JSON-RPC invalid-request error, returned to the caller and counted against no one.
        permit.release();
        this.health.recordLatency(this.i, latencyMs);
        outcome = {
          ok: false,
          class: 'caller_error',
          latencyMs,
          sent: true,
          error: 'RpcHttpError',
          message: `request too large for the endpoint: ${err.message}`,
          rpcCode: JSON_RPC_INVALID_REQUEST,
          httpStatus: err.status,
        };
      } else {
        outcome = this.failed(err, latencyMs, permit);
      }
    } finally {
      h.addInFlight(i, -1);
      if (watch) this.watched.delete(seq);
    }
    return outcome;
  }

  /**
   * Reads one reply. It must be a JSON-RPC response object carrying the request's id (a number,
   * or the same number as a string); an error reply may carry `id: null`, which JSON-RPC allows
   * when the server could not read the id. Anything else is `bad_response`: a reply meant for
   * another request must never be taken as this one's result.
   */
  private interpret(
    id: number,
    text: string,
    latencyMs: number,
    permit: BreakerPermit,
    exact?: LosslessRead,
  ): AttemptOutcome {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.failed(new RpcBadResponseError(`not JSON: ${JSON.stringify(snippet(text, 80))}`), latencyMs, permit);
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      return this.failed(new RpcBadResponseError('not a JSON-RPC response object'), latencyMs, permit);
    }
    const m = msg as { id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
    if (m.id !== id && m.id !== String(id) && !(m.id === null && m.error !== undefined)) {
      const got = 'id' in m ? (JSON.stringify(m.id) ?? String(m.id)) : 'no id';
      return this.failed(
        new RpcBadResponseError(`reply id ${snippet(got, 40)} does not match request id ${id}`),
        latencyMs,
        permit,
      );
    }
    if (m.error !== undefined) {
      const code = m.error?.code;
      // A provider's text is bounded before it becomes an error message or a log line.
      const message =
        typeof m.error?.message === 'string' ? snippet(m.error.message, MAX_MESSAGE_CHARS) : 'JSON-RPC error';
      if (typeof code !== 'number')
        return this.failed(
          new RpcBadResponseError(`JSON-RPC error without a numeric code: ${message}`),
          latencyMs,
          permit,
        );
      if (isEndpointRpcCode(code)) return this.failed(new RpcEndpointError(code, message), latencyMs, permit);
      // The node answered; the request was at fault. Not the endpoint's failure, nor a success to count.
      permit.release();
      this.health.recordLatency(this.i, latencyMs);
      const data = m.error?.data;
      return {
        ok: false,
        class: 'caller_error',
        latencyMs,
        sent: true,
        error: 'RpcCallError',
        message,
        rpcCode: code,
        data: data === undefined ? undefined : redactDeep(data),
      };
    }
    if (!('result' in m)) return this.failed(new RpcBadResponseError('neither result nor error'), latencyMs, permit);
    if (exact !== undefined && !exact.ok) {
      return this.failed(
        new RpcBadResponseError(`an integer no exact reader accepts: ${snippet(exact.reason, 120)}`),
        latencyMs,
        permit,
      );
    }
    permit.onSuccess(latencyMs);
    this.health.recordLatency(this.i, latencyMs);
    this.consecutive429 = 0;
    if (this.health.suspect(this.i)) {
      this.health.setSuspect(this.i, false);
      this.logger.info({ endpoint: this.config.name }, 'rpc endpoint answers again; no longer suspect');
    }
    return { ok: true, result: exact === undefined ? m.result : exact.result, latencyMs };
  }

  private failed(err: unknown, latencyMs: number, permit: BreakerPermit): AttemptOutcome {
    const cls = classifyError(err);
    permit.onFailure(err);
    const out: AttemptOutcome = {
      ok: false,
      class: cls,
      latencyMs,
      sent: !provablyNotSent(cls),
      error: (err as Error)?.constructor?.name ?? 'Error',
      message: redactText(String((err as Error)?.message ?? err)),
    };
    if (err instanceof RpcHttpError) out.httpStatus = err.status;
    if (err instanceof RpcEndpointError) out.rpcCode = err.rpcCode;
    if (cls === 'http_429') this.rest(err instanceof RpcHttpError ? err.retryAfterMs : undefined);
    return out;
  }

  /** A 429 rests the endpoint for Retry-After, or a jittered exponential backoff without one. */
  private rest(retryAfterMs: number | undefined): void {
    this.consecutive429++;
    let ms = retryAfterMs;
    if (ms === undefined) {
      const base = Math.min(REST_CAP_MS, REST_BASE_MS * 2 ** Math.min(10, this.consecutive429 - 1));
      ms = base * (0.5 + 0.5 * this.random());
    }
    const until = this.clock.now() + ms;
    if (until > this.health.rateLimitedUntil(this.i)) this.health.setRateLimitedUntil(this.i, until);
    this.logger.warn(
      { endpoint: this.config.name, restMs: Math.round(ms), retryAfter: retryAfterMs !== undefined },
      'rpc endpoint rate limited; resting',
    );
  }

  private onBreakerTransition(to: string): void {
    const openUntil = to === 'OPEN' ? this.clock.now() + this.breaker.getStats().retryAfterMs : 0;
    this.health.setState(this.i, stateCode(to), openUntil);
    this.logger.warn(
      { endpoint: this.config.name, url: this.config.redactedUrl, state: to },
      'rpc endpoint breaker changed state',
    );
    this.notify?.();
    // The breaker turns HALF_OPEN on its own cooldown timer: probe recovery at that moment, so the
    // one half-open permit goes to the prober and never to a user's request.
    if (to === 'HALF_OPEN' && this.probeEnabled && !this.closed) void this.probe();
  }

  /**
   * A hung endpoint is only proven dead when attempts reach their deadline; until then new calls
   * would keep piling onto it. The oldest watched attempt past stallAfterMs marks it suspect, so
   * new calls prefer the others at once; any success clears it.
   */
  private scheduleStallSweep(): void {
    if (this.closed) return;
    this.stallTimer = this.clock.setTimeout(
      () => {
        const oldest = this.watched.values().next();
        if (!oldest.done && this.clock.now() - oldest.value >= this.stallAfterMs && !this.health.suspect(this.i)) {
          this.health.setSuspect(this.i, true);
          this.logger.warn(
            { endpoint: this.config.name, stallAfterMs: this.stallAfterMs },
            'rpc endpoint stalled; preferring other endpoints',
          );
          // Ask it at once: a quick answer clears the suspicion, a hung probe counts as a failure.
          if (this.probeEnabled) void this.probe();
        }
        this.scheduleStallSweep();
      },
      Math.max(10, Math.floor(this.stallAfterMs / 2)),
    );
  }

  private scheduleProbe(delayMs: number): void {
    if (this.closed) return;
    this.probeTimer = this.clock.setTimeout(() => {
      void this.probe().finally(() => this.scheduleProbe(this.healthIntervalMs));
    }, delayMs);
  }

  /**
   * Freshness while CLOSED (getSlot; its failures count like any other, so an idle dead endpoint
   * still opens), recovery while HALF_OPEN (the prober holds the one half-open permit, so no user
   * request is ever the probe). Nothing while OPEN.
   */
  async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    // Shared health: an OPEN endpoint is probed only by the process holding its probe lease.
    if (this.health.probeBlocked(this.i)) return;
    const state = this.breaker.getState();
    if (state === 'OPEN') return;
    const now = this.clock.now();
    if (state === 'CLOSED' && this.health.rateLimitedUntil(this.i) > now) return;
    if (this.bucket && !this.bucket.tryTake(now, this.health.rateShare(this.i))) return;
    const permit = this.breaker.tryAcquire();
    if (!permit) return;
    this.probing = true;
    try {
      // A suspect endpoint must prove it answers promptly: a trivial call gets twice the stall threshold.
      const limit =
        this.health.suspect(this.i) && this.stallAfterMs > 0 ? 2 * this.stallAfterMs : this.healthIntervalMs;
      const timeoutMs = Math.min(this.config.timeoutMs, Math.max(10, limit));
      const id = this.nextId++;
      const body = this.requestBody(id, 'getSlot', PROBE_PARAMS);
      const outcome = await this.send(id, body, 'getSlot', timeoutMs, permit, undefined, false);
      const ok = outcome.ok && typeof outcome.result === 'number';
      this.health.countProbe(this.i, !ok);
      if (outcome.ok && typeof outcome.result === 'number') this.recordSlot(outcome.result);
      if (state === 'HALF_OPEN') {
        this.logger.info({ endpoint: this.config.name, recovered: ok }, 'rpc endpoint recovery probe');
      }
    } finally {
      this.probing = false;
    }
  }

  private recordSlot(slot: number): void {
    const now = this.clock.now();
    this.health.setSlot(this.i, slot, now);
    const best = this.health.bestSlot(now - FRESH_INTERVALS * this.healthIntervalMs);
    const demoted = best - slot > this.maxSlotLag;
    if (demoted !== this.health.demoted(this.i)) {
      this.health.setDemoted(this.i, demoted);
      this.logger.warn(
        { endpoint: this.config.name, slot, bestSlot: best, maxSlotLag: this.maxSlotLag, demoted },
        'rpc endpoint slot lag',
      );
    }
  }

  get breakerState(): number {
    return this.health.state(this.i);
  }

  isClosedState(): boolean {
    return this.health.state(this.i) === STATE_CLOSED;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer);
    if (this.stallTimer !== undefined) this.clock.clearTimeout(this.stallTimer);
    this.unsubscribe();
    this.transport.close();
    this.health.setAlive(this.i, false);
  }
}

/**
 * The start of a provider's text for an error message, redacted before it is cut, so a secret
 * that straddles the cut cannot leave a readable prefix behind.
 */
function snippet(text: string, max: number): string {
  return redactText(text.slice(0, max + 512)).slice(0, max);
}
