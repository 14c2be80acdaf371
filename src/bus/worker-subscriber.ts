import type { Clock } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { Supervisor, type ActorRef, type DeadLetterReason, type Outcome, type SpawnOptions } from '../runtime/index.ts';
import type { BusContext, Subscriber } from './context.ts';
import { R } from './counters.ts';
import type { QuarantinePolicy } from './outcome-window.ts';
import { PriorityRing } from './priority-ring.ts';
import { PROBE, QuarantineGate } from './quarantine-gate.ts';
import type { SubscribeOptions, SubscriberStats } from './types.ts';
import { FailureLog } from './failure-log.ts';
import type { Span } from '@opentelemetry/api';

/**
 * Events handed to the runtime and not yet finished, per worker subscriber. Enough to keep
 * the runtime's batches full (it hands up to 256 at a time to the worker); small enough that
 * priority shedding and expiry still act on most of a backlog, which waits here on the host.
 */
export const WORKER_CREDIT = 1024;

export function createOwnSupervisor(logger: Logger, clock: Clock): Supervisor {
  return new Supervisor({ logger, clock });
}

type WorkerSpawn = SubscribeOptions & { name: string; module: string | URL; export: string };

/**
 * A subscriber running as a supervised worker actor. The runtime keeps its mailbox on the
 * host (so queued events survive worker restarts) and serves it one message at a time.
 *
 * Every event is told with the same runtime priority, so the actor sees the topic's sequence
 * order (the runtime serves critical before normal, which would reorder a topic). Priority
 * matters here instead: at most WORKER_CREDIT events are handed to the runtime; the rest wait
 * in this subscriber's own bounded mailbox, where overflow sheds the least important first
 * and expiry is checked before an event is handed over.
 */
export class WorkerSubscriber implements Subscriber {
  readonly kind = 'worker' as const;
  readonly ready: Promise<void>;
  private readonly ref: ActorRef;
  private readonly staged = new PriorityRing<object>(16);
  /** Told and not yet finished, in the order told (the runtime reports outcomes in that order). */
  private readonly inflight = new PriorityRing<object>(64);
  private readonly credit: number;
  private readonly gate: QuarantineGate;
  private detached = false;
  private detachReason: number = R.UNSUBSCRIBED;
  private stopped = false;
  /** The event inside ref.tell() right now, so a synchronous refusal can be told apart. */
  private telling: object | null = null;
  private tellingPrio = 0;
  private delivered = 0;
  private failed = 0;
  private dropped = 0;
  private readonly failureLog: FailureLog;
  /** Tracing buses: the open delivery span per message handed to the runtime, ended by its outcome. */
  private readonly spans: Map<object, Span> | null;

  constructor(
    readonly id: string,
    readonly topic: string,
    supervisor: Supervisor,
    spawn: WorkerSpawn,
    private readonly mailboxSize: number,
    policy: QuarantinePolicy,
    private readonly ctx: BusContext,
  ) {
    this.credit = Math.min(WORKER_CREDIT, mailboxSize);
    this.spans = ctx.tracing === null ? null : new Map();
    this.gate = new QuarantineGate(policy, ctx.clock, ctx.logger, this);
    this.failureLog = new FailureLog(
      ctx.logger,
      ctx.clock,
      id,
      topic,
      'signal bus worker subscriber failed; continuing with the others',
    );
    const opts: SpawnOptions = {
      name: spawn.name,
      module: spawn.module,
      export: spawn.export,
      mailboxSize: this.credit,
      overflow: 'reject',
    };
    if (spawn.heartbeatMs !== undefined) opts.heartbeatMs = spawn.heartbeatMs;
    if (spawn.maxAttempts !== undefined) opts.maxAttempts = spawn.maxAttempts;
    if (spawn.resourceLimits !== undefined) opts.resourceLimits = spawn.resourceLimits;
    if (spawn.init !== undefined) opts.init = spawn.init;
    if (spawn.startTimeoutMs !== undefined) opts.startTimeoutMs = spawn.startTimeoutMs;
    if (spawn.ringBytes !== undefined) opts.ringBytes = spawn.ringBytes;
    this.ref = supervisor.spawn(opts);
    // Batched outcomes: one call per acknowledgement rather than an event object per message.
    this.ref.setOutcomeSink({
      processed: (messages, count) => this.onProcessed(messages, count),
      settled: (o) => this.onOutcome(o),
    });
    this.ref.on('state', (state: string) => this.onState(state));
    this.ready = this.ref.ready;
    this.ready.catch((err: unknown) => {
      this.ctx.logger.error({ subscriber: id, topic, err }, 'signal bus worker subscriber could not start');
    });
  }

  get idle(): boolean {
    return this.inflight.live === 0 && (this.staged.live === 0 || this.stopped || this.gate.quarantined);
  }

  deliver(event: object, prio: number, exp: number, t0: number): void {
    if (this.detached) return this.drop(R.UNSUBSCRIBED, prio);
    if (this.stopped) return this.drop(R.SUBSCRIBER_STOPPED, prio);
    if (this.gate.quarantined) return this.deliverQuarantined(event, prio, exp, t0);
    if (this.staged.length === 0 && this.inflight.live < this.credit) {
      this.send(event, prio, exp, t0);
      return;
    }
    this.stage(event, prio, exp, t0);
    // Out of credit: take back what the worker has finished since its last acknowledgement
    // (read from shared memory; the ack message would wait for the next event-loop turn). The
    // outcomes pump the staged events, this one included, in order.
    if (this.inflight.live >= this.credit) this.ref.reapFinished();
  }

  detach(reason: number): void {
    this.detached = true;
    this.detachReason = reason;
    this.staged.clear((p) => this.drop(reason, p));
  }

  /** Stops the actor; events it still held are dead-lettered by the runtime and counted here. */
  dispose(): Promise<void> {
    const stopped = this.ref.stop();
    if (this.spans === null) return stopped;
    return stopped.finally(() => {
      for (const m of [...this.spans!.keys()]) this.endTrace(m, false, 'stopped');
    });
  }

  stats(): SubscriberStats {
    const a = this.ref.stats;
    const state = this.stopped
      ? 'stopped'
      : this.gate.quarantined || a.state === 'quarantined'
        ? 'quarantined'
        : a.state === 'restarting'
          ? 'restarting'
          : 'running';
    return {
      id: this.id,
      topic: this.topic,
      kind: 'worker',
      state,
      probing: this.gate.probing,
      delivered: this.delivered,
      failed: this.failed,
      restarts: a.restarts,
      mailboxDepth: this.staged.live + this.inflight.live,
      dropped: this.dropped,
      quarantines: this.gate.quarantines,
      actor: { name: a.name, state: a.state, incarnation: a.incarnation, crashes: a.crashes },
    };
  }

  /** Hands one event to the runtime (unless it has expired). False if it was not handed over. */
  private send(event: object, prio: number, exp: number, t0: number): boolean {
    if (exp !== Infinity && this.ctx.clock.now() >= exp) {
      this.drop(R.EXPIRED, prio);
      return false;
    }
    if (this.spans !== null) event = this.traced(event);
    this.inflight.push(event, prio, exp, t0, 0);
    this.telling = event;
    this.tellingPrio = prio;
    let accepted: boolean;
    try {
      accepted = this.ref.tell(event);
    } catch (err) {
      // Refused before queueing (e.g. not cloneable): no outcome will come for it.
      this.telling = null;
      this.inflight.shedNewest(prio);
      if (this.spans !== null) this.endTrace(event, false, err);
      this.drop(R.EVENT_NOT_CLONEABLE, prio);
      this.ctx.logger.error(
        { subscriber: this.id, err },
        'signal bus could not hand an event to its worker subscriber',
      );
      return false;
    }
    this.telling = null;
    // A refused tell was reported synchronously as a dead-letter outcome, handled in onOutcome.
    return accepted;
  }

  private stage(event: object, prio: number, exp: number, t0: number): void {
    // Full: shed as the inline mailbox does (least important first, else refuse the newcomer).
    const shed = this.staged.makeRoom(prio, this.mailboxSize);
    if (shed >= 0) {
      this.drop(R.SUBSCRIBER_MAILBOX_FULL, shed);
      if (shed === prio) return;
    }
    this.staged.push(event, prio, exp, t0, 0);
  }

  private pump(): void {
    const box = this.staged;
    while (
      box.length > 0 &&
      this.inflight.live < this.credit &&
      !this.detached &&
      !this.stopped &&
      !this.gate.quarantined
    ) {
      const event = box.shift();
      if (event !== undefined) this.send(event, box.lastPrio, box.lastExp, box.lastT0);
    }
    if (this.idle) this.ctx.subscriberIdle();
  }

  private deliverQuarantined(event: object, prio: number, exp: number, t0: number): void {
    if (this.inflight.live > 0 || this.gate.admit() !== PROBE) return this.drop(R.SUBSCRIBER_QUARANTINED, prio);
    if (this.ref.state === 'quarantined') this.ref.revive();
    if (!this.send(event, prio, exp, t0)) this.gate.probeNotSent();
  }

  /** `count` events finished by the worker, oldest first, in the order they were handed over. */
  private onProcessed(messages: readonly unknown[], count: number): void {
    const counters = this.ctx.counters;
    const ring = this.inflight;
    let now = NaN;
    for (let i = 0; i < count; i++) {
      if (!this.takeInflight(messages[i] as object)) continue;
      if (this.spans !== null) this.endTrace(messages[i] as object, true);
      const prio = ring.lastPrio;
      const t0 = ring.lastT0;
      this.delivered++;
      counters.delivered[prio]!++;
      if (!Number.isNaN(t0)) {
        if (Number.isNaN(now)) now = performance.now();
        counters.workerLatency.record(now - t0);
      }
      this.gate.success();
    }
    this.pump();
  }

  private onOutcome(o: Outcome): void {
    const event = o.message as object;
    let prio: number;
    let t0: number;
    const refusedNow = event === this.telling;
    if (refusedNow) {
      // A synchronous refusal of the event being told right now: it is the newest in flight.
      this.telling = null;
      prio = this.tellingPrio;
      this.inflight.shedNewest(prio);
      t0 = NaN;
    } else if (!this.takeInflight(event)) {
      return; // not one of ours (cannot happen: one actor per subscriber)
    } else {
      prio = this.inflight.lastPrio;
      t0 = this.inflight.lastT0;
    }
    if (this.spans !== null)
      this.endTrace(event, o.kind === 'processed', o.kind === 'failed' ? o.error : `dead-letter: ${o.reason}`);
    const counters = this.ctx.counters;
    if (o.kind === 'processed') {
      this.delivered++;
      counters.delivered[prio]!++;
      if (!Number.isNaN(t0)) counters.workerLatency.record(performance.now() - t0);
      this.gate.success();
    } else if (o.kind === 'failed') {
      this.failed++;
      counters.failed[prio]!++;
      this.failureLog.note(o.error, prio);
      if (this.gate.failure()) this.staged.clear((p) => this.drop(R.SUBSCRIBER_QUARANTINED, p));
    } else {
      this.drop(this.reasonFor(o.reason), prio);
      if (o.reason === 'max-attempts' && this.gate.failure())
        this.staged.clear((p) => this.drop(R.SUBSCRIBER_QUARANTINED, p));
    }
    // After a synchronous refusal the sender's own loop carries on; pumping here would recurse.
    if (!refusedNow) this.pump();
  }

  /** Removes `event` from the in-flight record (normally the oldest entry). */
  private takeInflight(event: object): boolean {
    const ring = this.inflight;
    while (ring.length > 0) {
      const head = ring.shift();
      if (head === event) return true;
      if (head !== undefined) {
        // Outcomes come in the order told; a skipped entry means the runtime lost track of it.
        this.ctx.logger.error(
          { subscriber: this.id },
          'signal bus: a worker event finished out of order; counting it as lost',
        );
        if (this.spans !== null) this.endTrace(head, false, 'lost');
        this.drop(R.WORKER_DEAD_LETTER, ring.lastPrio);
      }
    }
    return false;
  }

  /** Starts the delivery span and returns what to hand the runtime: the event, with the span's traceparent when it records. */
  private traced(event: object): object {
    const tracing = this.ctx.tracing!;
    const span = tracing.startDelivery(event, this.topic, this.id, 'worker', this.ref.name);
    if (!span.isRecording()) return event;
    const message = tracing.workerMessage(event, span);
    this.spans!.set(message, span);
    return message;
  }

  private endTrace(message: object, ok: boolean, error?: unknown): void {
    const span = this.spans!.get(message);
    if (span === undefined) return;
    this.spans!.delete(message);
    this.ctx.tracing!.endDelivery(span, ok, error);
  }

  private onState(state: string): void {
    if (state === 'quarantined') {
      this.gate.force('the supervisor quarantined its worker (restart intensity exceeded)');
      this.staged.clear((p) => this.drop(R.SUBSCRIBER_QUARANTINED, p));
    } else if (state === 'stopped' && !this.detached) {
      this.stopped = true;
      this.staged.clear((p) => this.drop(R.SUBSCRIBER_STOPPED, p));
    }
    if (this.idle) this.ctx.subscriberIdle();
  }

  private reasonFor(reason: DeadLetterReason | undefined): number {
    switch (reason) {
      case 'quarantined':
        return R.SUBSCRIBER_QUARANTINED;
      case 'stopped':
      case 'shutdown':
        return this.detached ? this.detachReason : R.SUBSCRIBER_STOPPED;
      case 'start-failed':
        return R.SUBSCRIBER_STOPPED;
      case 'mailbox-full':
        return R.WORKER_REFUSED;
      case 'not-cloneable':
        return R.EVENT_NOT_CLONEABLE;
      default:
        return R.WORKER_DEAD_LETTER;
    }
  }

  private drop(reason: number, prio: number): void {
    this.dropped++;
    this.ctx.counters.drop(reason, prio, this.id, 1, this.topic);
  }
}
