import type { TimerHandle } from '../clock.ts';
import { PriorityRing, TOMBSTONE } from './priority-ring.ts';
import type { Subscriber } from './context.ts';

/** How far back (in sequence numbers) a topic remembers what it accepted, to tell DUPLICATE from STALE. */
const SEEN_WINDOW = 1024;
/** The memory starts this small and doubles as the topic accepts events, up to SEEN_WINDOW. */
const SEEN_INITIAL = 8;

/** classify() results that mean "accept". */
export const IN_ORDER = -1;
export const OUT_OF_ORDER = -2;

interface Buffered {
  event: object | undefined;
  prio: number;
  exp: number;
  t0: number;
  /** Clock time the event entered the reorder buffer. */
  at: number;
}

/**
 * One topic's sequencing state: an in-order ready queue, a reorder buffer for events that
 * arrived ahead of a gap, and the bookkeeping to tell duplicates from stale events.
 *
 * `readyTail` is the highest sequence that has entered the ready queue (or was skipped past);
 * the next event is in order when its sequence is `readyTail + 1`.
 */
export class Topic {
  readonly name: string;
  maxQueueSize: number;
  ttlMs: number;
  firstSequence: number;

  /** Starts small: most topics hold a handful of events at a time, and an idle one should cost little. */
  readonly ready = new PriorityRing<object>(4);
  private buffer: Map<number, Buffered> | null = null;
  bufferLive = 0;
  readonly bufferCounts = new Int32Array(3);

  readyTail: number;
  /** Highest sequence accepted anywhere; bus-assigned sequences continue from it. */
  lastSeq: number;
  /** False until the topic has taken its first event in order (or jumped its baseline). */
  baselined = false;
  /** Before the baseline: the lowest sequence waiting in the reorder buffer (Infinity: none). */
  pendingMin = Infinity;
  /** Sequences accepted lately, by seq & seenMask; allocated with the first accepted event, grown up to SEEN_WINDOW. */
  private seen: Float64Array | null = null;
  private seenMask = 0;
  private seenCount = 0;
  /** Set by configureTopic: explicit settings are never evicted. */
  configured = false;
  resets = 0;

  gaps = 0;
  skippedSequences = 0;
  baselineJumps = 0;
  published = 0;
  /** Accepted events by priority (critical, normal, low). */
  readonly publishedByPriority = [0, 0, 0];
  dropped = 0;
  refused = 0;
  displaced = 0;

  subscribers: Subscriber[] = [];
  workerSubscribers = 0;
  inlineSubscribers = 0;

  /** Router bookkeeping: the lane this topic is queued in (-1: none) and the stamp of that queue entry. */
  lane = -1;
  stamp = 0;
  gapTimer: TimerHandle | null = null;

  constructor(name: string, maxQueueSize: number, firstSequence = 1, ttlMs = Infinity) {
    this.name = name;
    this.maxQueueSize = maxQueueSize;
    this.ttlMs = ttlMs;
    this.firstSequence = firstSequence;
    this.readyTail = firstSequence - 1;
    this.lastSeq = firstSequence - 1;
  }

  get depth(): number {
    return this.ready.live + this.bufferLive;
  }

  get reorderDepth(): number {
    return this.bufferLive;
  }

  get hasBuffered(): boolean {
    return this.buffer !== null && this.buffer.size > 0;
  }

  /** Whether anything was ever accepted (the first sequence can no longer be changed). */
  get started(): boolean {
    return this.published > 0 || this.hasBuffered;
  }

  setFirstSequence(first: number): void {
    this.firstSequence = first;
    this.readyTail = first - 1;
    this.lastSeq = first - 1;
  }

  /**
   * Forgets the sequence history (the caller has released the reorder buffer first): the next
   * event sets a new baseline as on a new topic. Events already in the ready queue stay.
   */
  resetSequence(first: number): void {
    this.setFirstSequence(first);
    this.baselined = false;
    this.pendingMin = Infinity;
    this.seen = null;
    this.seenCount = 0;
    this.resets++;
  }

  /**
   * Nothing to lose by forgetting it: no subscriber, nothing queued or buffered, no timer, not
   * waiting in a router lane, no explicit settings. Its sequence history goes with it (a new
   * topic of that name takes a new baseline), which matters to no one: it has no subscriber.
   */
  get evictable(): boolean {
    return (
      this.subscribers.length === 0 &&
      this.ready.length === 0 &&
      !this.hasBuffered &&
      this.gapTimer === null &&
      this.lane === -1 &&
      !this.configured
    );
  }

  /** The sequence a new one is measured against for the jump bound; NaN when there is none yet (any first sequence may be the baseline). */
  get jumpBase(): number {
    if (this.baselined) return this.readyTail;
    return this.pendingMin === Infinity ? NaN : this.pendingMin;
  }

  /** IN_ORDER, OUT_OF_ORDER, or the drop reason code given (duplicate or stale). */
  classify(seq: number, duplicate: number, stale: number): number {
    if (seq <= this.readyTail) return this.seen !== null && this.seen[seq & this.seenMask] === seq ? duplicate : stale;
    if (this.buffer !== null && this.buffer.size > 0 && this.buffer.has(seq)) return duplicate;
    return seq === this.readyTail + 1 ? IN_ORDER : OUT_OF_ORDER;
  }

  /** Appends an event whose sequence is readyTail + 1, then anything in the buffer it unblocks. */
  appendInOrder(event: object, prio: number, exp: number, t0: number, seq: number): void {
    this.ready.push(event, prio, exp, t0, seq);
    this.markSeen(seq);
    this.readyTail = seq;
    if (seq > this.lastSeq) this.lastSeq = seq;
    this.baselined = true;
    this.pendingMin = Infinity;
    if (this.buffer !== null && this.buffer.size > 0) this.pullBuffered();
  }

  bufferOutOfOrder(event: object, prio: number, exp: number, t0: number, seq: number, now: number): void {
    if (this.buffer === null) this.buffer = new Map();
    this.buffer.set(seq, { event, prio, exp, t0, at: now });
    this.bufferLive++;
    this.bufferCounts[prio]!++;
    if (seq > this.lastSeq) this.lastSeq = seq;
    if (!this.baselined && seq < this.pendingMin) this.pendingMin = seq;
  }

  private markSeen(seq: number): void {
    let seen = this.seen;
    if (seen === null) {
      seen = this.seen = new Float64Array(SEEN_INITIAL).fill(NaN);
      this.seenMask = SEEN_INITIAL - 1;
    } else if (++this.seenCount > this.seenMask && this.seenMask < SEEN_WINDOW - 1) {
      // A one-shot topic keeps 64 bytes here, a busy one 8 KiB.
      const grown = new Float64Array((this.seenMask + 1) * 2).fill(NaN);
      const mask = grown.length - 1;
      for (const v of seen) if (!Number.isNaN(v)) grown[v & mask] = v;
      seen = this.seen = grown;
      this.seenMask = mask;
    }
    seen[seq & this.seenMask] = seq;
  }

  /**
   * Removes the newest live event of priority `prio` (the reorder buffer holds the newest
   * sequences, so it is searched first). Its sequence stays consumed. Returns false if none.
   */
  displaceNewest(prio: number): boolean {
    if (this.buffer !== null && this.bufferCounts[prio]! > 0) {
      let best: Buffered | undefined;
      let bestSeq = -Infinity;
      for (const [seq, b] of this.buffer) {
        if (b.event !== undefined && b.prio === prio && seq > bestSeq) {
          best = b;
          bestSeq = seq;
        }
      }
      if (best !== undefined) {
        best.event = undefined;
        this.bufferLive--;
        this.bufferCounts[prio]!--;
        return true;
      }
    }
    return this.ready.shedNewest(prio) !== undefined;
  }

  /** Earliest time any buffered entry (live or displaced) entered the buffer; Infinity when empty. */
  oldestBufferedAt(): number {
    let at = Infinity;
    if (this.buffer !== null) for (const b of this.buffer.values()) if (b.at < at) at = b.at;
    return at;
  }

  /**
   * Gives up on the sequences missing before the lowest buffered one and releases what
   * follows. Returns how many sequence numbers were skipped and whether this was the topic's
   * initial baseline (not a gap). Once the baseline is set, buffered events more than
   * `maxJump` beyond it (taken while the baseline was unknown) are removed, `onTooFar(prio)`
   * for each live one: they would otherwise become a gap of that size later.
   */
  skipGap(maxJump: number, onTooFar: (prio: number) => void): { skipped: number; baseline: boolean } {
    if (this.buffer === null || this.buffer.size === 0) return { skipped: 0, baseline: false };
    let min = Infinity;
    for (const seq of this.buffer.keys()) if (seq < min) min = seq;
    const skipped = min - (this.readyTail + 1);
    const baseline = !this.baselined;
    if (baseline) this.baselineJumps++;
    else {
      this.gaps++;
      this.skippedSequences += skipped;
    }
    this.baselined = true;
    this.pendingMin = Infinity;
    this.readyTail = min - 1;
    this.pullBuffered();
    if (baseline && maxJump !== Infinity) this.dropBeyond(this.readyTail + maxJump, onTooFar);
    return { skipped, baseline };
  }

  private dropBeyond(limit: number, onLive: (prio: number) => void): void {
    const buffer = this.buffer!;
    for (const [seq, b] of buffer) {
      if (seq <= limit) continue;
      buffer.delete(seq);
      if (b.event === undefined) continue;
      this.bufferLive--;
      this.bufferCounts[b.prio]!--;
      onLive(b.prio);
    }
  }

  private pullBuffered(): void {
    const buffer = this.buffer!;
    for (;;) {
      const seq = this.readyTail + 1;
      const b = buffer.get(seq);
      if (b === undefined) return;
      buffer.delete(seq);
      this.readyTail = seq;
      this.markSeen(seq);
      if (b.event === undefined) continue; // displaced while buffered: its sequence is simply consumed
      this.bufferLive--;
      this.bufferCounts[b.prio]!--;
      this.ready.push(b.event, b.prio, b.exp, b.t0, seq);
    }
  }

  /** Empties the ready queue and buffer, calling `onLive(prio)` for each live event. */
  clear(onLive: (prio: number) => void): void {
    this.ready.clear((p) => onLive(p));
    if (this.buffer !== null) {
      for (const b of this.buffer.values()) if (b.event !== undefined) onLive(b.prio);
      this.buffer.clear();
    }
    this.bufferLive = 0;
    this.bufferCounts.fill(0);
  }
}

export { TOMBSTONE };
