/**
 * One process of the cluster demo, started by scripts/cluster/run.ts as a child with an IPC
 * channel: the feed (publishes trade signals, critical, and market ticks through the engine) or a
 * trading process (an executor in the `executors` group, its own risk monitor, an RPC pool whose
 * endpoint health is shared with the other trading process).
 *
 * Executors claim each trade signal in a KV ledger (create-only, so a redelivered signal whose
 * claim exists is refused, never traded twice) before the trade, and mark it done after. A
 * signal claimed by a process killed mid-trade stays "claimed": it is not re-traded (at most once
 * past a claim) and the report counts it as in doubt.
 *
 * Every 200 ms the process sends its numbers to the parent; the parent never trusts a killed
 * process's last words: the ledger is read back from the engine for the checks.
 */
import { Kvm, type KV } from '@nats-io/kv';
import { pino } from 'pino';
import { SignalBus } from '../../src/bus/index.ts';
import { connectEngine, type EngineConnection } from '../../src/engine/connect.ts';
import { createLogger, type Logger } from '../../src/log/index.ts';
import { RpcConnectionPool } from '../../src/rpc/index.ts';

export interface ProcessConfig {
  role: 'feed' | 'trader';
  name: string;
  nats: string;
  /** Trading processes: the providers, in failover order. */
  endpoints: { name: string; url: string }[];
  healthBucket: string;
  ledgerBucket: string;
  /** Feed: trade signals per second at surge factor 1, and market ticks per trade signal. */
  tradeRate: number;
  ticksPerTrade: number;
  /** Trading processes: market-scan RPC calls per second besides the trades (0: none). */
  scanPerSec: number;
  /** Where this process's pino lines go. */
  logFile: string;
}

export type ToParent =
  | { type: 'ready'; name: string }
  | { type: 'stats'; name: string; at: number; stats: FeedStats | TraderStats }
  | { type: 'fatal'; name: string; error: string };

export type ToChild = { type: 'surge'; factor: number } | { type: 'stop-feed' } | { type: 'exit' };

export interface FeedStats {
  role: 'feed';
  /** Trade signals publish() accepted (sequence 0 … accepted-1 unless some were refused). */
  tradeAccepted: number;
  tradeRefused: number;
  /** The last trade signal's sequence (ids run t1 … t<lastSequence>), and the first refused ids. */
  lastSequence: number;
  refusedIds: string[];
  ticksAccepted: number;
  ticksRefused: number;
  stopped: boolean;
  engine: {
    connected: boolean;
    outboxDepth: number;
    published: number;
    dropped: Record<string, number>;
    reconnects: number;
  };
}

export interface TraderStats {
  role: 'trader';
  claimed: number;
  /** Deliveries whose claim already existed (a redelivery): acknowledged, not traded. */
  refusedAsDuplicate: number;
  traded: number;
  tradeErrors: number;
  /** Distinct trade signals this incarnation's risk monitor saw, and redeliveries it ignored by sequence. */
  riskReceived: number;
  riskDuplicates: number;
  /** The lowest and highest sequence this incarnation's risk monitor saw. */
  riskFirstSequence: number;
  riskMaxSequence: number;
  /** Ids traded since the previous stats message (the parent counts trades per id across processes). */
  tradedIds: string[];
  exposure: number;
  engine: { connected: boolean; received: number; redelivered: number; deadLettered: number; reconnects: number };
  pool: {
    endpoints: { name: string; state: string; calls: number; failures: number; sharedOpen: boolean }[];
    shared:
      | {
          connected: boolean;
          fallback: boolean;
          lastError: string | undefined;
          received: number;
          lastPropagationMs: number | undefined;
          invalid: number;
          leasesWon: number;
          probesLed: number;
          openBy: (string | undefined)[];
          reportedOpenAt: number[];
          learnedOpenAt: number[];
        }
      | undefined;
  };
}

const send = (m: ToParent): void => {
  if (process.connected) process.send!(m);
};

async function feed(c: ProcessConfig, logger: Logger): Promise<void> {
  const bus = new SignalBus({ logger, nats: { servers: c.nats, name: c.name, outboxSize: 50_000, storage: 'file' } });
  await bus.ready();
  send({ type: 'ready', name: c.name });
  let factor = 1;
  let stopped = false;
  // Sequences start at 1 (the bus takes 0 as already seen); the signal id is t<sequence>.
  let seq = 1;
  let tickSeq = 1;
  const s = { tradeAccepted: 0, tradeRefused: 0, ticksAccepted: 0, ticksRefused: 0, lastSequence: 0 };
  const refusedIds: string[] = [];
  process.on('message', (m: ToChild) => {
    if (m.type === 'surge') factor = m.factor;
    else if (m.type === 'stop-feed') stopped = true;
  });
  // A 10 ms tick carries the rate's share of signals (fractions carried over).
  let owed = 0;
  const timer = setInterval(() => {
    if (stopped) return;
    owed += (c.tradeRate * factor) / 100;
    while (owed >= 1) {
      owed--;
      const sequence = seq++;
      const ok = bus.publish(
        'trade_signal',
        {
          id: `t${sequence}`,
          sequence,
          token: TOKENS[sequence % TOKENS.length]!,
          side: sequence % 3 === 0 ? 'SELL' : 'BUY',
          size: 1 + (sequence % 5),
          at: Date.now(),
        },
        'critical',
      );
      s.lastSequence = sequence;
      if (ok) s.tradeAccepted++;
      else {
        s.tradeRefused++;
        if (refusedIds.length < 100) refusedIds.push(`t${sequence}`);
      }
      for (let k = 0; k < c.ticksPerTrade; k++) {
        const t = tickSeq++;
        if (
          bus.publish(
            'market_tick',
            { sequence: t, token: TOKENS[t % TOKENS.length]!, price: 1 + (t % 100) / 1000 },
            'low',
          )
        )
          s.ticksAccepted++;
        else s.ticksRefused++;
      }
    }
  }, 10);
  const report = setInterval(() => {
    const e = bus.getStats().engine!;
    const stats: FeedStats = {
      role: 'feed',
      ...s,
      refusedIds: [...refusedIds],
      stopped,
      engine: {
        connected: e.connected,
        outboxDepth: e.outboxDepth,
        published: e.published,
        dropped: { ...e.dropped },
        reconnects: e.reconnects,
      },
    };
    send({ type: 'stats', name: c.name, at: Date.now(), stats });
  }, 200);
  await untilExit();
  clearInterval(timer);
  clearInterval(report);
  await bus.close({ timeoutMs: 2000 });
}

const TOKENS = ['BONK', 'WIF', 'POPCAT', 'MEW', 'BOME'];

async function trader(c: ProcessConfig, logger: Logger): Promise<void> {
  const pool = new RpcConnectionPool(
    {
      endpoints: c.endpoints.map((e, i) => ({ name: e.name, url: e.url, tier: i })),
      requestTimeoutMs: 3000,
      attemptTimeoutMs: 600,
      healthIntervalMs: 500,
      breaker: { failureThreshold: 3, cooldownMs: 2000, jitterRatio: 0.1 },
      shared: { nats: { servers: c.nats, reconnectTimeWaitMs: 100 }, bucket: c.healthBucket, processId: c.name },
    },
    { mode: 'inline', logger },
  );
  await pool.ready();
  const conn: EngineConnection = await connectEngine({
    servers: c.nats,
    name: `${c.name}-ledger`,
    reconnectTimeWaitMs: 100,
    logger,
  });
  const ledger: KV = await new Kvm(conn.js).create(c.ledgerBucket, { history: 1 });
  const bus = new SignalBus({
    logger,
    nats: { servers: c.nats, name: c.name, ackWaitMs: 5000, pullExpiresMs: 1000, storage: 'file' },
  });
  await bus.ready();
  // The trade is done; its record may have to wait for the engine (down for a while): retried, not awaited.
  const markInLedger = (id: string, status: 'done' | 'failed'): void => {
    const value = JSON.stringify({ by: c.name, status, at: Date.now() });
    const attempt = (n: number): void => {
      ledger.put(`sig.${id}`, value).catch(() => {
        if (n < 200) setTimeout(() => attempt(n + 1), 250);
      });
    };
    attempt(1);
  };
  const s = {
    claimed: 0,
    refusedAsDuplicate: 0,
    traded: 0,
    tradeErrors: 0,
    riskReceived: 0,
    riskDuplicates: 0,
    riskFirstSequence: -1,
    riskMaxSequence: -1,
    exposure: 0,
  };
  let tradedIds: string[] = [];

  // The executor: claim, trade, mark done. A throw (engine unreachable for the claim) makes the bus redeliver.
  const executors = bus.subscribe<{ id: string; sequence: number; side: string; size: number }>(
    'trade_signal',
    async (sig) => {
      try {
        await ledger.create(`sig.${sig.id}`, JSON.stringify({ by: c.name, status: 'claimed', at: Date.now() }));
      } catch (err) {
        if (/wrong last sequence|exists/i.test(String((err as Error).message))) {
          s.refusedAsDuplicate++;
          return;
        }
        throw err;
      }
      s.claimed++;
      try {
        await pool.call('getLatestBlockhash', [{ commitment: 'confirmed' }]);
        s.traded++;
        tradedIds.push(sig.id);
        markInLedger(sig.id, 'done');
      } catch (err) {
        // The claim stays: a failed trade is not retried by another executor (at most once).
        s.tradeErrors++;
        logger.warn({ id: sig.id, err: String((err as Error).message) }, 'trade failed');
        markInLedger(sig.id, 'failed');
      }
    },
    { group: 'executors' },
  );
  // This process's own risk monitor: every trade signal, durable under the process's name.
  const riskSeen = new Set<number>();
  const risk = bus.subscribe<{ sequence: number; side: string; size: number }>(
    'trade_signal',
    (sig) => {
      // Delivery is at least once: exposure must count each signal once.
      if (riskSeen.has(sig.sequence)) {
        s.riskDuplicates++;
        return;
      }
      riskSeen.add(sig.sequence);
      s.riskReceived++;
      if (sig.sequence > s.riskMaxSequence) s.riskMaxSequence = sig.sequence;
      if (s.riskFirstSequence < 0 || sig.sequence < s.riskFirstSequence) s.riskFirstSequence = sig.sequence;
      s.exposure += sig.side === 'BUY' ? sig.size : -sig.size;
    },
    { name: 'risk' },
  );
  await Promise.all([executors.ready, risk.ready]);
  // A market scanner: extra RPC traffic of this process's own (its failures are its pool's business).
  const scan =
    c.scanPerSec > 0
      ? setInterval(
          () => void pool.call('getSlot').catch(() => undefined),
          Math.max(1, Math.round(1000 / c.scanPerSec)),
        )
      : undefined;
  send({ type: 'ready', name: c.name });
  const report = setInterval(() => {
    const e = bus.getStats().engine!;
    const p = pool.getStats();
    const sh = p.shared;
    const stats: TraderStats = {
      role: 'trader',
      ...s,
      tradedIds,
      engine: {
        connected: e.connected,
        received: e.received,
        redelivered: e.redelivered,
        deadLettered: e.deadLettered,
        reconnects: e.reconnects,
      },
      pool: {
        endpoints: p.endpoints.map((x, i) => ({
          name: x.name,
          state: x.state,
          calls: x.calls,
          failures: x.failures,
          sharedOpen: sh?.endpoints[i]?.sharedOpen ?? false,
        })),
        shared: sh && {
          connected: sh.connected,
          fallback: sh.fallback,
          lastError: sh.lastError,
          received: sh.received,
          lastPropagationMs: sh.lastPropagationMs,
          invalid: Object.values(sh.invalid).reduce((a, b) => a + b, 0),
          leasesWon: sh.leases.won,
          probesLed: sh.probesLed.ok + sh.probesLed.failed,
          openBy: sh.endpoints.map((x) => x.openBy),
          reportedOpenAt: sh.endpoints.map((x) => x.reportedOpenAt),
          learnedOpenAt: sh.endpoints.map((x) => x.learnedOpenAt),
        },
      },
    };
    tradedIds = [];
    send({ type: 'stats', name: c.name, at: Date.now(), stats });
  }, 200);
  await untilExit();
  clearInterval(report);
  if (scan) clearInterval(scan);
  await bus.close({ timeoutMs: 2000 });
  await pool.close();
  await conn.close();
}

function untilExit(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (m: ToChild) => {
      if (m.type === 'exit') resolve();
    });
    process.on('disconnect', () => resolve());
  });
}

const config = JSON.parse(process.argv[2] ?? '{}') as ProcessConfig;
const logger = createLogger({
  name: config.name,
  level: 'info',
  destination: pino.destination({ dest: config.logFile, mkdir: true, sync: true }),
});
try {
  await (config.role === 'feed' ? feed(config, logger) : trader(config, logger));
  process.exit(0);
} catch (err) {
  send({ type: 'fatal', name: config.name, error: String((err as Error)?.stack ?? err) });
  logger.error({ err }, 'cluster demo process failed');
  process.exit(1);
}
