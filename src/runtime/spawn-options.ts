/**
 * Spawn options: checked at the boundary (a ConfigError naming the key), resolved with the
 * supervisor's defaults, and frozen into what an actor cell runs with.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { ConfigError } from '../errors.ts';
import { timeoutMs as checkTimeout, finite, integer, knownKeys, nonEmptyString } from '../validate.ts';
import { modulePath } from './bundle.ts';
import type { SpawnOptions } from './types.ts';
import { RUNTIME_DEFAULTS } from '../defaults.ts';

export interface ResolvedSpawnOptions {
  name: string;
  exportName: string;
  mailboxSize: number;
  overflow: 'reject' | 'drop-oldest' | 'drop-lowest';
  heartbeatMs: number;
  resourceLimits: ResourceLimits | undefined;
  maxAttempts: number;
  init: unknown;
  startTimeoutMs: number;
  ringBytes: number;
  /** 0: no limit. */
  messageTimeoutMs: number;
}

const MAX_RING_BYTES = 64 * 1024 * 1024;
/** Worker memory limits (MB) Node accepts without failing to create the thread. */
const RESOURCE_LIMIT_MAX_MB: Readonly<Record<keyof ResourceLimits, number>> = {
  maxOldGenerationSizeMb: 1 << 20,
  maxYoungGenerationSizeMb: 1 << 16,
  codeRangeSizeMb: 1 << 16,
  stackSizeMb: 1024,
};

/** A path, or a file: URL (as a URL or a string); refused here rather than failing once the actor starts. */
function checkModule(module: unknown): void {
  if (module instanceof URL) {
    if (module.protocol !== 'file:') throw new ConfigError('module', module.href, 'a path or a file: URL');
    return;
  }
  if (typeof module !== 'string' || module.length === 0)
    throw new ConfigError('module', module, 'a path or a file: URL');
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(module)?.[1];
  if (scheme === undefined) return;
  if (scheme.toLowerCase() !== 'file') throw new ConfigError('module', module, 'a path or a file: URL');
  try {
    modulePath(module);
  } catch (e) {
    throw new ConfigError('module', module, `a file: URL of this machine (${(e as Error).message})`);
  }
}

function checkResourceLimits(limits: unknown): void {
  if (limits === null || typeof limits !== 'object')
    throw new ConfigError('resourceLimits', limits, 'an object of memory limits in MB');
  const keys = Object.keys(RESOURCE_LIMIT_MAX_MB) as (keyof ResourceLimits)[];
  knownKeys('resourceLimits', limits, keys);
  for (const k of keys) {
    const v = (limits as ResourceLimits)[k];
    if (v !== undefined) finite(`resourceLimits.${k}`, v, Number.MIN_VALUE, RESOURCE_LIMIT_MAX_MB[k]);
  }
}

/** Infinity means no limit, which the runtime spells 0. */
export function noLimitAsZero(ms: number): number {
  return ms === Infinity ? 0 : ms;
}

export function resolveSpawnOptions(
  o: SpawnOptions,
  defaults: { heartbeatMs: number; messageTimeoutMs: number },
): ResolvedSpawnOptions {
  if (o === null || typeof o !== 'object') throw new ConfigError('spawn', o, 'an options object');
  nonEmptyString('name', o.name);
  checkModule(o.module);
  const exportName = o.export ?? 'default';
  if (typeof exportName !== 'string' || exportName.length === 0)
    throw new ConfigError('export', o.export, 'an export name');
  const mailboxSize = integer('mailboxSize', o.mailboxSize ?? 1024, 1);
  const overflow = o.overflow ?? 'reject';
  if (overflow !== 'reject' && overflow !== 'drop-oldest' && overflow !== 'drop-lowest')
    throw new ConfigError('overflow', o.overflow, "'reject' | 'drop-oldest' | 'drop-lowest'");
  const heartbeatMs =
    o.heartbeatMs === undefined ? defaults.heartbeatMs : checkTimeout('heartbeatMs', o.heartbeatMs, { min: 0 });
  const maxAttempts = integer('maxAttempts', o.maxAttempts ?? 2, 1);
  const ringBytes = integer('ringBytes', o.ringBytes ?? 256 * 1024, 0, MAX_RING_BYTES);
  if (o.resourceLimits !== undefined) checkResourceLimits(o.resourceLimits);
  const startTimeoutMs = noLimitAsZero(
    checkTimeout('startTimeoutMs', o.startTimeoutMs ?? RUNTIME_DEFAULTS.startTimeoutMs, { min: 0, infinity: true }),
  );
  const messageTimeoutMs = noLimitAsZero(
    checkTimeout('messageTimeoutMs', o.messageTimeoutMs ?? defaults.messageTimeoutMs, { min: 0, infinity: true }),
  );
  if (o.init !== undefined) {
    try {
      structuredClone(o.init);
    } catch (e) {
      throw new ConfigError('init', o.init, `structured-cloneable data (${(e as Error).message})`);
    }
  }
  return {
    name: o.name,
    exportName,
    mailboxSize,
    overflow,
    heartbeatMs,
    resourceLimits: o.resourceLimits,
    maxAttempts,
    init: o.init,
    startTimeoutMs,
    ringBytes,
    messageTimeoutMs,
  };
}
