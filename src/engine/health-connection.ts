/**
 * The NATS connection of the shared endpoint health: a long-lived client that never gives up
 * reconnecting once connected (the client's default stops after ~20 s of outage). Loaded lazily,
 * so a pool without `shared` never loads the NATS client.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';

export interface HealthConnectionOptions {
  servers: string[];
  name: string;
  /** Delay between reconnect attempts (ms). */
  reconnectTimeWaitMs: number;
}

/**
 * One connection attempt (fails fast when nothing listens). The caller retries on its own
 * unref'd timer, so a process that never reaches the engine can still exit.
 */
export function openHealthConnection(o: HealthConnectionOptions): Promise<NatsConnection> {
  return connect({
    servers: o.servers,
    name: o.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    timeout: 2000,
  });
}

/** Opens the bucket, creating it (one value per key) when it does not exist. */
export function openHealthBucket(nc: NatsConnection, bucket: string): Promise<KV> {
  return new Kvm(nc).create(bucket, { history: 1 });
}

export type { KV, NatsConnection };
