/**
 * The signal bus's link to NATS JetStream. The bus stays in charge of local delivery; this
 * transport adds the two directions across processes:
 *
 * - out: each event the bus accepts goes to the bounded outbox at once, in publish order (a
 *   receiver puts each publisher's events back in sequence order);
 * - in: each subscription gets a durable pull consumer on `${prefix}.${topic}`. Messages are
 *   decoded, put back in per-publisher sequence order by a router of their own, and handed to
 *   the subscriber; the handler's outcome becomes the ack (success), a nak with backoff (a
 *   throw), or after `maxAttempts` a dead letter and a term.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JsMsg,
  type StreamInfo,
} from '@nats-io/jetstream';
import { headers as makeHeaders, nanos } from '@nats-io/transport-node';
import type { BusContext, Subscriber } from '../bus/context.ts';
import { R } from '../bus/counters.ts';
import { Router } from '../bus/router.ts';
import { Topic } from '../bus/topic.ts';
import type { Priority, SubscriberStats } from '../bus/types.ts';
import { ConfigError } from '../errors.ts';
import { redactText } from '../log/index.ts';
import { integer, timeoutMs } from '../validate.ts';
import { checkConnectionOptions, connectEngine, errMessage, type EngineConnection } from './connect.ts';
import { EngineError } from './errors.ts';
import { Outbox } from './outbox.ts';
import {
  ENGINE_DROP_REASONS,
  type EngineDropReason,
  type EngineStats,
  type EngineSubscriptionStats,
  type NatsBusOptions,
} from './types.ts';
import { checkSubjectPart, decodeSignal, eventJson, isSubjectSafe, msgIdFor, subjectFor, wireHeaders } from './wire.ts';

const BUS_KEYS = [
  'subjectPrefix',
  'stream',
  'retentionMs',
  'duplicateWindowMs',
  'storage',
  'outboxSize',
  'maxInflightPublishes',
  'publishTimeoutMs',
  'maxEventBytes',
  'maxAckPending',
  'ackWaitMs',
  'maxAttempts',
  'retryBackoffMs',
  'maxRetryBackoffMs',
  'deadLetterPrefix',
  'deadLetterStream',
  'pullExpiresMs',
] as const;
const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const GROUP_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Stream sequences a subscription remembers as handled, so a redelivery of one (an ack lost in an outage) is not handled again. */
const HANDLED_MEMORY = 4096;
/** Per-publisher ordering state kept per subscription; idle ones beyond this are forgotten. */
const MAX_PUBLISHERS = 1024;

interface Settings {
  servers: string[];
  name: string;
  prefix: string;
  stream: string;
  retentionMs: number;
  duplicateWindowMs: number;
  storage: 'file' | 'memory';
  outboxSize: number;
  maxInflight: number;
  publishTimeoutMs: number;
  maxEventBytes: number;
  maxAckPending: number;
  ackWaitMs: number;
  maxAttempts: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  deadPrefix: string;
  deadStream: string;
  pullExpiresMs: number;
}

function settings(o: NatsBusOptions): Settings {
  const { servers, name } = checkConnectionOptions('nats', o, BUS_KEYS);
  const prefix = subjectPrefix('nats.subjectPrefix', o.subjectPrefix ?? 'palisade.signal');
  const stream = o.stream ?? 'PALISADE_SIGNALS';
  if (typeof stream !== 'string' || !STREAM_NAME.test(stream))
    throw new ConfigError('nats.stream', stream, '1-64 letters, digits, - or _');
  const deadStream = o.deadLetterStream ?? `${stream}_DEAD`;
  if (typeof deadStream !== 'string' || !STREAM_NAME.test(deadStream) || deadStream === stream)
    throw new ConfigError(
      'nats.deadLetterStream',
      deadStream,
      'a stream name (1-64 letters, digits, - or _) other than nats.stream',
    );
  const deadPrefix = subjectPrefix('nats.deadLetterPrefix', o.deadLetterPrefix ?? `${prefix}_dead`);
  if (deadPrefix === prefix || deadPrefix.startsWith(`${prefix}.`) || prefix.startsWith(`${deadPrefix}.`)) {
    throw new ConfigError('nats.deadLetterPrefix', deadPrefix, `a prefix whose subjects do not overlap ${prefix}.>`);
  }
  const storage = o.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw new ConfigError('nats.storage', storage, "'file' or 'memory'");
  const opt = (key: keyof NatsBusOptions, fallback: number, min: number, max?: number) =>
    integer(`nats.${key}`, o[key] ?? fallback, min, max);
  const ms = (key: keyof NatsBusOptions, fallback: number, min = 1) =>
    timeoutMs(`nats.${key}`, o[key] ?? fallback, { min });
  return {
    servers,
    name,
    prefix,
    stream,
    // A retention is not a timer: it may exceed Node's timer limit (up to ten years).
    retentionMs: integer('nats.retentionMs', o.retentionMs ?? 24 * 3600_000, 1000, 10 * 365 * 24 * 3600_000),
    duplicateWindowMs: ms('duplicateWindowMs', 120_000, 100),
    storage,
    outboxSize: opt('outboxSize', 10_000, 1, 10_000_000),
    maxInflight: opt('maxInflightPublishes', 1024, 1, 65_536),
    publishTimeoutMs: ms('publishTimeoutMs', 2000, 10),
    maxEventBytes: opt('maxEventBytes', 65_536, 64, 64 * 1024 * 1024),
    maxAckPending: opt('maxAckPending', 1000, 1, 1_000_000),
    ackWaitMs: ms('ackWaitMs', 30_000, 100),
    maxAttempts: opt('maxAttempts', 5, 1, 1000),
    retryBackoffMs: ms('retryBackoffMs', 200, 0),
    maxRetryBackoffMs: ms('maxRetryBackoffMs', 10_000, 0),
    deadPrefix,
    deadStream,
    pullExpiresMs: ms('pullExpiresMs', 5000, 1000),
  };
}

/** What the transport's ack bookkeeping holds for a remote event until its handler settles. */
interface PendingAck {
  msg: JsMsg;
  inlet: Inlet;
  topic: string;
}

export class BusTransport {
  private readonly s: Settings;
  private conn: EngineConnection | null = null;
  private outbox: Outbox | null = null;
  private readonly starting: Promise<void>;
  private closed = false;
  /** Bus-assigned sequences restart at 1 in every process: this instance's id keeps their message ids apart. */
  private readonly instance = randomBytes(4).toString('hex');
  private readonly outlet: EngineOutlet;
  private readonly router: Router;
  private readonly inlets = new Set<Inlet>();
  private readonly pending = new WeakMap<object, PendingAck>();
  private readonly subjectChecked = new Set<string>();
  private readonly fanOutOrdinal = new Map<string, number>();
  readonly drops = new Float64Array(ENGINE_DROP_REASONS.length);
  received = 0;
  redelivered = 0;
  ownEchoes = 0;
  deadLettered = 0;
  consumersLeftBehind = 0;

  constructor(
    options: NatsBusOptions,
    private readonly ctx: BusContext,
    reorderWindowMs: number,
    private readonly maxQueueSize: number,
    maxSequenceJump: number,
  ) {
    this.s = settings(options);
    this.outlet = new EngineOutlet();
    this.router = new Router(ctx.clock, ctx.counters, ctx.logger, reorderWindowMs, maxSequenceJump);
    this.starting = this.start(options);
    // The failure is reported by ready() and in stats; an unobserved rejection must not crash the process.
    this.starting.catch(() => {});
  }

  get name(): string {
    return this.s.name;
  }

  /** Resolves when connected and the streams exist; rejects with an EngineError otherwise. */
  ready(): Promise<void> {
    return this.starting;
  }

  /**
   * The subscriber every topic of a bus with an engine has, so that a topic no local handler
   * subscribes to does not count each event as NO_SUBSCRIBERS: the engine is its subscriber.
   */
  get outletSubscriber(): Subscriber {
    return this.outlet;
  }

  /**
   * Checks an event before the bus accepts it: the topic must make a subject and the event
   * must serialise within the bound (throws EngineError). Returns its JSON, or null when the
   * outbox is full (counted OUTBOX_FULL; the bus must then refuse the event).
   */
  admit(topic: string, event: object): string | null {
    if (!this.subjectChecked.has(topic)) {
      checkSubjectPart('topic', topic);
      this.subjectChecked.add(topic);
    }
    const json = eventJson(topic, event, this.s.maxEventBytes - WIRE_FIELDS_BYTES);
    if (!this.closed && (this.outbox?.depth ?? this.early.length) >= this.s.outboxSize) {
      this.drop('OUTBOX_FULL');
      return null;
    }
    return json;
  }

  /**
   * Queues an event the bus accepted for the engine. `json` is admit()'s; `sequence` is the
   * event's own or the one the bus gave it; `timestamp` stands in when the event has none.
   */
  send(topic: string, event: object, json: string, sequence: number, timestamp: number, priority: Priority): void {
    if (this.closed) return this.drop('BUS_CLOSED');
    const e = event as { sequence?: unknown; timestamp?: unknown };
    const sequenced = e.sequence !== undefined;
    const publisher = this.publisherKey(sequenced);
    const msgId = msgIdFor(publisher, topic, sequence);
    const body = encoder.encode(
      withWireFields(json, sequenced ? undefined : sequence, e.timestamp !== undefined ? undefined : timestamp),
    );
    const item = {
      subject: subjectFor(this.s.prefix, topic),
      body,
      headers: wireHeaders(priority, publisher, msgId),
      msgId,
      attempts: 0,
    };
    if (this.outbox !== null) return this.outbox.push(item);
    // Not connected yet: held until start() makes the outbox (admit() bounded it).
    this.early.push(item);
  }
  private early: Parameters<Outbox['push']>[0][] = [];

  /**
   * Wraps an inline handler so a remote event's outcome becomes its acknowledgement. Local
   * events pass through untouched (one WeakMap lookup).
   */
  wrapHandler(handler: (e: never) => unknown): (e: never) => unknown {
    const pending = this.pending;
    return (event: never) => {
      const p = pending.get(event as object);
      if (p === undefined) return handler(event);
      pending.delete(event as object);
      let result: unknown;
      try {
        result = handler(event);
      } catch (err) {
        this.failed(p, err);
        throw err;
      }
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        return (result as Promise<unknown>).then(
          (v) => {
            this.succeeded(p);
            return v;
          },
          (err: unknown) => {
            this.failed(p, err);
            throw err;
          },
        );
      }
      this.succeeded(p);
      return result;
    };
  }

  /**
   * Starts the engine side of a subscription. `group`: one durable consumer shared by the
   * group (each event to one member); otherwise this bus's own durable consumer (every event).
   * Resolves when the consumer is consuming.
   */
  attach(topic: string, sub: Subscriber, options: { group?: string; name?: string }): Promise<void> {
    this.checkSubscribe(topic, options);
    const group = options.group;
    let consumer: string;
    if (group !== undefined) consumer = consumerName('g', group, topic, '');
    else {
      let key = options.name;
      if (key === undefined) {
        const n = (this.fanOutOrdinal.get(topic) ?? 0) + 1;
        this.fanOutOrdinal.set(topic, n);
        key = String(n);
      }
      consumer = consumerName('s', this.s.name, topic, key);
    }
    // Only a consumer named by the subscription's ordinal belongs to it alone: a named one is kept
    // for whoever resumes it, a group's is shared.
    const inlet = new Inlet(
      this,
      topic,
      sub,
      consumer,
      group ?? null,
      group === undefined && options.name === undefined,
    );
    this.inlets.add(inlet);
    const started = this.starting.then(() => inlet.start());
    started.catch((err: unknown) => {
      inlet.error = errMessage(err);
      this.ctx.logger.error(
        { topic, consumer, err: redactText(errMessage(err)) },
        'signal bus subscription could not start consuming from the engine',
      );
    });
    return started;
  }

  /** Throws for a topic, group or name the engine cannot use; called before the bus registers anything. */
  checkSubscribe(topic: string, options: { group?: unknown; name?: unknown }): void {
    checkSubjectPart('topic', topic);
    const { group, name } = options;
    if (group !== undefined && (typeof group !== 'string' || !GROUP_NAME.test(group)))
      throw new ConfigError('group', group, '1-64 letters, digits, - or _');
    if (group === undefined && name !== undefined && (typeof name !== 'string' || !GROUP_NAME.test(name))) {
      throw new ConfigError('name', name, '1-64 letters, digits, - or _ (it names the durable consumer)');
    }
  }

  /** Stops every subscription's consumer (a closing bus); acknowledgements can still be sent. */
  async stopConsuming(): Promise<void> {
    await Promise.all([...this.inlets].map((i) => i.stop()));
  }

  /**
   * An unsubscribe: stops the subscription's consumer and removes it from the engine when it is
   * the subscription's own (ordinal-named). Left in place it would be found again by the next
   * subscription with that ordinal, after a restart say, which would then be handed everything
   * published since this unsubscribe. A closing bus (stopConsuming) keeps its consumers instead:
   * the process restarting under its name resumes them.
   */
  detach(sub: Subscriber): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const inlet of this.inlets) {
      if (inlet.sub !== sub) continue;
      this.inlets.delete(inlet);
      stops.push(inlet.stop().then(() => (inlet.ownsConsumer ? this.removeConsumer(inlet) : undefined)));
    }
    return Promise.all(stops).then(() => {});
  }

  private async removeConsumer(inlet: Inlet): Promise<void> {
    await this.starting.catch(() => {});
    // Never connected: the consumer was never made, so nothing is left behind.
    if (this.conn === null) return;
    try {
      await this.conn.jsm.consumers.delete(this.settings.stream, inlet.consumer);
    } catch (err) {
      if (isNotFound(err)) return;
      this.consumersLeftBehind++;
      this.ctx.logger.warn(
        { topic: inlet.topic, consumer: inlet.consumer, err: redactText(errMessage(err)) },
        'signal bus could not remove an unsubscribed durable consumer from the engine; it stays until removed by hand',
      );
    }
  }

  stats(): EngineStats {
    const dropped = {} as Record<EngineDropReason, number>;
    ENGINE_DROP_REASONS.forEach((r, i) => {
      dropped[r] = this.drops[i]!;
    });
    const ob = this.outbox;
    return {
      connected: this.conn?.connected ?? false,
      serverVersion: this.conn?.serverVersion ?? null,
      reconnects: this.conn?.reconnects ?? 0,
      disconnects: this.conn?.disconnects ?? 0,
      outboxDepth: ob?.depth ?? this.early.length,
      published: ob?.published ?? 0,
      publishDuplicates: ob?.duplicates ?? 0,
      publishRetries: ob?.retries ?? 0,
      received: this.received,
      redelivered: this.redelivered,
      ownEchoes: this.ownEchoes,
      deadLettered: this.deadLettered,
      dropped,
      consumersLeftBehind: this.consumersLeftBehind,
      subscriptions: [...this.inlets].map((i) => i.stats()),
    };
  }

  /**
   * Sends what the outbox holds (waiting up to `timeoutMs` for the engine), stops consuming
   * and closes the connection. What could not be sent is counted BUS_CLOSED.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.starting.catch(() => {});
    const ob = this.outbox;
    if (ob !== null && ob.depth > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([ob.drained(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      const left = ob.depth;
      ob.abandon();
      if (left > 0) {
        this.drop('BUS_CLOSED', left);
        this.ctx.logger.warn({ left }, 'signal bus closed with events the engine never acknowledged');
      }
    }
    if (this.early.length > 0) this.drop('BUS_CLOSED', this.early.length);
    this.early = [];
    // Remote events not yet handled stay unacknowledged: the engine delivers them again.
    await Promise.all([...this.inlets].map((i) => i.stop()));
    await this.conn?.close();
  }

  // ---- used by Inlet ----

  get settings(): Settings {
    return this.s;
  }

  get connection(): EngineConnection {
    if (this.conn === null) throw new EngineError('ENGINE_CLOSED', 'not connected to the engine');
    return this.conn;
  }

  get ingressRouter(): Router {
    return this.router;
  }

  get ingressQueueSize(): number {
    return this.maxQueueSize;
  }

  get context(): BusContext {
    return this.ctx;
  }

  isOwn(publisher: string): boolean {
    const n = this.s.name;
    return (
      publisher === n ||
      (publisher.length > n.length && publisher.startsWith(n) && publisher.charCodeAt(n.length) === 47) /* '/' */
    );
  }

  expectAck(event: object, p: PendingAck): void {
    this.pending.set(event, p);
  }

  drop(reason: EngineDropReason, count = 1): void {
    const r = ENGINE_DROP_REASONS.indexOf(reason);
    this.drops[r]! += count;
    this.sinceLog[r]! += count;
    // The first drop of a reason is logged at once, then one line per second at most with the count since.
    const now = this.ctx.clock.now();
    if (now - this.lastLogAt[r]! < 1000) return;
    this.lastLogAt[r] = now;
    this.ctx.logger.warn({ reason, count: this.sinceLog[r] }, 'signal bus engine dropped events');
    this.sinceLog[r] = 0;
  }
  private readonly sinceLog = new Float64Array(ENGINE_DROP_REASONS.length);
  private readonly lastLogAt = new Float64Array(ENGINE_DROP_REASONS.length).fill(-Infinity);

  private succeeded(p: PendingAck): void {
    settle(p.msg, 'ack');
    p.inlet.handledOk(p.msg.seq);
  }

  private failed(p: PendingAck, err: unknown): void {
    const attempt = p.msg.info.deliveryCount;
    if (attempt >= this.s.maxAttempts) {
      void this.deadLetter(p.msg, p.topic, p.inlet.consumer, errMessage(err));
      return;
    }
    const delay = Math.min(this.s.retryBackoffMs * 2 ** (attempt - 1), this.s.maxRetryBackoffMs);
    settle(p.msg, 'nak', delay);
  }

  /** Copies the message to the dead-letter subject, then terminates it; if the copy fails the message is redelivered later and tried again. */
  async deadLetter(msg: JsMsg, topic: string, consumer: string, reason: string): Promise<void> {
    const h = makeHeaders();
    if (msg.headers !== undefined)
      for (const [k, v] of msg.headers) for (const x of v) if (k !== 'Nats-Msg-Id') h.append(k, x);
    h.set('Palisade-Dead-Reason', reason.slice(0, 512).replace(/[\r\n]+/g, ' '));
    h.set('Palisade-Consumer', consumer);
    h.set('Palisade-Stream-Sequence', String(msg.seq));
    h.set('Palisade-Attempts', String(msg.info.deliveryCount));
    try {
      await this.connection.js.publish(`${this.s.deadPrefix}.${topic}`, msg.data, {
        headers: h,
        msgID: `dead:${this.s.stream}:${consumer}:${msg.seq}`,
        timeout: this.s.publishTimeoutMs,
      });
      settle(msg, 'term');
      this.deadLettered++;
      this.ctx.logger.error(
        { topic, consumer, streamSequence: msg.seq, attempts: msg.info.deliveryCount, reason: redactText(reason) },
        'signal dead-lettered',
      );
    } catch (err) {
      settle(msg, 'nak', this.s.maxRetryBackoffMs);
      this.ctx.logger.warn(
        { topic, consumer, err: errMessage(err) },
        'dead-letter publish failed; the event will be redelivered and tried again',
      );
    }
  }

  private publisherKey(sequenced: boolean): string {
    return sequenced ? this.s.name : `${this.s.name}/${this.instance}`;
  }

  private async start(options: NatsBusOptions): Promise<void> {
    const s = this.s;
    const conn = await connectEngine({
      servers: s.servers,
      name: s.name,
      logger: this.ctx.logger,
      reconnectTimeWaitMs: options.reconnectTimeWaitMs,
      connectTimeoutMs: options.connectTimeoutMs,
      pingIntervalMs: options.pingIntervalMs,
    });
    if (this.closed) {
      await conn.close();
      throw new EngineError('ENGINE_CLOSED', 'the signal bus closed before the engine connection was ready');
    }
    this.conn = conn;
    const maxPayload = conn.nc.info?.max_payload ?? Infinity;
    if (s.maxEventBytes + 1024 > maxPayload) {
      // Otherwise every large event would fail to publish forever and hold the outbox behind it.
      await conn.close();
      throw new EngineError(
        'ENGINE_SETUP_FAILED',
        `nats.maxEventBytes ${s.maxEventBytes} (+1 KiB for headers) exceeds the server's max_payload ${maxPayload}`,
      );
    }
    try {
      await this.ensureStream(s.stream, `${s.prefix}.>`, s.retentionMs);
      await this.ensureStream(s.deadStream, `${s.deadPrefix}.>`, s.retentionMs * 7);
    } catch (err) {
      await conn.close();
      throw err;
    }
    const outbox = new Outbox(
      conn.js,
      {
        capacity: s.outboxSize,
        maxInflight: s.maxInflight,
        publishTimeoutMs: s.publishTimeoutMs,
        retryDelayMs: 100,
        onRejected: (item, err) => {
          this.drop('REJECTED_BY_ENGINE');
          this.ctx.logger.error(
            { subject: item.subject, msgId: item.msgId, err: redactText(errMessage(err)) },
            'the engine refused a signal; it is not retried',
          );
        },
      },
      this.ctx.clock,
      this.ctx.logger,
    );
    conn.onStatus((status) => {
      if (status === 'disconnected') outbox.pause();
      else if (status === 'reconnected') outbox.resume();
    });
    this.outbox = outbox;
    for (const item of this.early) outbox.push(item);
    this.early = [];
  }

  private async ensureStream(name: string, subject: string, maxAgeMs: number): Promise<void> {
    const jsm = this.connection.jsm;
    let info: StreamInfo | undefined;
    try {
      info = await jsm.streams.info(name);
    } catch (err) {
      if (!isNotFound(err))
        throw new EngineError('ENGINE_SETUP_FAILED', `cannot read stream ${name}: ${errMessage(err)}`, { cause: err });
    }
    if (info !== undefined) {
      if (!info.config.subjects?.includes(subject)) {
        throw new EngineError(
          'ENGINE_SETUP_FAILED',
          `stream ${name} exists without subject ${subject} (it has ${JSON.stringify(info.config.subjects ?? [])})`,
        );
      }
      return;
    }
    try {
      await jsm.streams.add({
        name,
        subjects: [subject],
        retention: RetentionPolicy.Limits,
        storage: this.s.storage === 'file' ? StorageType.File : StorageType.Memory,
        max_age: nanos(maxAgeMs),
        duplicate_window: nanos(Math.min(this.s.duplicateWindowMs, maxAgeMs)),
        max_msg_size: this.s.maxEventBytes * 2,
      });
    } catch (err) {
      // Another process may have created it at the same moment.
      const again = await jsm.streams.info(name).catch(() => undefined);
      if (again === undefined)
        throw new EngineError(
          'ENGINE_SETUP_FAILED',
          `cannot create stream ${name} for ${subject}: ${errMessage(err)}`,
          { cause: err },
        );
    }
  }
}

/** Stands for the engine among a topic's subscribers (publish sends to the engine itself, at once). */
class EngineOutlet implements Subscriber {
  readonly id = 'engine';
  readonly topic = '*';
  readonly kind = 'inline' as const;
  readonly idle = true;
  deliver(): void {}
  detach(): void {}
  dispose(): Promise<void> {
    return Promise.resolve();
  }
  stats(): SubscriberStats {
    return {
      id: 'engine',
      topic: '*',
      kind: 'inline',
      state: 'running',
      probing: false,
      delivered: 0,
      failed: 0,
      restarts: 0,
      mailboxDepth: 0,
      dropped: 0,
      quarantines: 0,
    };
  }
}

/** One subscription's durable consumer and the per-publisher ordering of what it receives. */
class Inlet {
  received = 0;
  acked = 0;
  error: string | null = null;
  private messages: ConsumerMessages | null = null;
  private stopped = false;
  private readonly publishers = new Map<string, Topic>();
  private readonly unordered: Topic;
  private readonly handled = new Set<number>();
  private readonly handledOrder = new Float64Array(HANDLED_MEMORY);
  private handledNext = 0;

  constructor(
    private readonly t: BusTransport,
    readonly topic: string,
    readonly sub: Subscriber,
    readonly consumer: string,
    readonly group: string | null,
    /** This subscription's alone (ordinal-named): removed from the engine on unsubscribe. */
    readonly ownsConsumer: boolean,
  ) {
    this.unordered = new Topic(`${topic}<-unordered`, t.ingressQueueSize);
    this.unordered.subscribers = [sub];
    this.unordered.inlineSubscribers = 1;
  }

  handledOk(streamSeq: number): void {
    this.acked++;
    const slot = this.handledNext++ % HANDLED_MEMORY;
    if (this.handledNext > HANDLED_MEMORY) this.handled.delete(this.handledOrder[slot]!);
    this.handledOrder[slot] = streamSeq;
    this.handled.add(streamSeq);
  }

  async start(): Promise<void> {
    const s = this.t.settings;
    const conn = this.t.connection;
    const config = {
      durable_name: this.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: subjectFor(s.prefix, this.topic),
      max_ack_pending: s.maxAckPending,
      ack_wait: nanos(s.ackWaitMs),
      // palisade counts attempts itself and dead-letters; the server must not give up silently first.
      max_deliver: -1,
    };
    try {
      await conn.jsm.consumers.info(s.stream, this.consumer);
      await conn.jsm.consumers.update(s.stream, this.consumer, {
        max_ack_pending: s.maxAckPending,
        ack_wait: config.ack_wait,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await conn.jsm.consumers.add(s.stream, config);
    }
    if (this.stopped) return;
    const c = await conn.js.consumers.get(s.stream, this.consumer);
    this.messages = await c.consume({
      max_messages: Math.min(s.maxAckPending, 512),
      expires: s.pullExpiresMs,
      callback: (m) => {
        try {
          this.onMessage(m);
        } catch (err) {
          // Never into the client's dispatch loop: the message is left unacknowledged and comes back.
          this.error = errMessage(err);
          this.t.context.logger.error(
            { topic: this.topic, consumer: this.consumer, err: this.error },
            'signal bus could not take a message from the engine',
          );
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const m = this.messages;
    this.messages = null;
    if (m !== null) await m.close().catch(() => {});
  }

  stats(): EngineSubscriptionStats {
    return {
      topic: this.topic,
      consumer: this.consumer,
      group: this.group,
      consuming: this.messages !== null,
      received: this.received,
      acked: this.acked,
      error: this.error,
    };
  }

  private onMessage(msg: JsMsg): void {
    const t = this.t;
    t.received++;
    this.received++;
    const attempt = msg.info.deliveryCount;
    if (attempt > 1) {
      t.redelivered++;
      if (this.handled.has(msg.seq)) {
        // Handled here already; only the acknowledgement was lost (an outage): acknowledge again.
        t.drop('DUPLICATE');
        settle(msg, 'ack');
        return;
      }
    }
    const decoded = decodeSignal(
      this.topic,
      msg.data,
      msg.headers,
      t.settings.maxEventBytes,
      msg.seq,
      msg.info.timestampNanos / 1e6,
    );
    if (typeof decoded === 'string') {
      t.drop(decoded);
      settle(msg, 'term');
      return;
    }
    if (this.group === null && t.isOwn(decoded.publisher)) {
      // Delivered locally when it was published.
      t.ownEchoes++;
      settle(msg, 'ack');
      return;
    }
    if (attempt > t.settings.maxAttempts) {
      // Delivered this often without an outcome (dropped by a full or quarantined subscriber, or acks lost): give up on it visibly.
      void t.deadLetter(msg, this.topic, this.consumer, `no outcome after ${attempt - 1} deliveries`);
      return;
    }
    const event = decoded.event;
    const prio = decoded.priority === 'critical' ? 0 : decoded.priority === 'normal' ? 1 : 2;
    const exp = typeof event['expiresAt'] === 'number' ? (event['expiresAt'] as number) : Infinity;
    if (exp !== Infinity && t.context.clock.now() >= exp) {
      // Redelivering it could only expire it again.
      t.drop('EXPIRED');
      settle(msg, 'ack');
      return;
    }
    t.expectAck(event, { msg, inlet: this, topic: this.topic });
    const t0 = performance.now();
    // A redelivery is already past its place in its publisher's order, and an event without a
    // sequence has none: both take the next place in a queue of their own, still through the
    // router (priority first, and after anything this batch queued before them).
    const inOrder = attempt === 1 && decoded.sequenced;
    const ordering = inOrder ? this.ordering(decoded.publisher) : this.unordered;
    const seq = inOrder ? event.sequence : ordering.lastSeq + 1;
    const kind = ordering.classify(seq, R.DUPLICATE, R.STALE);
    if (kind >= 0) {
      t.drop(kind === R.DUPLICATE ? 'DUPLICATE' : 'STALE');
      settle(msg, 'ack');
      return;
    }
    if (ordering.depth >= ordering.maxQueueSize) {
      // Held here beyond the bound: let the engine keep it a little longer.
      settle(msg, 'nak', t.settings.retryBackoffMs);
      return;
    }
    t.ingressRouter.accept(ordering, kind, false, event, prio, seq, exp, t0);
  }

  private ordering(publisher: string): Topic {
    let o = this.publishers.get(publisher);
    if (o === undefined) {
      if (this.publishers.size >= MAX_PUBLISHERS) {
        for (const [k, v] of this.publishers) if (v.depth === 0 && v.gapTimer === null) this.publishers.delete(k);
      }
      // As in-process: the first events seen from a publisher (a process joining late, or
      // resuming) wait up to the reorder window for lower sequences, then set its baseline.
      o = new Topic(`${this.topic}<-${publisher || 'anonymous'}`, this.t.ingressQueueSize);
      o.subscribers = [this.sub];
      o.inlineSubscribers = 1;
      this.publishers.set(publisher, o);
    }
    return o;
  }
}

function subjectPrefix(key: string, value: unknown): string {
  if (!isSubjectSafe(value) || (value as string).length > 128)
    throw new ConfigError(
      key,
      value,
      "dot-separated subject tokens without spaces, '*' or '>' (at most 128 characters)",
    );
  return value as string;
}

/**
 * A durable consumer name that reads well (`s_strategy_trade_signal_1_…`) and cannot collide:
 * names and topics may contain the separator, so a hash of the exact parts ends it.
 */
function consumerName(kind: 'g' | 's', owner: string, topic: string, key: string): string {
  const readable = `${kind}_${owner}_${topic.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60)}${key === '' ? '' : `_${key}`}`;
  const hash = createHash('sha256')
    .update(JSON.stringify([kind, owner, topic, key]))
    .digest('hex')
    .slice(0, 10);
  return `${readable}_${hash}`;
}

/**
 * Acknowledges, naks or terminates. On a closed or broken connection this fails; the engine then
 * redelivers after ackWaitMs, which is the outcome the caller would want anyway.
 */
function settle(msg: JsMsg, how: 'ack' | 'nak' | 'term', delayMs?: number): void {
  try {
    if (how === 'ack') msg.ack();
    else if (how === 'nak') msg.nak(delayMs);
    else msg.term();
  } catch {
    // See above: the engine's redelivery covers it.
  }
}

const encoder = new TextEncoder();
/** Room kept in maxEventBytes for the `sequence` and `timestamp` the wire body may add. */
const WIRE_FIELDS_BYTES = 64;

/** Adds `sequence` / `timestamp` in front of the event's own fields, only where it has none (no repeated keys). */
function withWireFields(json: string, sequence: number | undefined, timestamp: number | undefined): string {
  let head = '';
  if (sequence !== undefined) head += `"sequence":${sequence},`;
  if (timestamp !== undefined) head += `"timestamp":${timestamp},`;
  if (head === '') return json;
  return json === '{}' ? `{${head.slice(0, -1)}}` : `{${head}${json.slice(1)}`;
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 10014 || code === 10059 || /not found/i.test(errMessage(err));
}
