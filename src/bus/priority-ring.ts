/**
 * A growable, array-backed FIFO ring whose entries carry a priority, an expiry and a
 * latency-sample start in parallel typed arrays (no per-entry object). Used for a topic's
 * in-order queue and for each subscriber's mailbox.
 *
 * Shedding removes the newest entry of a given priority by turning it into a tombstone in
 * place, so FIFO order of the survivors is untouched and a topic's sequence still passes
 * through that slot (the router never waits for a displaced event).
 */
export const TOMBSTONE = 3;

export class PriorityRing<T extends object> {
  private items: (T | undefined)[];
  private prio: Uint8Array;
  private exp: Float64Array;
  private t0: Float64Array;
  private key: Float64Array;
  private head = 0;
  private mask: number;
  /** Physical entries, tombstones included. */
  length = 0;
  /** Live entries (not tombstones). */
  live = 0;
  /** Live entries per priority code. */
  readonly counts = new Int32Array(3);

  /** Filled by shift() / shedNewest(): the removed entry's fields. */
  lastPrio = 0;
  lastExp = Infinity;
  lastT0 = NaN;
  lastKey = 0;

  constructor(initialCapacity = 16) {
    let cap = 4;
    while (cap < initialCapacity) cap *= 2;
    this.items = new Array<T | undefined>(cap).fill(undefined);
    this.prio = new Uint8Array(cap);
    this.exp = new Float64Array(cap);
    this.t0 = new Float64Array(cap);
    this.key = new Float64Array(cap);
    this.mask = cap - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  push(item: T, prio: number, exp: number, t0: number, key: number): void {
    if (this.length > this.mask) this.grow();
    const i = (this.head + this.length) & this.mask;
    this.items[i] = item;
    this.prio[i] = prio;
    this.exp[i] = exp;
    this.t0[i] = t0;
    this.key[i] = key;
    this.length++;
    this.live++;
    this.counts[prio]!++;
  }

  /**
   * Removes the oldest entry (caller checks `length > 0`). Returns it, or undefined for a
   * tombstone; its fields are left in last*.
   */
  shift(): T | undefined {
    const i = this.head;
    const item = this.items[i];
    const p = this.prio[i]!;
    this.items[i] = undefined;
    this.lastPrio = p;
    this.lastExp = this.exp[i]!;
    this.lastT0 = this.t0[i]!;
    this.lastKey = this.key[i]!;
    this.head = (i + 1) & this.mask;
    this.length--;
    if (p !== TOMBSTONE) {
      this.live--;
      this.counts[p]!--;
    }
    return item;
  }

  /**
   * Makes room for one entry of priority `prio` in a ring bounded at `limit` live entries, least
   * important first: returns -1 when there is room (nothing shed), the lane whose newest entry was
   * shed to make room, or `prio` itself when the newcomer is the least important and must be refused.
   */
  makeRoom(prio: number, limit: number): number {
    if (this.live < limit) return -1;
    for (let p = 2; p > prio; p--) {
      if (this.shedNewest(p) !== undefined) return p;
    }
    return prio;
  }

  /** Tombstones the newest live entry of priority `prio`; returns it (fields in last*) or undefined. */
  shedNewest(prio: number): T | undefined {
    if (this.counts[prio] === 0) return undefined;
    for (let k = this.length - 1; k >= 0; k--) {
      const i = (this.head + k) & this.mask;
      if (this.prio[i] !== prio) continue;
      const item = this.items[i];
      this.items[i] = undefined;
      this.prio[i] = TOMBSTONE;
      this.lastPrio = prio;
      this.lastExp = this.exp[i]!;
      this.lastT0 = this.t0[i]!;
      this.lastKey = this.key[i]!;
      this.live--;
      this.counts[prio]!--;
      this.trimTail();
      return item;
    }
    return undefined;
  }

  /** Key of the newest live entry of priority `prio`, or -Infinity when there is none. */
  newestKeyOf(prio: number): number {
    if (this.counts[prio] === 0) return -Infinity;
    for (let k = this.length - 1; k >= 0; k--) {
      const i = (this.head + k) & this.mask;
      if (this.prio[i] === prio) return this.key[i]!;
    }
    return -Infinity;
  }

  /** Most important priority code present, or -1 when no live entry remains. */
  highestPriority(): number {
    const c = this.counts;
    return c[0]! > 0 ? 0 : c[1]! > 0 ? 1 : c[2]! > 0 ? 2 : -1;
  }

  /** Removes everything, calling `onLive(prio)` for each live entry removed. */
  clear(onLive: (prio: number, item: T) => void): void {
    while (this.length > 0) {
      const item = this.shift();
      if (item !== undefined) onLive(this.lastPrio, item);
    }
    this.head = 0;
  }

  private trimTail(): void {
    while (this.length > 0 && this.prio[(this.head + this.length - 1) & this.mask] === TOMBSTONE) {
      this.items[(this.head + this.length - 1) & this.mask] = undefined;
      this.length--;
    }
  }

  private grow(): void {
    const oldCap = this.mask + 1;
    const cap = oldCap * 2;
    const items = new Array<T | undefined>(cap).fill(undefined);
    const prio = new Uint8Array(cap);
    const exp = new Float64Array(cap);
    const t0 = new Float64Array(cap);
    const key = new Float64Array(cap);
    for (let k = 0; k < this.length; k++) {
      const i = (this.head + k) & this.mask;
      items[k] = this.items[i];
      prio[k] = this.prio[i]!;
      exp[k] = this.exp[i]!;
      t0[k] = this.t0[i]!;
      key[k] = this.key[i]!;
    }
    this.items = items;
    this.prio = prio;
    this.exp = exp;
    this.t0 = t0;
    this.key = key;
    this.head = 0;
    this.mask = cap - 1;
  }
}
