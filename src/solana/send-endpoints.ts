/**
 * The send class: one RpcEndpoint per provider used only for sendTransaction, with its own
 * breaker, its own client-side rate limit and its own 429 rests, apart from the read pool's. A
 * provider that rate-limits reads (or whose read breaker is open from a burst of slow
 * getProgramAccounts) still takes sends, and a flood of re-broadcasts cannot spend the read
 * budget or open the read breaker. The endpoint code (HTTP, classification, breaker permits,
 * rests, recovery probe) is the pool's own, reused unchanged.
 */
import { systemClock, type Clock, type Random } from '../clock.ts';
import { CircuitBreaker } from '../breaker/index.ts';
import { ConfigError } from '../errors.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { normalizePoolConfig, type PoolEndpointConfig, type NormalizedEndpoint } from '../rpc/config.ts';
import { RpcEndpoint } from '../rpc/endpoint.ts';
import { HealthTable, STATE_CLOSED, stateName } from '../rpc/health.ts';
import { finite, integer, knownKeys, timeoutMs } from '../validate.ts';

export interface SendEndpointsOptions {
  /** The providers, as in the pool's configuration (url, name, rateLimitRps, timeoutMs). */
  endpoints: PoolEndpointConfig[];
  /** Sends per second per provider; overrides each endpoint's rateLimitRps (0 = no limit). */
  rateLimitRps?: number;
  /** Deadline of one send attempt (default 1500 ms). */
  attemptTimeoutMs?: number;
  /** Failures before a provider's send breaker opens (default 3). */
  failureThreshold?: number;
  /** How long an open send breaker waits before its recovery probe (default 5000 ms). */
  cooldownMs?: number;
  /** Freshness probe of the send class while CLOSED (default 10 000 ms: sends need few probes). */
  probeIntervalMs?: number;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
}

/** What one attempt came back with (the pool's own outcome shape). */
export type SendOutcome = Awaited<ReturnType<RpcEndpoint['attempt']>>;

export interface SendAttempt {
  endpoint: string;
  outcome: SendOutcome;
}

export interface SendEndpointStats {
  name: string;
  url: string;
  state: string;
  sends: number;
  accepted: number;
  failures: number;
  skipped: number;
  rateLimitedUntil: number;
}

const KEYS = [
  'endpoints',
  'rateLimitRps',
  'attemptTimeoutMs',
  'failureThreshold',
  'cooldownMs',
  'probeIntervalMs',
  'clock',
  'random',
  'logger',
] as const;

export class SendEndpoints {
  private readonly eps: NormalizedEndpoint[];
  private readonly endpoints: RpcEndpoint[];
  private readonly health: HealthTable;
  private readonly clock: Clock;
  private readonly counts: { sends: number; accepted: number; failures: number; skipped: number }[];
  private closed = false;

  constructor(options: SendEndpointsOptions) {
    if (options === null || typeof options !== 'object')
      throw new ConfigError('send', options, 'an object with endpoints');
    knownKeys('send', options, KEYS);
    const attempt = timeoutMs('send.attemptTimeoutMs', options.attemptTimeoutMs ?? 1500);
    const cfg = normalizePoolConfig({
      endpoints: (options.endpoints ?? []).map((e) =>
        options.rateLimitRps !== undefined
          ? { ...e, rateLimitRps: finite('send.rateLimitRps', options.rateLimitRps, 0) }
          : e,
      ),
      attemptTimeoutMs: attempt,
    });
    const failureThreshold = integer('send.failureThreshold', options.failureThreshold ?? 3, 1, 1000);
    const cooldownMs = timeoutMs('send.cooldownMs', options.cooldownMs ?? 5000, { min: 0 });
    const probeIntervalMs = timeoutMs('send.probeIntervalMs', options.probeIntervalMs ?? 10_000, { min: 10 });
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    const logger = options.logger ?? silentLogger;
    this.eps = cfg.endpoints;
    this.health = new HealthTable(this.eps.length);
    this.counts = this.eps.map(() => ({ sends: 0, accepted: 0, failures: 0, skipped: 0 }));
    this.endpoints = this.eps.map(
      (endpoint) =>
        new RpcEndpoint({
          endpoint,
          health: this.health,
          breaker: new CircuitBreaker({
            name: `send_${endpoint.name}`,
            failureThreshold,
            cooldownMs,
            jitterRatio: 0.1,
            clock: this.clock,
            random,
            logger,
          }),
          clock: this.clock,
          random,
          logger,
          // Slot lag is the read pool's concern: a lagging node still forwards a send to the leader.
          maxSlotLag: Number.MAX_SAFE_INTEGER,
          healthIntervalMs: probeIntervalMs,
          stallAfterMs: 0,
        }),
    );
  }

  /** Names of the providers whose send breaker is CLOSED and that are not resting or throttled now. */
  healthy(): string[] {
    const now = this.clock.now();
    return this.eps
      .filter((e) => this.health.state(e.index) === STATE_CLOSED && this.health.unavailableUntil(e.index) <= now)
      .map((e) => e.name);
  }

  /**
   * Sends the same request to every provider at once. Providers whose send breaker is open, or
   * that rest after a 429, are skipped without a request (their outcome says so).
   */
  async broadcast(method: string, params: unknown[]): Promise<SendAttempt[]> {
    if (this.closed) return [];
    return Promise.all(
      this.endpoints.map(async (ep, i) => {
        const outcome = await ep.attempt({ method, params, timeoutMs: this.eps[i]!.timeoutMs });
        const c = this.counts[i]!;
        if (outcome.ok) {
          c.sends++;
          c.accepted++;
        } else if (outcome.class === 'circuit_open' || outcome.class === 'throttled' || outcome.class === 'resting')
          c.skipped++;
        else {
          c.sends++;
          if (outcome.class !== 'caller_error') c.failures++;
        }
        return { endpoint: this.eps[i]!.name, outcome };
      }),
    );
  }

  getStats(): SendEndpointStats[] {
    const now = this.clock.now();
    return this.eps.map((e, i) => {
      const rl = this.health.rateLimitedUntil(i);
      return {
        name: e.name,
        url: e.redactedUrl,
        state: stateName(this.health.state(i)),
        ...this.counts[i]!,
        rateLimitedUntil: rl > now ? rl : 0,
      };
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ep of this.endpoints) ep.close();
  }
}
