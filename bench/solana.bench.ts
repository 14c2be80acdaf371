/**
 * The Solana edge under provider faults (`npm run bench -- solana`), against the local cluster in
 * a worker thread of its own (its providers answer from another event loop):
 *   1. send → landed: signed transfers landed through TransactionLander while one provider is dead
 *      (killed: connections refused) and one rate-limits every request (HTTP 429, Retry-After 1 s);
 *      time from land() to the signature seen at `confirmed`, p50 / p99, and every outcome;
 *   2. stall → resubscribed elsewhere: the serving provider's PubSub stalls without a close frame
 *      (ws-stall); time from the fault to every subscription made again on another endpoint.
 *      Goal: within the watchdog interval + 100 ms.
 * Counts come from the components' own stats. Writes bench/results/solana.md.
 *
 *   npx tsx bench/solana.bench.ts [--transfers N] [--stalls K] [--slot-ms MS]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction } from '@solana/web3.js';
import { startLocalClusterInWorker } from '../src/devnet/remote/index.ts';
import { createLogger } from '../src/log/index.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { LatencyHistogram } from '../src/stats/latency.ts';
import { BlockhashCache } from '../src/solana/blockhash-cache.ts';
import { TransactionLander, type LandResult } from '../src/solana/land.ts';
import { SendEndpoints } from '../src/solana/send-endpoints.ts';
import { ResilientSubscriptions } from '../src/solana/subscriptions.ts';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRANSFERS = arg('transfers', 60);
const CONCURRENCY = 4;
const STALLS = arg('stalls', 8);
const SLOT_MS = arg('slot-ms', 100);
const WATCHDOG_MS = 500;
/** BENCH_LOG=1 shows the subscription manager's warnings (moves, failed resubscriptions). */
const logger = process.env['BENCH_LOG'] ? createLogger({ level: 'info' }) : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`) : '-');

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

const cluster = await startLocalClusterInWorker({ slotMs: SLOT_MS });
const endpoints = cluster.endpoints.map((e) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl }));
const [dead, limited] = [cluster.endpoints[0]!.name, cluster.endpoints[1]!.name];
const pool = new RpcConnectionPool({
  endpoints,
  attemptTimeoutMs: 500,
  requestTimeoutMs: 3000,
  healthIntervalMs: 250,
  breaker: { failureThreshold: 3, cooldownMs: 5000 },
});
const sends = new SendEndpoints({ endpoints });
const lander = new TransactionLander(pool, sends);
const blockhashes = new BlockhashCache(pool);
const lines: string[] = [];

try {
  // ---------------------------------------------------------------- 1. send → landed
  const payer = Keypair.generate();
  await pool.call('requestAirdrop', [payer.publicKey.toBase58(), 100 * LAMPORTS_PER_SOL]);
  await waitUntil(
    async () =>
      (await pool.call<{ value: number }>('getBalance', [payer.publicKey.toBase58(), { commitment: 'confirmed' }]))
        .result.value > 0,
    10_000,
    'the airdrop',
  );
  await blockhashes.start();
  await cluster.faults.kill(dead);
  await cluster.faults.set(limited, { kind: '429', retryAfterSec: 1 });
  const recipients = Array.from({ length: 8 }, () => Keypair.generate().publicKey);
  const toLand = new LatencyHistogram();
  const outcomes: Record<string, number> = {};
  let next = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < TRANSFERS) {
      const i = next++;
      const bh = await blockhashes.get();
      const tx = new Transaction({
        feePayer: payer.publicKey,
        blockhash: bh.blockhash,
        lastValidBlockHeight: bh.lastValidBlockHeight,
      }).add(
        SystemProgram.transfer({
          fromPubkey: payer.publicKey,
          toPubkey: recipients[i % recipients.length]!,
          lamports: 1_000_000 + i,
        }),
      );
      tx.sign(payer);
      const r: LandResult = await lander.land(tx.serialize(), { lastValidBlockHeight: bh.lastValidBlockHeight });
      outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
      if (r.timeToLandMs !== undefined && r.status === 'landed') toLand.record(r.timeToLandMs);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wall = Date.now() - t0;
  const s = toLand.summary();
  const ls = lander.getStats();
  const sendStats = sends.getStats();
  lines.push('## solana');
  lines.push('');
  lines.push(
    `The Solana edge against the local cluster in its own worker thread (slot ${SLOT_MS} ms, confirmed = 1 slot behind the tip), \`npx tsx bench/solana.bench.ts\`, ${new Date().toISOString().slice(0, 10)}. A shared 2-core machine: read the numbers as orders of magnitude.`,
  );
  lines.push('');
  lines.push(`### send → landed, one provider dead and one rate-limited`);
  lines.push('');
  lines.push(
    `${TRANSFERS} signed SOL transfers, ${CONCURRENCY} in flight, through \`TransactionLander\` (broadcast to every healthy provider, the same bytes again every 2 s, status polled every 400 ms through the read pool). ${dead} killed (connections refused), ${limited} answering every request 429 (Retry-After 1 s).`,
  );
  lines.push('');
  lines.push('| outcome | count |');
  lines.push('|---|---:|');
  for (const k of ['landed', 'failed', 'expired', 'unknown']) lines.push(`| ${k} | ${outcomes[k] ?? 0} |`);
  lines.push('');
  lines.push(
    `send → landed (confirmed): p50 **${ms(s.p50)}**, p90 ${ms(s.p90)}, p99 **${ms(s.p99)}**, max ${ms(s.max)} (${s.count} landed; ${wall} ms wall for all). Broadcast rounds ${ls.broadcasts}.`,
  );
  lines.push('');
  lines.push('| provider (send class) | state | accepted | failed | skipped (breaker open / resting) |');
  lines.push('|---|---|---:|---:|---:|');
  for (const e of sendStats) lines.push(`| ${e.name} | ${e.state} | ${e.accepted} | ${e.failures} | ${e.skipped} |`);
  await cluster.faults.clear();
  await cluster.faults.revive(dead);

  // ---------------------------------------------------------------- 2. stall → resubscribed elsewhere
  const subs = new ResilientSubscriptions(pool, {
    watchdogMs: WATCHDOG_MS,
    avoidMs: 1000,
    ...(logger ? { logger } : {}),
  });
  let slots = 0;
  subs.slot(() => void slots++);
  await subs.ready();
  const moved = new LatencyHistogram();
  const times: number[] = [];
  const rows: string[] = [];
  for (let k = 0; k < STALLS; k++) {
    await sleep(300);
    const serving = cluster.endpoints.find(
      (e) => subs.getStats().endpoint === e.wsUrl || subs.getStats().endpoint === `${e.wsUrl}/`,
    )!;
    const before = subs.getStats().resubscriptions;
    const f0 = Date.now();
    await cluster.faults.set(serving.name, { kind: 'ws-stall' });
    await waitUntil(() => subs.getStats().resubscriptions > before && subs.getStats().live, 10_000, 'resubscription');
    const d = Date.now() - f0;
    moved.record(d);
    times.push(d);
    const lf = subs.getStats().lastFailover!;
    rows.push(
      `| ${k + 1} | ${serving.name} → ${cluster.endpoints.find((e) => lf.to.startsWith(e.wsUrl))?.name ?? lf.to} | ${d} ms | ${lf.silentMs} ms | ${lf.resubscribeMs} ms |`,
    );
    await cluster.faults.clear(serving.name);
  }
  const m = moved.summary();
  const st = subs.getStats();
  lines.push('');
  lines.push(`### stall → resubscribed elsewhere`);
  lines.push('');
  lines.push(
    `\`ResilientSubscriptions\` with watchdogMs ${WATCHDOG_MS} (a slot subscription as heartbeat), ${STALLS} times: the serving provider's PubSub stalls without a close frame (ws-stall: nothing read or sent); time from the fault to every subscription made again on another endpoint.`,
  );
  lines.push('');
  lines.push('| round | moved | fault → resubscribed | silence when judged | detection → resubscribed |');
  lines.push('|---:|---|---:|---:|---:|');
  lines.push(...rows);
  lines.push('');
  const goal = WATCHDOG_MS + 100;
  const within = rows.filter((_r, i) => times[i]! <= goal).length;
  lines.push(
    `fault → resubscribed: p50 **${ms(m.p50)}**, max **${ms(m.max)}** (goal ≤ watchdog ${WATCHDOG_MS} ms + 100 ms = ${goal} ms: **${within === STALLS ? 'met' : 'not met'}**, ${within} of ${STALLS} rounds within it). Failovers ${JSON.stringify(st.failovers)}, late watchdog checks repeated ${st.lateWatchdogChecks}, ${slots} slots delivered, ${st.slotsMissedDuringFailover} missed during moves (counted, not invented).`,
  );
  subs.close();
} finally {
  blockhashes.close();
  await lander.close();
  sends.close();
  await pool.close();
  await cluster.close();
}

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'solana.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
