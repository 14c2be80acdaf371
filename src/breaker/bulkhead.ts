/**
 * The bulkhead: at most `maxConcurrent` calls run at once and at most `maxQueue` wait, first in
 * first out. It only counts and queues; the breaker decides what a freed slot admits (a queued
 * call still meets the circuit's state when its turn comes).
 */
import { Fifo } from './fifo.ts';

export class Bulkhead<W> {
  /** Calls holding a slot (timed-out calls whose function has not settled included). */
  active = 0;
  /** False without a bulkhead (maxConcurrent Infinity): no slot is taken or freed. */
  readonly limited: boolean;
  private readonly queue = new Fifo<W>();

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    this.limited = maxConcurrent !== Infinity;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Every slot is taken. */
  get full(): boolean {
    return this.active >= this.maxConcurrent;
  }

  /** A call that finds every slot taken may wait. */
  canQueue(): boolean {
    return this.queue.length < this.maxQueue;
  }

  enqueue(waiter: W): void {
    this.queue.push(waiter);
  }

  /** The next waiter, when a slot is free for it. */
  next(): W | undefined {
    return this.active < this.maxConcurrent ? this.queue.shift() : undefined;
  }

  /** Removes and returns every waiter, oldest first. */
  drain(): W[] {
    return this.queue.length === 0 ? [] : this.queue.drain();
  }

  take(): void {
    this.active++;
  }

  /** Frees a slot; returns whether a waiter could use it. */
  release(): boolean {
    this.active--;
    return this.queue.length > 0;
  }
}
