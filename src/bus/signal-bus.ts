import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { BusTransport } from '../engine/bus-transport.ts';
import { EngineError } from '../engine/errors.ts';
import type { NatsBusOptions } from '../engine/types.ts';
import { ConfigError } from '../errors.ts';
import { BUS_DEFAULTS } from '../defaults.ts';
import { integer, timeoutMs as checkTimeoutMs } from '../validate.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { BusTracing } from '../observe/trace.ts';
import type { Supervisor } from '../runtime/index.ts';
import { findUncloneable } from './cloneable.ts';
import type { BusContext, Subscriber } from './context.ts';
import { BusCounters, R } from './counters.ts';
import { SignalBusError, invalidEvent, invalidPriority, invalidTopic, describe } from './errors.ts';
import { InlineSubscriber } from './inline-subscriber.ts';
import { DEFAULT_QUARANTINE, quarantinePolicy, type QuarantinePolicy } from './outcome-window.ts';
import { Router } from './router.ts';
import { Topic } from './topic.ts';
import {
  CRITICAL,
  LOW,
  NORMAL,
  type InlineHandler,
  type Priority,
  type QuarantineOptions,
  type SignalBusStats,
  type SubscribeOptions,
  type Subscription,
  type TopicOptions,
  type WorkerHandlerSpec,
} from './types.ts';
import { WorkerSubscriber, createOwnSupervisor } from './worker-subscriber.ts';

export interface SignalBusOptions {
  /** Bound on each topic's queue (accepted, not yet dispatched). Default 10000. */
  maxQueueSize?: number;
  /**
   * Topics the bus keeps. A new topic past it evicts idle, empty topics (no subscriber, nothing
   * queued, no configureTopic settings), oldest first, counted in `topicsEvicted`; when none can
   * be evicted, publish drops the event (TOO_MANY_TOPICS) and subscribe / configureTopic throw.
   * Default 10000.
   */
  maxTopics?: number;
  /**
   * How far beyond a topic's last in-order sequence an event's sequence may be. Further is
   * dropped (SEQUENCE_TOO_FAR): a slot read wrong or a millisecond timestamp must not turn the
   * topic's next billion sequence numbers into a gap. Infinity: no limit. Default 1000000.
   */
  maxSequenceJump?: number;
  /** Subscribers across the whole bus. Default 100. */
  maxSubscribers?: number;
  /** How long an event ahead of a sequence gap waits for the gap to fill. Default 50 ms. */
  reorderWindowMs?: number;
  /** Default per-subscriber mailbox bound. Default: maxQueueSize. */
  mailboxSize?: number;
  /** Default quarantine policy for subscribers. */
  quarantine?: QuarantineOptions;
  /** Time every n-th event from publish to handler (a power of two; 1 = all). Default 16. */
  latencySampleEvery?: number;
  /**
   * Freeze delivered events so one subscriber cannot change what the next one sees. Applied
   * when the topic has more than one inline subscriber (a lone subscriber shares its copy with
   * nobody, and worker subscribers get their own clone). Default true.
   */
  freezeEvents?: boolean;
  /** How long close() waits for subscribers to finish their backlog. Default 5000 ms. */
  closeTimeoutMs?: number;
  /** Supervisor for worker subscribers; without one the bus makes its own on first use (and shuts it down on close). */
  supervisor?: Supervisor;
  logger?: Logger;
  /** Time source for timestamps, expiry, reorder windows and cool-offs. Default: system clock. */
  clock?: Clock;
  /** Shorthand for a clock whose now() is this (timers stay the system's). */
  now?: () => number;
  /** Carry signals between processes over NATS JetStream (README: "Beyond one process"). Absent: in-process only. */
  nats?: NatsBusOptions;
  /**
   * A span per delivery through @opentelemetry/api (README: "Traces"), child of the context each
   * event was published in; worker subscribers' events carry it as a `traceparent` field.
   * Default false: publish and dispatch then do no context work at all.
   */
  tracing?: boolean;
}

export interface CloseOptions {
  timeoutMs?: number;
}

let busCount = 0;

/**
 * Topics with ordered, prioritised, bounded delivery to isolated subscribers.
 *
 *   const bus = new SignalBus({ maxQueueSize: 10_000, logger });
 *   const sub = bus.subscribe('trade_signal', (s) => execute(s));
 *   bus.subscribe('trade_signal', { module: new URL('./scorer.ts', import.meta.url) });
 *   bus.publish('trade_signal', { token: 'BONK', action: 'BUY', sequence: slot }, 'critical');
 *   bus.getStats();
 *   await bus.close();
 *
 * publish() is synchronous and cheap: it checks, sequences and queues the event; the router
 * dispatches in a microtask (so a synchronous burst fills the topic queue up to its bound).
 */
export class SignalBus {
  readonly maxQueueSize: number;
  readonly maxSubscribers: number;
  readonly reorderWindowMs: number;
  readonly maxTopics: number;
  readonly maxSequenceJump: number;
  private readonly mailboxSize: number;
  private readonly quarantine: QuarantinePolicy;
  private readonly sampleMask: number;
  private readonly freeze: boolean;
  private readonly closeTimeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly counters: BusCounters;
  private readonly router: Router;
  private readonly ctx: BusContext;
  private readonly tracing: BusTracing | null;
  private readonly topics = new Map<string, Topic>();
  private readonly subscribers = new Map<string, Subscriber>();
  private lastTopic: Topic | null = null;
  private sampleTick = 0;
  private subscriberSeq = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private idleWaiter: (() => void) | null = null;
  private supervisor: Supervisor | null;
  private ownsSupervisor = false;
  private readonly busId = ++busCount;
  /** The NATS JetStream link; null for an in-process bus, whose paths never look at it. */
  private readonly engine: BusTransport | null = null;

  constructor(options: SignalBusOptions = {}) {
    const o = options ?? {};
    this.maxQueueSize = positiveInt('maxQueueSize', o.maxQueueSize, BUS_DEFAULTS.maxQueueSize);
    this.maxSubscribers = positiveInt('maxSubscribers', o.maxSubscribers, BUS_DEFAULTS.maxSubscribers);
    this.reorderWindowMs = delayMs('reorderWindowMs', o.reorderWindowMs, BUS_DEFAULTS.reorderWindowMs);
    this.maxTopics = positiveInt('maxTopics', o.maxTopics, BUS_DEFAULTS.maxTopics);
    this.maxSequenceJump =
      o.maxSequenceJump === Infinity
        ? Infinity
        : positiveInt('maxSequenceJump', o.maxSequenceJump, BUS_DEFAULTS.maxSequenceJump);
    this.mailboxSize = positiveInt('mailboxSize', o.mailboxSize, this.maxQueueSize);
    this.quarantine = quarantinePolicy(DEFAULT_QUARANTINE, o.quarantine, 'quarantine');
    const every = positiveInt('latencySampleEvery', o.latencySampleEvery, BUS_DEFAULTS.latencySampleEvery);
    if ((every & (every - 1)) !== 0)
      throw new ConfigError('latencySampleEvery', every, 'a power of two (1, 2, 4, ...)');
    this.sampleMask = every - 1;
    this.freeze = o.freezeEvents ?? true;
    this.closeTimeoutMs = delayMs('closeTimeoutMs', o.closeTimeoutMs, BUS_DEFAULTS.closeTimeoutMs);
    this.logger = o.logger ?? silentLogger;
    const base = o.clock ?? systemClock;
    this.clock = o.now
      ? { now: o.now, setTimeout: (fn, ms) => base.setTimeout(fn, ms), clearTimeout: (h) => base.clearTimeout(h) }
      : base;
    this.supervisor = o.supervisor ?? null;
    this.counters = new BusCounters(this.clock, this.logger);
    this.router = new Router(this.clock, this.counters, this.logger, this.reorderWindowMs, this.maxSequenceJump);
    if (o.tracing !== undefined && typeof o.tracing !== 'boolean')
      throw new ConfigError('tracing', o.tracing, 'true or false');
    this.tracing = o.tracing === true ? new BusTracing() : null;
    this.ctx = {
      clock: this.clock,
      logger: this.logger,
      counters: this.counters,
      tracing: this.tracing,
      subscriberIdle: () => this.idleWaiter?.(),
    };
    if (o.nats !== undefined) {
      this.engine = new BusTransport(o.nats, this.ctx, this.reorderWindowMs, this.maxQueueSize, this.maxSequenceJump);
      // An own property: the in-process bus keeps the prototype's publish untouched.
      this.publish = this.publishWithEngine;
    }
  }

  /** Resolves when the bus can carry events: at once in-process; with `nats`, once connected and its streams exist (rejects with an EngineError otherwise). */
  ready(): Promise<void> {
    return this.engine === null ? Promise.resolve() : this.engine.ready();
  }

  private publishWithEngine(topic: string, event: object, priority: Priority = 'normal'): boolean {
    // Malformed arguments fall through to publish's own checks and errors.
    if (
      typeof topic !== 'string' ||
      topic.length === 0 ||
      typeof event !== 'object' ||
      event === null ||
      Array.isArray(event)
    ) {
      return SignalBus.prototype.publish.call(this, topic, event, priority);
    }
    const engine = this.engine!;
    const json = engine.admit(topic, event);
    if (json === null) return false;
    const now = this.clock.now();
    if (!SignalBus.prototype.publish.call(this, topic, event, priority)) return false;
    const s = (event as { sequence?: unknown }).sequence;
    // publish() left the topic it used in lastTopic; its lastSeq is the sequence it just gave.
    engine.send(topic, event, json, typeof s === 'number' ? s : this.lastTopic!.lastSeq, now, priority);
    return true;
  }

  /**
   * Queues `event` on `topic`. Returns false, counted with its reason, when the bus refuses it
   * (queue full, duplicate, stale or too far a sequence, too many topics, bus closed). Bad
   * input throws a SignalBusError and queues nothing. A topic is created only by an event it
   * accepts: a refused publish leaves no topic behind.
   */
  publish(topic: string, event: object, priority: Priority = 'normal'): boolean {
    let prio: number;
    if (priority === 'normal') prio = NORMAL;
    else if (priority === 'critical') prio = CRITICAL;
    else if (priority === 'low') prio = LOW;
    else throw invalidPriority(priority);
    if (typeof event !== 'object' || event === null || isArray(event)) {
      throw invalidEvent(`event must be a plain object, got ${describe(event)}`);
    }
    let t = this.lastTopic;
    let fresh = false;
    if (t === null || t.name !== topic) {
      t = this.topics.get(checkTopicName(topic)) ?? null;
      if (t === null) {
        // Not kept until it accepts this event; until then it only carries the defaults.
        t = new Topic(topic, this.maxQueueSize);
        fresh = true;
      } else this.lastTopic = t;
    }
    if (this.closed) return this.refuse(t, fresh, R.BUS_CLOSED, prio);

    const s = field(event, 'sequence');
    let seq: number;
    if (s === undefined) seq = t.lastSeq + 1;
    else if (typeof s === 'number' && Number.isSafeInteger(s) && s >= 0) seq = s;
    else throw invalidEvent(`event.sequence must be a non-negative safe integer, got ${describe(s)}`);
    const ts0 = field(event, 'timestamp');
    let ts: number;
    if (ts0 === undefined) ts = this.clock.now();
    else if (typeof ts0 === 'number' && Number.isFinite(ts0)) ts = ts0;
    else throw invalidEvent(`event.timestamp must be a finite number (epoch ms), got ${describe(ts0)}`);
    const x = field(event, 'expiresAt');
    let exp: number;
    if (x === undefined) exp = t.ttlMs === Infinity ? Infinity : ts + t.ttlMs;
    else if (typeof x === 'number' && !Number.isNaN(x)) exp = x;
    else throw invalidEvent(`event.expiresAt must be a number (epoch ms), got ${describe(x)}`);
    if (t.workerSubscribers > 0) {
      const bad = findUncloneable(event);
      if (bad !== null)
        throw new SignalBusError(
          'EVENT_NOT_CLONEABLE',
          `topic ${t.name} has worker subscribers and ${bad} cannot be sent to a worker`,
        );
    }

    // Refusals are decided before the delivered copy is built: a storm of refusals allocates nothing.
    // Also when the bus numbers it past the safe integers (a topic whose baseline was MAX_SAFE_INTEGER).
    if (seq - t.jumpBase > this.maxSequenceJump || seq > Number.MAX_SAFE_INTEGER)
      return this.refuse(t, fresh, R.SEQUENCE_TOO_FAR, prio);
    const kind = t.classify(seq, R.DUPLICATE, R.STALE);
    if (kind >= 0) return this.refuse(t, fresh, kind, prio);
    const full = t.ready.live + t.bufferLive >= t.maxQueueSize;
    if (full && !this.router.canMakeRoom(t, prio)) return this.refuse(t, fresh, R.QUEUE_FULL, prio);

    let out: object;
    try {
      out = this.deliveredCopy(event, t.name, seq, ts, priority, this.freeze && t.inlineSubscribers > 1);
    } catch (err) {
      throw invalidEvent(`reading the event threw: ${errorText(err)}`);
    }
    if (fresh) {
      if (!this.makeRoomForTopic()) return this.refuse(t, fresh, R.TOO_MANY_TOPICS, prio);
      this.topics.set(topic, t);
      this.lastTopic = t;
    }
    if (this.tracing !== null) this.tracing.notePublish(out);
    const t0 = (++this.sampleTick & this.sampleMask) === 0 ? performance.now() : NaN;
    this.router.accept(t, kind, full, out, prio, seq, exp, t0);
    return true;
  }

  /** A counted refusal; on a topic not kept yet, only the bus's counters remember it. */
  private refuse(t: Topic, fresh: boolean, reason: number, prio: number): false {
    if (fresh) {
      this.counters.drop(reason, prio, t.name);
      return false;
    }
    return this.router.refuse(t, reason, prio);
  }

  /**
   * Adds a subscriber: a function runs on this thread; `{ module, export }` runs as a
   * supervised worker actor. Events published from now on are delivered to it in sequence order.
   */
  subscribe<T extends object = Record<string, unknown>>(
    topic: string,
    handler: InlineHandler<T> | WorkerHandlerSpec,
    options: SubscribeOptions = {},
  ): Subscription {
    if (this.closed) throw new SignalBusError('BUS_CLOSED', 'the signal bus is closed');
    const isFn = typeof handler === 'function';
    const isSpec = !isFn && isWorkerSpec(handler);
    if (!isFn && !isSpec) {
      throw new SignalBusError(
        'INVALID_HANDLER',
        `handler must be a function or { module: string | URL, export?: string }, got ${describe(handler)}`,
      );
    }
    if (options === null || typeof options !== 'object')
      throw new ConfigError('subscribe options', options, 'an object');
    checkTopicName(topic);
    if (this.subscribers.size >= this.maxSubscribers) {
      throw new SignalBusError(
        'TOO_MANY_SUBSCRIBERS',
        `the bus already has ${this.subscribers.size} subscribers (maxSubscribers ${this.maxSubscribers})`,
      );
    }
    if (this.engine !== null) {
      if (!isFn)
        throw new EngineError(
          'ENGINE_UNSUPPORTED',
          'worker subscribers do not receive events from the engine; subscribe inline and hand work to an actor',
        );
      this.engine.checkSubscribe(topic, options);
    }
    const mailboxSize = positiveInt('mailboxSize', options.mailboxSize, this.mailboxSize);
    const policy = quarantinePolicy(this.quarantine, options.quarantine, 'quarantine');
    const t = this.topic(topic);
    const id = `${topic}#${++this.subscriberSeq}`;
    let sub: Subscriber;
    if (isFn) {
      const fn =
        this.engine === null
          ? (handler as (e: never) => unknown)
          : this.engine.wrapHandler(handler as (e: never) => unknown);
      sub = new InlineSubscriber(id, topic, fn, mailboxSize, policy, this.ctx);
      t.inlineSubscribers++;
    } else {
      const spec = handler as WorkerHandlerSpec;
      const supervisor = this.supervisorForWorkers();
      const name = options.name ?? `bus${this.busId}:${id}`;
      sub = new WorkerSubscriber(
        id,
        topic,
        supervisor,
        { ...options, name, module: spec.module, export: spec.export ?? 'default' },
        mailboxSize,
        policy,
        this.ctx,
      );
      t.workerSubscribers++;
    }
    this.subscribers.set(id, sub);
    // A group member takes its work from the engine only: one member per event, this bus's own publishes included.
    const local = this.engine === null || options.group === undefined;
    if (local) t.subscribers = [...t.subscribers, sub];
    const kind = sub.kind;
    const ready =
      sub instanceof WorkerSubscriber
        ? sub.ready
        : this.engine !== null
          ? this.engine.attach(topic, sub, options)
          : Promise.resolve();
    let done: Promise<void> | null = null;
    return {
      id,
      topic,
      kind,
      ready,
      unsubscribe: () => (done ??= this.unsubscribe(t, sub)),
    };
  }

  /**
   * Per-topic settings; creates the topic (which is then never evicted). `firstSequence` only
   * before the topic's first event.
   */
  configureTopic(topic: string, options: TopicOptions): void {
    if (options === null || typeof options !== 'object') throw new ConfigError('topic options', options, 'an object');
    checkTopicName(topic);
    // Every option is checked before anything changes: a bad one leaves the topic as it was.
    const f = options.firstSequence;
    if (f !== undefined && (!Number.isSafeInteger(f) || f < 0))
      throw new ConfigError('firstSequence', f, 'a non-negative safe integer');
    const ttlMs = options.ttlMs;
    if (ttlMs !== undefined && !(typeof ttlMs === 'number' && ttlMs > 0))
      throw new ConfigError('ttlMs', ttlMs, 'milliseconds > 0 (Infinity for none)');
    const maxQueueSize =
      options.maxQueueSize === undefined
        ? undefined
        : positiveInt('maxQueueSize', options.maxQueueSize, this.maxQueueSize);
    const existing = this.topics.get(topic);
    if (f !== undefined && existing?.started)
      throw new SignalBusError('TOPIC_IN_USE', `topic ${topic} already has events; its first sequence cannot change`);
    const t = existing ?? this.topic(topic);
    t.configured = true;
    if (f !== undefined) t.setFirstSequence(f);
    if (ttlMs !== undefined) t.ttlMs = ttlMs;
    if (maxQueueSize !== undefined) t.maxQueueSize = maxQueueSize;
  }

  /**
   * Makes `topic` forget its sequence history, for a topic poisoned by a wrong sequence (a
   * timestamp taken for a slot as its first event): what waits in its reorder buffer is released
   * now (its gaps given up), events already queued stay, and the next event sets a new baseline
   * as on a new topic (or, with `firstSequence`, is expected to be that). False when there is no
   * such topic.
   */
  resetTopic(topic: string, options: { firstSequence?: number } = {}): boolean {
    checkTopicName(topic);
    if (options === null || typeof options !== 'object')
      throw new ConfigError('resetTopic options', options, 'an object');
    const f = options.firstSequence;
    if (f !== undefined && (!Number.isSafeInteger(f) || f < 0))
      throw new ConfigError('firstSequence', f, 'a non-negative safe integer');
    const t = this.topics.get(topic);
    if (t === undefined) return false;
    this.router.releaseBuffered(t);
    t.resetSequence(f ?? t.firstSequence);
    if (f !== undefined) t.firstSequence = f;
    this.logger.warn(
      { topic, firstSequence: t.firstSequence },
      'signal bus topic reset: its sequence history is forgotten',
    );
    return true;
  }

  getStats(): SignalBusStats {
    const base = this.counters.snapshot(this.sampleMask + 1);
    return {
      ...base,
      topicCount: this.topics.size,
      topics: [...this.topics.values()].map((t) => ({
        topic: t.name,
        depth: t.depth,
        reorderDepth: t.reorderDepth,
        maxQueueSize: t.maxQueueSize,
        nextSequence: t.readyTail + 1,
        gaps: t.gaps,
        skippedSequences: t.skippedSequences,
        baselineJumps: t.baselineJumps,
        published: t.published,
        publishedByPriority: {
          critical: t.publishedByPriority[0]!,
          normal: t.publishedByPriority[1]!,
          low: t.publishedByPriority[2]!,
        },
        dropped: t.dropped,
        droppedByReason: this.counters.topicDropsByReason(t.name),
        refused: t.refused,
        displaced: t.displaced,
        subscribers: t.subscribers.length,
        resets: t.resets,
      })),
      subscribers: [...this.subscribers.values()].map((s) => s.stats()),
      closed: this.closed,
      ...(this.engine === null ? {} : { engine: this.engine.stats() }),
    };
  }

  /**
   * Stops accepting events, dispatches everything accepted (gaps are given up at once), waits
   * up to `timeoutMs` for subscribers to finish their backlog, drops (counted) what is left,
   * stops worker subscribers and, if the bus made its own supervisor, shuts it down.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(delayMs('timeoutMs', options.timeoutMs, this.closeTimeoutMs));
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.closed = true;
    // If close() was called from a handler, let the router finish its turn first.
    await null;
    // Take nothing more from the engine; what it has not had acknowledged it delivers again later.
    if (this.engine !== null) await this.engine.stopConsuming();
    this.router.flush(this.topics.values());
    const drained = await this.waitIdle(timeoutMs);
    if (!drained)
      this.logger.warn({ timeoutMs }, 'signal bus close: subscribers did not finish in time; dropping what is left');
    for (const sub of this.subscribers.values()) sub.detach(R.BUS_CLOSED);
    for (const t of this.topics.values()) t.clear((p) => this.counters.drop(R.BUS_CLOSED, p, t.name));
    this.router.stop(this.topics.values());
    if (this.engine !== null) await this.engine.close(timeoutMs);
    await Promise.all([...this.subscribers.values()].map((s) => s.dispose()));
    if (this.ownsSupervisor && this.supervisor !== null) await this.supervisor.shutdown({ drainMs: 0 });
    this.counters.flushLog();
  }

  private waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.allIdle()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let timer: TimerHandle | null = null;
      const finish = (ok: boolean) => {
        this.idleWaiter = null;
        this.router.onIdle = null;
        if (timer !== null) this.clock.clearTimeout(timer);
        resolve(ok);
      };
      this.idleWaiter = () => {
        if (this.allIdle()) finish(true);
      };
      this.router.onIdle = this.idleWaiter;
      timer = this.clock.setTimeout(() => finish(false), timeoutMs);
    });
  }

  private allIdle(): boolean {
    if (this.router.busy) return false;
    for (const s of this.subscribers.values()) if (!s.idle) return false;
    return true;
  }

  private async unsubscribe(t: Topic, sub: Subscriber): Promise<void> {
    if (!this.subscribers.delete(sub.id)) return;
    t.subscribers = t.subscribers.filter((s) => s !== sub);
    if (this.engine !== null) await this.engine.detach(sub);
    if (sub.kind === 'worker') t.workerSubscribers--;
    else t.inlineSubscribers--;
    sub.detach(R.UNSUBSCRIBED);
    await sub.dispose();
  }

  /** The topic, created if need be (subscribe, configureTopic); throws TOO_MANY_TOPICS past the bound. */
  private topic(name: string): Topic {
    let t = this.topics.get(checkTopicName(name));
    if (t === undefined) {
      if (!this.makeRoomForTopic()) {
        throw new SignalBusError(
          'TOO_MANY_TOPICS',
          `the bus already keeps ${this.topics.size} topics (maxTopics ${this.maxTopics}) and none is idle`,
        );
      }
      t = new Topic(name, this.maxQueueSize);
      if (this.engine !== null) t.subscribers = [this.engine.outletSubscriber];
      this.topics.set(name, t);
    }
    return t;
  }

  /**
   * Room for one more topic: at the bound, evicts idle, empty topics, oldest first, down to 7/8
   * of the bound (so a stream of one-shot topics pays for a sweep once per maxTopics/8 topics,
   * not on each). False when none could be evicted.
   */
  private makeRoomForTopic(): boolean {
    if (this.topics.size < this.maxTopics) return true;
    const target = this.maxTopics - Math.max(1, this.maxTopics >>> 3);
    for (const [name, t] of this.topics) {
      if (this.topics.size <= target) break;
      if (!t.evictable) continue;
      this.topics.delete(name);
      this.counters.topicsEvicted++;
      if (this.lastTopic === t) this.lastTopic = null;
    }
    return this.topics.size < this.maxTopics;
  }

  private deliveredCopy(
    event: object,
    topic: string,
    sequence: number,
    timestamp: number,
    priority: Priority,
    freeze: boolean,
  ): object {
    // Literal first, then spread: V8 builds this on its fast path; adding properties after a
    // spread is ~30x slower on Node 20. The publisher's own fields of the same names are overridden.
    const out = { topic, sequence, timestamp, priority, ...event };
    if (out.topic !== topic) out.topic = topic;
    if (out.sequence !== sequence) out.sequence = sequence;
    if (out.timestamp !== timestamp) out.timestamp = timestamp;
    if (out.priority !== priority) out.priority = priority;
    return freeze ? Object.freeze(out) : out;
  }

  private supervisorForWorkers(): Supervisor {
    if (this.supervisor === null) {
      this.supervisor = createOwnSupervisor(this.logger, this.clock);
      this.ownsSupervisor = true;
    }
    return this.supervisor;
  }
}

/** Topic names longer than this are refused (a name is kept per topic and logged with its drops). */
const MAX_TOPIC_NAME = 256;

function checkTopicName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TOPIC_NAME) throw invalidTopic(name);
  return name;
}

/** Reads one field of a published event; a getter or Proxy trap that throws is bad input, not a crash. */
function field(event: object, key: 'sequence' | 'timestamp' | 'expiresAt'): unknown {
  try {
    return (event as Record<string, unknown>)[key];
  } catch (err) {
    throw invalidEvent(`reading event.${key} threw: ${errorText(err)}`);
  }
}

/** Array.isArray throws on a revoked Proxy: that is bad input too. */
function isArray(event: object): boolean {
  try {
    return Array.isArray(event);
  } catch (err) {
    throw invalidEvent(`event cannot be read: ${errorText(err)}`);
  }
}

function errorText(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'an unprintable value';
  }
}

function isWorkerSpec(h: unknown): h is WorkerHandlerSpec {
  if (h === null || typeof h !== 'object') return false;
  const m = (h as { module?: unknown }).module;
  const e = (h as { export?: unknown }).export;
  return (
    ((typeof m === 'string' && m.length > 0) || m instanceof URL) &&
    (e === undefined || (typeof e === 'string' && e.length > 0))
  );
}

function positiveInt(key: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : integer(key, value, 1);
}

/** A delay fed to a timer: 0 allowed, at most Node's 2^31−1 ms (beyond it a timer fires at once). */
function delayMs(key: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : checkTimeoutMs(key, value, { min: 0 });
}
