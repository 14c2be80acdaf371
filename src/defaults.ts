/**
 * One default per option. The components fill missing options from these tables and the
 * configuration schema (src/config/schema.ts, from which the README's table is written) reads
 * the same values, so a default is changed in one place.
 */

export const BREAKER_DEFAULTS = {
  failureThreshold: 5,
  cooldownMs: 60_000,
  jitterRatio: 0.1,
  halfOpenMaxCalls: 1,
  backoffMultiplier: 2,
  /** maxCooldownMs defaults to this many times cooldownMs. */
  maxCooldownFactor: 4,
  windowSize: 100,
  latencySampleEvery: 64,
  /** maxQueue defaults to this many times maxConcurrent. */
  queuePerSlot: 10,
} as const;

export const RPC_POOL_DEFAULTS = {
  requestTimeoutMs: 2000,
  attemptTimeoutMs: 800,
  maxSlotLag: 20,
  healthIntervalMs: 1000,
  maxSockets: 64,
  stallAfterMs: 250,
  rateLimitRps: 0,
} as const;

export const BUS_DEFAULTS = {
  maxQueueSize: 10_000,
  maxSubscribers: 100,
  reorderWindowMs: 50,
  closeTimeoutMs: 5000,
  latencySampleEvery: 16,
  maxTopics: 10_000,
  maxSequenceJump: 1_000_000,
} as const;

export const RUNTIME_DEFAULTS = {
  maxRestarts: 5,
  withinMs: 60_000,
  heartbeatMs: 1000,
  askTimeoutMs: 30_000,
  startTimeoutMs: 30_000,
  drainMs: 5000,
} as const;
