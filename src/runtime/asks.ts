/**
 * Asks: reading an ask's options, its deadline and abort signal while it waits, settling it
 * exactly once, and withdrawing one the caller gave up on after it reached the worker.
 */
import type { Clock } from '../clock.ts';
import { ConfigError } from '../errors.ts';
import { LatencyHistogram } from '../stats/latency.ts';
import { timeoutMs as checkTimeout } from '../validate.ts';
import { DeadlineQueue } from './deadlines.ts';
import type { AskState, Envelope } from './envelope.ts';
import * as P from './protocol.ts';
import { noLimitAsZero } from './spawn-options.ts';
import type { AskOptions } from './types.ts';

export interface AskLimits {
  /** How long the caller waits; 0: no timeout. */
  timeoutMs: number;
  /** The message's run deadline in the worker; 0: no limit. */
  runLimitMs: number;
  signal: AbortSignal | null;
}

/** An ask's options checked (a ConfigError names the bad one); null or undefined mean the defaults. */
export function readAskOptions(
  options: AskOptions | undefined,
  defaults: { timeoutMs: number; runLimitMs: number },
): AskLimits {
  const signal = options?.signal ?? null;
  if (signal !== null && !isAbortSignal(signal)) throw new ConfigError('signal', signal, 'an AbortSignal');
  let timeoutMs = defaults.timeoutMs;
  let runLimitMs = defaults.runLimitMs;
  if (options?.timeoutMs != null)
    timeoutMs = noLimitAsZero(checkTimeout('timeoutMs', options.timeoutMs, { min: 0, infinity: true }));
  if (options?.messageTimeoutMs != null)
    runLimitMs = noLimitAsZero(checkTimeout('messageTimeoutMs', options.messageTimeoutMs, { min: 0, infinity: true }));
  return { timeoutMs, runLimitMs, signal };
}

function isAbortSignal(v: unknown): v is AbortSignal {
  const s = v as AbortSignal | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.aborted === 'boolean' &&
    typeof s.addEventListener === 'function' &&
    typeof s.removeEventListener === 'function'
  );
}

/**
 * Withdraws an ask handed to the worker (see C_CANCEL_BYTE_OFFSET in the protocol). True if the
 * worker will skip it; false if it has already started it.
 */
export function withdrawInWorker(slots: Int32Array, seq: number): boolean {
  const i = seq & P.CANCEL_MASK;
  const seen = Atomics.load(slots, i);
  if (seen === -seq) return false;
  return Atomics.compareExchange(slots, i, seen, seq) === seen;
}

/** The pending asks of one actor: their deadlines (one timer for all), abort listeners and round-trip latency. */
export class Asks {
  /** Ask round trip, ms. */
  readonly latency = new LatencyHistogram();
  private readonly deadlines: DeadlineQueue<Envelope>;

  constructor(
    private readonly clock: Clock,
    /** The ask's deadline passed (it is still attached to its envelope). */
    onTimeout: (env: Envelope) => void,
  ) {
    this.deadlines = new DeadlineQueue<Envelope>(clock, (env) => (env.ask === null ? -1 : env.ask.deadline), onTimeout);
  }

  /** Starts the deadline and abort listener of an ask whose envelope was accepted. */
  watch(env: Envelope, onAbort: () => void): void {
    const a = env.ask!;
    if (a.timeoutMs > 0) {
      a.deadline = this.clock.now() + a.timeoutMs;
      this.deadlines.add(env, a.timeoutMs);
    }
    if (a.signal) {
      a.onAbort = onAbort;
      a.signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /**
   * Takes the ask off its envelope (no deadline, no abort listener any more); null if it was
   * settled already. `trim` drops settled deadlines now rather than when the timer next fires.
   */
  detach(env: Envelope, trim = true): AskState | null {
    const a = env.ask;
    if (a === null) return null;
    env.ask = null;
    if (trim && a.deadline !== 0) this.deadlines.trim(a.timeoutMs);
    if (a.signal && a.onAbort) a.signal.removeEventListener('abort', a.onAbort);
    return a;
  }

  /** The reply arrived: false if nobody waits for it any more (a late reply). */
  resolve(env: Envelope, value: unknown): boolean {
    const a = this.detach(env);
    if (a === null) return false;
    this.latency.record(performance.now() - a.t0);
    a.resolve(value);
    return true;
  }

  reject(env: Envelope, err: Error): void {
    this.detach(env)?.reject(err);
  }

  clear(): void {
    this.deadlines.clear();
  }
}
