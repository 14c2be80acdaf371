import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { redactUrl } from '../log/redact.ts';
import { OPTIONS, type OptionSpec } from './schema.ts';
import { finite, integer, ratio } from '../validate.ts';

export { OPTIONS } from './schema.ts';

export interface PalisadeConfig {
  rpc: {
    heliusUrl: string | undefined;
    chainstackUrl: string | undefined;
    publicUrl: string;
    requestTimeoutMs: number;
    attemptTimeoutMs: number;
    rateLimitRps: number;
    maxSlotLag: number;
    healthIntervalMs: number;
  };
  breaker: { failureThreshold: number; cooldownMs: number; jitterRatio: number; halfOpenMaxCalls: number };
  bus: {
    maxQueueSize: number;
    maxSubscribers: number;
    reorderWindowMs: number;
    maxTopics: number;
    maxSequenceJump: number;
  };
  runtime: { maxRestarts: number; withinMs: number };
  log: { level: string };
}

export interface LoadConfigOptions {
  /** Environment to read; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** A JSON file with the same nested shape; `PALISADE_CONFIG` names one when this is absent. */
  file?: string;
  /** Values that win over everything else (e.g. command-line flags). */
  overrides?: Record<string, unknown>;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Loads configuration: defaults < JSON file < environment < overrides. Every value is
 * validated; the first bad one throws a ConfigError naming its key and value (URLs redacted).
 */
export function loadConfig(options: LoadConfigOptions = {}): PalisadeConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env['PALISADE_CONFIG'];
  const fromFile = file ? readJsonFile(file) : {};
  const out: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    let raw: unknown = spec.default;
    const fileValue = getPath(fromFile, spec.key);
    if (fileValue !== undefined) raw = fileValue;
    const envValue = env[spec.env];
    if (envValue !== undefined && envValue !== '') raw = envValue;
    const override = options.overrides?.[spec.key];
    if (override !== undefined) raw = override;
    setPath(out, spec.key, validate(spec, raw));
  }
  return out as unknown as PalisadeConfig;
}

function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('PALISADE_CONFIG', path, `a readable JSON file (${(err as Error).message})`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError('PALISADE_CONFIG', path, `a JSON object (${(err as Error).message})`);
  }
}

function validate(spec: OptionSpec, raw: unknown): unknown {
  const fail = (expected: string): never => {
    const shown = typeof raw === 'string' && spec.kind.startsWith('url') ? redactUrl(raw) : raw;
    throw new ConfigError(`${spec.key} (${spec.env})`, shown, expected);
  };
  switch (spec.kind) {
    case 'int':
    case 'ms':
    case 'number':
    case 'ratio': {
      // Text from the environment or a file is parsed; anything else must already be a number.
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : raw;
      try {
        if (spec.kind === 'ratio') return ratio(spec.key, n);
        if (spec.kind === 'number') return finite(spec.key, n, spec.min);
        return integer(spec.key, n, spec.min ?? -Number.MAX_SAFE_INTEGER, spec.max);
      } catch (err) {
        return fail((err as ConfigError).expected);
      }
    }
    case 'url?':
    case 'url': {
      if (raw === undefined && spec.kind === 'url?') return undefined;
      if (typeof raw !== 'string') return fail('an http(s) URL');
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        return fail('an http(s) URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return fail('an http(s) URL');
      return raw;
    }
    case 'boolean':
      if (raw === true || raw === 'true' || raw === '1') return true;
      if (raw === false || raw === 'false' || raw === '0') return false;
      return fail('true or false');
    case 'level':
      if (typeof raw !== 'string' || !LEVELS.has(raw)) return fail([...LEVELS].join('|'));
      return raw;
    case 'string':
      if (typeof raw !== 'string') return fail('a string');
      return raw;
  }
}

function getPath(obj: Record<string, unknown>, key: string): unknown {
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

export interface EndpointConfig {
  name: string;
  url: string;
  weight: number;
  tier: number;
  rateLimitRps?: number;
  timeoutMs?: number;
}

export interface RpcPoolConfig {
  endpoints: EndpointConfig[];
  requestTimeoutMs: number;
  attemptTimeoutMs: number;
  maxSlotLag: number;
  healthIntervalMs: number;
  /** Each endpoint's own breaker, from the `breaker.*` options. */
  breaker: { failureThreshold: number; cooldownMs: number; jitterRatio: number };
}

/**
 * The default RPC pool configuration: endpoints in failover order Helius → Chainstack →
 * public mainnet, leaving out the ones whose URL is not configured. Every section of
 * PalisadeConfig is shaped to be spread into its component: `new Supervisor({ ...config.runtime })`,
 * `new SignalBus({ ...config.bus })`, `new CircuitBreakerManager(config)`.
 */
export function getRpcPoolConfig(config: PalisadeConfig = loadConfig()): RpcPoolConfig {
  const { rpc } = config;
  const endpoints: EndpointConfig[] = [];
  const limit = rpc.rateLimitRps > 0 ? { rateLimitRps: rpc.rateLimitRps } : {};
  if (rpc.heliusUrl) endpoints.push({ name: 'helius', url: rpc.heliusUrl, weight: 1, tier: 0, ...limit });
  if (rpc.chainstackUrl) endpoints.push({ name: 'chainstack', url: rpc.chainstackUrl, weight: 1, tier: 1, ...limit });
  endpoints.push({ name: 'public', url: rpc.publicUrl, weight: 1, tier: 2, ...limit });
  return {
    endpoints,
    requestTimeoutMs: rpc.requestTimeoutMs,
    attemptTimeoutMs: rpc.attemptTimeoutMs,
    maxSlotLag: rpc.maxSlotLag,
    healthIntervalMs: rpc.healthIntervalMs,
    breaker: {
      failureThreshold: config.breaker.failureThreshold,
      cooldownMs: config.breaker.cooldownMs,
      jitterRatio: config.breaker.jitterRatio,
    },
  };
}
