/**
 * The per-call deadline: runs an operation with an AbortSignal that fires after `timeoutMs`, and
 * settles the call with the timeout error at that moment even when the operation ignores the
 * signal. The operation keeps running; its late outcome is reported apart (`late`) so the
 * breaker can hold the bulkhead slot until it really ends.
 */
import type { Clock } from '../clock.ts';

export interface DeadlineHooks {
  /** The deadline passed first: do the bookkeeping and return the error the call rejects with. */
  timedOut(): unknown;
  /** The operation settled first (the timer is already cleared). */
  settled(ok: boolean, outcome: unknown): void;
  /** The operation settled after its deadline; its outcome is discarded. */
  late(): void;
}

export function runWithDeadline<T>(
  clock: Clock,
  timeoutMs: number,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  hooks: DeadlineHooks,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const controller = new AbortController();
    let done = false;
    const timer = clock.setTimeout(() => {
      if (done) return;
      done = true;
      const err = hooks.timedOut();
      reject(err);
      controller.abort(err);
    }, timeoutMs);
    // systemClock unrefs its timers so idle cooldowns never hold a process open; a deadline on a
    // call someone awaits is different: it must fire even if the operation holds no I/O handle.
    (timer as { ref?: () => unknown }).ref?.();
    const settle = (ok: boolean, outcome: unknown): void => {
      if (done) {
        hooks.late();
        return;
      }
      done = true;
      clock.clearTimeout(timer);
      hooks.settled(ok, outcome);
      if (ok) resolve(outcome as T);
      else reject(outcome);
    };
    let result: T | PromiseLike<T>;
    try {
      result = fn(controller.signal);
    } catch (err) {
      settle(false, err);
      return;
    }
    Promise.resolve(result).then(
      (v) => settle(true, v),
      (e: unknown) => settle(false, e),
    );
  });
}
