/**
 * npm run devnet — a local Solana cluster (one litesvm chain) on fixed loopback ports that stand
 * in for the RPC providers, with faults switchable at run time.
 *
 *   npm run devnet
 *   npm run devnet -- --base-port 9900 --providers helius-local,public-local --slot-ms 400
 *   npm run devnet -- --for-ms 3000        # stop by itself (tests, CI)
 */
import { parseArgs } from 'node:util';
import { startLocalCluster, envForEndpoints, DEFAULT_PROVIDERS } from '../src/devnet/index.ts';
import { createLogger } from '../src/log/index.ts';
import { ConfigError } from '../src/errors.ts';

const USAGE = `usage: npm run devnet -- [--base-port 8899] [--providers a,b,c] [--host 127.0.0.1] [--slot-ms 400] [--for-ms N] [--log-level info]`;

function intFlag(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name}`, raw, 'a non-negative integer');
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'base-port': { type: 'string' },
        providers: { type: 'string' },
        host: { type: 'string' },
        'slot-ms': { type: 'string' },
        'for-ms': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const logger = createLogger({ name: 'devnet', level: values['log-level'] ?? process.env['PALISADE_LOG_LEVEL'] ?? 'info' });
  const basePort = intFlag('base-port', values['base-port'], 8899);
  const slotMs = intFlag('slot-ms', values['slot-ms'], 400);
  const forMs = values['for-ms'] === undefined ? undefined : intFlag('for-ms', values['for-ms'], 0);
  const providers = values.providers ? values.providers.split(',').map((p) => p.trim()).filter(Boolean) : [...DEFAULT_PROVIDERS];

  const cluster = await startLocalCluster({ providers, basePort, slotMs, logger, ...(values.host ? { host: values.host } : {}) });
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
  process.stdout.write(lines.join('\n') + '\n');

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

main().catch((err: unknown) => {
  process.stderr.write(`devnet: ${(err as Error).message}\n`);
  process.exit(1);
});
