/**
 * A keyed registry of circuit breakers sharing defaults (with per-key overrides), and the
 * `protect(rpcPool)` wrapper that puts a breaker per RPC method in front of a pool without
 * changing its `call(method, params, options)` interface.
 */
import type { Clock, Random } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { redactText } from '../log/redact.ts';
import { ConfigError, safeShow } from '../errors.ts';
import {
  CircuitBreaker,
  type CircuitBreakerStats,
  type CircuitState,
  type Operation,
  type StateChange,
  type StateChangeListener,
} from './circuit-breaker.ts';
import { BreakerOptionError } from './errors.ts';
import { OPTION_NAMES, resolveOptions, type CircuitBreakerOptions } from './options.ts';

/** Breaker options without a name: the registry names each breaker after its key. */
export type BreakerDefaults = Omit<CircuitBreakerOptions, 'name'>;

export interface CircuitBreakerManagerOptions {
  /** Options every breaker starts from. */
  defaults?: BreakerDefaults;
  /** Per-key options, applied over the defaults (e.g. `{ rpc_sendTransaction: { failureThreshold: 2 } }`). */
  overrides?: Record<string, BreakerDefaults>;
  /**
   * The `breaker` section of `loadConfig()`; `defaults` win over it. A whole PalisadeConfig may be
   * passed as the manager's options: its other sections (rpc, bus, runtime, log) are ignored.
   */
  breaker?: BreakerDefaults;
  clock?: Clock;
  now?: () => number;
  random?: Random;
  logger?: Logger;
}

/** The RPC pool shape `protect` wraps: anything with `call(method, params, options)`. */
export interface RpcCallable {
  call(method: string, params?: unknown, options?: unknown): Promise<unknown>;
}

export interface ProtectedRpcPool<P extends RpcCallable> {
  /** The pool's own `call`, run through the breaker `rpc_${method}`. */
  call: P['call'];
  /** The unprotected pool. */
  readonly pool: P;
  /** The registry holding the per-method breakers. */
  readonly breakers: CircuitBreakerManager;
}

export interface CircuitBreakerManagerStats {
  count: number;
  open: number;
  halfOpen: number;
  /** Keyed by breaker name (keys redacted). */
  breakers: Record<string, CircuitBreakerStats>;
}

const MANAGER_KEYS = new Set(['defaults', 'overrides', 'breaker', 'clock', 'now', 'random', 'logger']);
const CONFIG_SECTIONS = new Set(['rpc', 'bus', 'runtime', 'log']);
const OWNER = 'CircuitBreakerManager';

export class CircuitBreakerManager {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly namesInUse = new Set<string>();
  private readonly base: BreakerDefaults;
  private readonly overrides: Record<string, BreakerDefaults>;
  private readonly listeners: StateChangeListener[] = [];
  private readonly nameOf: (key: string) => string;
  // One throwing listener must not silence the others; the first error is rethrown so the
  // breaker that transitioned counts and logs it.
  private readonly forward: StateChangeListener = (change) => {
    let first: unknown;
    let threw = false;
    for (const l of this.listeners.slice()) {
      try {
        l(change);
      } catch (err) {
        if (!threw) first = err;
        threw = true;
      }
    }
    if (threw) throw first;
  };

  /** @param nameOf how a key becomes a breaker name (the result is redacted again regardless). */
  constructor(config: CircuitBreakerManagerOptions = {}, nameOf: (key: string) => string = (key) => key) {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new BreakerOptionError(OWNER, 'config', config, 'an object');
    }
    for (const key of Object.keys(config)) {
      if (!MANAGER_KEYS.has(key) && !CONFIG_SECTIONS.has(key))
        throw new BreakerOptionError(
          OWNER,
          key,
          (config as Record<string, unknown>)[key],
          'a known option (is it misspelt?)',
        );
    }
    const shared: BreakerDefaults = {};
    for (const k of ['clock', 'now', 'random', 'logger'] as const) {
      if (config[k] !== undefined) (shared as Record<string, unknown>)[k] = config[k];
    }
    this.base = { ...checkPartial('breaker', config.breaker), ...checkPartial('defaults', config.defaults), ...shared };
    this.overrides = {};
    const overrides = config.overrides ?? {};
    if (overrides === null || typeof overrides !== 'object')
      throw new BreakerOptionError(OWNER, 'overrides', overrides, 'an object of key → options');
    for (const [key, o] of Object.entries(overrides)) {
      this.overrides[key] = checkPartial(`overrides.${redactText(key)}`, o);
      // Validate the combination now, not at the first call through that key.
      resolveOptions({ ...this.base, ...this.overrides[key], name: 'check' });
    }
    resolveOptions({ ...this.base, name: 'check' });
    this.nameOf = nameOf;
  }

  /** The breaker for `key`, created on first use from the defaults and the key's overrides. */
  get(key: string): CircuitBreaker {
    let breaker = this.breakers.get(key);
    if (breaker !== undefined) return breaker;
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError(`${OWNER}: a breaker key must be a non-empty string (got ${safeShow(key)})`);
    breaker = new CircuitBreaker({ ...this.base, ...this.overrides[key], name: this.uniqueName(key) });
    breaker.onStateChange(this.forward);
    this.breakers.set(key, breaker);
    return breaker;
  }

  has(key: string): boolean {
    return this.breakers.has(key);
  }

  /** Runs `fn` through the breaker for `key` (the same call shape as `CircuitBreaker.execute(label, fn)`). */
  execute<T>(key: string, fn: Operation<T>): Promise<T> {
    return this.get(key).execute(fn);
  }

  /**
   * Wraps a pool so each `call(method, params, options)` runs through the breaker `rpc_${method}`.
   * When that breaker has a timeout, its AbortSignal is passed to the pool as `options.signal`
   * (combined with a caller's own signal) so a timed-out call stops its I/O.
   */
  protect<P extends RpcCallable>(rpcPool: P): ProtectedRpcPool<P> {
    if (rpcPool === null || typeof rpcPool !== 'object' || typeof rpcPool.call !== 'function') {
      throw new TypeError(`${OWNER}: protect() needs an object with call(method, params, options)`);
    }
    const call = (method: string, params?: unknown, options?: unknown): Promise<unknown> => {
      // A bad method is the caller's mistake: refused before any breaker exists or counts it.
      if (typeof method !== 'string' || method.length === 0)
        return Promise.reject(
          new ConfigError(
            'method',
            typeof method === 'symbol' ? String(method as unknown as symbol) : method,
            'a non-empty JSON-RPC method name',
          ),
        );
      const key = `rpc_${method}`;
      const breaker = this.get(key);
      if (breaker.timeoutMs === undefined) return breaker.execute(key, () => rpcPool.call(method, params, options));
      return breaker.execute(key, (signal) => rpcPool.call(method, params, withSignal(options, signal)));
    };
    return { call: call as P['call'], pool: rpcPool, breakers: this };
  }

  /** Hears every transition of every breaker in the registry, present and future. */
  onStateChange(listener: StateChangeListener): () => void {
    if (typeof listener !== 'function') throw new TypeError(`${OWNER}: onStateChange needs a function`);
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** State per breaker name. */
  states(): Record<string, CircuitState> {
    const out: Record<string, CircuitState> = {};
    for (const b of this.breakers.values()) out[b.name] = b.getState();
    return out;
  }

  getStats(): CircuitBreakerManagerStats {
    const breakers: Record<string, CircuitBreakerStats> = {};
    let open = 0;
    let halfOpen = 0;
    for (const b of this.breakers.values()) {
      const s = b.getStats();
      breakers[b.name] = s;
      if (s.state === 'OPEN') open++;
      else if (s.state === 'HALF_OPEN') halfOpen++;
    }
    return { count: this.breakers.size, open, halfOpen, breakers };
  }

  // Two keys may redact to one name (two API keys of one provider): names must stay unique.
  private uniqueName(key: string): string {
    const base = redactText(this.nameOf(key));
    let name = base;
    for (let n = 2; this.namesInUse.has(name); n++) name = `${base}#${n}`;
    this.namesInUse.add(name);
    return name;
  }
}

export type { StateChange };

function checkPartial(where: string, o: unknown): BreakerDefaults {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o))
    throw new BreakerOptionError(OWNER, where, o, 'an object');
  for (const key of Object.keys(o)) {
    if (key === 'name')
      throw new BreakerOptionError(
        OWNER,
        `${where}.name`,
        (o as Record<string, unknown>)[key],
        'no name: breakers are named after their key',
      );
    if (!OPTION_NAMES.has(key))
      throw new BreakerOptionError(
        OWNER,
        `${where}.${key}`,
        (o as Record<string, unknown>)[key],
        'a known option (is it misspelt?)',
      );
  }
  return o as BreakerDefaults;
}

function withSignal(options: unknown, signal: AbortSignal): unknown {
  if (options === undefined || options === null) return { signal };
  if (typeof options !== 'object') return options;
  const own = (options as { signal?: unknown }).signal;
  const combined = own instanceof AbortSignal ? AbortSignal.any([own, signal]) : signal;
  return { ...(options as object), signal: combined };
}
