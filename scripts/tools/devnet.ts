/**
 * npm run devnet — a local Solana cluster (one litesvm chain) on fixed loopback ports that stand
 * in for the RPC providers, with faults switchable at run time.
 *
 *   npm run devnet
 *   npm run devnet -- --base-port 9900 --providers helius-local,public-local --slot-ms 400
 *   npm run devnet -- --for-ms 3000        # stop by itself (tests, CI)
 *   npm run devnet -- --measure-control 2000   # cost of a control call: direct vs through comlink to the cluster's thread
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { startLocalCluster, envForEndpoints, DEFAULT_PROVIDERS } from '../../src/devnet/index.ts';
import { startLocalClusterInWorker } from '../../src/devnet/remote/index.ts';
import { LatencyHistogram } from '../../src/stats/latency.ts';
import { createLogger } from '../../src/log/index.ts';
import { ConfigError } from '../../src/errors.ts';

const USAGE = `usage: npm run devnet -- [--base-port 8899] [--providers a,b,c] [--host 127.0.0.1] [--slot-ms 400] [--for-ms N] [--log-level info]
       npm run devnet -- --measure-control N   (N sequential control calls, direct and through comlink; prints p50/p99)`;

function intFlag(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name}`, raw, 'a non-negative integer');
  return n;
}

// Exits with the usage text on a bad flag, so callers only ever see parsed values.
function parseCli() {
  try {
    return parseArgs({
      options: {
        'base-port': { type: 'string' },
        providers: { type: 'string' },
        host: { type: 'string' },
        'slot-ms': { type: 'string' },
        'for-ms': { type: 'string' },
        'log-level': { type: 'string' },
        'measure-control': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const values = parseCli();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values['measure-control'] !== undefined)
    return measureControl(intFlag('measure-control', values['measure-control'], 2000));
  const logger = createLogger({
    name: 'devnet',
    level: values['log-level'] ?? process.env['PALISADE_LOG_LEVEL'] ?? 'info',
  });
  const basePort = intFlag('base-port', values['base-port'], 8899);
  const slotMs = intFlag('slot-ms', values['slot-ms'], 400);
  const forMs = values['for-ms'] === undefined ? undefined : intFlag('for-ms', values['for-ms'], 0);
  const providers = values.providers
    ? values.providers
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : [...DEFAULT_PROVIDERS];

  const cluster = await startLocalCluster({
    providers,
    basePort,
    slotMs,
    logger,
    ...(values.host ? { host: values.host } : {}),
  });
  const first = cluster.endpoints[0]!;
  const lines = [
    '',
    'palisade local Solana cluster (litesvm) — one chain, one port per provider',
    ...cluster.endpoints.map((e) => `  ${e.name.padEnd(18)} ${e.url}   ws ${e.wsUrl}`),
    basePort > 0 ? '  (PubSub also on each port + 1, where web3.js looks when given no wsEndpoint)' : '',
    '',
    'point palisade at it:',
    ...envForEndpoints(cluster.endpoints).map((l) => `  export ${l}`),
    '',
    'faults (admin route on every port; "provider" defaults to the port you call):',
    `  curl -s -XPOST ${first.url}/__admin/fault -d '{"kind":"429","retryAfterSec":2,"count":3}'`,
    `  curl -s -XPOST ${first.url}/__admin/fault -d '{"provider":"${first.name}","kind":"latency","ms":300,"jitterMs":100}'`,
    `  kinds: latency{ms,jitterMs} 429{retryAfterSec} 500 503 node-behind|-32005{numSlotsBehind} hang reset slot-lag{slots}`,
    `  limits: probability (0..1), count, methods ["sendTransaction"]; "append":true adds instead of replacing`,
    `  curl -s -XPOST ${first.url}/__admin/clear -d '{"provider":"*"}'`,
    `  curl -s -XPOST ${first.url}/__admin/kill -d '{"provider":"${first.name}"}'     # port refuses connections`,
    `  curl -s -XPOST ${cluster.endpoints.at(-1)!.url}/__admin/revive -d '{"provider":"${first.name}"}'`,
    `  curl -s ${first.url}/__admin/faults    curl -s ${first.url}/__admin/stats`,
    '',
    forMs === undefined ? 'Ctrl-C to stop.' : `stopping by itself after ${forMs} ms.`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    logger.info({ reason, stats: cluster.getStats().chain }, 'devnet: stopping');
    await cluster.close();
    logger.flush?.();
    process.exitCode = 0;
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  if (forMs !== undefined) timer = setTimeout(() => void stop('--for-ms elapsed'), forMs);
}

/**
 * What a control call costs: the in-process cluster's API called directly, against the same call
 * through the comlink proxy to the cluster's own thread (deadline timer included). Interleaved
 * per round so machine load hits both alike.
 */
async function measureControl(n: number): Promise<void> {
  if (n < 1) throw new ConfigError('--measure-control', n, 'a number of calls >= 1');
  const local = await startLocalCluster({});
  const remote = await startLocalClusterInWorker({});
  const subjects: [string, () => unknown][] = [
    ['direct faults.list()', () => local.faults.list()],
    ['comlink faults.list()', () => remote.faults.list()],
    ['direct getStats()', () => local.getStats()],
    ['comlink getStats()', () => remote.getStats()],
    ['comlink ping() (empty call)', () => remote.ping()],
  ];
  const best = new Map<string, { p50: number; p99: number }>();
  try {
    for (let round = 0; round < 3; round++) {
      for (const [name, fn] of subjects) {
        const h = new LatencyHistogram();
        for (let i = 0; i < Math.min(200, n); i++) await fn(); // warm-up
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          await fn();
          h.record(performance.now() - t0);
        }
        const s = h.summary();
        const prev = best.get(name);
        if (!prev || s.p50 < prev.p50) best.set(name, { p50: s.p50, p99: s.p99 });
      }
    }
  } finally {
    await Promise.all([local.close(), remote.close()]);
  }
  const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
  process.stdout.write(`control call cost, ${n} sequential calls per subject, best of 3 rounds (p99 of that round):\n`);
  for (const [name, s] of best)
    process.stdout.write(`  ${name.padEnd(30)} p50 ${us(s.p50).padStart(10)}   p99 ${us(s.p99).padStart(10)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`devnet: ${(err as Error).message}\n`);
  process.exit(1);
});
