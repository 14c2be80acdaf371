/** Helpers for the engine tests: unique names per test so tests can share one nats-server. */
import { randomBytes } from 'node:crypto';
import type { NatsBusOptions } from '../../src/engine/types.ts';

/** Stream and subject names no other test uses. */
export function uniqueEngine(
  url: string,
): (name: string, extra?: Partial<NatsBusOptions>) => NatsBusOptions & { subjectPrefix: string; stream: string } {
  const id = randomBytes(4).toString('hex');
  return (name, extra = {}) => ({
    servers: url,
    name,
    subjectPrefix: `t${id}.signal`,
    stream: `T${id}`,
    reconnectTimeWaitMs: 100,
    pullExpiresMs: 1000,
    storage: 'memory',
    ...extra,
  });
}

/** Polls `cond` every 10 ms; rejects naming `what` if it is still false after `ms` (a bound, not a measurement). */
export async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
