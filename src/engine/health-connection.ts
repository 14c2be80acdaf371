/**
 * The engine side of shared endpoint health: the process's engine connection (./connect.ts) and
 * the KV bucket. Loaded lazily, so a pool without `shared` never loads the NATS client.
 */
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '../log/index.ts';
import { connectEngine, type EngineConnection } from './connect.ts';

export interface HealthConnectionOptions {
  servers: string[];
  name: string;
  reconnectTimeWaitMs: number;
  logger: Logger;
}

/** One connection attempt (rejects with ENGINE_UNREACHABLE when nothing answers); reconnects forever once up. */
export function openHealthConnection(o: HealthConnectionOptions): Promise<EngineConnection> {
  return connectEngine({
    servers: o.servers,
    name: o.name,
    reconnectTimeWaitMs: o.reconnectTimeWaitMs,
    connectTimeoutMs: 2000,
    logger: o.logger,
  });
}

/** Opens the bucket, creating it (one value per key) when it does not exist. */
export function openHealthBucket(conn: EngineConnection, bucket: string): Promise<KV> {
  return new Kvm(conn.js).create(bucket, { history: 1 });
}

export type { EngineConnection, KV };
