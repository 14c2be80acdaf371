/**
 * The trade executor: an inline subscriber on trade_signal. Its handler is synchronous and cheap
 * (it must never make the bus wait on the network): it validates the signal, decides, and hands
 * eligible BUYs to a bounded set of transfers in flight under a per-second budget. Every signal
 * ends in exactly one counted outcome: invalid, skipped (with why), or a transfer started.
 */
import type { Clock } from '../../src/clock.ts';
import type { Logger } from '../../src/log/index.ts';
import type { OffThreadSignerStats } from '../../src/signing/index.ts';
import { LatencyHistogram, type LatencySummary } from '../../src/stats/latency.ts';
import { describeError } from '../../test/support/checks.ts';
import { validateTradeSignal, type TradeSignal } from '../../actors/demo/signals.ts';
import { inSpan } from '../../src/observe/trace.ts';

export interface TransferSender {
  /** Sends one transfer for a BUY of `token` and resolves once it is confirmed; rejects otherwise. */
  transfer(token: string, signal: AbortSignal): Promise<{ signature: string }>;
  /** The off-thread signer's counters, when the sender signs through one. */
  signerStats?(): OffThreadSignerStats;
}

export interface ExecutorOptions {
  txPerSec: number;
  maxInFlight: number;
  /** BUYs below this confidence are skipped. Default 0.7. */
  minConfidence?: number;
  /** At most this many transfers over the whole run (e.g. when spending real SOL). Default unlimited. */
  maxTransfers?: number;
  /** Deadline of one transfer, send to confirmed. Default 20 s. */
  transferTimeoutMs?: number;
}

export type SkipReason =
  | 'sell-signal'
  | 'low-confidence'
  | 'budget'
  | 'in-flight-limit'
  | 'transfer-cap'
  | 'no-wallet'
  | 'stopped';

export interface ExecutorStats {
  seen: number;
  valid: number;
  invalid: Record<string, number>;
  skipped: Partial<Record<SkipReason, number>>;
  started: number;
  confirmed: number;
  failed: Record<string, number>;
  inFlight: number;
  /** Signal published → transfer confirmed, ms. */
  signalToConfirmed: LatencySummary;
  lastSignatures: string[];
  /** Signatures made off the host thread (failures also appear in `failed` under their SIGNER_* code). */
  signing?: OffThreadSignerStats;
}

type Delivered = TradeSignal & { sequence: number; timestamp: number };

export class TradeExecutor {
  readonly tradesSeen = new Set<number>();
  private readonly o: Required<ExecutorOptions>;
  private tokens: number;
  private refillAt: number;
  private inFlight = 0;
  private stopped = false;
  private readonly aborts = new Set<AbortController>();
  private readonly pending = new Set<Promise<void>>();
  private readonly latency = new LatencyHistogram();
  private readonly s = {
    seen: 0,
    valid: 0,
    invalid: {} as Record<string, number>,
    skipped: {} as Partial<Record<SkipReason, number>>,
    started: 0,
    confirmed: 0,
    failed: {} as Record<string, number>,
    lastSignatures: [] as string[],
  };

  constructor(
    options: ExecutorOptions,
    private readonly sender: TransferSender | null,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.o = { minConfidence: 0.7, maxTransfers: Number.MAX_SAFE_INTEGER, transferTimeoutMs: 20_000, ...options };
    this.tokens = Math.min(1, this.o.txPerSec);
    this.refillAt = clock.now();
  }

  /** The bus handler. */
  readonly handle = (event: Delivered): void => {
    this.s.seen++;
    this.tradesSeen.add(event.sequence);
    const now = this.clock.now();
    const v = validateTradeSignal(event, now);
    if (!v.ok) {
      this.s.invalid[v.reason] = (this.s.invalid[v.reason] ?? 0) + 1;
      return;
    }
    this.s.valid++;
    if (event.action !== 'BUY') return this.skip('sell-signal');
    if (event.confidence < this.o.minConfidence) return this.skip('low-confidence');
    if (this.stopped) return this.skip('stopped');
    if (this.sender === null) return this.skip('no-wallet');
    if (this.s.started >= this.o.maxTransfers) return this.skip('transfer-cap');
    if (this.inFlight >= this.o.maxInFlight) return this.skip('in-flight-limit');
    if (!this.takeToken(now)) return this.skip('budget');
    this.start(event);
  };

  stats(): ExecutorStats {
    return {
      ...this.s,
      invalid: { ...this.s.invalid },
      skipped: { ...this.s.skipped },
      failed: { ...this.s.failed },
      inFlight: this.inFlight,
      signalToConfirmed: this.latency.summary(),
      lastSignatures: this.s.lastSignatures.slice(),
      ...(this.sender?.signerStats ? { signing: this.sender.signerStats() } : {}),
    };
  }

  /** Stops starting transfers; waits up to `deadlineMs` for those in flight, then aborts them (counted). */
  async drain(deadlineMs: number): Promise<void> {
    this.stopped = true;
    if (this.pending.size === 0) return;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const deadline = new Promise<void>((r) => (timer = this.clock.setTimeout(r, deadlineMs)));
    await Promise.race([Promise.allSettled([...this.pending]), deadline]);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    for (const a of this.aborts) a.abort(new Error('demo shutting down'));
    await Promise.allSettled([...this.pending]);
  }

  private skip(reason: SkipReason): void {
    this.s.skipped[reason] = (this.s.skipped[reason] ?? 0) + 1;
  }

  private takeToken(now: number): boolean {
    const rate = this.o.txPerSec;
    if (rate <= 0) return false;
    this.tokens = Math.min(Math.max(1, rate), this.tokens + ((now - this.refillAt) * rate) / 1000);
    this.refillAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private start(event: Delivered): void {
    this.s.started++;
    this.inFlight++;
    const ctl = new AbortController();
    this.aborts.add(ctl);
    const timer = this.clock.setTimeout(
      () => ctl.abort(new Error(`transfer not confirmed within ${this.o.transferTimeoutMs} ms`)),
      this.o.transferTimeoutMs,
    );
    const p = inSpan(`execute ${event.action} ${event.token}`, () =>
      this.sender!.transfer(event.token, ctl.signal),
    ).then(
      ({ signature }) => {
        this.s.confirmed++;
        this.latency.record(this.clock.now() - event.timestamp);
        this.s.lastSignatures.push(signature);
        if (this.s.lastSignatures.length > 5) this.s.lastSignatures.shift();
      },
      (err: unknown) => {
        const reason = failureReason(err, ctl.signal);
        this.s.failed[reason] = (this.s.failed[reason] ?? 0) + 1;
        this.logger.warn(
          { token: event.token, sequence: event.sequence, reason, err: describeError(err) },
          'demo executor: transfer failed',
        );
      },
    );
    const done = p.finally(() => {
      this.clock.clearTimeout(timer);
      this.inFlight--;
      this.aborts.delete(ctl);
      this.pending.delete(done);
    });
    this.pending.add(done);
  }
}

function failureReason(err: unknown, signal: AbortSignal): string {
  if (signal.aborted)
    return String((signal.reason as Error)?.message ?? '').includes('shutting down')
      ? 'aborted-at-shutdown'
      : 'confirm-timeout';
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  if (typeof code === 'number') return `rpc-${code}`;
  return (err as Error)?.name ?? 'error';
}
