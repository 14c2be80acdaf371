/**
 * The latest blockhash at commitment `confirmed`, refreshed in the background (every ~2 s by
 * default) so a send never waits for a getLatestBlockhash round trip, and always paired with the
 * `lastValidBlockHeight` that tells the landing path when the transaction has provably expired.
 *
 * An answer older than the one held (a lagging endpoint) is ignored, so the cached lifetime never
 * moves backwards. A failed refresh keeps the last good value and is counted; `get()` refetches at
 * once when the held value is older than `maxAgeMs`, and rejects (typed) rather than hand out a
 * blockhash it cannot vouch for.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { PalisadeError } from '../errors.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { redactText } from '../log/redact.ts';
import type { CallablePool } from '../rpc/web3-adapter.ts';
import { knownKeys, oneOf, timeoutMs } from '../validate.ts';

export type BlockhashCommitment = 'processed' | 'confirmed' | 'finalized';

export interface BlockhashCacheOptions {
  /** Background refresh period (default 2000 ms). */
  refreshMs?: number;
  /** A held blockhash older than this is not handed out without a refetch (default 10 000 ms). */
  maxAgeMs?: number;
  /** Default `confirmed`: a `processed` blockhash may belong to a fork that never confirms. */
  commitment?: BlockhashCommitment;
  clock?: Clock;
  logger?: Logger;
}

export interface CachedBlockhash {
  blockhash: string;
  /** The last block height at which a transaction using this blockhash can still land. */
  lastValidBlockHeight: number;
  /** The slot the answering node read it at. */
  slot: number;
  /** Clock time of the fetch. */
  fetchedAt: number;
}

export interface BlockhashCacheStats {
  refreshes: number;
  refreshFailures: number;
  /** Answers older than the held blockhash (a lagging endpoint), ignored. */
  staleAnswersIgnored: number;
  lastError: string | undefined;
  /** Age of the held blockhash, ms; -1 when none. */
  ageMs: number;
  lastValidBlockHeight: number | undefined;
}

export class BlockhashUnavailableError extends PalisadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BLOCKHASH_UNAVAILABLE', redactText(message), options);
  }
}

const KEYS = ['refreshMs', 'maxAgeMs', 'commitment', 'clock', 'logger'] as const;

export class BlockhashCache {
  private readonly pool: CallablePool;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly refreshMs: number;
  private readonly maxAgeMs: number;
  private readonly commitment: BlockhashCommitment;
  private held: CachedBlockhash | undefined;
  private inFlight: Promise<CachedBlockhash> | undefined;
  private timer: TimerHandle | undefined;
  private running = false;
  private closed = false;
  private readonly stats = {
    refreshes: 0,
    refreshFailures: 0,
    staleAnswersIgnored: 0,
    lastError: undefined as string | undefined,
  };

  constructor(pool: CallablePool, options: BlockhashCacheOptions = {}) {
    if (!pool || typeof pool.call !== 'function')
      throw new BlockhashUnavailableError('BlockhashCache needs a pool with call(method, params)');
    if (options === null || typeof options !== 'object')
      throw new BlockhashUnavailableError('BlockhashCache options must be an object');
    knownKeys('blockhashCache', options, KEYS);
    this.pool = pool;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.refreshMs = timeoutMs('blockhashCache.refreshMs', options.refreshMs ?? 2000, { min: 10 });
    this.maxAgeMs = timeoutMs('blockhashCache.maxAgeMs', options.maxAgeMs ?? 10_000, { min: 1 });
    this.commitment = oneOf('blockhashCache.commitment', options.commitment ?? 'confirmed', [
      'processed',
      'confirmed',
      'finalized',
    ]);
  }

  /** Fetches once and keeps refreshing every `refreshMs` until close(). Resolves with the first value. */
  async start(): Promise<CachedBlockhash> {
    if (this.closed) throw new BlockhashUnavailableError('the blockhash cache is closed');
    if (!this.running) {
      this.running = true;
      this.schedule();
    }
    return this.get();
  }

  /** The held blockhash if younger than `maxAgeMs`, otherwise a fresh one (concurrent callers share one fetch). */
  async get(): Promise<CachedBlockhash> {
    if (this.closed) throw new BlockhashUnavailableError('the blockhash cache is closed');
    const h = this.held;
    if (h && this.clock.now() - h.fetchedAt < this.maxAgeMs) return h;
    try {
      return await this.refresh();
    } catch (err) {
      throw new BlockhashUnavailableError(
        `no blockhash younger than ${this.maxAgeMs} ms: ${String((err as Error)?.message ?? err)}`,
        { cause: err },
      );
    }
  }

  /** The held value, fresh or not, without any request. */
  peek(): CachedBlockhash | undefined {
    return this.held;
  }

  /** Fetches now (shared with any fetch already running). */
  refresh(): Promise<CachedBlockhash> {
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  getStats(): BlockhashCacheStats {
    const h = this.held;
    return {
      ...this.stats,
      ageMs: h ? this.clock.now() - h.fetchedAt : -1,
      lastValidBlockHeight: h?.lastValidBlockHeight,
    };
  }

  close(): void {
    this.closed = true;
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fetch(): Promise<CachedBlockhash> {
    try {
      const r = await this.pool.call('getLatestBlockhash', [{ commitment: this.commitment }]);
      const next = readAnswer(r.result, this.clock.now());
      this.stats.refreshes++;
      const h = this.held;
      if (h && next.lastValidBlockHeight < h.lastValidBlockHeight) {
        // A lagging node's older blockhash: keep the newer lifetime, but it was just vouched for again.
        this.stats.staleAnswersIgnored++;
        this.held = { ...h, fetchedAt: next.fetchedAt };
        return this.held;
      }
      this.held = next;
      return next;
    } catch (err) {
      this.stats.refreshFailures++;
      this.stats.lastError = redactText(String((err as Error)?.message ?? err));
      this.logger.warn({ err: this.stats.lastError }, 'blockhash refresh failed; keeping the last one');
      throw err;
    }
  }

  private schedule(): void {
    if (!this.running || this.closed) return;
    this.timer = this.clock.setTimeout(() => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, this.refreshMs);
  }
}

function readAnswer(result: unknown, now: number): CachedBlockhash {
  const r = result as {
    context?: { slot?: unknown };
    value?: { blockhash?: unknown; lastValidBlockHeight?: unknown };
  } | null;
  const blockhash = r?.value?.blockhash;
  const lvbh = r?.value?.lastValidBlockHeight;
  const slot = r?.context?.slot;
  if (
    typeof blockhash !== 'string' ||
    blockhash.length < 32 ||
    blockhash.length > 44 ||
    typeof lvbh !== 'number' ||
    !Number.isSafeInteger(lvbh) ||
    lvbh < 0
  ) {
    throw new BlockhashUnavailableError(
      'getLatestBlockhash answered without a usable blockhash and lastValidBlockHeight',
    );
  }
  return {
    blockhash,
    lastValidBlockHeight: lvbh,
    slot: typeof slot === 'number' && Number.isSafeInteger(slot) ? slot : 0,
    fetchedAt: now,
  };
}
