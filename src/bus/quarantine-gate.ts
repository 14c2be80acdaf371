import type { Clock } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { OutcomeWindow, type QuarantinePolicy } from './outcome-window.ts';

/** admit() answers. */
export const REFUSE = 0;
export const PROBE = 1;

/**
 * Decides whether a subscriber may be called. Running: every event passes; outcomes feed a
 * sliding window, and a failure rate over the policy's threshold (with enough samples)
 * quarantines it. Quarantined: events are refused until the cool-off has passed, then one
 * probe event is let through; success releases it, failure quarantines it again with a
 * longer cool-off.
 */
export class QuarantineGate {
  quarantined = false;
  probing = false;
  quarantines = 0;
  private readonly window: OutcomeWindow;
  private cooloffMs: number;
  private retryAt = 0;

  constructor(
    private readonly policy: QuarantinePolicy,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly who: { readonly id: string; readonly topic: string },
  ) {
    this.window = new OutcomeWindow(policy.windowSize);
    this.cooloffMs = policy.cooloffMs;
  }

  /** For a quarantined subscriber: PROBE (the caller sends this one event) or REFUSE. */
  admit(): number {
    if (this.probing || this.clock.now() < this.retryAt) return REFUSE;
    this.probing = true;
    this.logger.info(
      { subscriber: this.who.id, topic: this.who.topic },
      'signal bus subscriber probing after quarantine',
    );
    return PROBE;
  }

  /** A probe that could not be sent (e.g. it had expired): the next event may probe instead. */
  probeNotSent(): void {
    this.probing = false;
  }

  success(): void {
    if (this.probing) return this.release();
    this.window.success();
  }

  /** Records a failure; true when it (re)quarantined the subscriber. */
  failure(): boolean {
    if (this.probing) {
      this.probing = false;
      this.cooloffMs = Math.min(this.policy.maxCooloffMs, this.cooloffMs * this.policy.cooloffFactor);
      this.enter('signal bus subscriber probe failed: quarantined again');
      return true;
    }
    if (this.quarantined) return false;
    this.window.failure();
    const w = this.window;
    if (w.count >= this.policy.minSamples && w.failures / w.count > this.policy.failureRate) {
      this.enter('signal bus subscriber quarantined: failure rate over threshold');
      return true;
    }
    return false;
  }

  /** Quarantines now for a reason outside the failure rate (e.g. the supervisor gave up on a worker). */
  force(detail: string): void {
    if (this.quarantined && !this.probing) return;
    this.probing = false;
    this.enter(`signal bus subscriber quarantined: ${detail}`);
  }

  private enter(message: string): void {
    this.quarantined = true;
    this.quarantines++;
    this.retryAt = this.clock.now() + this.cooloffMs;
    this.logger.error(
      {
        subscriber: this.who.id,
        topic: this.who.topic,
        failures: this.window.failures,
        outcomes: this.window.count,
        cooloffMs: this.cooloffMs,
      },
      message,
    );
  }

  private release(): void {
    this.probing = false;
    this.quarantined = false;
    this.window.reset();
    this.cooloffMs = this.policy.cooloffMs;
    this.logger.info(
      { subscriber: this.who.id, topic: this.who.topic },
      'signal bus subscriber released from quarantine',
    );
  }
}
