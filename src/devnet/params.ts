/**
 * Positional-parameter validation with the error texts a Solana node uses, so a client sees
 * the same -32602 answers here as against a real provider.
 */
import { decodeBase58 } from '../encoding/base58.ts';
import type { Commitment } from './chain.ts';
import { invalidParams, rpcError, RPC_CODES } from './errors.ts';

export type Config = Record<string, unknown>;

export function paramList(params: unknown): unknown[] {
  if (params === undefined || params === null) return [];
  if (!Array.isArray(params)) throw invalidParams('Invalid params: invalid type: map, expected a sequence');
  return params;
}

export function configAt(params: unknown[], index: number): Config {
  const v = params[index];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw invalidParams(`Invalid params: invalid type: ${typeName(v)}, expected a config object`);
  return v as Config;
}

export function required<T>(params: unknown[], index: number, what: string): T {
  const v = params[index];
  if (v === undefined) throw invalidParams(`Invalid params: missing ${what}`);
  return v as T;
}

export function pubkeyParam(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw invalidParams(`Invalid param: ${typeName(value)}, expected a base58 public key`);
  const bytes = value.length <= 44 ? decodeBase58(value) : null;
  if (!bytes) throw invalidParams('Invalid param: Invalid');
  if (bytes.length !== 32) throw invalidParams('Invalid param: WrongSize');
  return bytes;
}

export function signatureParam(value: unknown): string {
  if (typeof value !== 'string') throw invalidParams(`Invalid param: ${typeName(value)}, expected a base58 signature`);
  const bytes = value.length <= 88 ? decodeBase58(value) : null;
  if (bytes?.length !== 64) throw invalidParams('Invalid param: Invalid');
  return value;
}

export function hashParam(value: unknown): string {
  if (typeof value !== 'string') throw invalidParams(`Invalid param: ${typeName(value)}, expected a base58 hash`);
  const bytes = value.length <= 44 ? decodeBase58(value) : null;
  if (bytes?.length !== 32) throw invalidParams('Invalid param: Invalid');
  return value;
}

export function u64Param(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidParams(`Invalid params: ${what} must be an unsigned integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function boolOption(config: Config, key: string, fallback: boolean): boolean {
  const v = config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalidParams(`Invalid params: ${key} must be a boolean`);
  return v;
}

export function stringOption<T extends string>(config: Config, key: string, allowed: readonly T[], fallback: T): T {
  const v = config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw invalidParams(
      `Invalid params: unknown variant \`${String(v)}\`, expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`,
    );
  }
  return v as T;
}

const COMMITMENTS: Record<string, Commitment> = {
  processed: 'processed',
  confirmed: 'confirmed',
  finalized: 'finalized',
  // Deprecated names nodes still accept.
  recent: 'processed',
  single: 'confirmed',
  singleGossip: 'confirmed',
  root: 'finalized',
  max: 'finalized',
};

/** A node's default commitment is finalized. */
export function commitmentOf(config: Config, key = 'commitment'): Commitment {
  const v = config[key];
  if (v === undefined || v === null) return 'finalized';
  const c = typeof v === 'string' ? COMMITMENTS[v] : undefined;
  if (!c)
    throw invalidParams(
      `Invalid params: unknown variant \`${String(v)}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\``,
    );
  return c;
}

/** Enforces `minContextSlot` the way nodes do (-32016 with the slot they are at). */
export function checkMinContextSlot(config: Config, contextSlot: number): void {
  const min = config['minContextSlot'];
  if (min === undefined || min === null) return;
  if (typeof min !== 'number' || !Number.isSafeInteger(min) || min < 0)
    throw invalidParams('Invalid params: minContextSlot must be an unsigned integer');
  if (contextSlot < min)
    throw rpcError(RPC_CODES.minContextSlotNotReached, 'Minimum context slot has not been reached', { contextSlot });
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'sequence';
  if (typeof v === 'object') return 'map';
  return typeof v;
}
