import type { Clock } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { R, type BusCounters } from './counters.ts';
import { IN_ORDER, type Topic } from './topic.ts';
import { CRITICAL, LOW, NORMAL } from './types.ts';

/** Events dispatched in one router turn before it yields to the event loop. */
const TURN_BUDGET = 8192;
/** Events taken from one topic before the router looks again for a more urgent topic. */
const TOPIC_SLICE = 256;

/**
 * The router: accepts events into their topic (sequence check, bounds, priority shedding),
 * and dispatches topics in sequence order, serving topics whose ready events include a
 * critical one first, then normal, then low. Dispatch runs in a microtask after publishing,
 * in batches, and yields to the event loop between large turns.
 */
export class Router {
  private readonly lanes: Topic[][] = [[], [], []];
  private readonly laneStamps: number[][] = [[], [], []];
  private readonly laneHead = [0, 0, 0];
  private microtaskQueued = false;
  private immediateQueued = false;
  private draining = false;
  private readonly drainMicrotask = (): void => {
    this.microtaskQueued = false;
    this.drain(TURN_BUDGET);
  };
  private readonly drainImmediate = (): void => {
    this.immediateQueued = false;
    this.drain(TURN_BUDGET);
  };
  /** Called after each router turn that leaves nothing ready (a closing bus waits on it). */
  onIdle: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly counters: BusCounters,
    private readonly logger: Logger,
    private readonly reorderWindowMs: number,
    private readonly maxSequenceJump: number,
  ) {}

  /** Whether a full topic can take an event of this priority by displacing a less important one. */
  canMakeRoom(t: Topic, prio: number): boolean {
    if (prio !== CRITICAL) return false;
    const r = t.ready.counts;
    const b = t.bufferCounts;
    return r[LOW]! + b[LOW]! + r[NORMAL]! + b[NORMAL]! > 0;
  }

  /**
   * Takes an event the caller has already checked: `kind` is IN_ORDER or OUT_OF_ORDER from
   * `t.classify`, and when `full` the caller checked `canMakeRoom`.
   */
  accept(
    t: Topic,
    kind: number,
    full: boolean,
    event: object,
    prio: number,
    seq: number,
    exp: number,
    t0: number,
  ): void {
    if (full) this.makeRoom(t);
    t.published++;
    t.publishedByPriority[prio]!++;
    this.counters.published[prio]!++;
    if (kind === IN_ORDER) {
      t.appendInOrder(event, prio, exp, t0, seq);
      const e = t.ready.highestPriority();
      if (t.lane === -1 || e < t.lane) this.enlist(t, e);
    } else {
      t.bufferOutOfOrder(event, prio, exp, t0, seq, this.clock.now());
      if (t.gapTimer === null) this.armGapTimer(t, this.reorderWindowMs);
    }
  }

  refuse(t: Topic, reason: number, prio: number): false {
    t.dropped++;
    t.refused++;
    this.counters.drop(reason, prio, t.name);
    return false;
  }

  /** Whether any topic has events ready to dispatch. */
  get busy(): boolean {
    for (let l = 0; l < 3; l++) if (this.laneHead[l]! < this.lanes[l]!.length) return true;
    return false;
  }

  /**
   * Gives up every gap now and dispatches everything ready, synchronously (used by close:
   * nothing accepted is left behind in the router).
   */
  flush(topics: Iterable<Topic>): void {
    for (const t of topics) {
      if (t.gapTimer !== null) {
        this.clock.clearTimeout(t.gapTimer);
        t.gapTimer = null;
      }
      while (t.hasBuffered) this.skipGap(t);
    }
    while (this.busy && !this.draining) this.drain(Infinity);
  }

  /** Gives up the topic's gaps now: what waits in its reorder buffer becomes ready (resetTopic). */
  releaseBuffered(t: Topic): void {
    if (t.gapTimer !== null) {
      this.clock.clearTimeout(t.gapTimer);
      t.gapTimer = null;
    }
    while (t.hasBuffered) this.skipGap(t);
  }

  /** Cancels timers; the topics' contents are the caller's to drop. */
  stop(topics: Iterable<Topic>): void {
    for (const t of topics) {
      if (t.gapTimer !== null) this.clock.clearTimeout(t.gapTimer);
      t.gapTimer = null;
    }
  }

  /** A full topic makes room for a critical event by shedding its newest low, else newest normal, event. */
  private makeRoom(t: Topic): void {
    const victim = t.displaceNewest(LOW) ? LOW : t.displaceNewest(NORMAL) ? NORMAL : -1;
    if (victim === -1) throw new Error('signal bus router: makeRoom called without a displaceable event');
    t.dropped++;
    t.displaced++;
    this.counters.drop(R.SHED_FOR_PRIORITY, victim, t.name);
  }

  private enlist(t: Topic, lane: number): void {
    t.lane = lane;
    const stamp = ++t.stamp;
    this.lanes[lane]!.push(t);
    this.laneStamps[lane]!.push(stamp);
    // Publishing from outside a router turn (an I/O callback, a timer, an async handler's
    // continuation) always gets a turn right after it, even while a budget-exhausted turn waits
    // for setImmediate: under a flood arriving in many I/O callbacks, dispatch keeps pace with
    // publishing instead of waiting for the check phase while the queues fill.
    if (!this.microtaskQueued && !this.draining) {
      this.microtaskQueued = true;
      queueMicrotask(this.drainMicrotask);
    }
  }

  private next(): Topic | null {
    for (let l = 0; l < 3; l++) {
      const topics = this.lanes[l]!;
      const stamps = this.laneStamps[l]!;
      let head = this.laneHead[l]!;
      while (head < topics.length) {
        const t = topics[head]!;
        const stamp = stamps[head]!;
        head++;
        if (t.stamp !== stamp) continue; // superseded entry: the topic moved lanes since
        this.compact(l, head);
        t.lane = -1;
        t.stamp++;
        return t;
      }
      this.compact(l, head);
    }
    return null;
  }

  private compact(l: number, head: number): void {
    const topics = this.lanes[l]!;
    if (head === topics.length) {
      topics.length = 0;
      this.laneStamps[l]!.length = 0;
      this.laneHead[l] = 0;
    } else if (head > 1024 && head * 2 > topics.length) {
      topics.splice(0, head);
      this.laneStamps[l]!.splice(0, head);
      this.laneHead[l] = 0;
    } else {
      this.laneHead[l] = head;
    }
  }

  private drain(budget: number): void {
    if (this.draining) return; // re-entered from a handler (e.g. close() flushing): the running turn continues
    // Events published by handlers during the turn are enlisted and picked up by this loop.
    this.draining = true;
    try {
      while (budget > 0) {
        const t = this.next();
        if (t === null) break;
        budget -= this.dispatch(t, Math.min(budget, TOPIC_SLICE));
        const e = t.ready.highestPriority();
        if (e >= 0 && (t.lane === -1 || e < t.lane)) this.enlist(t, e);
      }
    } finally {
      this.draining = false;
    }
    if (this.busy) {
      if (!this.immediateQueued) {
        // The turn's budget is spent (a cascade of handlers publishing): let I/O and timers run
        // before the next turn instead of monopolising the thread.
        this.immediateQueued = true;
        setImmediate(this.drainImmediate);
      }
    } else if (this.onIdle !== null) this.onIdle();
  }

  private dispatch(t: Topic, max: number): number {
    const ring = t.ready;
    const subs = t.subscribers;
    const ns = subs.length;
    let n = 0;
    while (n < max && ring.length > 0) {
      const event = ring.shift();
      n++;
      if (event === undefined) continue; // displaced: its sequence is consumed, nothing to deliver
      const prio = ring.lastPrio;
      if (ns === 0) {
        t.dropped++;
        this.counters.drop(R.NO_SUBSCRIBERS, prio, t.name);
        continue;
      }
      const exp = ring.lastExp;
      const t0 = ring.lastT0;
      for (let i = 0; i < ns; i++) subs[i]!.deliver(event, prio, exp, t0);
    }
    return n;
  }

  private armGapTimer(t: Topic, delayMs: number): void {
    t.gapTimer = this.clock.setTimeout(() => this.gapTimerFired(t), delayMs);
  }

  /**
   * No event waits in the reorder buffer longer than the window: when the entry that has
   * waited longest is due, the gap in front of the buffer is given up and the next checked.
   */
  private gapTimerFired(t: Topic): void {
    t.gapTimer = null;
    const now = this.clock.now();
    while (t.hasBuffered) {
      const oldest = t.oldestBufferedAt();
      const due = oldest + this.reorderWindowMs;
      if (now < due) {
        this.armGapTimer(t, due - now);
        return;
      }
      this.skipGap(t);
    }
  }

  private skipGap(t: Topic): void {
    const expected = t.readyTail + 1;
    const { skipped, baseline } = t.skipGap(this.maxSequenceJump, (p) => {
      t.dropped++;
      this.counters.drop(R.SEQUENCE_TOO_FAR, p, t.name);
    });
    if (baseline) {
      this.logger.info(
        { topic: t.name, expected, firstSequence: expected + skipped },
        'signal bus topic baseline set from its first events',
      );
    } else if (skipped > 0) {
      // Logged (rate-limited) by the counters.
      this.counters.skipped(skipped, t.name);
    }
    const e = t.ready.highestPriority();
    if (e >= 0 && (t.lane === -1 || e < t.lane)) this.enlist(t, e);
  }
}
