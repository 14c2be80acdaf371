import type { JetStreamClient } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { Clock, TimerHandle } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { JetStreamApiError } from '@nats-io/jetstream';
import { errMessage } from './connect.ts';

export interface OutboxItem {
  subject: string;
  body: Uint8Array;
  headers: MsgHdrs;
  msgId: string;
  attempts: number;
}

export interface OutboxOptions {
  /** Events held for the engine (waiting or in flight). */
  capacity: number;
  /** Publishes awaiting their acknowledgement at once. */
  maxInflight: number;
  /** How long one publish waits for the engine's acknowledgement before it is retried. */
  publishTimeoutMs: number;
  /** Pause before retrying after a failure while connected. */
  retryDelayMs: number;
  /** Called for a publish the engine refused for good (a JetStream API error such as a message over the stream's size limit): it is not retried. */
  onRejected(item: OutboxItem, err: unknown): void;
}

/**
 * Events on their way to the engine. Publishing is asynchronous with up to `maxInflight`
 * acknowledgements outstanding; a failed publish goes back to the front and is retried with the
 * same message id, so the stream's duplicate window turns a retry of something that did land
 * into a no-op. While disconnected the outbox only holds (a JetStream publish during an outage
 * would just time out); `resume()` on reconnect sends again. The bound is the caller's to check
 * with `full` before it accepts an event.
 */
export class Outbox {
  private readonly queue: OutboxItem[] = [];
  private head = 0;
  private inflight = 0;
  private paused = false;
  private retryTimer: TimerHandle | null = null;
  private drainWaiters: (() => void)[] = [];
  published = 0;
  /** Publishes the engine reported as duplicates of one it already had (a retry that had landed). */
  duplicates = 0;
  retries = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: OutboxOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Events waiting or in flight. */
  get depth(): number {
    return this.queue.length - this.head + this.inflight;
  }

  get full(): boolean {
    return this.depth >= this.opts.capacity;
  }

  push(item: OutboxItem): void {
    this.queue.push(item);
    this.pump();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Resolves when nothing waits or is in flight. */
  drained(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Empties the outbox (on close), returning how many events were still held. */
  abandon(): number {
    const n = this.queue.length - this.head;
    this.queue.length = 0;
    this.head = 0;
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.paused = true;
    return n;
  }

  private pump(): void {
    while (
      !this.paused &&
      this.retryTimer === null &&
      this.inflight < this.opts.maxInflight &&
      this.head < this.queue.length
    ) {
      const item = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as OutboxItem;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.send(item);
    }
    if (this.depth === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private send(item: OutboxItem): void {
    this.inflight++;
    item.attempts++;
    this.js
      .publish(item.subject, item.body, {
        msgID: item.msgId,
        headers: item.headers,
        timeout: this.opts.publishTimeoutMs,
      })
      .then(
        (ack) => {
          this.inflight--;
          this.published++;
          if (ack.duplicate && item.attempts > 1) this.duplicates++;
          this.pump();
        },
        (err: unknown) => {
          this.inflight--;
          if (isPermanent(err)) {
            // Retrying would fail the same way and hold every later event behind it.
            this.opts.onRejected(item, err);
            this.pump();
            return;
          }
          this.retries++;
          // Back to the front: it keeps its place ahead of later events, and its message id.
          if (this.head > 0) this.queue[--this.head] = item;
          else this.queue.unshift(item);
          if (item.attempts === 1 || item.attempts % 50 === 0) {
            this.logger.warn(
              { subject: item.subject, msgId: item.msgId, attempts: item.attempts, err: errMessage(err) },
              'signal publish to the engine failed; retrying with the same message id',
            );
          }
          if (!this.paused && this.retryTimer === null) {
            this.retryTimer = this.clock.setTimeout(() => {
              this.retryTimer = null;
              this.pump();
            }, this.opts.retryDelayMs);
          }
        },
      );
  }
}

/** A refusal by the stream itself (HTTP-like 4xx), as opposed to a timeout, an outage or no stream answering (retried). */
function isPermanent(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.status >= 400 && err.status < 500;
}
