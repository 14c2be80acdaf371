/**
 * Per-endpoint health in one SharedArrayBuffer: the endpoint side (an actor in its worker, or the
 * same code in the host thread) writes it, the pool reads it to choose an endpoint without a
 * message round trip. Every field has a single writer (its endpoint), so plain stores suffice for
 * the float fields; the integer fields use Atomics so a reader on another thread sees them at once.
 */

export const STATE_CLOSED = 0;
export const STATE_OPEN = 1;
export const STATE_HALF_OPEN = 2;
export type BreakerStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';
const STATE_NAMES: readonly BreakerStateName[] = ['CLOSED', 'OPEN', 'HALF_OPEN'];

export function stateCode(name: string): number {
  return name === 'OPEN' ? STATE_OPEN : name === 'HALF_OPEN' ? STATE_HALF_OPEN : STATE_CLOSED;
}
export function stateName(code: number): BreakerStateName {
  return STATE_NAMES[code] ?? 'CLOSED';
}

// Int32 fields per endpoint
const I_STATE = 0;
const I_DEMOTED = 1;
const I_IN_FLIGHT = 2;
const I_ALIVE = 3;
const I_GENERATION = 4;
const I_STATE_CHANGES = 5;
const I_SUSPECT = 6;
/** Shared health (src/engine/shared-health.ts): another process reports this endpoint OPEN. */
const I_SHARED_OPEN = 7;
/** Shared health: the endpoint is OPEN (here or elsewhere) and this process does not hold its probe lease. */
const I_PROBE_BLOCKED = 8;
const I_STRIDE = 10;

// Float64 fields per endpoint
const F_RATE_LIMITED_UNTIL = 0;
const F_THROTTLED_UNTIL = 1;
const F_SLOT = 2;
const F_SLOT_AT = 3;
const F_LATENCY_EWMA = 4;
const F_OPEN_UNTIL = 5;
const F_PROBES = 6;
const F_PROBE_FAILURES = 7;
/** Shared health: a 429 rest another process observed on the same provider URL. */
const F_SHARED_REST_UNTIL = 8;
/** Shared health: this process's share of the endpoint's rateLimitRps (0 = not shared: the whole rate). */
const F_RATE_SHARE = 9;
const F_STRIDE = 10;

const EWMA_ALPHA = 0.2;

export class HealthTable {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;

  /** Creates a table for `size` endpoints, or views an existing buffer (in a worker). */
  constructor(sizeOrBuffer: number | SharedArrayBuffer) {
    if (typeof sizeOrBuffer === 'number') {
      this.size = sizeOrBuffer;
      this.buffer = new SharedArrayBuffer(sizeOrBuffer * (F_STRIDE * 8 + I_STRIDE * 4));
    } else {
      this.buffer = sizeOrBuffer;
      this.size = sizeOrBuffer.byteLength / (F_STRIDE * 8 + I_STRIDE * 4);
    }
    this.floats = new Float64Array(this.buffer, 0, this.size * F_STRIDE);
    this.ints = new Int32Array(this.buffer, this.size * F_STRIDE * 8, this.size * I_STRIDE);
  }

  // --- reads (the pool, any thread) ---
  state(i: number): number {
    return Atomics.load(this.ints, i * I_STRIDE + I_STATE);
  }
  demoted(i: number): boolean {
    return Atomics.load(this.ints, i * I_STRIDE + I_DEMOTED) === 1;
  }
  inFlight(i: number): number {
    return Atomics.load(this.ints, i * I_STRIDE + I_IN_FLIGHT);
  }
  alive(i: number): boolean {
    return Atomics.load(this.ints, i * I_STRIDE + I_ALIVE) === 1;
  }
  generation(i: number): number {
    return Atomics.load(this.ints, i * I_STRIDE + I_GENERATION);
  }
  /** An attempt has been unanswered past stallAfterMs and nothing has succeeded since. */
  suspect(i: number): boolean {
    return Atomics.load(this.ints, i * I_STRIDE + I_SUSPECT) === 1;
  }
  stateChanges(i: number): number {
    return Atomics.load(this.ints, i * I_STRIDE + I_STATE_CHANGES);
  }
  rateLimitedUntil(i: number): number {
    return this.floats[i * F_STRIDE + F_RATE_LIMITED_UNTIL]!;
  }
  throttledUntil(i: number): number {
    return this.floats[i * F_STRIDE + F_THROTTLED_UNTIL]!;
  }
  /** The latest of the 429 rest (own or shared) and the client-side throttle: not selectable before it. */
  unavailableUntil(i: number): number {
    const a = this.floats[i * F_STRIDE + F_RATE_LIMITED_UNTIL]!;
    const b = this.floats[i * F_STRIDE + F_THROTTLED_UNTIL]!;
    const c = this.floats[i * F_STRIDE + F_SHARED_REST_UNTIL]!;
    const ab = Math.max(a, b);
    return Math.max(ab, c);
  }
  /** Another process reports the endpoint OPEN: not selectable, whatever the local breaker says. */
  sharedOpen(i: number): boolean {
    return Atomics.load(this.ints, i * I_STRIDE + I_SHARED_OPEN) === 1;
  }
  /** The endpoint's prober must not send: only the holder of the shared probe lease probes an OPEN endpoint. */
  probeBlocked(i: number): boolean {
    return Atomics.load(this.ints, i * I_STRIDE + I_PROBE_BLOCKED) === 1;
  }
  sharedRestUntil(i: number): number {
    return this.floats[i * F_STRIDE + F_SHARED_REST_UNTIL]!;
  }
  /** The fraction of the endpoint's client-side rate this process may use (1 when not shared). */
  rateShare(i: number): number {
    return this.floats[i * F_STRIDE + F_RATE_SHARE]! || 1;
  }
  slot(i: number): number {
    return this.floats[i * F_STRIDE + F_SLOT]!;
  }
  slotAt(i: number): number {
    return this.floats[i * F_STRIDE + F_SLOT_AT]!;
  }
  latencyEwma(i: number): number {
    return this.floats[i * F_STRIDE + F_LATENCY_EWMA]!;
  }
  openUntil(i: number): number {
    return this.floats[i * F_STRIDE + F_OPEN_UNTIL]!;
  }
  probes(i: number): number {
    return this.floats[i * F_STRIDE + F_PROBES]!;
  }
  probeFailures(i: number): number {
    return this.floats[i * F_STRIDE + F_PROBE_FAILURES]!;
  }
  /** The highest slot reported by any endpoint since `freshSince`. */
  bestSlot(freshSince: number): number {
    let best = 0;
    for (let i = 0; i < this.size; i++) {
      const s = this.floats[i * F_STRIDE + F_SLOT]!;
      if (s > best && this.floats[i * F_STRIDE + F_SLOT_AT]! >= freshSince) best = s;
    }
    return best;
  }

  // --- writes (only the endpoint that owns index i) ---
  setState(i: number, code: number, openUntil = 0): void {
    this.floats[i * F_STRIDE + F_OPEN_UNTIL] = openUntil;
    if (Atomics.exchange(this.ints, i * I_STRIDE + I_STATE, code) !== code)
      Atomics.add(this.ints, i * I_STRIDE + I_STATE_CHANGES, 1);
  }
  setDemoted(i: number, demoted: boolean): void {
    Atomics.store(this.ints, i * I_STRIDE + I_DEMOTED, demoted ? 1 : 0);
  }
  setSuspect(i: number, suspect: boolean): void {
    Atomics.store(this.ints, i * I_STRIDE + I_SUSPECT, suspect ? 1 : 0);
  }
  addInFlight(i: number, delta: number): void {
    Atomics.add(this.ints, i * I_STRIDE + I_IN_FLIGHT, delta);
  }
  /** Marks the endpoint up (a fresh incarnation) or down (its actor died or closed). */
  setAlive(i: number, alive: boolean): void {
    if (alive) {
      Atomics.add(this.ints, i * I_STRIDE + I_GENERATION, 1);
      Atomics.store(this.ints, i * I_STRIDE + I_IN_FLIGHT, 0);
      Atomics.store(this.ints, i * I_STRIDE + I_SUSPECT, 0);
    }
    Atomics.store(this.ints, i * I_STRIDE + I_ALIVE, alive ? 1 : 0);
  }
  setRateLimitedUntil(i: number, at: number): void {
    this.floats[i * F_STRIDE + F_RATE_LIMITED_UNTIL] = at;
  }
  setThrottledUntil(i: number, at: number): void {
    this.floats[i * F_STRIDE + F_THROTTLED_UNTIL] = at;
  }
  setSlot(i: number, slot: number, at: number): void {
    this.floats[i * F_STRIDE + F_SLOT] = slot;
    this.floats[i * F_STRIDE + F_SLOT_AT] = at;
  }
  recordLatency(i: number, ms: number): void {
    const k = i * F_STRIDE + F_LATENCY_EWMA;
    const prev = this.floats[k]!;
    this.floats[k] = prev === 0 ? ms : prev + EWMA_ALPHA * (ms - prev);
  }
  // --- shared-health writes (only the host's shared-health link) ---
  setSharedOpen(i: number, open: boolean): void {
    Atomics.store(this.ints, i * I_STRIDE + I_SHARED_OPEN, open ? 1 : 0);
  }
  setProbeBlocked(i: number, blocked: boolean): void {
    Atomics.store(this.ints, i * I_STRIDE + I_PROBE_BLOCKED, blocked ? 1 : 0);
  }
  setSharedRestUntil(i: number, at: number): void {
    this.floats[i * F_STRIDE + F_SHARED_REST_UNTIL] = at;
  }
  setRateShare(i: number, share: number): void {
    this.floats[i * F_STRIDE + F_RATE_SHARE] = share;
  }
  countProbe(i: number, failed: boolean): void {
    this.floats[i * F_STRIDE + F_PROBES]!++;
    if (failed) this.floats[i * F_STRIDE + F_PROBE_FAILURES]!++;
  }
}
