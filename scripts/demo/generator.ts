/**
 * The signal generator: publishes meme-coin signals at a normal rate, then a viral surge of
 * rate × surgeFactor, then normal again. It gives trade signals its own contiguous sequences
 * (so the run knows exactly which critical signals the bus accepted) and slot updates the chain
 * slot as their sequence, shuffling neighbours on purpose so the bus has to restore the order.
 */
import type { Clock, Random, TimerHandle } from '../../src/clock.ts';
import { MEME_TOKENS, TOPICS, type MarketMetric, type PriceTick, type TradeSignal } from '../../actors/demo/signals.ts';

import type { Priority } from '../../src/runtime/index.ts';
export type { Priority };

export interface Publisher {
  publish(topic: string, event: object, priority?: Priority): boolean;
}

export interface GeneratorOptions {
  /** Normal rate, events/s over trade, price and metric topics (slot updates come from the chain). */
  rate: number;
  surgeFactor: number;
  /** Surge window, ms after start. */
  surgeFromMs: number;
  surgeToMs: number;
  /** Shares of the rate per topic (defaults: trade 5%, price 65%, metrics 30%). */
  mix?: { trade: number; price: number; metrics: number };
  /** Trade signals expire this long after publication (default 10 s). */
  tradeTtlMs?: number;
  /** Share of trade signals made invalid on purpose (default 0.005). */
  invalidShare?: number;
  /** Chance that two neighbouring slot updates are published swapped (default 0.3). */
  slotShuffle?: number;
  /** Tick period (default 10 ms). */
  tickMs?: number;
}

export type Phase = 'idle' | 'normal' | 'surge' | 'cooldown' | 'stopped';

export interface TopicCounts {
  attempted: number;
  accepted: number;
  refused: number;
}

export interface GeneratorStats {
  phase: Phase;
  attempted: number;
  accepted: number;
  refused: number;
  /** publish() threw (bad input); should stay 0. */
  errors: number;
  byTopic: Record<string, TopicCounts>;
  byPriority: Record<Priority, TopicCounts>;
  /** Slot updates published out of order on purpose (the bus must reorder them). */
  slotsShuffled: number;
  lastSlot: number;
  /** Current target rate, events/s. */
  rateNow: number;
}

const PRIO: Record<string, Priority> = {
  [TOPICS.trade]: 'critical',
  [TOPICS.price]: 'normal',
  [TOPICS.slot]: 'normal',
  [TOPICS.metrics]: 'low',
};
const SOURCES: TradeSignal['source'][] = ['telegram', 'twitter', 'dex-volume'];
const METRICS: MarketMetric['name'][] = ['holders', 'liquidity', 'buyers_1m'];

export class SignalGenerator {
  private readonly o: Required<GeneratorOptions>;
  private timer: TimerHandle | null = null;
  private startedAt = 0;
  private due = 0;
  private lastTickAt = 0;
  private state: Phase = 'idle';
  private tradeSeq = 0;
  private slot = 0;
  private slotTopicStarted = false;
  private readonly prices = new Map<string, number>();
  /** Trade signal sequences the bus accepted (critical signals it owes a delivery or a counted drop). */
  readonly acceptedTrades = new Set<number>();
  private readonly counts = {
    attempted: 0,
    accepted: 0,
    refused: 0,
    errors: 0,
    slotsShuffled: 0,
    byTopic: {} as Record<string, TopicCounts>,
    byPriority: { critical: zero(), normal: zero(), low: zero() } as Record<Priority, TopicCounts>,
  };

  constructor(
    options: GeneratorOptions,
    private readonly bus: Publisher & { configureTopic?(topic: string, o: { firstSequence?: number }): void },
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.o = {
      mix: { trade: 0.05, price: 0.65, metrics: 0.3 },
      tradeTtlMs: 10_000,
      invalidShare: 0.005,
      slotShuffle: 0.3,
      tickMs: 10,
      ...options,
    };
    for (const t of Object.values(TOPICS)) this.counts.byTopic[t] = zero();
    MEME_TOKENS.forEach((t, i) => {
      this.prices.set(t, 0.00002 * (i + 1));
    });
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.startedAt = this.lastTickAt = this.clock.now();
    this.state = 'normal';
    this.schedule();
  }

  /** Stops intake: no event is published after this returns. */
  stop(): void {
    this.state = 'stopped';
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  get phase(): Phase {
    return this.state;
  }

  /** Target rate at `elapsed` ms into the run. */
  rateAt(elapsed: number): number {
    return elapsed >= this.o.surgeFromMs && elapsed < this.o.surgeToMs ? this.o.rate * this.o.surgeFactor : this.o.rate;
  }

  /**
   * The chain moved to `slot`: publishes one slot update per new slot (sequence = slot), with
   * some neighbours swapped. The first slot seen becomes the topic's first sequence.
   */
  onSlot(slot: number): void {
    if (this.state === 'stopped' || this.state === 'idle' || !(slot > this.slot)) return;
    if (!this.slotTopicStarted) {
      this.bus.configureTopic?.(TOPICS.slot, { firstSequence: slot });
      this.slotTopicStarted = true;
      this.slot = slot - 1;
    }
    // A long outage of every provider could leave a huge gap; the newest slots are what matter.
    const from = Math.max(this.slot + 1, slot - 255);
    const batch: number[] = [];
    for (let s = from; s <= slot; s++) batch.push(s);
    for (let i = 0; i + 1 < batch.length; i++) {
      if (this.random() < this.o.slotShuffle) {
        [batch[i], batch[i + 1]] = [batch[i + 1]!, batch[i]!];
        this.counts.slotsShuffled++;
        i++;
      }
    }
    this.slot = slot;
    for (const s of batch) this.publish(TOPICS.slot, { slot: s, sequence: s });
  }

  stats(): GeneratorStats {
    const c = this.counts;
    const byTopic: Record<string, TopicCounts> = {};
    for (const [k, v] of Object.entries(c.byTopic)) byTopic[k] = { ...v };
    return {
      phase: this.state,
      attempted: c.attempted,
      accepted: c.accepted,
      refused: c.refused,
      errors: c.errors,
      byTopic,
      byPriority: {
        critical: { ...c.byPriority.critical },
        normal: { ...c.byPriority.normal },
        low: { ...c.byPriority.low },
      },
      slotsShuffled: c.slotsShuffled,
      lastSlot: this.slot,
      rateNow: this.state === 'stopped' || this.state === 'idle' ? 0 : this.rateAt(this.clock.now() - this.startedAt),
    };
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => this.tick(), this.o.tickMs);
  }

  private tick(): void {
    this.timer = null;
    if (this.state === 'stopped') return;
    const now = this.clock.now();
    const elapsed = now - this.startedAt;
    this.state = elapsed < this.o.surgeFromMs ? 'normal' : elapsed < this.o.surgeToMs ? 'surge' : 'cooldown';
    // Integrate the rate over the time that really passed; a stalled timer catches up, but by
    // at most a quarter second of events, so a long pause does not turn into one giant burst.
    const dt = Math.min(now - this.lastTickAt, 250);
    this.lastTickAt = now;
    // The rate in force during the interval that just passed (its start decides the phase).
    this.due += (this.rateAt(Math.max(0, elapsed - dt)) * dt) / 1000;
    const n = Math.floor(this.due);
    this.due -= n;
    const mix = this.o.mix;
    const total = mix.trade + mix.price + mix.metrics;
    for (let i = 0; i < n; i++) {
      const r = this.random() * total;
      if (r < mix.trade) this.publishTrade(now);
      else if (r < mix.trade + mix.price) this.publishPrice();
      else this.publishMetric();
    }
    this.schedule();
  }

  private pickToken(): string {
    return MEME_TOKENS[Math.floor(this.random() * MEME_TOKENS.length)] ?? 'BONK';
  }

  private walk(token: string): number {
    const p = this.prices.get(token) ?? 0.00001;
    const next = Math.max(1e-9, p * (1 + (this.random() - 0.48) * 0.02));
    this.prices.set(token, next);
    return next;
  }

  private publishTrade(now: number): void {
    const token = this.pickToken();
    const invalid = this.random() < this.o.invalidShare;
    const sequence = ++this.tradeSeq;
    const signal: TradeSignal & { sequence: number } = {
      token,
      action: this.random() < 0.7 ? 'BUY' : 'SELL',
      price: invalid ? 0 : this.walk(token),
      confidence: Math.round((0.3 + this.random() * 0.7) * 1000) / 1000,
      source: SOURCES[Math.floor(this.random() * SOURCES.length)] ?? 'telegram',
      slot: this.slot,
      expiresAt: now + this.o.tradeTtlMs,
      sequence,
    };
    if (this.publish(TOPICS.trade, signal)) this.acceptedTrades.add(sequence);
  }

  private publishPrice(): void {
    const token = this.pickToken();
    const tick: PriceTick = {
      token,
      price: this.walk(token),
      volume: Math.round(this.random() * 50_000),
      slot: this.slot,
    };
    this.publish(TOPICS.price, tick);
  }

  private publishMetric(): void {
    const m: MarketMetric = {
      token: this.pickToken(),
      name: METRICS[Math.floor(this.random() * METRICS.length)] ?? 'holders',
      value: Math.round(this.random() * 10_000),
    };
    this.publish(TOPICS.metrics, m);
  }

  private publish(topic: string, event: object): boolean {
    const prio = PRIO[topic] ?? 'normal';
    const c = this.counts;
    const t = c.byTopic[topic]!;
    const p = c.byPriority[prio];
    c.attempted++;
    t.attempted++;
    p.attempted++;
    let ok = false;
    try {
      ok = this.bus.publish(topic, event, prio);
    } catch (err) {
      c.errors++;
      this.onError(err);
    }
    if (ok) {
      c.accepted++;
      t.accepted++;
      p.accepted++;
    } else {
      c.refused++;
      t.refused++;
      p.refused++;
    }
    return ok;
  }
}

function zero(): TopicCounts {
  return { attempted: 0, accepted: 0, refused: 0 };
}
