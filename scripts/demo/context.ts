/**
 * What every phase of a demo run shares (options, time, logging, output lines, what to close,
 * the background timers), and the error a run throws when it cannot be brought up.
 */
import type { Clock } from '../../src/clock.ts';
import { PalisadeError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/index.ts';
import type { Subscription } from '../../src/bus/index.ts';
import type { Closer } from '../lib/closer.ts';
import type { DemoOptions } from './options.ts';

export class DemoStartError extends PalisadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEMO_START_FAILED', message, options);
  }
}

export interface DemoIo {
  /** Where the live view, start-up lines and the report go. */
  write(text: string): void;
  tty: boolean;
  columns(): number;
  /** Aborting it asks for a graceful shutdown (SIGINT/SIGTERM). */
  signal: AbortSignal;
  logger: Logger;
  clock?: Clock;
}

export interface DemoContext {
  readonly o: DemoOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Everything opened, closed newest first when the run ends on any path. */
  readonly closer: Closer;
  /** When the run began (start-up included). */
  readonly t0: number;
  /** Background intervals, all stopped at once when intake stops. */
  readonly timers: Intervals;
  /** A line on the output. */
  say(line: string): void;
  /** A notable event: shown on the live view and kept as its last event. */
  note(line: string): void;
}

export interface NamedSubscription {
  name: string;
  sub: Subscription;
}

/** Unref'd intervals that stop together. */
export class Intervals {
  private readonly handles = new Set<ReturnType<typeof setInterval>>();

  every(ms: number, fn: () => void): void {
    const h = setInterval(fn, ms);
    h.unref();
    this.handles.add(h);
  }

  clearAll(): void {
    for (const h of this.handles) clearInterval(h);
  }
}
