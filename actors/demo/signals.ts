/**
 * The demo's meme-coin signals: topics, shapes, validation (shared by the validator worker and
 * the inline trade executor). It lives beside the demo's worker entries, not in scripts/demo, so
 * the worker side never imports scripts/; the demo's host side imports it from here.
 */

export const TOPICS = {
  /** Critical: BUY/SELL trade signals. Bus-assigned sequences. */
  trade: 'trade_signal',
  /** Normal: price ticks per token. */
  price: 'price_tick',
  /** Normal: one event per chain slot, sequence = slot (publisher-given, slot-derived). */
  slot: 'slot_update',
  /** Low: holder/liquidity metrics. */
  metrics: 'market_metrics',
} as const;

export const MEME_TOKENS = ['BONK', 'WIF', 'POPCAT', 'MEW', 'BOME', 'MYRO', 'SLERF', 'PNUT'] as const;
export type MemeToken = (typeof MEME_TOKENS)[number];

export interface TradeSignal {
  token: string;
  action: 'BUY' | 'SELL';
  /** Price in SOL. */
  price: number;
  /** 0..1. */
  confidence: number;
  source: 'telegram' | 'twitter' | 'dex-volume';
  /** Chain slot the signal was produced at. */
  slot: number;
  /** Epoch ms after which acting on it is trading on stale data. */
  expiresAt: number;
}

export interface PriceTick {
  token: string;
  price: number;
  volume: number;
  slot: number;
}

export interface MarketMetric {
  token: string;
  name: 'holders' | 'liquidity' | 'buyers_1m';
  value: number;
}

export interface SlotUpdate {
  slot: number;
  sequence: number;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Sanity rules a trade signal must pass before anyone trades on it. */
export function validateTradeSignal(s: Partial<TradeSignal> | null | undefined, now: number): Verdict {
  if (!s || typeof s !== 'object') return { ok: false, reason: 'not-an-object' };
  if (typeof s.token !== 'string' || s.token.length === 0 || s.token.length > 16)
    return { ok: false, reason: 'bad-token' };
  if (s.action !== 'BUY' && s.action !== 'SELL') return { ok: false, reason: 'bad-action' };
  if (typeof s.price !== 'number' || !(s.price > 0) || !Number.isFinite(s.price))
    return { ok: false, reason: 'bad-price' };
  if (typeof s.confidence !== 'number' || !(s.confidence >= 0 && s.confidence <= 1))
    return { ok: false, reason: 'bad-confidence' };
  if (typeof s.expiresAt === 'number' && s.expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/** The name of the channel worker subscribers report what they received on (one per process). */
export function ackChannelName(pid: number = process.pid): string {
  return `palisade-demo-acks:${pid}`;
}

/** What a worker subscriber reports, one message per event it handled (posted before it returns, so a crash right after cannot lose the report). */
export interface AckMessage {
  subscriber: string;
  topic: string;
  sequence: number;
  /** False when this sequence was not above the last one this incarnation handled. */
  inOrder: boolean;
  valid: boolean;
}
