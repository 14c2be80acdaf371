/**
 * The RPC connection pool: `call(method, params)` against several Solana RPC providers with
 * per-endpoint breakers, failover in the same tick, rate-limit rests, slot-freshness demotion and
 * a deadline on every call. An injected breaker wraps each call exactly as the specification's integration example does.
 *
 * sendTransaction is never blindly re-sent. The rule: after a failed attempt that provably never
 * reached its node (connection refused, DNS failure, breaker/limiter skip), the same signed bytes
 * go to the next endpoint. After any other failure (timeout, reset, 5xx, 429, garbled answer,
 * actor crash) the transaction may have reached a leader, so the next endpoint is first asked
 * `getSignatureStatuses([signature])`: if the signature is known the call succeeds with it (no
 * re-send); otherwise the SAME signed bytes are re-sent, which is idempotent on Solana (one
 * signature executes at most once; a duplicate answers "already processed", which is taken as
 * success). A transaction whose signature cannot be read is not re-sent after such a failure.
 */
import { systemClock, type Clock, type Random, type TimerHandle } from '../clock.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log/index.ts';
import { redactText, registerSecretUrl, silentLogger } from '../log/index.ts';
import { LatencyHistogram } from '../stats/latency.ts';
import { isFailureClass, isSkipClass } from './classify.ts';
import { checkCallArguments, type CallOptions } from './call-args.ts';
import type { AttemptOutcome, EndpointHandle, FailureClass, SkipClass } from './types.ts';
import {
  normalizePoolConfig,
  type NormalizedEndpoint,
  type NormalizedPoolConfig,
  type RpcPoolInputConfig,
} from './config.ts';
import { RpcCallError, RpcPoolError, type RpcAttempt, type RpcPoolErrorCode } from './errors.ts';
import { HealthTable, STATE_CLOSED, stateName } from './health.ts';
import { attemptBudget, earliestAvailable, hasFallback, selectEndpoint } from './select.ts';
import { signatureOfSendParams } from './signature.ts';
import { EndpointCounters, type EndpointStats, type PoolStats } from './stats.ts';
import { createInlineEndpoints, type EndpointCircuitsLike } from './inline.ts';
import { createActorEndpoints, type SupervisorLike } from './actor-endpoints.ts';
import type { SharedHealthLink } from './shared-link.ts';
import { SharedEndpointHealth } from '../engine/shared-health.ts';
import type { Span } from '@opentelemetry/api';
import { recordRpcAttempt, settleRpcSpan, startRpcSpan } from '../observe/trace.ts';

export type { EndpointHandle } from './types.ts';
export type { CallOptions } from './call-args.ts';
export type PoolMode = 'inline' | 'actor';

export interface CallBreaker {
  execute<T>(label: string, fn: () => Promise<T>): Promise<T>;
}

export interface BusLike {
  publish(topic: string, event: Record<string, unknown>, priority?: 'critical' | 'normal' | 'low'): unknown;
}

export interface RpcPoolDependencies {
  /** Wraps every call as `execute('rpc_' + method, ...)` (as the specification's integration example does). */
  circuitBreaker?: CallBreaker;
  /** Per-endpoint breakers keyed by URL (inline mode); created for each endpoint when absent. */
  endpointCircuits?: EndpointCircuitsLike;
  /** Runs each endpoint as an actor (actor mode, the default when given). */
  supervisor?: SupervisorLike;
  logger?: Logger;
  bus?: BusLike;
  clock?: Clock;
  random?: Random;
  mode?: PoolMode;
  /** Actor mode: endpoint actors are named `${actorNamePrefix}-${endpoint name}` (default: unique per pool). */
  actorNamePrefix?: string;
  /** Endpoint health shared with other processes (default: built from the config's `shared`). */
  sharedHealth?: SharedHealthLink;
}

export interface RpcCallResult<T = unknown> {
  ok: true;
  result: T;
  /** Name of the endpoint that answered. */
  endpoint: string;
  /** Wall time of the whole call, ms. */
  latencyMs: number;
  /** Requests made for this call (1 when the first endpoint answered). */
  attempts: number;
}

const IDEMPOTENT_EXCLUDED = new Set(['sendTransaction', 'requestAirdrop']);
const ALREADY_PROCESSED = /already (been )?processed|AlreadyProcessed/i;

export class RpcConnectionPool {
  readonly mode: PoolMode;
  private readonly circuitBreaker: CallBreaker | undefined;
  private readonly cfg: NormalizedPoolConfig;
  private readonly endpoints: readonly NormalizedEndpoint[];
  private readonly health: HealthTable;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly bus: BusLike | undefined;
  private handles: EndpointHandle[] = [];
  private starting: Promise<void> | undefined;
  private startError: unknown;
  private closed = false;
  private readonly counters: EndpointCounters[];
  private readonly seenStateChanges: number[];
  private readonly seenStates: number[];
  private watchTimer: TimerHandle | undefined;
  private readonly shared: SharedHealthLink | undefined;
  private readonly totals = {
    calls: 0,
    successes: 0,
    callerErrors: 0,
    failed: {} as Record<string, number>,
    failovers: 0,
    hedges: 0,
    busErrors: 0,
    sendTransaction: { statusChecks: 0, alreadyLanded: 0, resent: 0, notResent: 0 },
  };
  private readonly callLatency = new LatencyHistogram();
  /** Stops masking this pool's endpoint keys in redacted text (on close). */
  private readonly releaseSecrets: () => void;

  constructor(config: RpcPoolInputConfig, dependencies: RpcPoolDependencies = {}) {
    this.cfg = normalizePoolConfig(config);
    this.endpoints = this.cfg.endpoints;
    // From here on every redacted text (errors, logs, stats) masks these endpoints' keys by value.
    const releases = this.endpoints.flatMap((e) => [registerSecretUrl(e.url), registerSecretUrl(e.wsUrl)]);
    this.releaseSecrets = () => {
      for (const r of releases) r();
    };
    this.circuitBreaker = dependencies.circuitBreaker; // injected, not embedded
    this.clock = dependencies.clock ?? systemClock;
    this.random = dependencies.random ?? Math.random;
    this.logger = dependencies.logger ?? silentLogger;
    this.bus = dependencies.bus;
    const mode = dependencies.mode ?? (dependencies.supervisor ? 'actor' : 'inline');
    if (mode !== 'inline' && mode !== 'actor') throw new ConfigError('mode', mode, "'inline' or 'actor'");
    if (mode === 'actor' && !dependencies.supervisor)
      throw new ConfigError(
        'supervisor',
        undefined,
        "a Supervisor: mode 'actor' runs each endpoint as an actor under it",
      );
    if (mode === 'actor' && dependencies.endpointCircuits) {
      throw new ConfigError(
        'endpointCircuits',
        '(an EndpointCircuitManager)',
        "no endpointCircuits in mode 'actor': each endpoint's breaker lives in its actor (use mode 'inline' to share breakers)",
      );
    }
    this.mode = mode;
    this.health = new HealthTable(this.endpoints.length);
    // Built (and its config checked) before any endpoint exists, so a bad `shared` leaves nothing running.
    this.shared =
      dependencies.sharedHealth ??
      (config.shared !== undefined
        ? new SharedEndpointHealth(config.shared, {
            endpoints: this.endpoints,
            health: this.health,
            clock: this.clock,
            logger: this.logger,
            cooldownMs: this.cfg.breaker.cooldownMs,
            healthIntervalMs: this.cfg.healthIntervalMs,
            attemptTimeoutMs: this.cfg.attemptTimeoutMs,
          })
        : undefined);
    this.counters = this.endpoints.map(() => new EndpointCounters());
    this.seenStateChanges = this.endpoints.map(() => 0);
    this.seenStates = this.endpoints.map(() => STATE_CLOSED);
    if (this.mode === 'actor') {
      const supervisor = dependencies.supervisor!;
      this.starting = createActorEndpoints({
        cfg: this.cfg,
        health: this.health,
        supervisor,
        logger: this.logger,
        onStateChange: (i) => this.noticeStateChange(i),
        ...(dependencies.actorNamePrefix !== undefined ? { namePrefix: dependencies.actorNamePrefix } : {}),
      }).then(
        (handles) => {
          this.handles = handles;
          this.starting = undefined;
          if (this.closed) void Promise.all(handles.map((h) => h.close()));
        },
        (err: unknown) => {
          this.startError = err;
          this.starting = undefined;
          this.logger.error({ err }, 'rpc pool: endpoint actors failed to start');
        },
      );
    } else {
      this.handles = createInlineEndpoints({
        cfg: this.cfg,
        health: this.health,
        clock: this.clock,
        random: this.random,
        logger: this.logger,
        onStateChange: (i) => this.noticeStateChange(i),
        ...(dependencies.endpointCircuits ? { endpointCircuits: dependencies.endpointCircuits } : {}),
      });
    }
    this.scheduleWatch();
  }

  /**
   * Resolves once every endpoint is up (actor mode spawns workers; inline mode is ready at once)
   * and shared health has connected or fallen back to this process's own view (see getStats().shared).
   */
  async ready(): Promise<void> {
    if (this.starting) await this.starting;
    if (this.startError) throw this.startError;
    if (this.shared) await this.shared.start();
  }

  /**
   * Calls a JSON-RPC method. Resolves `{ ok: true, result, endpoint, latencyMs, attempts }`;
   * rejects with RpcCallError (the node's JSON-RPC error, `isCallerError`), RpcPoolError, or
   * RpcCallArgumentError (a ConfigError: bad method, params or options; nothing was sent).
   */
  call<T = unknown>(method: string, params: unknown[] = [], options: CallOptions = {}): Promise<RpcCallResult<T>> {
    // A no-op span without an OpenTelemetry SDK; its attempt events are built only when recording.
    const span = startRpcSpan(method);
    try {
      checkCallArguments(method, params, options);
    } catch (err) {
      return settleRpcSpan(span, Promise.reject(err));
    }
    if (this.circuitBreaker) {
      return settleRpcSpan(
        span,
        this.circuitBreaker.execute(`rpc_${method}`, async () => {
          return await this._executeRpcCall<T>(method, params, options, span);
        }),
      );
    }
    return settleRpcSpan(span, this._executeRpcCall<T>(method, params, options, span));
  }

  async _executeRpcCall<T>(
    method: string,
    params: unknown[],
    options: CallOptions,
    span?: Span,
  ): Promise<RpcCallResult<T>> {
    if (this.closed) throw this.fail('RPC_POOL_CLOSED', method, []);
    if (this.starting) await this.starting;
    if (this.startError) throw this.fail('RPC_POOL_EXHAUSTED', method, [], 'endpoint actors failed to start');
    this.totals.calls++;
    const t0 = performance.now();
    let now = this.clock.now();
    const deadline = now + (options.timeoutMs ?? this.cfg.requestTimeoutMs);
    const signal = options.signal;
    const lossless = options.integers === 'lossless';
    if (signal?.aborted) throw this.fail('RPC_ABORTED', method, []);
    if (this.cfg.hedgeAfterMs !== undefined && !IDEMPOTENT_EXCLUDED.has(method)) {
      return this.hedged<T>(method, params, deadline, t0, signal, this.cfg.hedgeAfterMs, span, lossless);
    }
    const isSend = method === 'sendTransaction';
    const attempts: RpcAttempt[] = [];
    let tried = 0;
    let sent = 0;
    let checkStatus = false;
    let resent = false;
    // Set by an endpoint failure; counted as a failover when the next attempt really starts.
    let failingOver = false;
    for (let first = true; ; first = false) {
      if (!first) now = this.clock.now();
      const remaining = deadline - now;
      if (remaining <= 0) throw this.fail('RPC_DEADLINE_EXCEEDED', method, attempts);
      const idx = selectEndpoint(this.endpoints, this.health, now, tried, this.random);
      if (idx < 0) {
        const at = earliestAvailable(this.endpoints, this.health, now, tried);
        if (at < deadline) {
          await this.sleep(at - now, signal, method, attempts);
          continue;
        }
        throw this.exhausted(method, attempts, tried);
      }
      const ep = this.endpoints[idx]!;
      const timeoutMs = attemptBudget(ep.timeoutMs, remaining, hasFallback(this.endpoints, this.health, tried, idx));
      const handle = this.handles[idx]!;
      if (failingOver) {
        this.totals.failovers++;
        failingOver = false;
      }

      if (checkStatus) {
        const sig = signatureOfSendParams(params);
        if (sig === undefined) {
          this.totals.sendTransaction.notResent++;
          throw this.fail(
            'RPC_POOL_EXHAUSTED',
            method,
            attempts,
            'sendTransaction not re-sent: the failed attempt may have reached its node and the signature is unreadable',
          );
        }
        this.totals.sendTransaction.statusChecks++;
        const st = await handle.attempt(
          { method: 'getSignatureStatuses', params: [[sig], { searchTransactionHistory: false }], timeoutMs },
          signal,
        );
        sent++;
        this.record(idx, st, span, 'getSignatureStatuses');
        if (st.ok) {
          const value = (st.result as { value?: unknown[] } | null)?.value?.[0];
          if (value !== null && value !== undefined) {
            this.totals.sendTransaction.alreadyLanded++;
            return this.succeed<T>(method, sig as T, ep, t0, sent);
          }
        } else if (st.class === 'aborted') {
          throw this.fail('RPC_ABORTED', method, attempts);
        } else if (st.class !== 'caller_error') {
          attempts.push(toAttempt(ep, st, 'getSignatureStatuses'));
          tried |= 1 << idx;
          if (isFailureClass(st.class)) failingOver = true;
          continue;
        }
        // Not known there (or the status could not be read): re-send the same signed bytes.
        this.totals.sendTransaction.resent++;
        resent = true;
      }

      const outcome = await handle.attempt({ method, params, timeoutMs, lossless }, signal);
      if (wasSent(outcome)) sent++;
      this.record(idx, outcome, span);
      if (outcome.ok) return this.succeed<T>(method, outcome.result as T, ep, t0, sent);
      attempts.push(toAttempt(ep, outcome));
      switch (outcome.class) {
        case 'caller_error':
          if (isSend && resent && ALREADY_PROCESSED.test(outcome.message ?? '')) {
            const sig = signatureOfSendParams(params);
            if (sig !== undefined) {
              this.totals.sendTransaction.alreadyLanded++;
              return this.succeed<T>(method, sig as T, ep, t0, sent);
            }
          }
          this.totals.callerErrors++;
          this.emitCompleted(method, false, ep.name, performance.now() - t0, sent, 'caller_error');
          throw new RpcCallError(
            outcome.rpcCode ?? 0,
            outcome.message ?? 'JSON-RPC error',
            outcome.data,
            ep.name,
            attempts,
          );
        case 'aborted':
          throw this.fail('RPC_ABORTED', method, attempts);
        case 'circuit_open':
        case 'throttled':
        case 'resting':
        case 'overloaded':
          tried |= 1 << idx;
          continue;
        default:
          tried |= 1 << idx;
          failingOver = true;
          this.logger.debug(
            { method, endpoint: ep.name, class: outcome.class, latencyMs: outcome.latencyMs },
            'rpc attempt failed; failing over',
          );
          if (isSend && outcome.sent) checkStatus = true;
      }
    }
  }

  /**
   * Hedged reads: when the first attempt has not answered after `hedgeAfterMs`, the same request
   * goes to the next endpoint too; the first answer wins. The slower attempt is not aborted: it
   * runs to its own deadline and its outcome is still counted, so a hung endpoint keeps failing
   * its breaker (an aborted attempt would be released uncounted and the endpoint never isolated).
   * Endpoint failures still fail over at once; the caller's abort stops everything.
   */
  private async hedged<T>(
    method: string,
    params: unknown[],
    deadline: number,
    t0: number,
    signal: AbortSignal | undefined,
    hedgeAfterMs: number,
    span: Span | undefined,
    lossless: boolean,
  ): Promise<RpcCallResult<T>> {
    const attempts: RpcAttempt[] = [];
    let tried = 0;
    let sent = 0;
    type Running = { idx: number; ctl: AbortController; p: Promise<{ r: Running; o: AttemptOutcome }> };
    const running = new Set<Running>();
    const onAbort = (): void => {
      for (const r of running) r.ctl.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const launch = (): boolean => {
      const now = this.clock.now();
      const idx = selectEndpoint(this.endpoints, this.health, now, tried, this.random);
      if (idx < 0 || deadline - now <= 0) return false;
      tried |= 1 << idx;
      const ctl = new AbortController();
      const ep = this.endpoints[idx]!;
      const r: Running = { idx, ctl, p: undefined as unknown as Running['p'] };
      const timeoutMs = attemptBudget(
        ep.timeoutMs,
        deadline - now,
        hasFallback(this.endpoints, this.health, tried, idx),
      );
      r.p = this.handles[idx]!.attempt({ method, params, timeoutMs, lossless }, ctl.signal).then((o) => ({ r, o }));
      running.add(r);
      return true;
    };
    try {
      launch();
      for (;;) {
        if (signal?.aborted) throw this.fail('RPC_ABORTED', method, attempts);
        if (running.size === 0) {
          const now = this.clock.now();
          if (deadline - now <= 0) throw this.fail('RPC_DEADLINE_EXCEEDED', method, attempts);
          const at = earliestAvailable(this.endpoints, this.health, now, tried);
          if (at < deadline) {
            await this.sleep(at - now, signal, method, attempts);
            if (!launch()) continue;
            continue;
          }
          throw this.exhausted(method, attempts, tried);
        }
        let hedgeTimer: TimerHandle | undefined;
        const waits: Promise<{ r: Running; o: AttemptOutcome } | 'hedge'>[] = [...running].map((r) => r.p);
        if (running.size === 1) {
          waits.push(
            new Promise<'hedge'>((res) => (hedgeTimer = this.clock.setTimeout(() => res('hedge'), hedgeAfterMs))),
          );
        }
        const first = await Promise.race(waits);
        if (hedgeTimer !== undefined) this.clock.clearTimeout(hedgeTimer);
        if (first === 'hedge') {
          if (launch()) this.totals.hedges++;
          continue;
        }
        const { r, o } = first;
        running.delete(r);
        const ep = this.endpoints[r.idx]!;
        if (wasSent(o)) sent++;
        if (o.ok || o.class !== 'aborted') this.record(r.idx, o, span);
        if (o.ok) return this.succeed<T>(method, o.result as T, ep, t0, sent);
        if (o.class === 'aborted') {
          if (signal?.aborted) throw this.fail('RPC_ABORTED', method, attempts);
          continue;
        }
        attempts.push(toAttempt(ep, o));
        if (o.class === 'caller_error') {
          this.totals.callerErrors++;
          this.emitCompleted(method, false, ep.name, performance.now() - t0, sent, 'caller_error');
          throw new RpcCallError(o.rpcCode ?? 0, o.message ?? 'JSON-RPC error', o.data, ep.name, attempts);
        }
        if (running.size === 0 && launch() && isFailureClass(o.class)) this.totals.failovers++;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // Losers settle in the background: count their outcomes like any other attempt.
      for (const r of running) {
        void r.p.then(({ o }) => {
          if (o.ok || o.class !== 'aborted') this.record(r.idx, o);
        });
      }
    }
  }

  private succeed<T>(
    method: string,
    result: T,
    ep: NormalizedEndpoint,
    t0: number,
    attempts: number,
  ): RpcCallResult<T> {
    const latencyMs = performance.now() - t0;
    this.totals.successes++;
    this.callLatency.record(latencyMs);
    if (this.bus) this.emitCompleted(method, true, ep.name, latencyMs, attempts);
    return { ok: true, result, endpoint: ep.name, latencyMs, attempts };
  }

  private record(idx: number, o: AttemptOutcome, span?: Span, method?: string): void {
    if (span?.isRecording())
      recordRpcAttempt(span, this.endpoints[idx]!.name, o.ok ? 'ok' : o.class, o.latencyMs, method);
    const c = this.counters[idx]!;
    if (o.ok) {
      c.attempts++;
      c.successes++;
      c.latency.record(o.latencyMs);
    } else if (o.class === 'caller_error') {
      c.attempts++;
      c.callerErrors++;
      c.latency.record(o.latencyMs);
    } else if (o.class === 'aborted') {
      c.attempts++;
      c.aborted++;
    } else if (isSkipClass(o.class)) {
      c.skipped[o.class]++;
    } else {
      c.attempts++;
      c.failures[o.class as FailureClass]++;
      c.latency.record(o.latencyMs);
    }
    if (this.health.stateChanges(idx) !== this.seenStateChanges[idx]) this.noticeStateChange(idx);
    if (this.shared && !o.ok && o.class === 'http_429') this.shared.rateLimited(idx, this.health.rateLimitedUntil(idx));
  }

  private exhausted(method: string, attempts: RpcAttempt[], tried: number): RpcPoolError {
    // Name every endpoint not attempted, with why it was passed over.
    const now = this.clock.now();
    const all = attempts.slice();
    for (let i = 0; i < this.endpoints.length; i++) {
      if ((tried & (1 << i)) !== 0) continue;
      const ep = this.endpoints[i]!;
      const cls: SkipClass | FailureClass = !this.health.alive(i)
        ? 'actor_crash'
        : this.health.state(i) !== STATE_CLOSED || this.health.sharedOpen(i)
          ? 'circuit_open'
          : this.health.rateLimitedUntil(i) > now || this.health.sharedRestUntil(i) > now
            ? 'resting'
            : 'throttled';
      all.push({ endpoint: ep.name, url: ep.redactedUrl, class: cls, latencyMs: 0, sent: false });
    }
    return this.fail('RPC_POOL_EXHAUSTED', method, all);
  }

  private fail(code: RpcPoolErrorCode, method: string, attempts: RpcAttempt[], detail?: string): RpcPoolError {
    this.totals.failed[code] = (this.totals.failed[code] ?? 0) + 1;
    if (this.bus && code !== 'RPC_POOL_CLOSED') this.emitCompleted(method, false, undefined, 0, attempts.length, code);
    if (code === 'RPC_POOL_EXHAUSTED' || code === 'RPC_DEADLINE_EXCEEDED') {
      this.logger.warn({ method, code, attempts }, 'rpc call failed on every endpoint');
    }
    return new RpcPoolError(code, method, attempts, detail);
  }

  /** Waits for a resting/throttled endpoint inside the call's deadline; honours the caller's signal. */
  private sleep(ms: number, signal: AbortSignal | undefined, method: string, attempts: RpcAttempt[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.clock.clearTimeout(t);
        reject(this.fail('RPC_ABORTED', method, attempts));
      };
      const t = this.clock.setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(1, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private emitCompleted(
    method: string,
    ok: boolean,
    endpoint: string | undefined,
    latencyMs: number,
    attempts: number,
    error?: string,
  ): void {
    if (!this.bus) return;
    try {
      this.bus.publish(
        'rpc_call_completed',
        { method, ok, endpoint, latencyMs, attempts, ...(error ? { error } : {}) },
        'low',
      );
    } catch (err) {
      this.totals.busErrors++;
      this.logger.debug({ err }, 'rpc pool: bus publish failed');
    }
  }

  private noticeStateChange(idx: number): void {
    this.seenStateChanges[idx] = this.health.stateChanges(idx);
    const to = this.health.state(idx);
    const from = this.seenStates[idx]!;
    if (to === from) return;
    this.seenStates[idx] = to;
    this.counters[idx]!.transitionsTo[stateName(to)]++;
    this.shared?.breakerChanged(idx, to, this.health.openUntil(idx));
    const ep = this.endpoints[idx]!;
    this.logger.info(
      { endpoint: ep.name, url: ep.redactedUrl, from: stateName(from), to: stateName(to) },
      'rpc endpoint state changed',
    );
    if (!this.bus) return;
    try {
      this.bus.publish(
        'rpc_endpoint_state_changed',
        { endpoint: ep.name, url: ep.redactedUrl, from: stateName(from), to: stateName(to) },
        'low',
      );
    } catch {
      this.totals.busErrors++;
    }
  }

  /** Probers change states between calls; look for those changes once per health interval. */
  private scheduleWatch(): void {
    if (this.closed) return;
    this.watchTimer = this.clock.setTimeout(() => {
      for (let i = 0; i < this.endpoints.length; i++) {
        if (this.health.stateChanges(i) !== this.seenStateChanges[i]) this.noticeStateChange(i);
      }
      this.scheduleWatch();
    }, this.cfg.healthIntervalMs);
  }

  /** The configured endpoints (redacted URLs), in failover order as configured. */
  getEndpoints(): { name: string; url: string; tier: number }[] {
    return this.endpoints.map((e) => ({ name: e.name, url: e.redactedUrl, tier: e.tier }));
  }

  /**
   * A WebSocket URL for subscriptions: the first endpoint in tier order that is up, CLOSED,
   * fresh and not suspect, or the `skip`-th such endpoint (cycling) after failed connections; every endpoint in
   * tier order when none is healthy. Contains credentials: do not log it.
   */
  wsEndpoint(skip = 0): string {
    const order = [...this.endpoints].sort((a, b) => a.tier - b.tier || a.index - b.index);
    const healthy = order.filter(
      (e) =>
        this.health.alive(e.index) &&
        this.health.state(e.index) === STATE_CLOSED &&
        !this.health.demoted(e.index) &&
        !this.health.suspect(e.index),
    );
    const list = healthy.length > 0 ? healthy : order;
    return list[skip % list.length]!.wsUrl;
  }

  /** Every endpoint's WebSocket URL in tier order, healthy or not (subscriptions fall back to them). Contains credentials. */
  wsEndpoints(): string[] {
    return [...this.endpoints].sort((a, b) => a.tier - b.tier || a.index - b.index).map((e) => e.wsUrl);
  }

  getStats(): PoolStats {
    const now = this.clock.now();
    const best = this.health.bestSlot(now - 3 * this.cfg.healthIntervalMs);
    const endpoints: EndpointStats[] = this.endpoints.map((ep, i) => {
      const c = this.counters[i]!;
      const slot = this.health.slot(i);
      const failures = Object.values(c.failures).reduce((a, b) => a + b, 0);
      const rl = this.health.rateLimitedUntil(i);
      const th = this.health.throttledUntil(i);
      return {
        name: ep.name,
        url: ep.redactedUrl,
        tier: ep.tier,
        weight: ep.weight,
        state: stateName(this.health.state(i)),
        alive: this.health.alive(i),
        calls: c.attempts,
        successes: c.successes,
        callerErrors: c.callerErrors,
        aborted: c.aborted,
        failures,
        failuresByClass: { ...c.failures },
        skippedByClass: { ...c.skipped },
        latency: c.latency.summary(),
        latencyEwmaMs: this.health.latencyEwma(i),
        inFlight: this.health.inFlight(i),
        rateLimitedUntil: rl > now ? rl : 0,
        throttledUntil: th > now ? th : 0,
        slot,
        lag: slot > 0 && best > 0 ? Math.max(0, best - slot) : 0,
        demoted: this.health.demoted(i),
        suspect: this.health.suspect(i),
        probes: this.health.probes(i),
        probeFailures: this.health.probeFailures(i),
        incarnations: this.health.generation(i),
        transitionsTo: { ...c.transitionsTo },
      };
    });
    return {
      mode: this.mode,
      calls: this.totals.calls,
      successes: this.totals.successes,
      callerErrors: this.totals.callerErrors,
      failed: { ...this.totals.failed },
      failovers: this.totals.failovers,
      hedges: this.totals.hedges,
      sendTransaction: { ...this.totals.sendTransaction },
      latency: this.callLatency.summary(),
      bestSlot: best,
      endpoints,
      ...(this.shared ? { shared: this.shared.stats() } : {}),
    };
  }

  /**
   * Attempt latency per endpoint as cumulative counts at the given bounds (ms), for exporting
   * histograms (see src/observe/prometheus.ts). Read at scrape time, not on the call path.
   */
  latencyBuckets(boundsMs: readonly number[]): Record<string, { cumulative: number[]; count: number; sumMs: number }> {
    const out: Record<string, { cumulative: number[]; count: number; sumMs: number }> = {};
    this.endpoints.forEach((ep, i) => {
      out[ep.name] = this.counters[i]!.latency.cumulative(boundsMs);
    });
    return out;
  }

  /** Stops probers, closes keep-alive sockets and endpoint actors. Later calls reject with RPC_POOL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.watchTimer !== undefined) this.clock.clearTimeout(this.watchTimer);
    if (this.starting) await this.starting.catch(() => undefined);
    await Promise.all(this.handles.map((h) => h.close()));
    this.releaseSecrets();
    await this.shared?.close();
  }
}

/** Whether an attempt made a request (skips make none). */
function wasSent(o: AttemptOutcome): boolean {
  return o.ok || !isSkipClass(o.class);
}

function toAttempt(ep: NormalizedEndpoint, o: AttemptOutcome, method?: string): RpcAttempt {
  if (o.ok) return { endpoint: ep.name, url: ep.redactedUrl, class: 'ok', latencyMs: o.latencyMs, sent: true };
  const a: RpcAttempt = {
    endpoint: ep.name,
    url: ep.redactedUrl,
    class: o.class,
    latencyMs: o.latencyMs,
    sent: o.sent,
  };
  if (o.error !== undefined) a.error = o.error;
  // Redacted here too: in actor mode the message was written in a worker.
  if (o.message !== undefined) a.message = redactText(method ? `${method}: ${o.message}` : o.message);
  if (o.rpcCode !== undefined) a.rpcCode = o.rpcCode;
  if (o.httpStatus !== undefined) a.httpStatus = o.httpStatus;
  return a;
}
