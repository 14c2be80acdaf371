/**
 * The configuration model: one table that names each option, its environment variable, its
 * default and how to validate it. The README's configuration table is written from this one.
 */
import { BREAKER_DEFAULTS, BUS_DEFAULTS, RPC_POOL_DEFAULTS, RUNTIME_DEFAULTS } from '../defaults.ts';
import { MAX_TIMER_MS } from '../validate.ts';

/** 'ms': an integer number of milliseconds fed to a timer, so at most MAX_TIMER_MS (2^31−1). */
export type Kind = 'int' | 'ms' | 'number' | 'ratio' | 'url' | 'url?' | 'string' | 'boolean' | 'level';

export interface OptionSpec {
  key: string;
  env: string;
  kind: Kind;
  default: unknown;
  doc: string;
  min?: number;
  max?: number;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'rpc.heliusUrl',
    env: 'HELIUS_RPC_URL',
    kind: 'url?',
    default: undefined,
    doc: 'Helius endpoint URL (first in failover order); left out when unset',
  },
  {
    key: 'rpc.chainstackUrl',
    env: 'CHAINSTACK_RPC_URL',
    kind: 'url?',
    default: undefined,
    doc: 'Chainstack endpoint URL (second); left out when unset',
  },
  {
    key: 'rpc.publicUrl',
    env: 'SOLANA_RPC_URL',
    kind: 'url',
    default: 'https://api.mainnet-beta.solana.com',
    doc: 'public endpoint URL (last resort)',
  },
  {
    key: 'rpc.requestTimeoutMs',
    env: 'PALISADE_RPC_TIMEOUT_MS',
    kind: 'ms',
    min: 1,
    max: MAX_TIMER_MS,
    default: RPC_POOL_DEFAULTS.requestTimeoutMs,
    doc: 'deadline of one pool call across all attempts (ms)',
  },
  {
    key: 'rpc.attemptTimeoutMs',
    env: 'PALISADE_RPC_ATTEMPT_TIMEOUT_MS',
    kind: 'ms',
    min: 1,
    max: MAX_TIMER_MS,
    default: RPC_POOL_DEFAULTS.attemptTimeoutMs,
    doc: 'deadline of one attempt on one endpoint (ms)',
  },
  {
    key: 'rpc.rateLimitRps',
    env: 'PALISADE_RPC_RATE_LIMIT_RPS',
    kind: 'number',
    min: 0,
    default: RPC_POOL_DEFAULTS.rateLimitRps,
    doc: 'per-endpoint client-side rate limit (requests/s, 0 = none)',
  },
  {
    key: 'rpc.maxSlotLag',
    env: 'PALISADE_RPC_MAX_SLOT_LAG',
    kind: 'int',
    min: 0,
    default: RPC_POOL_DEFAULTS.maxSlotLag,
    doc: 'slots behind the best endpoint before an endpoint is demoted',
  },
  {
    key: 'rpc.healthIntervalMs',
    env: 'PALISADE_RPC_HEALTH_INTERVAL_MS',
    kind: 'ms',
    min: 10,
    max: MAX_TIMER_MS,
    default: RPC_POOL_DEFAULTS.healthIntervalMs,
    doc: 'slot-freshness probe interval (ms)',
  },
  {
    key: 'breaker.failureThreshold',
    env: 'PALISADE_BREAKER_FAILURE_THRESHOLD',
    kind: 'int',
    min: 1,
    default: BREAKER_DEFAULTS.failureThreshold,
    doc: 'consecutive failures that open a breaker (per-method and per-endpoint breakers)',
  },
  {
    key: 'breaker.cooldownMs',
    env: 'PALISADE_BREAKER_COOLDOWN_MS',
    kind: 'ms',
    min: 0,
    max: MAX_TIMER_MS,
    default: BREAKER_DEFAULTS.cooldownMs,
    doc: 'time OPEN before a probe is allowed (ms)',
  },
  {
    key: 'breaker.jitterRatio',
    env: 'PALISADE_BREAKER_JITTER_RATIO',
    kind: 'ratio',
    default: BREAKER_DEFAULTS.jitterRatio,
    doc: 'extra cooldown, random in [0, ratio × cooldown]',
  },
  {
    key: 'breaker.halfOpenMaxCalls',
    env: 'PALISADE_BREAKER_HALF_OPEN_MAX_CALLS',
    kind: 'int',
    min: 1,
    default: BREAKER_DEFAULTS.halfOpenMaxCalls,
    doc: 'concurrent probes allowed while HALF_OPEN',
  },
  {
    key: 'bus.maxQueueSize',
    env: 'PALISADE_BUS_MAX_QUEUE_SIZE',
    kind: 'int',
    min: 1,
    default: BUS_DEFAULTS.maxQueueSize,
    doc: 'events queued per topic before publish refuses or sheds',
  },
  {
    key: 'bus.maxSubscribers',
    env: 'PALISADE_BUS_MAX_SUBSCRIBERS',
    kind: 'int',
    min: 1,
    default: BUS_DEFAULTS.maxSubscribers,
    doc: 'subscribers per bus',
  },
  {
    key: 'bus.reorderWindowMs',
    env: 'PALISADE_BUS_REORDER_WINDOW_MS',
    kind: 'ms',
    min: 0,
    max: MAX_TIMER_MS,
    default: BUS_DEFAULTS.reorderWindowMs,
    doc: 'how long a sequence gap is waited for before it is skipped (ms)',
  },
  {
    key: 'bus.maxTopics',
    env: 'PALISADE_BUS_MAX_TOPICS',
    kind: 'int',
    min: 1,
    default: BUS_DEFAULTS.maxTopics,
    doc: 'topics kept per bus; past it idle, empty topics are evicted, else TOO_MANY_TOPICS',
  },
  {
    key: 'bus.maxSequenceJump',
    env: 'PALISADE_BUS_MAX_SEQUENCE_JUMP',
    kind: 'int',
    min: 1,
    default: BUS_DEFAULTS.maxSequenceJump,
    doc: "how far beyond a topic's sequence an event's may be; further is dropped SEQUENCE_TOO_FAR",
  },
  {
    key: 'runtime.maxRestarts',
    env: 'PALISADE_MAX_RESTARTS',
    kind: 'int',
    min: 0,
    default: RUNTIME_DEFAULTS.maxRestarts,
    doc: 'restarts allowed per actor within runtime.withinMs before quarantine',
  },
  {
    key: 'runtime.withinMs',
    env: 'PALISADE_RESTART_WINDOW_MS',
    kind: 'ms',
    min: 1,
    max: MAX_TIMER_MS,
    default: RUNTIME_DEFAULTS.withinMs,
    doc: 'restart-intensity window (ms)',
  },
  { key: 'log.level', env: 'PALISADE_LOG_LEVEL', kind: 'level', default: 'info', doc: 'pino log level' },
];
