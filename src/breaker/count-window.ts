/**
 * The last N call outcomes in a ring, with a running failure count (resilience4j's count-based
 * sliding window): O(1) per outcome, no allocation after construction.
 */
export class CountWindow {
  private readonly outcomes: Uint8Array;
  private next = 0;
  private filled = 0;
  private failed = 0;

  constructor(readonly size: number) {
    this.outcomes = new Uint8Array(size);
  }

  push(failure: boolean): void {
    const bit = failure ? 1 : 0;
    if (this.filled === this.size) this.failed -= this.outcomes[this.next]!;
    else this.filled++;
    this.outcomes[this.next] = bit;
    this.failed += bit;
    if (++this.next === this.size) this.next = 0;
  }

  get calls(): number {
    return this.filled;
  }

  get failures(): number {
    return this.failed;
  }

  get failureRate(): number {
    return this.filled === 0 ? 0 : this.failed / this.filled;
  }

  reset(): void {
    this.outcomes.fill(0);
    this.next = 0;
    this.filled = 0;
    this.failed = 0;
  }
}
