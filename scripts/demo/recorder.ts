/**
 * The recorder: an inline subscriber on every topic that checks each topic's events arrive in
 * strictly increasing sequence order and remembers which trade signals it saw; and the ack
 * collector, which hears what worker subscribers report on the demo's BroadcastChannel.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { ackChannelName, TOPICS, type AckMessage } from '../../actors/demo/signals.ts';

export interface TopicRecord {
  delivered: number;
  firstSequence: number;
  lastSequence: number;
  /** Events whose sequence was not above the previous one's. */
  orderViolations: number;
  /** Sequence numbers skipped between consecutive deliveries (gaps the bus gave up on, or refusals). */
  skipped: number;
}

export class Recorder {
  readonly topics = new Map<string, TopicRecord>();
  /** Trade signal sequences this subscriber saw. */
  readonly tradesSeen = new Set<number>();
  readonly firstViolations: { topic: string; sequence: number; after: number }[] = [];

  /** The handler to subscribe for `topic`. */
  handlerFor(topic: string): (event: { sequence: number }) => void {
    const rec: TopicRecord = { delivered: 0, firstSequence: -1, lastSequence: -1, orderViolations: 0, skipped: 0 };
    this.topics.set(topic, rec);
    const isTrade = topic === TOPICS.trade;
    return (event) => {
      const seq = event.sequence;
      rec.delivered++;
      if (rec.firstSequence < 0) rec.firstSequence = seq;
      else if (seq <= rec.lastSequence) {
        rec.orderViolations++;
        if (this.firstViolations.length < 10)
          this.firstViolations.push({ topic, sequence: seq, after: rec.lastSequence });
      } else if (seq > rec.lastSequence + 1) rec.skipped += seq - rec.lastSequence - 1;
      if (seq > rec.lastSequence) rec.lastSequence = seq;
      if (isTrade) this.tradesSeen.add(seq);
    };
  }

  orderViolations(): number {
    let n = 0;
    for (const r of this.topics.values()) n += r.orderViolations;
    return n;
  }

  snapshot(): Record<string, TopicRecord> {
    const out: Record<string, TopicRecord> = {};
    for (const [k, v] of this.topics) out[k] = { ...v };
    return out;
  }
}

export interface WorkerAckRecord {
  handled: number;
  /** Distinct trade sequences handled (redeliveries after a crash count once). */
  seen: Set<number>;
  redelivered: number;
  orderViolations: number;
  invalid: number;
}

/** Listens on the ack channel of this process. close() must be called (an open channel keeps the process alive). */
export class AckCollector {
  readonly bySubscriber = new Map<string, WorkerAckRecord>();
  private readonly channel: BroadcastChannel;

  constructor(name: string = ackChannelName()) {
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (ev: unknown) => this.onAck((ev as { data: AckMessage }).data);
  }

  private onAck(a: AckMessage): void {
    if (!a || typeof a.subscriber !== 'string') return;
    let r = this.bySubscriber.get(a.subscriber);
    if (!r) {
      r = { handled: 0, seen: new Set(), redelivered: 0, orderViolations: 0, invalid: 0 };
      this.bySubscriber.set(a.subscriber, r);
    }
    r.handled++;
    if (r.seen.has(a.sequence)) r.redelivered++;
    else r.seen.add(a.sequence);
    if (!a.inOrder) r.orderViolations++;
    if (!a.valid) r.invalid++;
  }

  record(subscriber: string): WorkerAckRecord {
    return (
      this.bySubscriber.get(subscriber) ?? {
        handled: 0,
        seen: new Set(),
        redelivered: 0,
        orderViolations: 0,
        invalid: 0,
      }
    );
  }

  close(): void {
    this.channel.close();
  }
}
