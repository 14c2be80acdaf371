import { Deque } from './deque.ts';

/** Message and signal importance, shared by actor mailboxes and the signal bus. */
export type Priority = 'critical' | 'normal' | 'low';
export type Overflow = 'reject' | 'drop-oldest' | 'drop-lowest';

export const LANES: readonly Priority[] = ['critical', 'normal', 'low'];
/** Lane index by priority name; lower index is served first. */
export function laneOf(priority: Priority | undefined): number {
  return priority === undefined || priority === 'normal'
    ? 1
    : priority === 'critical'
      ? 0
      : priority === 'low'
        ? 2
        : -1;
}

export interface MailboxItem {
  /** Lane index (0 critical, 1 normal, 2 low). */
  lane: number;
  /** Set when the item was withdrawn (ask timed out or aborted) while queued; it is skipped. */
  cancelled: boolean;
}

export const OFFER_ACCEPTED = 0;
export const OFFER_EVICTED = 1; // accepted; `evicted` holds the item that made room
export const OFFER_REFUSED = 2;

/**
 * A bounded, host-side mailbox with three priority lanes. It lives on the host so it survives
 * the worker: after a crash, messages still queued (and un-started ones put back) are served
 * to the next incarnation in their original order.
 *
 * Overflow when `size === capacity`:
 * - 'reject': the newcomer is refused.
 * - 'drop-oldest': the oldest message of the newcomer's lane is evicted (freshest data wins);
 *   if that lane is empty, the oldest of the nearest lower lane; if only higher-priority
 *   messages are queued, the newcomer is refused.
 * - 'drop-lowest': the oldest message of the lowest non-empty lane is evicted when that lane
 *   is strictly lower than the newcomer's; otherwise the newcomer is refused (equal priorities
 *   do not push each other out).
 */
export class Mailbox<T extends MailboxItem> {
  private readonly lanes: [Deque<T>, Deque<T>, Deque<T>] = [new Deque<T>(), new Deque<T>(64), new Deque<T>()];
  private live = 0;
  /** The item evicted by the last offer that returned OFFER_EVICTED. */
  evicted: T | undefined;

  constructor(
    readonly capacity: number,
    readonly overflow: Overflow,
  ) {}

  /** Messages waiting (cancelled ones excluded). */
  get size(): number {
    return this.live;
  }

  laneSize(lane: number): number {
    return this.lanes[lane]?.length ?? 0;
  }

  offer(item: T): number {
    if (this.live < this.capacity) {
      this.lanes[item.lane as 0 | 1 | 2].push(item);
      this.live++;
      return OFFER_ACCEPTED;
    }
    const victim =
      this.overflow === 'drop-oldest'
        ? this.evictOldest(item.lane)
        : this.overflow === 'drop-lowest'
          ? this.evictLowest(item.lane)
          : undefined;
    if (victim === undefined) return OFFER_REFUSED;
    this.evicted = victim;
    this.lanes[item.lane as 0 | 1 | 2].push(item);
    return OFFER_EVICTED;
  }

  /** Next message to serve: critical first, FIFO within a lane. */
  shift(): T | undefined {
    for (let l = 0; l < 3; l++) {
      const lane = this.lanes[l as 0 | 1 | 2];
      for (let v = lane.shift(); v !== undefined; v = lane.shift()) {
        if (v.cancelled) continue;
        this.live--;
        return v;
      }
    }
    return undefined;
  }

  /**
   * Puts back messages that were handed to a worker but not finished, in their original order,
   * ahead of everything queued in their lane. They were accepted before, so capacity is not
   * checked again (the mailbox may briefly exceed it; new offers are refused until it drains).
   */
  requeueFront(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      const it = items[i]!;
      this.lanes[it.lane as 0 | 1 | 2].unshift(it);
      this.live++;
    }
  }

  /** Marks a queued item withdrawn; it no longer counts and is skipped when reached. */
  cancel(item: T): void {
    if (item.cancelled) return;
    item.cancelled = true;
    this.live--;
  }

  /** Removes and returns every live message in serving order. */
  drain(): T[] {
    const out: T[] = [];
    for (let v = this.shift(); v !== undefined; v = this.shift()) out.push(v);
    return out;
  }

  private evictOldest(lane: number): T | undefined {
    for (let l = lane; l < 3; l++) {
      const v = this.takeFront(l);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private evictLowest(lane: number): T | undefined {
    for (let l = 2; l > lane; l--) {
      const v = this.takeFront(l);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private takeFront(l: number): T | undefined {
    const lane = this.lanes[l as 0 | 1 | 2];
    for (let v = lane.shift(); v !== undefined; v = lane.shift()) {
      if (!v.cancelled) return v;
    }
    return undefined;
  }
}
