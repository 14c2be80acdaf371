/**
 * Endpoint health shared by every process that uses the same RPC providers, over a JetStream KV
 * bucket. Each process reports its own breaker transitions and 429 rests; a watch on the bucket
 * writes what the others report into the pool's health table, so all stop routing to an endpoint
 * soon after one of them finds it dead or rate-limited.
 *
 * Keys (KV watch filters match whole tokens, so each part is its own token):
 *   ep.<id>.state  {"v":1,"state":"OPEN"|"CLOSED","until":ms,"by":process,"at":ms,"endpoint":name}
 *   ep.<id>.rest   {"v":1,"until":ms,"by":process,"at":ms,"endpoint":name}
 *   ep.<id>.probe  {"v":1,"until":ms,"by":process,"at":ms}  — the probe lease
 * `<id>` is a hash of the endpoint URL, so processes that name a provider differently still share
 * it and an API key in the URL never reaches the bucket.
 *
 * One probe at a time: while an endpoint is OPEN, no process's prober may send (the health
 * table's probe gate). When the OPEN report's cooldown has passed, a process whose own breaker is
 * not OPEN takes the lease with a compare-and-set on the key's revision (create when absent,
 * update at the read revision when expired); only the holder's gate opens. Its probe's result is
 * written back (CLOSED, or OPEN with a new cooldown) and the lease released.
 *
 * Engine down: every process falls back to its own view (shared OPEN and gates cleared; rests
 * already received expire on their own) and says so in stats; what it reports meanwhile is kept
 * and written on reconnection, after the watch has re-read the bucket.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, TimerHandle } from '../clock.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log/index.ts';
import { redactDeep, redactText, redactUrl } from '../log/redact.ts';
import type { NormalizedEndpoint } from '../rpc/config.ts';
import { STATE_CLOSED, STATE_OPEN, STATE_HALF_OPEN, type HealthTable } from '../rpc/health.ts';
import type { SharedHealthLink, SharedHealthStats } from '../rpc/shared-link.ts';
import { timeoutMs } from '../validate.ts';
import type { EngineConnection, KV } from './health-connection.ts';

export interface SharedHealthConfig {
  nats: {
    /** One URL or several (nats://host:port). */
    servers: string | string[];
    /** Connection name shown by the server (default: palisade-health-<processId>). */
    name?: string;
    /** How long ready() waits for the engine before falling back to the local view (default 2000 ms). */
    connectTimeoutMs?: number;
    /** Delay between reconnect attempts (default 250 ms). */
    reconnectTimeWaitMs?: number;
  };
  /** KV bucket name (default 'palisade_endpoint_health'); created when absent. */
  bucket?: string;
  /** This process in the bucket's records (default host-pid-random). */
  processId?: string;
  /** How long a probe lease holds (default: 2 × healthIntervalMs + attemptTimeoutMs). */
  leaseMs?: number;
}

export interface NormalizedSharedHealthConfig {
  servers: string[];
  name: string;
  connectTimeoutMs: number;
  reconnectTimeWaitMs: number;
  bucket: string;
  processId: string;
  leaseMs: number | undefined;
}

const SHARED_KEYS = new Set(['nats', 'bucket', 'processId', 'leaseMs']);
const NATS_KEYS = new Set(['servers', 'name', 'connectTimeoutMs', 'reconnectTimeWaitMs']);
const BUCKET_RE = /^[-\w]{1,64}$/;
/** The engine's connection names allow these; `palisade-health-` + this stays within its 64. */
const PROCESS_RE = /^[-\w]{1,48}$/;
const CONNECTION_NAME_RE = /^[-\w]{1,64}$/;
/** Larger than any record palisade writes: anything bigger is another writer's garbage. */
const MAX_VALUE_BYTES = 1024;
/** A reported cooldown or rest longer than this is not believed (it would hold an endpoint out for good). */
const MAX_HOLD_MS = 60 * 60_000;
/** How often the lease holder looks at its prober's counters for the probe's result. */
const PROBE_WATCH_MS = 10;
/** How often a process renews its membership of a rate-limited endpoint (it lapses after three missed renewals). */
const MEMBER_HEARTBEAT_MS = 1000;
/** Timeout of one KV write: short, so an outage the client has not noticed yet fails fast. */
const WRITE_TIMEOUT_MS = 1000;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Validates `shared` at the boundary: every error is a ConfigError naming the key (URLs redacted). */
export function normalizeSharedHealthConfig(input: unknown): NormalizedSharedHealthConfig {
  if (!isObject(input)) throw bad('shared', input, 'an object { nats: { servers }, bucket? }');
  for (const k of Object.keys(input))
    if (!SHARED_KEYS.has(k)) throw bad(`shared.${k}`, input[k], `a known option (${[...SHARED_KEYS].join(', ')})`);
  const nats = input['nats'];
  if (!isObject(nats)) throw bad('shared.nats', nats, 'an object { servers }');
  for (const k of Object.keys(nats))
    if (!NATS_KEYS.has(k)) throw bad(`shared.nats.${k}`, nats[k], `a known option (${[...NATS_KEYS].join(', ')})`);
  const raw = nats['servers'];
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0 || list.length > 32)
    throw bad('shared.nats.servers', raw, 'a nats:// URL or a non-empty array of them');
  const servers = list.map((s: unknown, i) => {
    const ok = typeof s === 'string' && s.length <= 2048 && URL.canParse(s.includes('://') ? s : `nats://${s}`);
    if (!ok)
      throw bad(`shared.nats.servers[${i}]`, typeof s === 'string' ? redactText(s) : s, 'a nats://host:port URL');
    const u = new URL((s as string).includes('://') ? (s as string) : `nats://${s as string}`);
    if (!['nats:', 'tls:', 'ws:', 'wss:'].includes(u.protocol) || u.hostname === '') {
      throw bad(`shared.nats.servers[${i}]`, redactUrl(s as string), 'a nats://host:port URL');
    }
    return s as string;
  });
  const bucket = input['bucket'] ?? 'palisade_endpoint_health';
  if (typeof bucket !== 'string' || !BUCKET_RE.test(bucket))
    throw bad('shared.bucket', bucket, 'a KV bucket name of letters, digits, - and _ (at most 64)');
  const processId =
    input['processId'] ??
    `${hostname()
      .replace(/[^-\w]/g, '_')
      .slice(0, 24)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (typeof processId !== 'string' || !PROCESS_RE.test(processId))
    throw bad('shared.processId', processId, '1-48 letters, digits, - or _');
  const name = nats['name'] ?? `palisade-health-${processId}`;
  if (typeof name !== 'string' || !CONNECTION_NAME_RE.test(name))
    throw bad('shared.nats.name', name, '1-64 letters, digits, - or _');
  const leaseMs = input['leaseMs'];
  return {
    servers,
    name,
    connectTimeoutMs:
      nats['connectTimeoutMs'] === undefined
        ? 2000
        : timeoutMs(
            'shared.nats.connectTimeoutMs',
            numberOrBad('shared.nats.connectTimeoutMs', nats['connectTimeoutMs']),
          ),
    reconnectTimeWaitMs:
      nats['reconnectTimeWaitMs'] === undefined
        ? 250
        : timeoutMs(
            'shared.nats.reconnectTimeWaitMs',
            numberOrBad('shared.nats.reconnectTimeWaitMs', nats['reconnectTimeWaitMs']),
            { min: 10 },
          ),
    bucket,
    processId,
    leaseMs:
      leaseMs === undefined
        ? undefined
        : timeoutMs('shared.leaseMs', numberOrBad('shared.leaseMs', leaseMs), { min: 10 }),
  };
}

/** A ConfigError whose shown value has credentials redacted (a server URL may carry a password). */
function bad(key: string, value: unknown, expected: string): ConfigError {
  return new ConfigError(key, redactDeep(value), expected);
}

/** Numbers go on to the timeout rule; anything else is refused here, redacted. */
function numberOrBad(key: string, value: unknown): number {
  if (typeof value !== 'number') throw bad(key, value, 'a number of milliseconds');
  return value;
}

/** The key token of an endpoint: a hash of its full URL (never the URL, which may hold an API key). */
export function endpointKeyId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

export interface SharedHealthContext {
  endpoints: readonly NormalizedEndpoint[];
  health: HealthTable;
  clock: Clock;
  logger: Logger;
  /** The pool's breaker cooldown: how long a failed lease probe holds the endpoint OPEN again. */
  cooldownMs: number;
  healthIntervalMs: number;
  attemptTimeoutMs: number;
}

interface StateRecord {
  state: 'OPEN' | 'CLOSED';
  until: number;
  by: string;
  at: number;
}
interface TimedRecord {
  until: number;
  by: string;
  at: number;
}

interface Lease {
  revision: number;
  until: number;
  probes: number;
  probeFailures: number;
}

interface EndpointShare {
  readonly index: number;
  readonly name: string;
  readonly key: string;
  /** The bucket's OPEN report (ours or another's); undefined when CLOSED. */
  open: StateRecord | undefined;
  /** The OPEN report is this incarnation's own breaker speaking: the pool already holds the endpoint out. */
  openByOwnBreaker: boolean;
  /** This incarnation has written a state record: a record under our id seen after that is our own echo. */
  wroteState: boolean;
  restUntil: number;
  lease: Lease | undefined;
  leaseBy: string | undefined;
  leaseTrying: boolean;
  leaseTimer: TimerHandle | undefined;
  /** What this process still has to write (latest wins), kept while the engine is down. */
  pendingState: StateRecord | undefined;
  pendingRest: TimedRecord | undefined;
  /** The latest rest this process has reported, so a burst of 429s writes once. */
  reportedRestUntil: number;
  reportedOpenAt: number;
  learnedOpenAt: number;
  /** Endpoints with a client-side rate: the other live processes using it (processId → membership until). */
  readonly members: Map<string, number> | undefined;
}

export class SharedEndpointHealth implements SharedHealthLink {
  readonly config: NormalizedSharedHealthConfig;
  private readonly ctx: SharedHealthContext;
  private readonly shares: EndpointShare[];
  private readonly byId = new Map<string, EndpointShare>();
  private readonly leaseMs: number;
  private conn: EngineConnection | undefined;
  private kv: KV | undefined;
  private watchStop: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  private connected = false;
  private closed = false;
  private lastError: string | undefined;
  private probeWatch: ReturnType<typeof setInterval> | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private readonly counts = {
    reconnects: 0,
    resyncs: 0,
    published: 0,
    publishErrors: 0,
    received: 0,
    invalid: {} as Record<string, number>,
    leases: { won: 0, lost: 0, released: 0, expired: 0 },
    probesLed: { ok: 0, failed: 0 },
    lastPropagationMs: undefined as number | undefined,
  };

  constructor(input: unknown, ctx: SharedHealthContext) {
    this.config = normalizeSharedHealthConfig(input);
    this.ctx = ctx;
    this.leaseMs = this.config.leaseMs ?? 2 * ctx.healthIntervalMs + ctx.attemptTimeoutMs;
    this.shares = ctx.endpoints.map((ep) => {
      const id = endpointKeyId(ep.url);
      const s: EndpointShare = {
        index: ep.index,
        name: ep.name,
        key: `ep.${id}`,
        open: undefined,
        openByOwnBreaker: false,
        wroteState: false,
        restUntil: 0,
        lease: undefined,
        leaseBy: undefined,
        leaseTrying: false,
        leaseTimer: undefined,
        pendingState: undefined,
        pendingRest: undefined,
        reportedRestUntil: 0,
        reportedOpenAt: 0,
        learnedOpenAt: 0,
        members: ep.rateLimitRps > 0 ? new Map() : undefined,
      };
      this.byId.set(id, s);
      return s;
    });
  }

  start(): Promise<void> {
    this.starting ??= this.connectOrFallBack();
    return this.starting;
  }

  /** Waits up to connectTimeoutMs; past it the pool runs on its own view while connecting goes on. */
  private async connectOrFallBack(): Promise<void> {
    const connected = this.connectLoop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.config.connectTimeoutMs);
      timer.unref();
    });
    const first = await Promise.race([connected.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.lastError ??= `engine not reachable within ${this.config.connectTimeoutMs} ms`;
      this.ctx.logger.warn(
        { servers: this.config.servers.map(redactUrl), bucket: this.config.bucket, err: this.lastError },
        "shared endpoint health: engine not reachable yet; using this process's own view until it is",
      );
    }
  }

  /** Tries until connected or closed; failures leave the pool on its own view, said so in stats. */
  private async connectLoop(): Promise<void> {
    const { openHealthConnection } = await import('./health-connection.ts');
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const conn = await openHealthConnection({
          servers: this.config.servers,
          name: this.config.name,
          reconnectTimeWaitMs: this.config.reconnectTimeWaitMs,
          logger: this.ctx.logger,
        });
        await this.attach(conn);
        return;
      } catch (err) {
        this.lastError = describe(err);
        if (attempt === 1)
          this.ctx.logger.warn(
            { err: this.lastError },
            "shared endpoint health: cannot connect to the engine; retrying, using this process's own view",
          );
      }
      await new Promise<void>((resolve) => setTimeout(resolve, this.config.reconnectTimeWaitMs).unref());
    }
  }

  private async attach(conn: EngineConnection): Promise<void> {
    if (this.closed) {
      await conn.close();
      return;
    }
    try {
      const { openHealthBucket } = await import('./health-connection.ts');
      this.kv = await openHealthBucket(conn, this.config.bucket);
    } catch (err) {
      await conn.close();
      throw err;
    }
    this.conn = conn;
    conn.onStatus((status) => this.onStatus(status));
    await this.resync();
    this.ctx.logger.info(
      { bucket: this.config.bucket, server: conn.serverVersion },
      'shared endpoint health: connected',
    );
  }

  private onStatus(status: 'disconnected' | 'reconnected' | 'closed'): void {
    if (this.closed) return;
    if (status !== 'reconnected')
      return this.goDown(status === 'closed' ? 'engine connection closed' : 'engine connection lost');
    this.counts.reconnects++;
    void this.resync().catch((err: unknown) => {
      this.lastError = describe(err);
      this.ctx.logger.warn({ err: this.lastError }, 'shared endpoint health: resync failed');
    });
  }

  /** Engine unreachable: this process decides alone until it is back. */
  private goDown(why: string): void {
    if (!this.connected) return;
    this.connected = false;
    this.lastError = why;
    this.watchStop?.();
    this.watchStop = undefined;
    for (const s of this.shares) {
      this.dropLease(s);
      this.applyGate(s);
    }
    this.ctx.logger.warn(
      { bucket: this.config.bucket },
      'shared endpoint health: engine down; each process uses its own view',
    );
  }

  /** Re-reads the whole bucket (the watch delivers every key's last value first), then writes what is pending. */
  private async resync(): Promise<void> {
    const kv = this.kv;
    if (!kv || this.closed) return;
    this.watchStop?.();
    // What others reported before the outage is read again from the bucket, not trusted from memory.
    for (const s of this.shares) if (s.open && !s.openByOwnBreaker) s.open = undefined;
    const watch = await kv.watch({ key: 'ep.>' });
    this.watchStop = () => watch.stop();
    void (async () => {
      for await (const e of watch) this.onEntry(e.key, e.operation, e.value, e.revision, e.isUpdate);
    })().catch((err: unknown) => {
      this.lastError = describe(err);
    });
    this.connected = true;
    this.counts.resyncs++;
    this.heartbeat();
    const now = this.ctx.clock.now();
    for (const s of this.shares) {
      const i = s.index;
      // Facts that still hold are written again: the bucket may have lost them with the engine's store.
      if (this.ctx.health.state(i) === STATE_OPEN && !s.pendingState)
        s.pendingState = this.record('OPEN', this.ctx.health.openUntil(i));
      const rest = this.ctx.health.rateLimitedUntil(i);
      if (rest > now && !s.pendingRest) s.pendingRest = { until: rest, by: this.config.processId, at: now };
      if (s.pendingState) this.writeState(s, s.pendingState);
      if (s.pendingRest) this.writeRest(s, s.pendingRest);
      this.applyGate(s);
    }
  }

  // --- what the pool reports ---

  breakerChanged(index: number, state: number, openUntil: number): void {
    const s = this.shares[index];
    if (!s || this.closed) return;
    if (state === STATE_OPEN) {
      // Reopened while holding the lease: the HALF_OPEN probe failed.
      if (s.lease) this.counts.probesLed.failed++;
      const rec = this.record('OPEN', openUntil);
      s.open = rec;
      s.openByOwnBreaker = true;
      s.reportedOpenAt = rec.at;
      this.writeState(s, rec);
      this.releaseLease(s);
      this.scheduleLease(s);
    } else if (state === STATE_CLOSED) {
      if (s.lease) this.counts.probesLed.ok++;
      const wasOpen = s.open !== undefined;
      s.open = undefined;
      if (wasOpen || s.lease) this.writeState(s, this.record('CLOSED', 0));
      this.releaseLease(s);
    } else if (state === STATE_HALF_OPEN) {
      void this.tryLease(s);
    }
    this.applyGate(s);
  }

  rateLimited(index: number, until: number): void {
    const s = this.shares[index];
    if (!s || this.closed || !(until > this.ctx.clock.now()) || until <= s.reportedRestUntil) return;
    s.reportedRestUntil = until;
    this.writeRest(s, { until, by: this.config.processId, at: this.ctx.clock.now() });
  }

  private record(state: 'OPEN' | 'CLOSED', until: number): StateRecord {
    return { state, until, by: this.config.processId, at: this.ctx.clock.now() };
  }

  private writeState(s: EndpointShare, rec: StateRecord): void {
    s.pendingState = rec;
    s.wroteState = true;
    this.write(`${s.key}.state`, { v: 1, ...rec, endpoint: s.name }, () => {
      if (s.pendingState === rec) s.pendingState = undefined;
    });
  }

  private writeRest(s: EndpointShare, rec: TimedRecord): void {
    if (s.pendingRest && s.pendingRest.until >= rec.until && s.pendingRest !== rec) return;
    s.pendingRest = rec;
    this.write(`${s.key}.rest`, { v: 1, ...rec, endpoint: s.name }, () => {
      if (s.pendingRest === rec) s.pendingRest = undefined;
    });
  }

  /** Writes when connected; otherwise the record stays pending for the next resync. */
  private write(key: string, value: Record<string, unknown>, done: () => void): void {
    const kv = this.kv;
    if (!kv || !this.connected) return;
    kv.put(key, JSON.stringify(value), { timeout: WRITE_TIMEOUT_MS }).then(
      () => {
        this.counts.published++;
        done();
      },
      (err: unknown) => {
        this.counts.publishErrors++;
        this.lastError = describe(err);
        this.ctx.logger.warn(
          { key, err: this.lastError },
          'shared endpoint health: write failed; kept for the next resync',
        );
      },
    );
  }

  // --- what other processes report ---

  private onEntry(key: string, op: string, value: Uint8Array, revision: number, isUpdate: boolean): void {
    const parts = key.split('.');
    const kind = parts[2];
    if (parts.length === 4 && parts[0] === 'ep' && kind === 'member')
      return this.onMember(parts[1]!, parts[3]!, op, value, key);
    if (parts.length !== 3 || parts[0] !== 'ep' || (kind !== 'state' && kind !== 'rest' && kind !== 'probe'))
      return this.invalid('bad_key', key);
    const s = this.byId.get(parts[1]!);
    if (!s) return; // another pool's endpoint
    if (op !== 'PUT') {
      if (kind === 'probe') s.leaseBy = undefined;
      else if (kind === 'state' && s.open && !s.openByOwnBreaker) {
        s.open = undefined;
        this.applyGate(s);
      }
      return;
    }
    const rec = this.parse(kind, value, key);
    if (!rec) return;
    if (kind === 'probe') {
      s.leaseBy = rec.until > this.ctx.clock.now() ? rec.by : undefined;
      if (rec.by === this.config.processId && s.lease && s.lease.revision !== revision && revision > s.lease.revision) {
        // Our lease was taken over after it expired.
        this.dropLease(s);
        this.applyGate(s);
      }
      return;
    }
    // Our own write, already applied. A record under our id from before this incarnation wrote
    // anything (a restart under the same processId) is news like any other.
    if (rec.by === this.config.processId && (kind === 'rest' || s.wroteState)) return;
    this.counts.received++;
    const now = this.ctx.clock.now();
    if (kind === 'rest') {
      if (rec.until > s.restUntil) s.restUntil = rec.until;
      if (rec.until > this.ctx.health.sharedRestUntil(s.index)) this.ctx.health.setSharedRestUntil(s.index, rec.until);
      return;
    }
    if ((rec as StateRecord).state === 'OPEN') {
      s.open = rec as StateRecord;
      s.openByOwnBreaker = false;
      s.learnedOpenAt = now;
      if (isUpdate) this.counts.lastPropagationMs = Math.max(0, now - rec.at);
      this.ctx.logger.info(
        { endpoint: s.name, by: rec.by, until: rec.until },
        'shared endpoint health: another process reports the endpoint OPEN',
      );
      this.scheduleLease(s);
    } else {
      s.open = undefined;
      this.releaseLease(s);
    }
    this.applyGate(s);
  }

  // --- the provider's rate, divided among the processes using it ---

  /**
   * Another process's membership of an endpoint with a client-side rate. Each live member uses
   * rateLimitRps / members, so processes sharing one API key stay under its rate together.
   */
  private onMember(id: string, processId: string, op: string, value: Uint8Array, key: string): void {
    const s = this.byId.get(id);
    if (!s?.members || processId === this.config.processId) return;
    if (op !== 'PUT') s.members.delete(processId);
    else {
      const rec = this.parse('member', value, key);
      if (!rec) return;
      if (rec.by !== processId) return void this.invalid('bad_shape', key);
      s.members.set(processId, rec.until);
    }
    this.applyShare(s);
  }

  private applyShare(s: EndpointShare): void {
    if (!s.members) return;
    const now = this.ctx.clock.now();
    let live = 1;
    for (const [pid, until] of s.members) {
      if (until > now) live++;
      else s.members.delete(pid);
    }
    this.ctx.health.setRateShare(s.index, 1 / live);
  }

  /** Renews this process's memberships; expired ones of others lapse. While the engine is down the last share stays (a whole rate per process could exceed the key's). */
  private heartbeat(): void {
    if (this.heartbeatTimer !== undefined) this.ctx.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    if (this.closed || !this.shares.some((s) => s.members)) return;
    const now = this.ctx.clock.now();
    for (const s of this.shares) {
      if (!s.members || !this.connected) continue;
      this.applyShare(s);
      this.write(
        `${s.key}.member.${this.config.processId}`,
        { v: 1, until: now + 3 * MEMBER_HEARTBEAT_MS, by: this.config.processId, at: now },
        () => undefined,
      );
    }
    this.heartbeatTimer = this.ctx.clock.setTimeout(() => this.heartbeat(), MEMBER_HEARTBEAT_MS);
  }

  private parse(
    kind: 'state' | 'rest' | 'probe' | 'member',
    value: Uint8Array,
    key: string,
  ): (TimedRecord & { state?: string }) | undefined {
    if (value.length > MAX_VALUE_BYTES) return this.invalid('too_large', key);
    let v: unknown;
    try {
      v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
    } catch {
      return this.invalid('not_json', key);
    }
    if (!isObject(v) || v['v'] !== 1) return this.invalid('bad_shape', key);
    const { until, by, at, state } = v;
    if (typeof by !== 'string' || by === '' || by.length > 100) return this.invalid('bad_shape', key);
    if (
      typeof until !== 'number' ||
      !Number.isFinite(until) ||
      until < 0 ||
      typeof at !== 'number' ||
      !Number.isFinite(at)
    )
      return this.invalid('bad_time', key);
    if (until > this.ctx.clock.now() + MAX_HOLD_MS) return this.invalid('bad_time', key);
    if (kind === 'state' && state !== 'OPEN' && state !== 'CLOSED') return this.invalid('bad_state', key);
    return { until, by, at, ...(typeof state === 'string' ? { state } : {}) };
  }

  private invalid(reason: string, key: string): undefined {
    const n = (this.counts.invalid[reason] ?? 0) + 1;
    this.counts.invalid[reason] = n;
    if (n === 1 || n % 100 === 0)
      this.ctx.logger.warn(
        { reason, key: redactText(key).slice(0, 200), count: n },
        'shared endpoint health: invalid record ignored',
      );
    return undefined;
  }

  // --- the probe gate and lease ---

  /** Writes this process's view of one endpoint into the health table the pool and prober read. */
  private applyGate(s: EndpointShare): void {
    const h = this.ctx.health;
    if (!this.connected) {
      h.setSharedOpen(s.index, false);
      h.setProbeBlocked(s.index, false);
      return;
    }
    h.setSharedOpen(s.index, s.open !== undefined && !s.openByOwnBreaker);
    h.setProbeBlocked(s.index, s.open !== undefined && s.lease === undefined);
  }

  private scheduleLease(s: EndpointShare): void {
    if (s.leaseTimer !== undefined) this.ctx.clock.clearTimeout(s.leaseTimer);
    s.leaseTimer = undefined;
    if (!s.open || this.closed) return;
    const wait = Math.max(0, s.open.until - this.ctx.clock.now());
    s.leaseTimer = this.ctx.clock.setTimeout(() => {
      s.leaseTimer = undefined;
      void this.tryLease(s);
    }, wait);
  }

  /**
   * Takes the probe lease when the OPEN report's cooldown has passed and this process can probe
   * (its own breaker is not OPEN). Compare-and-set: create when there is no live lease, update at
   * the revision read when the holder's lease expired; losing either race means someone else probes.
   */
  private async tryLease(s: EndpointShare): Promise<void> {
    const kv = this.kv;
    const now = this.ctx.clock.now();
    if (!kv || !this.connected || this.closed || !s.open || s.lease || s.leaseTrying) return;
    if (now < s.open.until) return this.scheduleLease(s);
    if (this.ctx.health.state(s.index) === STATE_OPEN) return; // our breaker asks again when it turns HALF_OPEN
    s.leaseTrying = true;
    const key = `${s.key}.probe`;
    const value = JSON.stringify({ v: 1, until: now + this.leaseMs, by: this.config.processId, at: now });
    try {
      const cur = await kv.get(key);
      let revision: number;
      if (cur?.operation !== 'PUT') {
        revision = await kv.create(key, value);
      } else {
        const held = this.parse('probe', cur.value, key);
        if (held && held.until > this.ctx.clock.now() && held.by !== this.config.processId) {
          this.counts.leases.lost++;
          s.leaseBy = held.by;
          this.retryLeaseAfter(s, held.until - this.ctx.clock.now());
          return;
        }
        revision = await kv.update(key, value, cur.revision);
      }
      if (!this.connected || !s.open) {
        // The picture changed while we were asking: give it straight back.
        await kv.delete(key, { previousSeq: revision }).catch(() => undefined);
        return;
      }
      const h = this.ctx.health;
      s.lease = {
        revision,
        until: now + this.leaseMs,
        probes: h.probes(s.index),
        probeFailures: h.probeFailures(s.index),
      };
      s.leaseBy = this.config.processId;
      this.counts.leases.won++;
      this.ctx.logger.info(
        { endpoint: s.name, leaseMs: this.leaseMs },
        'shared endpoint health: probe lease taken; this process probes recovery',
      );
      this.applyGate(s);
      this.watchProbes();
    } catch (err) {
      // "wrong last sequence": another process won the compare-and-set.
      this.counts.leases.lost++;
      if (!/wrong last sequence|key exists/i.test(String((err as Error)?.message))) this.lastError = describe(err);
      this.retryLeaseAfter(s, this.ctx.healthIntervalMs);
    } finally {
      s.leaseTrying = false;
    }
  }

  private retryLeaseAfter(s: EndpointShare, ms: number): void {
    if (s.leaseTimer !== undefined) this.ctx.clock.clearTimeout(s.leaseTimer);
    s.leaseTimer = this.ctx.clock.setTimeout(
      () => {
        s.leaseTimer = undefined;
        void this.tryLease(s);
      },
      Math.max(1, Math.min(ms, MAX_HOLD_MS)),
    );
  }

  /** While a lease is held, watches the prober's counters for its result (the prober may run in a worker). */
  private watchProbes(): void {
    if (this.probeWatch !== undefined) return;
    this.probeWatch = setInterval(() => {
      let holding = false;
      for (const s of this.shares) if (s.lease) holding = this.checkLease(s) || holding;
      if (!holding) {
        clearInterval(this.probeWatch);
        this.probeWatch = undefined;
      }
    }, PROBE_WATCH_MS);
    this.probeWatch.unref();
  }

  /** Returns whether the lease is still held. */
  private checkLease(s: EndpointShare): boolean {
    const lease = s.lease!;
    const h = this.ctx.health;
    const now = this.ctx.clock.now();
    if (h.probes(s.index) > lease.probes) {
      const failed = h.probeFailures(s.index) > lease.probeFailures;
      if (failed) {
        this.counts.probesLed.failed++;
        // The breaker may have reopened on its own (HALF_OPEN probe); otherwise hold it OPEN for a cooldown.
        const until = h.state(s.index) === STATE_OPEN ? h.openUntil(s.index) : now + this.ctx.cooldownMs;
        // Hold it out here too: our own breaker may still be CLOSED after a failed freshness probe.
        s.open = this.record('OPEN', until);
        s.openByOwnBreaker = h.state(s.index) === STATE_OPEN;
        this.writeState(s, s.open);
        this.scheduleLease(s);
      } else {
        this.counts.probesLed.ok++;
        s.open = undefined;
        this.writeState(s, this.record('CLOSED', 0));
      }
      this.ctx.logger.info({ endpoint: s.name, recovered: !failed }, 'shared endpoint health: lease probe done');
      this.releaseLease(s);
      this.applyGate(s);
      return false;
    }
    if (now >= lease.until) {
      this.counts.leases.expired++;
      this.releaseLease(s);
      this.applyGate(s);
      this.retryLeaseAfter(s, this.ctx.healthIntervalMs);
      return false;
    }
    return true;
  }

  private releaseLease(s: EndpointShare): void {
    const lease = s.lease;
    if (!lease) return;
    s.lease = undefined;
    s.leaseBy = undefined;
    this.counts.leases.released++;
    // Only our own revision: if someone took it over meanwhile, theirs stays.
    void this.kv?.delete(`${s.key}.probe`, { previousSeq: lease.revision }).catch(() => undefined);
  }

  private dropLease(s: EndpointShare): void {
    s.lease = undefined;
    if (s.leaseTimer !== undefined) this.ctx.clock.clearTimeout(s.leaseTimer);
    s.leaseTimer = undefined;
  }

  stats(): SharedHealthStats {
    const now = this.ctx.clock.now();
    return {
      connected: this.connected,
      fallback: !this.connected,
      lastError: this.lastError,
      bucket: this.config.bucket,
      processId: this.config.processId,
      reconnects: this.counts.reconnects,
      resyncs: this.counts.resyncs,
      published: this.counts.published,
      publishErrors: this.counts.publishErrors,
      received: this.counts.received,
      invalid: { ...this.counts.invalid },
      leases: { ...this.counts.leases },
      probesLed: { ...this.counts.probesLed },
      lastPropagationMs: this.counts.lastPropagationMs,
      endpoints: this.shares.map((s) => ({
        name: s.name,
        sharedOpen: this.ctx.health.sharedOpen(s.index),
        openBy: s.open?.by,
        openUntil: s.open?.until ?? 0,
        restUntil: s.restUntil > now ? s.restUntil : 0,
        leaseHeld: s.lease !== undefined,
        reportedOpenAt: s.reportedOpenAt,
        learnedOpenAt: s.learnedOpenAt,
        rateShare: this.ctx.health.rateShare(s.index),
      })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probeWatch !== undefined) clearInterval(this.probeWatch);
    if (this.heartbeatTimer !== undefined) this.ctx.clock.clearTimeout(this.heartbeatTimer);
    for (const s of this.shares)
      if (s.members) await this.kv?.delete(`${s.key}.member.${this.config.processId}`).catch(() => undefined);
    for (const s of this.shares) {
      if (s.lease) await this.kv?.delete(`${s.key}.probe`, { previousSeq: s.lease.revision }).catch(() => undefined);
      this.dropLease(s);
    }
    this.watchStop?.();
    this.connected = false;
    const conn = this.conn;
    this.conn = undefined;
    this.kv = undefined;
    if (conn) await conn.close();
  }
}

function describe(err: unknown): string {
  return redactText(String((err as Error)?.message ?? err)).slice(0, 300);
}
