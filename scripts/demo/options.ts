/**
 * The demo's command line: flags → validated DemoOptions. A bad flag is a ConfigError that
 * names it; `--help` prints USAGE.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/errors.ts';
import { intFlag, numberFlag } from '../lib/flags.ts';

export interface DemoOptions {
  /** Length of the trading run (signals flowing), not counting start-up and drain. */
  durationMs: number;
  /** Normal publish rate, events/s over all topics. */
  rate: number;
  /** Surge rate = rate × surgeFactor. */
  surgeFactor: number;
  /** Surge window as fractions of the run. */
  surgeFrom: number;
  surgeTo: number;
  faults: boolean;
  /** Real providers from HELIUS_RPC_URL / CHAINSTACK_RPC_URL / SOLANA_RPC_URL; no local cluster, no local faults. */
  real: boolean;
  /** Run the local cluster in this process's thread instead of a worker thread of its own (for comparison). */
  clusterInProcess?: boolean;
  jsonPath: string | undefined;
  /** 127.0.0.1 port of the control server; 0 picks a free one. */
  controlPort: number;
  /** Transactions the executor may start per second (the trading budget). */
  txPerSec: number;
  /** Concurrent transfers in flight at most. */
  txInFlight: number;
  /** Background RPC reads per second through the pool (they make failover visible). */
  readsPerSec: number;
  /** Seed of the signal generator's random source (same seed, same signal stream). */
  seed: number;
  /** Deadline to drain the bus and the actors at shutdown. */
  drainMs: number;
  /** Live view refresh; default 1000 ms on a TTY, 5000 ms otherwise. */
  viewMs: number | undefined;
  /** No live view at all (the report is still printed). */
  quiet: boolean;
  logLevel: string;
  logFile: string | undefined;
  /** Record trade-signal traces in-process and print one complete trace after the report. */
  trace?: boolean;
}

export const DEFAULTS = {
  durationMs: 60_000,
  rate: 200,
  surgeFactor: 50,
  surgeFrom: 0.25,
  surgeTo: 0.55,
  controlPort: 0,
  txPerSec: 4,
  txInFlight: 4,
  readsPerSec: 40,
  seed: 1,
  drainMs: 5000,
  logLevel: 'warn',
} as const;

export const USAGE = `usage: npm start -- [options]

  --duration-ms N     length of the trading run (default ${DEFAULTS.durationMs}; start-up and drain add a few seconds)
  --rate N            normal signal rate, events/s over all topics (default ${DEFAULTS.rate})
  --surge-factor N    viral surge multiplier, 1..1000 (default ${DEFAULTS.surgeFactor})
  --no-faults         run without injecting provider and worker faults
  --real              use HELIUS_RPC_URL / CHAINSTACK_RPC_URL / SOLANA_RPC_URL instead of the local cluster
                      (no local faults; transfers only with PALISADE_DEMO_KEYPAIR=<keypair.json>)
  --cluster-in-process  run the local cluster in the demo's own thread (default: a worker thread of its
                      own behind a comlink proxy, so providers do not compete with the trading process)
  --json PATH         also write the report as JSON
  --control-port N    port of the control server on 127.0.0.1 (default: a free port, printed at start)
  --tx-per-sec N      transfers the executor may start per second (default ${DEFAULTS.txPerSec})
  --reads-per-sec N   background RPC reads through the pool (default ${DEFAULTS.readsPerSec})
  --seed N            seed of the signal stream (default ${DEFAULTS.seed})
  --drain-ms N        drain deadline at shutdown (default ${DEFAULTS.drainMs})
  --view-ms N         live view refresh (default 1000 on a TTY, 5000 otherwise)
  --quiet             no live view
  --log-level L       fatal|error|warn|info|debug (default ${DEFAULTS.logLevel}); logs go to stderr
  --log-file PATH     write logs to a file (default on a terminal with the live view: .reports/demo-<time>.log; else stderr)
  --trace             trace trade signals (OpenTelemetry, in-process) and print one complete trace at the end:
                      signal → validator → executor → send → confirmation
  -h, --help`;

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function parseDemoArgs(argv: readonly string[]): DemoOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'duration-ms': { type: 'string' },
        rate: { type: 'string' },
        'surge-factor': { type: 'string' },
        'no-faults': { type: 'boolean' },
        real: { type: 'boolean' },
        'cluster-in-process': { type: 'boolean' },
        json: { type: 'string' },
        'control-port': { type: 'string' },
        'tx-per-sec': { type: 'string' },
        'tx-in-flight': { type: 'string' },
        'reads-per-sec': { type: 'string' },
        seed: { type: 'string' },
        'drain-ms': { type: 'string' },
        'view-ms': { type: 'string' },
        quiet: { type: 'boolean' },
        'log-level': { type: 'string' },
        'log-file': { type: 'string' },
        trace: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError('command line', argv.join(' '), `known flags (${(err as Error).message})`);
  }
  if (values['help']) return 'help';
  const s = (k: string): string | undefined => values[k] as string | undefined;
  const logLevel = s('log-level') ?? process.env['PALISADE_LOG_LEVEL'] ?? DEFAULTS.logLevel;
  if (!LEVELS.has(logLevel)) throw new ConfigError('--log-level', logLevel, [...LEVELS].join(' | '));
  const json = s('json');
  if (json !== undefined && json.trim() === '') throw new ConfigError('--json', json, 'a file path');
  return {
    durationMs: intFlag('duration-ms', s('duration-ms'), DEFAULTS.durationMs, 1000, 24 * 3600_000),
    rate: numberFlag('rate', s('rate'), DEFAULTS.rate, 1, 1_000_000),
    surgeFactor: numberFlag('surge-factor', s('surge-factor'), DEFAULTS.surgeFactor, 1, 1000),
    surgeFrom: DEFAULTS.surgeFrom,
    surgeTo: DEFAULTS.surgeTo,
    faults: !values['no-faults'],
    real: values['real'] === true,
    clusterInProcess: values['cluster-in-process'] === true,
    jsonPath: json,
    controlPort: intFlag('control-port', s('control-port'), DEFAULTS.controlPort, 0, 65535),
    txPerSec: numberFlag('tx-per-sec', s('tx-per-sec'), DEFAULTS.txPerSec, 0, 1000),
    txInFlight: intFlag('tx-in-flight', s('tx-in-flight'), DEFAULTS.txInFlight, 1, 256),
    readsPerSec: numberFlag('reads-per-sec', s('reads-per-sec'), DEFAULTS.readsPerSec, 0, 10_000),
    seed: intFlag('seed', s('seed'), DEFAULTS.seed, 0, 2 ** 32 - 1),
    drainMs: intFlag('drain-ms', s('drain-ms'), DEFAULTS.drainMs, 0, 600_000),
    viewMs: s('view-ms') === undefined ? undefined : intFlag('view-ms', s('view-ms'), 1000, 100, 3600_000),
    quiet: values['quiet'] === true,
    logLevel,
    logFile: s('log-file'),
    trace: values['trace'] === true,
  };
}
