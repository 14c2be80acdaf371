import type { Clock } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { PRIORITY_NAMES } from './types.ts';

const INTERVAL_MS = 1000;

/**
 * A subscriber's handler failures, logged at most once a second with the count since the last
 * line: a handler failing on every event of a surge must not turn into a log storm (every failure
 * is still counted in stats).
 */
export class FailureLog {
  private lastAt = -Infinity;
  private since = 0;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly subscriber: string,
    private readonly topic: string,
    private readonly message: string,
  ) {}

  note(error: unknown, prio: number): void {
    this.since++;
    const now = this.clock.now();
    if (now - this.lastAt < INTERVAL_MS) return;
    this.logger.error(
      {
        subscriber: this.subscriber,
        topic: this.topic,
        priority: PRIORITY_NAMES[prio],
        failures: this.since,
        err: error,
      },
      this.message,
    );
    this.lastAt = now;
    this.since = 0;
  }
}
