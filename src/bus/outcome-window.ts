import { ConfigError } from '../errors.ts';
import { finite, integer } from '../validate.ts';
import type { QuarantineOptions } from './types.ts';

export interface QuarantinePolicy {
  windowSize: number;
  minSamples: number;
  failureRate: number;
  cooloffMs: number;
  cooloffFactor: number;
  maxCooloffMs: number;
}

export const DEFAULT_QUARANTINE: QuarantinePolicy = {
  windowSize: 20,
  minSamples: 10,
  failureRate: 0.5,
  cooloffMs: 5000,
  cooloffFactor: 2,
  maxCooloffMs: 60_000,
};

export function quarantinePolicy(
  base: QuarantinePolicy,
  o: QuarantineOptions | undefined,
  key: string,
): QuarantinePolicy {
  if (o === undefined) return base;
  if (typeof o !== 'object' || o === null) throw new ConfigError(key, o, 'an object');
  const p = { ...base, ...definedOnly(o) };
  integer(`${key}.windowSize`, p.windowSize, 1);
  integer(`${key}.minSamples`, p.minSamples, 1, p.windowSize);
  if (!(p.failureRate >= 0 && p.failureRate < 1))
    throw new ConfigError(`${key}.failureRate`, p.failureRate, 'a number in [0, 1)');
  finite(`${key}.cooloffMs`, p.cooloffMs, 0);
  finite(`${key}.cooloffFactor`, p.cooloffFactor, 1);
  if (!(p.maxCooloffMs >= p.cooloffMs))
    throw new ConfigError(`${key}.maxCooloffMs`, p.maxCooloffMs, `>= cooloffMs (${p.cooloffMs})`);
  return p;
}

function definedOnly(o: QuarantineOptions): Partial<QuarantinePolicy> {
  const out: Partial<QuarantinePolicy> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * The last `size` handler outcomes of one subscriber. Recording a success while the window
 * holds no failure only bumps a count (the common case costs one comparison); the slots
 * matter only once a failure is in the window.
 */
export class OutcomeWindow {
  private readonly slots: Uint8Array;
  private index = 0;
  count = 0;
  failures = 0;

  constructor(private readonly size: number) {
    this.slots = new Uint8Array(size);
  }

  success(): void {
    if (this.failures === 0) {
      if (this.count < this.size) this.count++;
      return;
    }
    this.record(0);
  }

  failure(): void {
    this.record(1);
  }

  reset(): void {
    this.slots.fill(0);
    this.index = 0;
    this.count = 0;
    this.failures = 0;
  }

  private record(v: number): void {
    const i = this.index;
    this.failures += v - this.slots[i]!;
    this.slots[i] = v;
    this.index = i + 1 === this.size ? 0 : i + 1;
    if (this.count < this.size) this.count++;
  }
}
