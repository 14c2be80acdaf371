/**
 * Faults a provider port can be switched into at run time, and the per-port state that decides,
 * request by request, which of them strike. Each fault may be limited to a fraction of requests
 * (`probability`, drawn from the injected random), to the next `count` requests it strikes, and
 * to requests that call one of `methods`.
 */
import type { Random } from '../clock.ts';
import { safeShow, type ConfigError } from '../errors.ts';
import * as check from '../validate.ts';
import { DevnetError } from './errors.ts';

export interface FaultLimits {
  /** Fraction of matching requests hit, in [0, 1] (default 1). */
  probability?: number;
  /** Strike this many times, then remove itself (default: until cleared). */
  count?: number;
  /** Only requests calling one of these JSON-RPC methods match (default: all). */
  methods?: string[];
}

export type DevnetFault =
  /** Adds `ms` (+ up to `jitterMs`) before the answer. Stacks with the other faults. */
  | ({ kind: 'latency'; ms: number; jitterMs?: number } & FaultLimits)
  /** HTTP 429 with a `Retry-After` header in seconds. */
  | ({ kind: '429'; retryAfterSec?: number } & FaultLimits)
  | ({ kind: '500' } & FaultLimits)
  | ({ kind: '503' } & FaultLimits)
  /** HTTP 200 with JSON-RPC error -32005 "Node is behind by N slots" for every call. */
  | ({ kind: 'node-behind'; numSlotsBehind?: number } & FaultLimits)
  /** Reads the request and never answers; only the client's deadline ends it. */
  | ({ kind: 'hang' } & FaultLimits)
  /** Destroys the connection (TCP RST) once the request is read. */
  | ({ kind: 'reset' } & FaultLimits)
  /**
   * PubSub hangs without a close frame: its WebSocket connections stay open but nothing more is
   * read or sent (no answers, no notifications, no pongs), as a wedged node or proxy does. A state
   * of the port: it takes no limits.
   */
  | ({ kind: 'ws-stall' } & FaultLimits)
  /**
   * PubSub silently drops subscriptions: connections stay open and answer requests and pings,
   * but no notification is sent, as when a provider ends subscriptions without telling the
   * client. A state of the port: it takes no limits.
   */
  | ({ kind: 'ws-drop' } & FaultLimits)
  /** The port answers as a node `slots` behind the chain tip (slots, blockhashes, statuses). */
  | { kind: 'slot-lag'; slots: number };

export type DevnetFaultKind = DevnetFault['kind'];
export const DEVNET_FAULT_KINDS: readonly DevnetFaultKind[] = [
  'latency',
  '429',
  '500',
  '503',
  'node-behind',
  'hang',
  'reset',
  'slot-lag',
];

/** What a request meets: a delay, then either an action or a normal answer from a lagging view. */
export interface FaultDecision {
  delayMs: number;
  action: Exclude<
    DevnetFault,
    { kind: 'latency' } | { kind: 'slot-lag' } | { kind: 'ws-stall' } | { kind: 'ws-drop' }
  > | null;
  lag: number;
}

const NO_FAULT: FaultDecision = Object.freeze({ delayMs: 0, action: null, lag: 0 }) as FaultDecision;

function bad(message: string): DevnetError {
  return new DevnetError('DEVNET_BAD_FAULT', message);
}

/** The shared checks of src/validate.ts, reported as this module's typed error. */
function nonNegative(v: unknown, what: string, integer: boolean, max?: number): number {
  try {
    return integer ? check.integer(what, v, 0, max) : check.finite(what, v, 0, max);
  } catch (err) {
    throw bad(`fault ${what} must be ${(err as ConfigError).expected}, got ${safeShow(v)}`);
  }
}

/**
 * Validates a fault from an API call or the admin route. Accepts `"-32005"` as an alias of
 * `node-behind` and HTTP statuses as numbers (`{ "kind": 429 }`).
 */
export function parseFault(input: unknown): DevnetFault {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw bad('a fault must be an object with a kind');
  const o = input as Record<string, unknown>;
  if (o['kind'] === 'ws-stall' || o['kind'] === 'ws-drop') return parsePubsubFault(o);
  let kind = typeof o['kind'] === 'number' ? String(o['kind']) : o['kind'];
  if (kind === '-32005') kind = 'node-behind';
  if (typeof kind !== 'string' || !DEVNET_FAULT_KINDS.includes(kind as DevnetFaultKind)) {
    throw bad(
      `unknown fault kind ${JSON.stringify(o['kind'])}; expected one of ${DEVNET_FAULT_KINDS.join(', ')}, or -32005`,
    );
  }
  const known = new Set([
    'kind',
    'probability',
    'count',
    'methods',
    'ms',
    'jitterMs',
    'retryAfterSec',
    'numSlotsBehind',
    'slots',
  ]);
  for (const key of Object.keys(o)) if (!known.has(key)) throw bad(`unknown fault field ${JSON.stringify(key)}`);
  if (kind === 'slot-lag') {
    if (o['probability'] !== undefined || o['count'] !== undefined || o['methods'] !== undefined) {
      throw bad('slot-lag is a state of the port: it takes no probability, count or methods');
    }
    return { kind, slots: nonNegative(o['slots'], 'slots', true) };
  }
  const limits: FaultLimits = {};
  if (o['probability'] !== undefined) {
    const p = nonNegative(o['probability'], 'probability', false);
    if (p > 1) throw bad(`fault probability must be in [0, 1], got ${p}`);
    limits.probability = p;
  }
  if (o['count'] !== undefined) {
    limits.count = nonNegative(o['count'], 'count', true);
    if (limits.count === 0) throw bad('fault count must be at least 1');
  }
  if (o['methods'] !== undefined) {
    const m = o['methods'];
    if (!Array.isArray(m) || m.length === 0 || !m.every((x) => typeof x === 'string'))
      throw bad('fault methods must be a non-empty array of method names');
    limits.methods = [...m] as string[];
  }
  switch (kind) {
    case 'latency': {
      const fault: DevnetFault = { kind, ms: nonNegative(o['ms'], 'ms', false, check.MAX_TIMER_MS), ...limits };
      if (o['jitterMs'] !== undefined)
        fault.jitterMs = nonNegative(o['jitterMs'], 'jitterMs', false, check.MAX_TIMER_MS);
      return fault;
    }
    case '429':
      return {
        kind,
        retryAfterSec: o['retryAfterSec'] === undefined ? 1 : nonNegative(o['retryAfterSec'], 'retryAfterSec', true),
        ...limits,
      };
    case 'node-behind':
      return {
        kind,
        numSlotsBehind:
          o['numSlotsBehind'] === undefined ? 150 : nonNegative(o['numSlotsBehind'], 'numSlotsBehind', true),
        ...limits,
      };
    default:
      return { kind: kind as '500' | '503' | 'hang' | 'reset', ...limits };
  }
}

/** PubSub faults are states of the port (like slot-lag, not listed in FAULT_KINDS): no limits. */
function parsePubsubFault(o: Record<string, unknown>): DevnetFault {
  for (const key of Object.keys(o))
    if (key !== 'kind') throw bad(`${String(o['kind'])} is a state of the port's PubSub: it takes no ${key}`);
  return { kind: o['kind'] as 'ws-stall' | 'ws-drop' };
}

/** The faults active on one provider port, with counters of what they did. */
export class FaultState {
  private faults: DevnetFault[] = [];
  private readonly random: Random;
  /** Requests each fault kind struck, since the port started. */
  readonly injected: Record<string, number> = {};

  constructor(random: Random) {
    this.random = random;
  }

  set(faults: DevnetFault[]): void {
    this.faults = faults.map((f) => ({ ...f }));
  }

  add(fault: DevnetFault): void {
    this.faults.push({ ...fault });
  }

  clear(): void {
    this.faults = [];
  }

  list(): DevnetFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** The lag applied to this port's answers right now. */
  get lag(): number {
    let lag = 0;
    for (const f of this.faults) if (f.kind === 'slot-lag' && f.slots > lag) lag = f.slots;
    return lag;
  }

  /** Whether the port's PubSub is stalled (ws-stall) or silently dropping notifications (ws-drop). */
  get pubsub(): { stalled: boolean; silent: boolean } {
    let stalled = false;
    let silent = false;
    for (const f of this.faults) {
      if (f.kind === 'ws-stall') stalled = true;
      else if (f.kind === 'ws-drop') silent = true;
    }
    return { stalled, silent };
  }

  /** Decides what the request calling `methods` meets, consuming counts of the faults that strike. */
  decide(methods: readonly string[]): FaultDecision {
    if (this.faults.length === 0) return NO_FAULT;
    const decision: FaultDecision = { delayMs: 0, action: null, lag: 0 };
    let spent = false;
    for (const f of this.faults) {
      if (f.kind === 'slot-lag') {
        if (f.slots > decision.lag) decision.lag = f.slots;
        continue;
      }
      if (f.kind === 'ws-stall' || f.kind === 'ws-drop') continue;
      if (f.kind !== 'latency' && decision.action) continue;
      if (f.methods && !methods.some((m) => f.methods!.includes(m))) continue;
      if (f.probability !== undefined && f.probability < 1 && this.random() >= f.probability) continue;
      if (f.kind === 'latency') decision.delayMs += f.ms + (f.jitterMs ? this.random() * f.jitterMs : 0);
      else decision.action = f;
      this.injected[f.kind] = (this.injected[f.kind] ?? 0) + 1;
      if (f.count !== undefined) {
        f.count--;
        if (f.count === 0) spent = true;
      }
    }
    if (spent) this.faults = this.faults.filter((f) => f.kind === 'slot-lag' || f.count === undefined || f.count > 0);
    // Stacked latency faults may add up past what a timer honours; a longer delay would fire at once.
    if (decision.delayMs > check.MAX_TIMER_MS) decision.delayMs = check.MAX_TIMER_MS;
    return decision;
  }
}
