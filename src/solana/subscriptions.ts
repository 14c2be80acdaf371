/**
 * Subscriptions that survive a provider: slot, account, logs (mentioning one address) and
 * signature subscriptions over one PubSub connection to a healthy endpoint of the pool, moved to
 * another endpoint when that one stalls, silently drops, closes or dies, with the gap backfilled
 * over HTTP so no update is lost or delivered twice.
 *
 * Liveness: every connection carries a slot subscription as a heartbeat (a slot every ~400 ms on
 * mainnet). No message of any kind for `watchdogMs` means the stream is dead, whether the provider
 * stalled without a close frame or dropped the subscriptions silently. A close (1006 on a killed
 * node, 1000 on a provider's scheduled close) moves at once. Endpoints that failed are avoided
 * for a while and reconnects back off exponentially, so a flapping provider cannot cause a
 * resubscription loop.
 *
 * After a move, each subscription is made again on the new connection FIRST, and its gap is
 * backfilled SECOND; live notifications that arrive meanwhile are held and merged, so the overlap
 * is deduplicated rather than lost:
 *   logs       getSignaturesForAddress(address) since the subscription began, minus what was
 *              delivered, with each transaction's logs from getTransaction; oldest first
 *   account    getAccountInfo at the resumed slot, delivered when newer and different
 *   signature  getSignatureStatuses: delivered once if it reached the commitment meanwhile
 *   slot       slots only move forward; the slots missed during the move are counted, not invented
 * Limits, said plainly: an account subscription delivers the latest state, not every
 * intermediate write; a logs backfill reads at most `backfillLimit` signatures (more is counted
 * as truncated); logs need a `mentions` address (an "all" stream has nothing to backfill by).
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { ConfigError, PalisadeError } from '../errors.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { redactText } from '../log/redact.ts';
import type { CallOptions, RpcCallResult } from '../rpc/pool.ts';
import { decodeBase58 } from '../encoding/base58.ts';
import { integer, knownKeys, oneOf, timeoutMs } from '../validate.ts';
import { defaultSocketFactory, PubsubConnection, type Notification, type SocketFactory } from './pubsub-connection.ts';

/** What the manager needs from the pool: reads for backfill, and a healthy endpoint's wsUrl. */
export interface SubscriptionPool {
  call(method: string, params?: unknown[], options?: CallOptions): Promise<RpcCallResult>;
  wsEndpoint(skip?: number): string;
  /** Every endpoint's wsUrl, healthy or not: PubSub can stall on the one endpoint HTTP calls healthy. */
  wsEndpoints?(): string[];
}

export type SubCommitment = 'processed' | 'confirmed' | 'finalized';

export interface SlotEvent {
  slot: number;
  parent: number;
  root: number;
}
export interface LogsEvent {
  signature: string;
  slot: number;
  err: unknown;
  /** null when a backfilled transaction's logs could not be read (counted in stats). */
  logs: string[] | null;
  backfilled: boolean;
}
export interface AccountEvent {
  slot: number;
  value: unknown;
  backfilled: boolean;
}
export interface SignatureEvent {
  signature: string;
  slot: number;
  err: unknown;
  backfilled: boolean;
}

/** Where a logs stream stopped: the last slot delivered and the signatures delivered at that slot. */
export interface LogsCursor {
  slot: number;
  signatures: string[];
}

export interface Subscription {
  readonly id: number;
  unsubscribe(): void;
}

export interface ResilientSubscriptionsOptions {
  /** No message at all for this long = the stream is dead (default 3000 ms). */
  watchdogMs?: number;
  /** Deadline to open a connection or get a subscribe answer (default: watchdogMs). */
  connectTimeoutMs?: number;
  /** A failed endpoint is avoided this long when another is available (default 30 000 ms). */
  avoidMs?: number;
  /** Reconnect backoff: base × 2^n, capped (defaults 50 ms, 5000 ms). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Signatures fetched per logs backfill (default 1000, the RPC maximum). */
  backfillLimit?: number;
  /** Signatures remembered per logs subscription for deduplication (default 10 000). */
  dedupMemory?: number;
  /** After a move, the gap is read once more this much later (default 1500 ms, a few slots). */
  lateBackfillMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** How sockets are made (tests); default the `ws` client. */
  socketFactory?: SocketFactory;
}

export type FailoverReason = 'stall' | 'closed' | 'connect_failed' | 'subscribe_failed';

export interface FailoverRecord {
  reason: FailoverReason;
  from: string;
  to: string;
  /** Clock ms from the last message on the old connection to detection (stall), or 0. */
  silentMs: number;
  /** Clock ms from detection until every subscription was made again elsewhere. */
  resubscribeMs: number;
}

export interface SubscriptionStats {
  endpoint: string | undefined;
  connected: boolean;
  /** Every subscription is made on the current connection (and its gap backfilled). */
  live: boolean;
  subscriptions: number;
  connections: number;
  failovers: Record<FailoverReason, number>;
  resubscriptions: number;
  delivered: number;
  duplicatesDropped: number;
  backfilled: { logs: number; account: number; signature: number };
  backfillFailures: number;
  /** Backfill reads tried again after a failure. */
  backfillRetries: number;
  /** Second looks at a gap, lateBackfillMs after a move. */
  lateBackfills: number;
  backfillTruncated: number;
  backfillLogsMissing: number;
  slotsMissedDuringFailover: number;
  handlerErrors: number;
  /** Notifications without a usable slot or value (counted, logged, not delivered). */
  malformedNotifications: number;
  /** Watchdog checks that ran late (a blocked event loop) and were repeated before judging. */
  lateWatchdogChecks: number;
  lastFailover: FailoverRecord | undefined;
}

export class SubscriptionError extends PalisadeError {
  constructor(message: string) {
    super('SUBSCRIPTION_CLOSED', message);
  }
}

type Kind = 'slot' | 'logs' | 'account' | 'signature';

interface LocalSub {
  id: number;
  kind: Kind;
  commitment: SubCommitment;
  address?: string;
  signature?: string;
  handler: (e: never) => void;
  serverId: number | undefined;
  /** Live notifications held while the gap is backfilled. */
  held: Notification[] | undefined;
  /** logs: delivered signatures (insertion order) and the slot below which all are taken as delivered. */
  delivered?: Map<string, number>;
  watermark: number;
  /**
   * logs: the first slot whose transactions this subscription owes the caller (read at the
   * subscription's commitment before it was first made; -1 until then). Backfill lower bound.
   */
  sinceSlot: number;
  /** account / slot: last delivered slot; signature: delivered already. */
  lastSlot: number;
  lastValue?: string;
  done: boolean;
  /** The connection generation this subscription was last made on. */
  madeOn: number;
  /** Continues an earlier stream: its first subscription backfills from the cursor. */
  resuming: boolean;
}

const KEYS = [
  'watchdogMs',
  'connectTimeoutMs',
  'avoidMs',
  'backoffBaseMs',
  'backoffMaxMs',
  'backfillLimit',
  'dedupMemory',
  'lateBackfillMs',
  'clock',
  'logger',
  'socketFactory',
] as const;
const COMMITMENTS = ['processed', 'confirmed', 'finalized'] as const;
const RANK: Record<string, number> = { processed: 0, confirmed: 1, finalized: 2 };
/** Bound on notifications held for not-yet-mapped subscription ids (and on such ids). */
const MAX_EARLY = 256;
/** Backfill reads per gap before it is given up on (counted in backfillFailures). */
const BACKFILL_TRIES = 4;

export class ResilientSubscriptions {
  private readonly pool: SubscriptionPool;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly watchdogMs: number;
  private readonly connectTimeoutMs: number;
  private readonly avoidMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly backfillLimit: number;
  private readonly dedupMemory: number;
  private readonly lateBackfillMs: number;
  private readonly factory: SocketFactory;
  private readonly subs = new Map<number, LocalSub>();
  private readonly byServerId = new Map<number, LocalSub>();
  /** Notifications for a server id not yet mapped (current connection only). */
  private readonly early = new Map<number, Notification[]>();
  private readonly avoid = new Map<string, number>();
  private conn: PubsubConnection | undefined;
  private heartbeatId: number | undefined;
  private lastHeartbeatSlot = 0;
  private generation = 0;
  private connecting: Promise<void> | undefined;
  /** True once every subscription is made on the current connection; new ones are then made at once. */
  private live = false;
  private watchdog: TimerHandle | undefined;
  private nextLocalId = 1;
  private closed = false;
  private readonly stats = {
    connections: 0,
    failovers: { stall: 0, closed: 0, connect_failed: 0, subscribe_failed: 0 } as Record<FailoverReason, number>,
    resubscriptions: 0,
    delivered: 0,
    duplicatesDropped: 0,
    backfilled: { logs: 0, account: 0, signature: 0 },
    backfillFailures: 0,
    backfillRetries: 0,
    lateBackfills: 0,
    backfillTruncated: 0,
    backfillLogsMissing: 0,
    slotsMissedDuringFailover: 0,
    handlerErrors: 0,
    malformedNotifications: 0,
    lateWatchdogChecks: 0,
    lastFailover: undefined as FailoverRecord | undefined,
  };

  constructor(pool: SubscriptionPool, options: ResilientSubscriptionsOptions = {}) {
    if (!pool || typeof pool.call !== 'function' || typeof pool.wsEndpoint !== 'function') {
      throw new ConfigError('subscriptions.pool', pool, 'a pool with call() and wsEndpoint()');
    }
    if (options === null || typeof options !== 'object')
      throw new ConfigError('subscriptions', options, 'an options object');
    knownKeys('subscriptions', options, KEYS);
    this.pool = pool;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.watchdogMs = timeoutMs('subscriptions.watchdogMs', options.watchdogMs ?? 3000, { min: 10 });
    this.connectTimeoutMs = timeoutMs('subscriptions.connectTimeoutMs', options.connectTimeoutMs ?? this.watchdogMs, {
      min: 10,
    });
    this.avoidMs = timeoutMs('subscriptions.avoidMs', options.avoidMs ?? 30_000, { min: 0 });
    this.backoffBaseMs = timeoutMs('subscriptions.backoffBaseMs', options.backoffBaseMs ?? 50, { min: 1 });
    this.backoffMaxMs = timeoutMs('subscriptions.backoffMaxMs', options.backoffMaxMs ?? 5000, {
      min: this.backoffBaseMs,
    });
    this.backfillLimit = integer('subscriptions.backfillLimit', options.backfillLimit ?? 1000, 1, 1000);
    this.dedupMemory = integer('subscriptions.dedupMemory', options.dedupMemory ?? 10_000, 1, 1_000_000);
    this.lateBackfillMs = timeoutMs('subscriptions.lateBackfillMs', options.lateBackfillMs ?? 1500, { min: 1 });
    this.factory = options.socketFactory ?? defaultSocketFactory;
  }

  /** The slot stream (served by the connection's heartbeat). Slots only move forward. */
  slot(handler: (e: SlotEvent) => void): Subscription {
    return this.add({ kind: 'slot', commitment: 'processed' }, handler);
  }

  /**
   * Transactions mentioning `address` (a program id, an account), with their logs. `resumeFrom`
   * continues an earlier stream (another process, a restarted actor): everything after `slot`,
   * and at `slot` everything but `signatures`, is delivered, the gap backfilled first.
   */
  logs(
    address: string,
    handler: (e: LogsEvent) => void,
    options: { commitment?: SubCommitment; resumeFrom?: LogsCursor } = {},
  ): Subscription {
    const commitment = this.commitmentOf(options, 'confirmed');
    const resume = options.resumeFrom === undefined ? undefined : checkCursor(options.resumeFrom);
    return this.add(
      { kind: 'logs', commitment, address: checkAddress('logs address', address), ...(resume ? { resume } : {}) },
      handler,
    );
  }

  account(
    address: string,
    handler: (e: AccountEvent) => void,
    options: { commitment?: SubCommitment } = {},
  ): Subscription {
    return this.add(
      {
        kind: 'account',
        commitment: this.commitmentOf(options, 'confirmed'),
        address: checkAddress('account address', address),
      },
      handler,
    );
  }

  /** One notification when `signature` reaches the commitment; then the subscription ends. */
  signature(
    signature: string,
    handler: (e: SignatureEvent) => void,
    options: { commitment?: SubCommitment } = {},
  ): Subscription {
    const bytes = typeof signature === 'string' && signature.length <= 100 ? decodeBase58(signature) : undefined;
    if (bytes?.length !== 64) throw new ConfigError('signature', signature, 'a base58 transaction signature');
    return this.add({ kind: 'signature', commitment: this.commitmentOf(options, 'confirmed'), signature }, handler);
  }

  getStats(): SubscriptionStats {
    return {
      ...this.stats,
      failovers: { ...this.stats.failovers },
      backfilled: { ...this.stats.backfilled },
      endpoint: this.conn ? redactText(this.conn.url) : undefined,
      connected: this.conn?.isOpen ?? false,
      live: this.live && (this.conn?.isOpen ?? false),
      subscriptions: this.subs.size,
    };
  }

  /** Resolves once a connection is open and every subscription is made (tests, startup checks). */
  async ready(): Promise<void> {
    while (!this.closed && (this.connecting || !this.conn?.isOpen)) {
      if (!this.connecting) this.ensureConnected();
      await this.connecting;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
    this.conn?.close();
    this.conn = undefined;
    this.subs.clear();
    this.byServerId.clear();
  }

  private commitmentOf(options: { commitment?: SubCommitment }, dflt: SubCommitment): SubCommitment {
    if (options === null || typeof options !== 'object')
      throw new ConfigError('subscription options', options, 'an object');
    return oneOf('commitment', options.commitment ?? dflt, COMMITMENTS);
  }

  private add(
    spec: { kind: Kind; commitment: SubCommitment; address?: string; signature?: string; resume?: LogsCursor },
    handler: (e: never) => void,
  ): Subscription {
    if (this.closed) throw new SubscriptionError('the subscription manager is closed');
    if (typeof handler !== 'function') throw new ConfigError('handler', handler, 'a function');
    const { resume, ...rest } = spec;
    const sub: LocalSub = {
      id: this.nextLocalId++,
      ...rest,
      handler,
      serverId: undefined,
      held: undefined,
      watermark: -1,
      sinceSlot: -1,
      lastSlot: -1,
      done: false,
      madeOn: -1,
      resuming: resume !== undefined,
      ...(spec.kind === 'logs'
        ? { delivered: new Map<string, number>(resume?.signatures.map((sig) => [sig, resume.slot])) }
        : {}),
    };
    if (resume) sub.sinceSlot = resume.slot;
    this.subs.set(sub.id, sub);
    const conn = this.conn;
    if (conn?.isOpen && this.live) {
      const gen = this.generation;
      this.subscribe(sub, conn, gen, false).catch((err: unknown) => {
        if (gen !== this.generation || this.closed) return;
        this.logger.warn(
          { kind: sub.kind, err: redactText(String((err as Error)?.message ?? err)) },
          'subscribe failed; moving to another endpoint',
        );
        this.failover('subscribe_failed', 0);
      });
    } else this.ensureConnected();
    return { id: sub.id, unsubscribe: () => this.remove(sub) };
  }

  private remove(sub: LocalSub): void {
    if (!this.subs.delete(sub.id)) return;
    sub.done = true;
    if (sub.serverId !== undefined) {
      this.byServerId.delete(sub.serverId);
      if (sub.kind !== 'slot') this.conn?.notify(`${sub.kind}Unsubscribe`, [sub.serverId]);
    }
  }

  private ensureConnected(): void {
    if (this.closed || this.connecting) return;
    this.connecting = this.connectLoop(undefined, this.clock.now()).finally(() => {
      this.connecting = undefined;
    });
  }

  /** Moves every subscription off the current connection. */
  private failover(reason: FailoverReason, silentMs: number): void {
    if (this.closed || this.connecting) return;
    const old = this.conn;
    this.stats.failovers[reason]++;
    const from = old?.url;
    if (from) this.avoid.set(from, this.clock.now() + this.avoidMs);
    this.logger.warn(
      { reason, endpoint: from ? redactText(from) : undefined, silentMs },
      'subscription stream lost; moving to another endpoint',
    );
    this.conn = undefined;
    this.live = false;
    old?.close(`failover: ${reason}`);
    this.byServerId.clear();
    this.early.clear();
    for (const s of this.subs.values()) s.serverId = undefined;
    this.heartbeatId = undefined;
    const detectedAt = this.clock.now();
    this.connecting = this.connectLoop({ reason, from: from ?? '', silentMs }, detectedAt).finally(() => {
      this.connecting = undefined;
    });
  }

  private async connectLoop(
    moving: { reason: FailoverReason; from: string; silentMs: number } | undefined,
    detectedAt: number,
  ): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      const url = this.pickUrl();
      const gen = ++this.generation;
      let conn: PubsubConnection;
      try {
        conn = await PubsubConnection.open(url, {
          clock: this.clock,
          timeoutMs: this.connectTimeoutMs,
          factory: this.factory,
          onNotification: (n) => this.onNotification(n, gen),
          onClosed: (why) => {
            if (this.conn === conn && !this.closed) {
              this.logger.warn({ endpoint: redactText(url), why }, 'subscription connection closed');
              this.failoverLater('closed');
            }
          },
        });
      } catch (err) {
        this.stats.failovers.connect_failed++;
        this.avoid.set(url, this.clock.now() + this.avoidMs);
        this.logger.warn(
          { endpoint: redactText(url), err: redactText(String((err as Error).message)) },
          'subscription connect failed',
        );
        await this.sleep(Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.min(attempt, 16)));
        continue;
      }
      if (this.closed) return conn.close();
      this.stats.connections++;
      this.conn = conn;
      try {
        this.heartbeatId = (await conn.request('slotSubscribe', [], this.connectTimeoutMs)) as number;
        // Subscriptions added while this runs are picked up by the next pass.
        for (;;) {
          const due = [...this.subs.values()].filter((s) => s.kind !== 'slot' && !s.done && s.madeOn !== gen);
          if (due.length === 0) break;
          await Promise.all(due.map((s) => this.subscribe(s, conn, gen, moving !== undefined)));
        }
        if (gen !== this.generation) return;
        this.live = true;
      } catch (err) {
        if (this.closed) return;
        this.stats.failovers.subscribe_failed++;
        this.avoid.set(url, this.clock.now() + this.avoidMs);
        this.logger.warn(
          { endpoint: redactText(url), err: redactText(String((err as Error).message)) },
          'resubscription failed; trying another endpoint',
        );
        this.conn = undefined;
        conn.close('subscribe failed');
        this.byServerId.clear();
        this.early.clear();
        for (const s of this.subs.values()) s.serverId = undefined;
        await this.sleep(Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.min(attempt, 16)));
        continue;
      }
      if (moving) {
        this.stats.resubscriptions++;
        const rec: FailoverRecord = {
          reason: moving.reason,
          from: redactText(moving.from),
          to: redactText(url),
          silentMs: moving.silentMs,
          resubscribeMs: this.clock.now() - detectedAt,
        };
        this.stats.lastFailover = rec;
        this.logger.info(rec, 'subscriptions resumed on another endpoint');
      }
      this.armWatchdog();
      return;
    }
  }

  /** A close seen inside a socket callback: move on the next turn, not re-entrantly. */
  private failoverLater(reason: FailoverReason): void {
    this.clock.setTimeout(() => this.failover(reason, 0), 0);
  }

  /**
   * The first endpoint HTTP health calls healthy (pool order) that has not failed here recently;
   * else any endpoint that has not (a PubSub stall is invisible to HTTP health, so the only
   * "healthy" endpoint may be the stalled one); else the one whose failure is oldest.
   */
  private pickUrl(): string {
    const healthy: string[] = [];
    for (let skip = 0; skip < 32; skip++) {
      const u = this.pool.wsEndpoint(skip);
      if (healthy.includes(u)) break;
      healthy.push(u);
    }
    const all = [...healthy, ...(this.pool.wsEndpoints?.() ?? []).filter((u) => !healthy.includes(u))];
    const now = this.clock.now();
    const free = all.find((u) => (this.avoid.get(u) ?? 0) <= now);
    if (free) return free;
    return all.reduce((best, u) => ((this.avoid.get(u) ?? 0) < (this.avoid.get(best) ?? 0) ? u : best), all[0]!);
  }

  /**
   * Every watchdogMs/4 (at most 50 ms, so a stall is seen within watchdogMs + 50 ms of the last
   * message), the silence on the current connection is judged. A check that itself ran
   * late (the event loop was blocked, e.g. by a GC pause or a burst of work) is not trusted:
   * socket data may be waiting behind it, so it looks again on the next turn, after I/O.
   */
  private armWatchdog(): void {
    if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
    const tick = Math.max(5, Math.min(50, Math.floor(this.watchdogMs / 4)));
    const schedule = (ms: number, recheck: boolean): void => {
      const expectedAt = this.clock.now() + ms;
      this.watchdog = this.clock.setTimeout(() => check(expectedAt, recheck), ms);
    };
    const check = (expectedAt: number, recheck: boolean): void => {
      this.watchdog = undefined;
      if (this.closed || this.connecting) return;
      const c = this.conn;
      if (!c) return;
      const now = this.clock.now();
      if (!recheck && now - expectedAt > tick) {
        this.stats.lateWatchdogChecks++;
        return schedule(0, true);
      }
      const silent = now - c.lastMessageAt;
      if (silent >= this.watchdogMs) return this.failover('stall', silent);
      schedule(tick, false);
    };
    schedule(tick, false);
  }

  private async subscribe(sub: LocalSub, conn: PubsubConnection, gen: number, backfill: boolean): Promise<void> {
    if (sub.kind === 'slot' || sub.done) return;
    // A subscription made for the first time has no gap: it starts now, whatever the connection.
    // A signature may have reached its commitment before any subscription existed: always check.
    const first = sub.madeOn < 0;
    // A logs subscription owes everything from sinceSlot (read before subscribing): what landed
    // between that read and the subscription taking effect is only found by a backfill.
    if (first) backfill = sub.kind === 'signature' || sub.kind === 'logs' || sub.resuming;
    sub.madeOn = gen;
    if (sub.kind === 'logs' && sub.sinceSlot < 0) sub.sinceSlot = await this.startSlot(sub.commitment);
    sub.held = [];
    const params =
      sub.kind === 'logs'
        ? [{ mentions: [sub.address] }, { commitment: sub.commitment }]
        : sub.kind === 'account'
          ? [sub.address, { commitment: sub.commitment, encoding: 'base64' }]
          : [sub.signature, { commitment: sub.commitment }];
    const serverId = (await conn.request(`${sub.kind}Subscribe`, params, this.connectTimeoutMs)) as number;
    if (gen !== this.generation || sub.done) return;
    sub.serverId = serverId;
    this.byServerId.set(serverId, sub);
    const early = this.early.get(serverId);
    if (early) {
      this.early.delete(serverId);
      sub.held!.push(...early);
    }
    if (!backfill && sub.kind === 'account' && sub.lastValue === undefined) await this.baseline(sub);
    if (backfill) {
      // Reads fail over inside the pool; a read that still fails (every endpoint busy) is tried
      // again a few times before the gap is given up on, counted and logged.
      for (let attempt = 0; ; attempt++) {
        try {
          await this.backfill(sub);
          break;
        } catch (err) {
          if (attempt < BACKFILL_TRIES - 1 && gen === this.generation && !sub.done && !this.closed) {
            this.stats.backfillRetries++;
            await this.sleep(Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** attempt));
            continue;
          }
          this.stats.backfillFailures++;
          this.logger.error(
            { kind: sub.kind, err: redactText(String((err as Error)?.message ?? err)) },
            'subscription gap could not be backfilled; updates in the gap may be missing',
          );
          break;
        }
      }
    }
    const held = sub.held ?? [];
    sub.held = undefined;
    if (gen !== this.generation) return;
    for (const n of held) this.route(sub, n);
    // A transaction processed before the move but confirmed after the backfill's read is in
    // neither (some nodes notify only what they processed after the subscription): look once more.
    if (backfill && !first && sub.kind !== 'signature') {
      this.clock.setTimeout(() => {
        if (gen !== this.generation || sub.done || this.closed) return;
        this.stats.lateBackfills++;
        this.backfill(sub).catch((err: unknown) => {
          this.stats.backfillFailures++;
          this.logger.error(
            { kind: sub.kind, err: redactText(String((err as Error)?.message ?? err)) },
            'late backfill failed; updates in the gap may be missing',
          );
        });
      }, this.lateBackfillMs);
    }
  }

  /**
   * Transactions at or below the slot the commitment has reached now will not be notified to a
   * subscription made after this read, so the ones owed start just above it. Without an answer,
   * a conservative 64 slots below the heartbeat (at worst a few transactions from before the
   * subscription are delivered; none is missed).
   */
  private async startSlot(commitment: SubCommitment): Promise<number> {
    try {
      const r = await this.pool.call('getSlot', [{ commitment }]);
      if (typeof r.result === 'number') return r.result + 1;
    } catch {
      /* fall through */
    }
    return Math.max(0, this.lastHeartbeatSlot - 64);
  }

  /** The state when an account subscription is first made, so a later backfill can tell a change from none. */
  private async baseline(sub: LocalSub): Promise<void> {
    try {
      const r = await this.pool.call('getAccountInfo', [
        sub.address,
        { commitment: sub.commitment, encoding: 'base64' },
      ]);
      // Only the value: a live notification for an earlier slot must still be delivered.
      if (sub.lastValue === undefined) sub.lastValue = JSON.stringify((r.result as { value: unknown }).value);
    } catch {
      /* without a baseline a later backfill delivers the state once, marked backfilled */
    }
  }

  private async backfill(sub: LocalSub): Promise<void> {
    const commitment = sub.commitment === 'processed' ? 'confirmed' : sub.commitment;
    if (sub.kind === 'logs') {
      const r = await this.pool.call('getSignaturesForAddress', [
        sub.address,
        { commitment, limit: this.backfillLimit },
      ]);
      const list = (r.result as { signature: string; slot: number; err: unknown }[]) ?? [];
      if (list.length >= this.backfillLimit) this.stats.backfillTruncated++;
      const missing = list
        .filter((e) => e.slot >= sub.sinceSlot && e.slot > sub.watermark && !sub.delivered!.has(e.signature))
        .reverse();
      for (const e of missing) {
        if (sub.done) return;
        let logs: string[] | null = null;
        let err = e.err;
        try {
          const tx = await this.pool.call('getTransaction', [
            e.signature,
            { commitment, encoding: 'json', maxSupportedTransactionVersion: 0 },
          ]);
          const meta = (tx.result as { meta?: { logMessages?: string[]; err?: unknown } } | null)?.meta;
          logs = meta?.logMessages ?? null;
          if (meta) err = meta.err ?? null;
        } catch {
          /* delivered without logs, counted below */
        }
        if (logs === null) this.stats.backfillLogsMissing++;
        if (this.deliverLogs(sub, { signature: e.signature, slot: e.slot, err, logs, backfilled: true }))
          this.stats.backfilled.logs++;
      }
      return;
    }
    if (sub.kind === 'account') {
      const r = await this.pool.call('getAccountInfo', [sub.address, { commitment, encoding: 'base64' }]);
      const res = r.result as { context: { slot: number }; value: unknown };
      if (this.deliverAccount(sub, { slot: res.context.slot, value: res.value, backfilled: true }, true))
        this.stats.backfilled.account++;
      return;
    }
    if (sub.kind === 'signature') {
      const r = await this.pool.call('getSignatureStatuses', [[sub.signature], { searchTransactionHistory: true }]);
      const v = (r.result as { value: ({ slot: number; err: unknown; confirmationStatus?: string } | null)[] })
        .value[0];
      if (v && (RANK[v.confirmationStatus ?? 'processed'] ?? 0) >= RANK[sub.commitment]!) {
        if (this.deliverSignature(sub, { signature: sub.signature!, slot: v.slot, err: v.err, backfilled: true }))
          this.stats.backfilled.signature++;
      }
    }
  }

  private onNotification(n: Notification, gen: number): void {
    if (gen !== this.generation || this.closed) return;
    if (n.subscription === this.heartbeatId && n.method === 'slotNotification')
      return this.onSlot(n.result as SlotEvent);
    const sub = this.byServerId.get(n.subscription);
    if (!sub) {
      // A notification can arrive in the same read as its subscribe answer, before the id is known.
      if (this.early.size < MAX_EARLY) {
        const list = this.early.get(n.subscription) ?? [];
        if (list.length < MAX_EARLY) list.push(n);
        this.early.set(n.subscription, list);
      }
      return;
    }
    if (sub.held) {
      sub.held.push(n);
      return;
    }
    this.route(sub, n);
  }

  /**
   * Wire JSON from a provider: shape-checked before anything is delivered. A result without a
   * slot or without a value object says nothing reliable, and for a signature it could be read as
   * "landed without error": such a notification is counted (`malformedNotifications`), logged and
   * ignored; the watchdog, backfills and the caller's own confirmation path find the truth.
   */
  private route(sub: LocalSub, n: Notification): void {
    const r = n.result as { context?: { slot?: unknown }; value?: unknown } | null;
    const slot = typeof r === 'object' && r !== null && typeof r.context === 'object' ? r.context?.slot : undefined;
    const value = typeof r === 'object' && r !== null ? r.value : undefined;
    const object = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (
      !Number.isSafeInteger(slot) ||
      (slot as number) < 0 ||
      !(object || (sub.kind === 'account' && value === null))
    ) {
      this.malformed(sub, n);
      return;
    }
    const at = slot as number;
    if (sub.kind === 'logs' && n.method === 'logsNotification') {
      const v = value as { signature?: unknown; err?: unknown; logs?: unknown };
      if (typeof v.signature !== 'string' || !(v.logs === undefined || v.logs === null || Array.isArray(v.logs)))
        return this.malformed(sub, n);
      this.deliverLogs(sub, {
        signature: v.signature,
        slot: at,
        err: v.err ?? null,
        logs: (v.logs as string[] | undefined) ?? null,
        backfilled: false,
      });
    } else if (sub.kind === 'account' && n.method === 'accountNotification') {
      this.deliverAccount(sub, { slot: at, value, backfilled: false }, false);
    } else if (sub.kind === 'signature' && n.method === 'signatureNotification') {
      // `err` must be present (null means success): a value without it proves nothing.
      if (!('err' in (value as object))) return this.malformed(sub, n);
      this.deliverSignature(sub, {
        signature: sub.signature!,
        slot: at,
        err: (value as { err: unknown }).err,
        backfilled: false,
      });
    }
  }

  private malformed(sub: LocalSub, n: Notification): void {
    const count = ++this.stats.malformedNotifications;
    // A provider sending garbage by the thousand must not flood the log: the first ten, then every thousandth.
    if (count > 10 && count % 1000 !== 0) return;
    this.logger.warn(
      {
        kind: sub.kind,
        method: redactText(String(n.method).slice(0, 64)),
        endpoint: this.conn ? redactText(this.conn.url) : undefined,
        malformedNotifications: count,
      },
      'malformed subscription notification ignored',
    );
  }

  private onSlot(e: SlotEvent): void {
    if (typeof e?.slot !== 'number') return;
    const last = this.lastHeartbeatSlot;
    if (e.slot <= last) {
      if (last > 0) this.stats.duplicatesDropped++;
      return;
    }
    this.lastHeartbeatSlot = e.slot;
    for (const sub of this.subs.values()) {
      if (sub.kind !== 'slot') continue;
      if (sub.lastSlot > 0 && e.slot > sub.lastSlot + 1)
        this.stats.slotsMissedDuringFailover += e.slot - sub.lastSlot - 1;
      // Slots are not invented: a jump after a move is counted, not filled in.
      sub.lastSlot = e.slot;
      this.call(sub, { slot: e.slot, parent: e.parent, root: e.root });
    }
  }

  private deliverLogs(sub: LocalSub, e: LogsEvent): boolean {
    if (typeof e.signature !== 'string') return false;
    if (sub.delivered!.has(e.signature) || (e.slot >= 0 && e.slot <= sub.watermark)) {
      this.stats.duplicatesDropped++;
      return false;
    }
    sub.delivered!.set(e.signature, e.slot);
    if (sub.delivered!.size > this.dedupMemory) {
      const [oldest, slot] = sub.delivered!.entries().next().value as [string, number];
      sub.delivered!.delete(oldest);
      if (slot > sub.watermark) sub.watermark = slot;
    }
    return this.call(sub, e);
  }

  private deliverAccount(sub: LocalSub, e: AccountEvent, backfill: boolean): boolean {
    if (e.slot <= sub.lastSlot) {
      if (!backfill) this.stats.duplicatesDropped++;
      return false;
    }
    const key = JSON.stringify(e.value);
    // A backfill that finds the state already delivered has nothing to add.
    if (backfill && key === sub.lastValue) return false;
    sub.lastSlot = e.slot;
    sub.lastValue = key;
    return this.call(sub, e);
  }

  private deliverSignature(sub: LocalSub, e: SignatureEvent): boolean {
    if (sub.done) {
      this.stats.duplicatesDropped++;
      return false;
    }
    const ok = this.call(sub, e);
    this.remove(sub);
    return ok;
  }

  private call(sub: LocalSub, e: unknown): boolean {
    this.stats.delivered++;
    try {
      (sub.handler as (e: unknown) => void)(e);
    } catch (err) {
      this.stats.handlerErrors++;
      this.logger.error(
        { kind: sub.kind, err: redactText(String((err as Error)?.message ?? err)) },
        'subscription handler threw',
      );
    }
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}

function checkCursor(c: unknown): LogsCursor {
  const cur = c as LogsCursor;
  if (
    cur === null ||
    typeof cur !== 'object' ||
    !Number.isSafeInteger(cur.slot) ||
    cur.slot < 0 ||
    !Array.isArray(cur.signatures) ||
    cur.signatures.length > 10_000 ||
    !cur.signatures.every((x) => typeof x === 'string')
  ) {
    throw new ConfigError('resumeFrom', c, '{ slot: a non-negative integer, signatures: string[] }');
  }
  return { slot: cur.slot, signatures: [...cur.signatures] };
}

function checkAddress(key: string, address: unknown): string {
  const bytes = typeof address === 'string' && address.length <= 64 ? decodeBase58(address) : undefined;
  if (bytes?.length !== 32) throw new ConfigError(key, address, 'a base58 32-byte address');
  return address as string;
}
