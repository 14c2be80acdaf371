/**
 * The decision to open a CLOSED circuit, as a small strategy the breaker consults on each
 * counted outcome: consecutive failures, a failure rate over the last N outcomes, or both.
 * Outcomes only reach a strategy while the circuit is CLOSED and in the current epoch.
 */
import { CountWindow } from './count-window.ts';

export interface TripStrategy {
  success(): void;
  /** A counted failure; returns a description of why the circuit should open, or null. */
  failure(): Trip | null;
  /** Forgets every outcome (the circuit closed, or an operator reset it). */
  reset(): void;
}

export interface Trip {
  reason: 'FAILURE_THRESHOLD' | 'FAILURE_RATE';
  /** Why, without the last error (the breaker appends it). */
  detail: string;
}

/** Opens after `threshold` counted failures in a row. */
export class ConsecutiveFailures implements TripStrategy {
  count = 0;

  constructor(private readonly threshold: number) {}

  success(): void {
    this.count = 0;
  }

  failure(): Trip | null {
    return ++this.count >= this.threshold
      ? { reason: 'FAILURE_THRESHOLD', detail: `${this.count} consecutive failures` }
      : null;
  }

  reset(): void {
    this.count = 0;
  }
}

/** Opens when the failure ratio of the last `windowSize` outcomes reaches `threshold` (once `minimumCalls` are in). */
export class FailureRate implements TripStrategy {
  readonly window: CountWindow;

  constructor(
    private readonly threshold: number,
    windowSize: number,
    private readonly minimumCalls: number,
  ) {
    this.window = new CountWindow(windowSize);
  }

  success(): void {
    this.window.push(false);
  }

  failure(): Trip | null {
    const w = this.window;
    w.push(true);
    if (w.calls < this.minimumCalls || w.failureRate < this.threshold) return null;
    return {
      reason: 'FAILURE_RATE',
      detail: `failure rate ${(w.failureRate * 100).toFixed(1)}% over the last ${w.calls} calls`,
    };
  }

  reset(): void {
    this.window.reset();
  }
}

/** Both: every outcome reaches both, and the consecutive count is asked first. */
export class EitherTrips implements TripStrategy {
  constructor(
    private readonly first: TripStrategy,
    private readonly second: TripStrategy,
  ) {}

  success(): void {
    this.first.success();
    this.second.success();
  }

  failure(): Trip | null {
    const a = this.first.failure();
    const b = this.second.failure();
    return a ?? b;
  }

  reset(): void {
    this.first.reset();
    this.second.reset();
  }
}
