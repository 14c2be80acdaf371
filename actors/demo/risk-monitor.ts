/**
 * Worker subscriber on price_tick: keeps a per-token exponentially weighted price and volatility
 * (the state a risk check reads) and counts ticks that arrive out of sequence order. The demo
 * hangs this actor on purpose: heartbeats find the hang and the supervisor restarts it.
 */
import { actorLog } from '../context.ts';
import type { PriceTick } from './signals.ts';

interface TokenRisk {
  ewma: number;
  variance: number;
  ticks: number;
}

const tokens = new Map<string, TokenRisk>();
let lastSequence = -1;
let outOfOrder = 0;

type Delivered = PriceTick & { topic: string; sequence: number };

export default function onTick(tick: Delivered): number {
  if (tick.sequence <= lastSequence) {
    outOfOrder++;
    if (outOfOrder === 1)
      actorLog('error', 'risk-monitor: price tick out of sequence order', {
        sequence: tick.sequence,
        last: lastSequence,
      });
  } else {
    lastSequence = tick.sequence;
  }
  let r = tokens.get(tick.token);
  if (!r) {
    r = { ewma: tick.price, variance: 0, ticks: 0 };
    tokens.set(tick.token, r);
  }
  const alpha = 0.05;
  const diff = tick.price - r.ewma;
  r.ewma += alpha * diff;
  r.variance = (1 - alpha) * (r.variance + alpha * diff * diff);
  r.ticks++;
  return Math.sqrt(r.variance) / r.ewma;
}
