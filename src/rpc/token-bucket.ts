/**
 * A client-side token bucket per endpoint, so the pool stays under a provider's published rate
 * instead of learning it from 429s. Time is passed in so the owner's clock drives it. `share`
 * (0, 1] scales rate and burst: processes sharing one provider key each use their part of it.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;

  /** `ratePerSec` tokens per second; up to `burst` saved up (at least one). */
  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec))
      throw new RangeError(`ratePerSec must be > 0, got ${ratePerSec}`);
    this.burst = Math.max(1, burst);
    this.tokens = this.burst;
    this.last = now;
    this.perMs = ratePerSec / 1000;
  }

  private refill(now: number, share: number): void {
    const cap = Math.max(1, this.burst * share);
    if (now > this.last) {
      this.tokens = Math.min(cap, this.tokens + (now - this.last) * this.perMs * share);
      this.last = now;
    } else if (this.tokens > cap) this.tokens = cap;
  }

  /** Takes one token if there is one. */
  tryTake(now: number, share = 1): boolean {
    this.refill(now, share);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** When the next whole token will be there (now if there is one already). */
  nextTokenAt(now: number, share = 1): number {
    this.refill(now, share);
    if (this.tokens >= 1) return now;
    return now + Math.ceil((1 - this.tokens) / (this.perMs * share));
  }

  get rate(): number {
    return this.ratePerSec;
  }
}
