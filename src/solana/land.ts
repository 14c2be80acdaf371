/**
 * Landing a signed transaction through provider faults without ever executing an intent twice.
 *
 * The same signed bytes go to every healthy provider at once (the send class: see
 * send-endpoints.ts) and are re-broadcast every `rebroadcastMs` (default 2 s) until the signature
 * reaches the wanted commitment or the blockhash has provably expired. Re-sending the same bytes
 * is safe: one signature executes at most once. Re-signing is not (a new signature is a second
 * buy), so this module never re-signs, and it reports `expired` only with proof:
 *
 *   1. getEpochInfo at commitment `confirmed` shows a block height past lastValidBlockHeight, at
 *      some slot S (every block that could still hold the transaction is at or below S), and
 *   2. getSignatureStatuses with searchTransactionHistory, answered by a node whose context slot
 *      is at least S, does not know the signature.
 *
 * Only then may the caller build a new transaction with a new blockhash. Results:
 *   landed   reached the commitment without error (signature, slot, time to land)
 *   failed   landed with an on-chain error (fee paid, nothing else executed), or refused in a way
 *            that proves it can never land anywhere (bad signature, undecodable bytes)
 *   expired  proven above: it did not land and never will
 *   unknown  stopped (abort, close, maxWaitMs) before either was proven: do NOT re-sign; ask
 *            again with land() on the same bytes, or check its status later
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { ConfigError, PalisadeError } from '../errors.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { redactText } from '../log/redact.ts';
import { signatureOfSendParams } from '../rpc/signature.ts';
import type { CallablePool } from '../rpc/web3-adapter.ts';
import { LatencyHistogram } from '../stats/latency.ts';
import { knownKeys, oneOf, timeoutMs } from '../validate.ts';
import type { SendAttempt, SendEndpoints } from './send-endpoints.ts';

export type LandStatus = 'landed' | 'failed' | 'expired' | 'unknown';

export interface LandResult {
  status: LandStatus;
  signature: string;
  lastValidBlockHeight: number;
  /** Slot it landed in (landed, and failed on chain). */
  slot?: number;
  /** From the first broadcast to seeing the commitment, clock ms (landed, failed on chain). */
  timeToLandMs?: number;
  /** expired: the confirmed block height that proved it. */
  blockHeight?: number;
  /** failed / unknown: why. `code` is stable. */
  error?: { code: LandErrorCode; message: string; onChain?: unknown; rpcCode?: number };
  /** Broadcast rounds made, and provider answers that accepted the bytes. */
  broadcasts: number;
  accepted: number;
}

export type LandErrorCode = 'LAND_FAILED_ON_CHAIN' | 'LAND_REJECTED' | 'LAND_ABORTED' | 'LAND_CLOSED' | 'LAND_GAVE_UP';

export interface LandOptions {
  /** Until when the transaction can land: from the blockhash it was signed with. */
  lastValidBlockHeight: number | bigint;
  signal?: AbortSignal;
}

export interface TransactionLanderOptions {
  /** Re-broadcast period of the same bytes (default 2000 ms). */
  rebroadcastMs?: number;
  /** Status poll period (default 400 ms, about a slot). */
  pollMs?: number;
  /** Commitment that counts as landed (default `confirmed`). */
  commitment?: 'confirmed' | 'finalized';
  /** Give up (status `unknown`, never `expired`) after this long without a proof (default: no limit). */
  maxWaitMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export class LandInputError extends PalisadeError {
  constructor(message: string) {
    super('LAND_BAD_INPUT', message);
  }
}

export interface LanderStats {
  intents: number;
  inFlight: number;
  results: Record<LandStatus, number>;
  broadcasts: number;
  joinedDuplicates: number;
  statusReadFailures: number;
  timeToLandMs: ReturnType<LatencyHistogram['summary']>;
}

/** Solana's packet limit for a serialized transaction. */
const MAX_TX_BYTES = 1232;
/** Answers that prove the bytes can never land on any node: a bad signature, undecodable bytes. */
const NEVER_LANDS = new Set([-32003, -32602]);
const RANK: Record<string, number> = { processed: 0, confirmed: 1, finalized: 2 };
const KEYS = ['rebroadcastMs', 'pollMs', 'commitment', 'maxWaitMs', 'clock', 'logger'] as const;

interface Intent {
  signature: string;
  base64: string;
  lastValidBlockHeight: number;
  startedAt: number;
  broadcasts: number;
  accepted: number;
  round: Promise<void> | undefined;
  nextBroadcastAt: number;
  rejected: { rpcCode: number; message: string } | undefined;
}

export class TransactionLander {
  private readonly pool: CallablePool;
  private readonly sends: SendEndpoints;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly rebroadcastMs: number;
  private readonly pollMs: number;
  private readonly commitment: 'confirmed' | 'finalized';
  private readonly maxWaitMs: number;
  private readonly running = new Map<string, Promise<LandResult>>();
  private readonly wakers = new Set<() => void>();
  private closed = false;
  private readonly latency = new LatencyHistogram();
  private readonly stats = {
    intents: 0,
    results: { landed: 0, failed: 0, expired: 0, unknown: 0 } as Record<LandStatus, number>,
    broadcasts: 0,
    joinedDuplicates: 0,
    statusReadFailures: 0,
  };

  /** `pool` serves the reads (statuses, block height); `sends` is the separate send class. */
  constructor(pool: CallablePool, sends: SendEndpoints, options: TransactionLanderOptions = {}) {
    if (!pool || typeof pool.call !== 'function')
      throw new ConfigError('lander.pool', pool, 'a pool with call(method, params)');
    if (!sends || typeof (sends as { broadcast?: unknown }).broadcast !== 'function')
      throw new ConfigError('lander.sends', sends, 'SendEndpoints');
    if (options === null || typeof options !== 'object') throw new ConfigError('lander', options, 'an options object');
    knownKeys('lander', options, KEYS);
    this.pool = pool;
    this.sends = sends;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.rebroadcastMs = timeoutMs('lander.rebroadcastMs', options.rebroadcastMs ?? 2000, { min: 10 });
    this.pollMs = timeoutMs('lander.pollMs', options.pollMs ?? 400, { min: 5 });
    this.commitment = oneOf('lander.commitment', options.commitment ?? 'confirmed', ['confirmed', 'finalized']);
    this.maxWaitMs = timeoutMs('lander.maxWaitMs', options.maxWaitMs ?? Infinity, { infinity: true });
  }

  /**
   * Lands one signed transaction (base64 wire bytes or the bytes themselves). Landing the same
   * signature again while it is in flight joins the running attempt. Rejects only for bad input
   * (LandInputError); every other outcome is a LandResult.
   */
  land(tx: string | Uint8Array, options: LandOptions): Promise<LandResult> {
    const intent = this.readIntent(tx, options);
    const joined = this.running.get(intent.signature);
    if (joined) {
      this.stats.joinedDuplicates++;
      return joined;
    }
    this.stats.intents++;
    const p = this.run(intent, options.signal).then((r) => {
      this.running.delete(intent.signature);
      this.stats.results[r.status]++;
      if (r.timeToLandMs !== undefined) this.latency.record(r.timeToLandMs);
      this.logger.info(
        {
          signature: r.signature,
          status: r.status,
          timeToLandMs: r.timeToLandMs,
          broadcasts: r.broadcasts,
          error: r.error?.code,
        },
        'transaction landing finished',
      );
      return r;
    });
    this.running.set(intent.signature, p);
    return p;
  }

  getStats(): LanderStats {
    return {
      ...this.stats,
      results: { ...this.stats.results },
      inFlight: this.running.size,
      timeToLandMs: this.latency.summary(),
    };
  }

  /** Stops every landing in flight (each resolves `unknown`, LAND_CLOSED). The send class is the caller's to close. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.wakers) wake();
    await Promise.allSettled([...this.running.values()]);
  }

  private readIntent(tx: string | Uint8Array, options: LandOptions): Intent {
    if (this.closed) throw new LandInputError('the lander is closed');
    let base64: string;
    if (tx instanceof Uint8Array) base64 = Buffer.from(tx).toString('base64');
    else if (typeof tx === 'string') base64 = tx;
    else throw new LandInputError('tx must be base64 wire bytes or a Uint8Array');
    const size = Buffer.byteLength(base64, 'base64');
    if (size === 0 || size > MAX_TX_BYTES || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw new LandInputError(`tx must be a signed transaction of 1..${MAX_TX_BYTES} bytes in base64`);
    }
    const signature = signatureOfSendParams([base64, { encoding: 'base64' }]);
    if (signature === undefined) throw new LandInputError('tx has no signature: sign it before landing');
    if (options === null || typeof options !== 'object')
      throw new LandInputError('land needs { lastValidBlockHeight }');
    const raw = options.lastValidBlockHeight;
    const lvbh = typeof raw === 'bigint' && raw >= 0n && raw <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(raw) : raw;
    if (typeof lvbh !== 'number' || !Number.isSafeInteger(lvbh) || lvbh < 0) {
      throw new LandInputError(`lastValidBlockHeight must be a non-negative integer, got ${String(raw)}`);
    }
    const now = this.clock.now();
    return {
      signature,
      base64,
      lastValidBlockHeight: lvbh,
      startedAt: now,
      broadcasts: 0,
      accepted: 0,
      round: undefined,
      nextBroadcastAt: now,
      rejected: undefined,
    };
  }

  private async run(intent: Intent, signal: AbortSignal | undefined): Promise<LandResult> {
    const done = (status: LandStatus, extra: Partial<LandResult> = {}): LandResult => ({
      status,
      signature: intent.signature,
      lastValidBlockHeight: intent.lastValidBlockHeight,
      broadcasts: intent.broadcasts,
      accepted: intent.accepted,
      ...extra,
    });
    for (;;) {
      if (this.closed)
        return done('unknown', {
          error: { code: 'LAND_CLOSED', message: 'the lander closed before landing or expiry was proven' },
        });
      if (signal?.aborted)
        return done('unknown', {
          error: { code: 'LAND_ABORTED', message: 'aborted before landing or expiry was proven' },
        });
      const now = this.clock.now();
      if (now - intent.startedAt >= this.maxWaitMs) {
        return done('unknown', {
          error: { code: 'LAND_GAVE_UP', message: `neither landed nor proven expired within ${this.maxWaitMs} ms` },
        });
      }
      if (intent.rejected) {
        return done('failed', {
          error: { code: 'LAND_REJECTED', message: intent.rejected.message, rpcCode: intent.rejected.rpcCode },
        });
      }
      if (intent.round === undefined && now >= intent.nextBroadcastAt) this.broadcast(intent);

      const seen = await this.status(intent.signature, false);
      if (seen.landed) return this.landedResult(intent, seen.landed, done);
      if (seen.known) {
        const height = await this.confirmedHeight();
        if (height !== undefined && height.blockHeight > intent.lastValidBlockHeight) {
          const final = await this.status(intent.signature, true);
          if (final.landed) return this.landedResult(intent, final.landed, done);
          if (final.known && !final.pending && final.contextSlot >= height.slot)
            return done('expired', { blockHeight: height.blockHeight });
        }
      }
      await this.sleep(Math.max(1, Math.min(this.pollMs, intent.nextBroadcastAt - this.clock.now())), signal);
    }
  }

  private landedResult(
    intent: Intent,
    landed: { slot: number; err: unknown },
    done: (s: LandStatus, e?: Partial<LandResult>) => LandResult,
  ): LandResult {
    const timeToLandMs = this.clock.now() - intent.startedAt;
    if (landed.err !== null && landed.err !== undefined) {
      return done('failed', {
        slot: landed.slot,
        timeToLandMs,
        error: {
          code: 'LAND_FAILED_ON_CHAIN',
          message: `landed with an error: ${safeJson(landed.err)}`,
          onChain: landed.err,
        },
      });
    }
    return done('landed', { slot: landed.slot, timeToLandMs });
  }

  /** One round to every healthy provider, in the background; the loop goes on polling meanwhile. */
  private broadcast(intent: Intent): void {
    intent.broadcasts++;
    this.stats.broadcasts++;
    intent.nextBroadcastAt = this.clock.now() + this.rebroadcastMs;
    const params = [intent.base64, { encoding: 'base64', skipPreflight: true, maxRetries: 0 }];
    intent.round = this.sends.broadcast('sendTransaction', params).then(
      (attempts: SendAttempt[]) => {
        let accepted = 0;
        for (const { endpoint, outcome } of attempts) {
          if (outcome.ok) accepted++;
          else if (
            outcome.class === 'caller_error' &&
            outcome.rpcCode !== undefined &&
            NEVER_LANDS.has(outcome.rpcCode)
          ) {
            intent.rejected ??= {
              rpcCode: outcome.rpcCode,
              message: redactText(`${endpoint}: ${outcome.message ?? 'rejected'}`),
            };
          }
        }
        intent.accepted += accepted;
        // Nobody took it (all down, resting or open): try again at the next poll, not in 2 s.
        if (accepted === 0) intent.nextBroadcastAt = Math.min(intent.nextBroadcastAt, this.clock.now() + this.pollMs);
        intent.round = undefined;
      },
      (err: unknown) => {
        this.logger.warn({ err: redactText(String(err)) }, 'broadcast round failed');
        intent.round = undefined;
      },
    );
  }

  /**
   * The signature's status through the read pool. `known`: the read succeeded (so a null status
   * means this node has not seen it); `pending`: seen below the commitment.
   */
  private async status(
    signature: string,
    history: boolean,
  ): Promise<{ known: boolean; pending: boolean; contextSlot: number; landed?: { slot: number; err: unknown } }> {
    try {
      const r = await this.pool.call('getSignatureStatuses', [[signature], { searchTransactionHistory: history }]);
      const res = r.result as {
        context?: { slot?: number };
        value?: Array<{ slot: number; err: unknown; confirmationStatus?: string } | null>;
      };
      const v = res?.value?.[0] ?? null;
      const contextSlot = typeof res?.context?.slot === 'number' ? res.context.slot : -1;
      if (v && (RANK[v.confirmationStatus ?? 'processed'] ?? 0) >= RANK[this.commitment]!)
        return { known: true, pending: false, contextSlot, landed: { slot: v.slot, err: v.err } };
      return { known: true, pending: v !== null, contextSlot };
    } catch (err) {
      this.stats.statusReadFailures++;
      this.logger.debug({ err: redactText(String(err)) }, 'signature status read failed; polling again');
      return { known: false, pending: false, contextSlot: -1 };
    }
  }

  private async confirmedHeight(): Promise<{ blockHeight: number; slot: number } | undefined> {
    try {
      const r = await this.pool.call('getEpochInfo', [{ commitment: 'confirmed' }]);
      const v = r.result as { blockHeight?: unknown; absoluteSlot?: unknown };
      if (typeof v?.blockHeight === 'number' && typeof v.absoluteSlot === 'number')
        return { blockHeight: v.blockHeight, slot: v.absoluteSlot };
    } catch {
      this.stats.statusReadFailures++;
    }
    return undefined;
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let t: TimerHandle | undefined;
      const wake = (): void => {
        if (t !== undefined) this.clock.clearTimeout(t);
        this.wakers.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.wakers.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
      t = this.clock.setTimeout(wake, ms);
    });
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
