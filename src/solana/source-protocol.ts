/**
 * What crosses the thread boundary between a chain source actor (actors/sources/chain-source.ts)
 * and its host (src/solana/chain-source.ts). The host owns the cursor: the last sequence number
 * it published and where on chain that event was. Each drain carries it, so the worker drops what
 * was published and a restarted worker resumes right after it.
 */
import type { PoolEndpointConfig } from '../rpc/config.ts';

export type SourceKind = 'logs' | 'slot';

export interface SourceInit {
  kind: SourceKind;
  /** logs: the address (program id, account) the transactions mention. */
  address?: string;
  commitment: 'processed' | 'confirmed' | 'finalized';
  endpoints: PoolEndpointConfig[];
  watchdogMs: number;
}

export interface SourceCursor {
  /** Last sequence number published (0 before the first). */
  seq: number;
  /** Slot of the last event published (-1 before the first). */
  slot: number;
  /** logs: signatures published at `slot`. */
  signatures: string[];
}

export interface SourceEvent {
  seq: number;
  slot: number;
  signature?: string;
  err?: unknown;
  logs?: string[] | null;
  backfilled?: boolean;
  parent?: number;
  root?: number;
}

export interface DrainRequest {
  op: 'drain';
  cursor: SourceCursor;
  max: number;
}

export interface DrainReply {
  /** The worker's incarnation (a change means it restarted and resumed from the cursor). */
  incarnation: number;
  events: SourceEvent[];
  /** Events held in the worker beyond this reply. */
  backlog: number;
  /** The worker's subscription counters (failovers, backfills, duplicates dropped). */
  subscription: Record<string, unknown>;
}
