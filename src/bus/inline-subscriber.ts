import { PriorityRing } from './priority-ring.ts';
import type { QuarantinePolicy } from './outcome-window.ts';
import { PROBE, QuarantineGate } from './quarantine-gate.ts';
import { R } from './counters.ts';
import type { SubscriberStats } from './types.ts';
import type { BusContext, Subscriber } from './context.ts';
import { FailureLog } from './failure-log.ts';
import type { Span } from '@opentelemetry/api';

type Handler = (event: never) => unknown;

/**
 * A handler running on the bus's own thread. Events are handled one at a time, in order: a
 * synchronous handler runs straight from the router with no queueing; while an asynchronous
 * one is pending, further events wait in this subscriber's own bounded mailbox, so a slow
 * handler delays only itself. Failures are caught, counted and logged, and a subscriber that
 * fails too often is quarantined (see QuarantineGate).
 */
export class InlineSubscriber implements Subscriber {
  readonly kind = 'inline' as const;
  private detached = false;
  private busy = false;
  private inflightPrio = 0;
  /** The delivery span of the handler running now (tracing buses only). */
  private span: Span | null = null;
  private readonly mailbox = new PriorityRing<object>(16);
  private readonly gate: QuarantineGate;
  private delivered = 0;
  private failed = 0;
  private dropped = 0;
  private readonly failureLog: FailureLog;
  private readonly settledOk: () => void;
  private readonly settledErr: (error: unknown) => void;

  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly handler: Handler,
    private readonly mailboxSize: number,
    policy: QuarantinePolicy,
    private readonly ctx: BusContext,
  ) {
    this.gate = new QuarantineGate(policy, ctx.clock, ctx.logger, this);
    this.failureLog = new FailureLog(
      ctx.logger,
      ctx.clock,
      id,
      topic,
      'signal bus subscriber failed; continuing with the others',
    );
    // Bound once here so that settling an async handler allocates no closure per event.
    this.settledOk = () => this.settle(true, undefined);
    this.settledErr = (error) => this.settle(false, error);
  }

  get idle(): boolean {
    return !this.busy && this.mailbox.live === 0;
  }

  deliver(event: object, prio: number, exp: number, t0: number): void {
    if (this.detached) return this.drop(R.UNSUBSCRIBED, prio);
    if (this.gate.quarantined) return this.deliverQuarantined(event, prio, exp, t0);
    if (this.busy || this.mailbox.length !== 0) return this.enqueue(event, prio, exp, t0);
    this.invoke(event, prio, exp, t0);
  }

  detach(reason: number): void {
    this.detached = true;
    this.dropMailbox(reason);
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }

  stats(): SubscriberStats {
    return {
      id: this.id,
      topic: this.topic,
      kind: 'inline',
      state: this.gate.quarantined ? 'quarantined' : 'running',
      probing: this.gate.probing,
      delivered: this.delivered,
      failed: this.failed,
      restarts: 0,
      mailboxDepth: this.mailbox.live,
      dropped: this.dropped,
      quarantines: this.gate.quarantines,
    };
  }

  /** Runs the handler; false when the event had expired and was dropped instead. */
  private invoke(event: object, prio: number, exp: number, t0: number): boolean {
    const ctx = this.ctx;
    if (exp !== Infinity && ctx.clock.now() >= exp) {
      this.drop(R.EXPIRED, prio);
      return false;
    }
    if (!Number.isNaN(t0)) ctx.counters.latency.record(performance.now() - t0);
    let result: unknown;
    const tracing = ctx.tracing;
    try {
      if (tracing === null) result = (this.handler as (e: object) => unknown)(event);
      else {
        this.span = tracing.startDelivery(event, this.topic, this.id, 'inline');
        result = tracing.run(this.span, event, this.handler as (e: object) => unknown);
      }
      if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
        const then = (result as { then?: unknown }).then;
        if (typeof then === 'function') {
          this.busy = true;
          this.inflightPrio = prio;
          then.call(result, this.settledOk, this.settledErr);
          return true;
        }
      }
    } catch (error) {
      this.busy = false;
      this.outcome(false, prio, error);
      return true;
    }
    this.outcome(true, prio, undefined);
    return true;
  }

  private settle(ok: boolean, error: unknown): void {
    if (!this.busy) return; // a thenable that settled twice
    this.busy = false;
    this.outcome(ok, this.inflightPrio, error);
    this.pump();
  }

  private outcome(ok: boolean, prio: number, error: unknown): void {
    if (this.span !== null) {
      this.ctx.tracing!.endDelivery(this.span, ok, error);
      this.span = null;
    }
    if (ok) {
      this.delivered++;
      this.ctx.counters.delivered[prio]!++;
      this.gate.success();
      return;
    }
    this.failed++;
    this.ctx.counters.failed[prio]!++;
    this.failureLog.note(error, prio);
    if (!this.detached && this.gate.failure()) this.dropMailbox(R.SUBSCRIBER_QUARANTINED);
  }

  private pump(): void {
    const box = this.mailbox;
    while (!this.busy && !this.detached && !this.gate.quarantined && box.length > 0) {
      const event = box.shift();
      if (event !== undefined) this.invoke(event, box.lastPrio, box.lastExp, box.lastT0);
    }
    if (this.idle) this.ctx.subscriberIdle();
  }

  private enqueue(event: object, prio: number, exp: number, t0: number): void {
    // Full: the newest of the least important queued events goes if it is less important than
    // the newcomer; otherwise the newcomer is the least important and is refused.
    const shed = this.mailbox.makeRoom(prio, this.mailboxSize);
    if (shed >= 0) {
      this.drop(R.SUBSCRIBER_MAILBOX_FULL, shed);
      if (shed === prio) return;
    }
    this.mailbox.push(event, prio, exp, t0, 0);
  }

  private deliverQuarantined(event: object, prio: number, exp: number, t0: number): void {
    if (this.busy || this.gate.admit() !== PROBE) return this.drop(R.SUBSCRIBER_QUARANTINED, prio);
    if (!this.invoke(event, prio, exp, t0)) this.gate.probeNotSent();
  }

  private dropMailbox(reason: number): void {
    this.mailbox.clear((p) => this.drop(reason, p));
    if (this.idle) this.ctx.subscriberIdle();
  }

  private drop(reason: number, prio: number): void {
    this.dropped++;
    this.ctx.counters.drop(reason, prio, this.id, 1, this.topic);
  }
}
