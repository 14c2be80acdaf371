/**
 * A signal surge against a bus: a base rate, then base × factor, then base again, split over
 * topics by share. The rates are targets: what was really published per phase is measured and
 * reported next to them (on a busy 2-core machine the publisher can fall short of the target).
 */
import type { Random } from '../../src/clock.ts';

import type { Priority } from '../../src/runtime/index.ts';
export type { Priority };

export interface SurgeTopic {
  topic: string;
  priority: Priority;
  share: number;
}

export interface SurgePublisher {
  publish(topic: string, event: object, priority?: Priority): boolean;
}

export interface SurgeOptions {
  bus: SurgePublisher;
  topics: SurgeTopic[];
  baseRate: number;
  factor: number;
  baseMs: number;
  surgeMs: number;
  coolMs: number;
  random: Random;
  /** Publish period (default 5 ms). */
  tickMs?: number;
  /** Called every tick with the phase and ms since start (e.g. to kill workers during the surge). */
  onTick?: (phase: 'base' | 'surge' | 'cool', elapsedMs: number) => void;
}

export interface PhaseResult {
  targetRate: number;
  published: number;
  achievedRate: number;
  durationMs: number;
}

export interface SurgeResult {
  byTopic: Record<string, { priority: Priority; attempted: number; accepted: number; refused: number }>;
  phases: { base: PhaseResult; surge: PhaseResult; cool: PhaseResult };
  /** Publish calls that threw (bad input): should stay 0. */
  errors: number;
}

const TOKENS = ['BONK', 'WIF', 'POPCAT', 'MEW', 'BOME', 'MYRO', 'SLERF', 'PNUT'];

export function runSurge(o: SurgeOptions): Promise<SurgeResult> {
  const tickMs = o.tickMs ?? 5;
  const total = o.topics.reduce((a, t) => a + t.share, 0);
  const byTopic: SurgeResult['byTopic'] = {};
  for (const t of o.topics) byTopic[t.topic] = { priority: t.priority, attempted: 0, accepted: 0, refused: 0 };
  const phaseCount = { base: 0, surge: 0, cool: 0 };
  const phaseTime = { base: 0, surge: 0, cool: 0 };
  let errors = 0;
  const end = o.baseMs + o.surgeMs + o.coolMs;
  return new Promise((resolve) => {
    const t0 = performance.now();
    let last = t0;
    let due = 0;
    let v = 0;
    const tick = (): void => {
      const now = performance.now();
      const elapsed = now - t0;
      const from = last - t0;
      // A stalled timer catches up by at most a quarter second of events; the phase's wall time
      // is counted in full, so a publisher that falls behind shows it in the achieved rate.
      const dt = Math.min(now - last, 250);
      phaseTime[from < o.baseMs ? 'base' : from < o.baseMs + o.surgeMs ? 'surge' : 'cool'] += now - last;
      last = now;
      const phase = from < o.baseMs ? 'base' : from < o.baseMs + o.surgeMs ? 'surge' : 'cool';
      const rate = phase === 'surge' ? o.baseRate * o.factor : o.baseRate;
      due += (rate * dt) / 1000;
      const n = Math.floor(due);
      due -= n;
      for (let i = 0; i < n; i++) {
        let r = o.random() * total;
        let t = o.topics[o.topics.length - 1]!;
        for (const x of o.topics) {
          if (r < x.share) {
            t = x;
            break;
          }
          r -= x.share;
        }
        const c = byTopic[t.topic]!;
        c.attempted++;
        let ok = false;
        try {
          ok = o.bus.publish(t.topic, { token: TOKENS[v & 7], v: v++, price: 0.00001 + (v % 1000) * 1e-8 }, t.priority);
        } catch {
          errors++;
        }
        if (ok) c.accepted++;
        else c.refused++;
      }
      phaseCount[phase] += n;
      o.onTick?.(phase, elapsed);
      if (elapsed >= end) {
        const ph = (k: 'base' | 'surge' | 'cool', target: number): PhaseResult => ({
          targetRate: target,
          published: phaseCount[k],
          achievedRate: phaseTime[k] > 0 ? (phaseCount[k] * 1000) / phaseTime[k] : 0,
          durationMs: phaseTime[k],
        });
        resolve({
          byTopic,
          phases: {
            base: ph('base', o.baseRate),
            surge: ph('surge', o.baseRate * o.factor),
            cool: ph('cool', o.baseRate),
          },
          errors,
        });
        return;
      }
      setTimeout(tick, tickMs);
    };
    setTimeout(tick, tickMs);
  });
}
