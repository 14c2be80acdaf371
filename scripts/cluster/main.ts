/**
 * npm run cluster-demo — palisade across processes over NATS JetStream (README: "Beyond one
 * process"): a nats-server of its own, the local Solana cluster, a feed and two trading
 * processes; a surge, a SIGKILL and restart, a provider killed, the engine stopped; a report.
 *
 *   npm run cluster-demo
 *   npm run cluster-demo -- --duration-ms 12000 --engine-down-ms 2000 --json .reports/cluster.json
 *
 * Exit code: 0 when every check passed, 1 when a check failed, 2 on bad flags, 3 when the demo
 * could not be brought up (nats-server missing: `apt-get install nats-server`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createLogger } from '../../src/log/index.ts';
import { describeError } from '../../test/support/checks.ts';
import { intFlag } from '../lib/flags.ts';
import { formatReport } from './report.ts';
import { DEFAULTS, runClusterDemo, type ClusterDemoOptions } from './run.ts';

const USAGE = `usage: npm run cluster-demo -- [--duration-ms N] [--engine-down-ms N] [--trade-rate N] [--surge-factor N] [--drain-ms N] [--json FILE] [--log-file FILE]`;

function parse(argv: string[]): { o: ClusterDemoOptions; json?: string; logFile?: string } | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'duration-ms': { type: 'string' },
      'engine-down-ms': { type: 'string' },
      'trade-rate': { type: 'string' },
      'surge-factor': { type: 'string' },
      'drain-ms': { type: 'string' },
      json: { type: 'string' },
      'log-file': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const o: ClusterDemoOptions = {
    durationMs: intFlag('duration-ms', values['duration-ms'], DEFAULTS.durationMs, 5000, 600_000),
    engineDownMs: intFlag('engine-down-ms', values['engine-down-ms'], DEFAULTS.engineDownMs, 500, 60_000),
    tradeRate: intFlag('trade-rate', values['trade-rate'], DEFAULTS.tradeRate, 1, 2000),
    surgeFactor: intFlag('surge-factor', values['surge-factor'], DEFAULTS.surgeFactor, 1, 50),
    drainMs: intFlag('drain-ms', values['drain-ms'], DEFAULTS.drainMs, 1000, 120_000),
  };
  return {
    o,
    ...(values.json ? { json: values.json } : {}),
    ...(values['log-file'] ? { logFile: values['log-file'] } : {}),
  };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const destination = args.logFile
    ? pino.destination({ dest: args.logFile, mkdir: true, sync: true })
    : pino.destination({ fd: 2, sync: true });
  const logger = createLogger({ name: 'palisade-cluster-demo', level: args.logFile ? 'info' : 'warn', destination });
  process.stdout.write('palisade cluster demo: feed + 2 trading processes over NATS JetStream\n');
  try {
    const report = await runClusterDemo(args.o, { say: (l) => process.stdout.write(`${l}\n`), logger });
    process.stdout.write(`${formatReport(report)}\n`);
    if (args.json) {
      mkdirSync(dirname(args.json), { recursive: true });
      writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`report written to ${args.json}\n`);
    }
    return report.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`cluster demo could not run: ${describeError(err)}\n`);
    return 3;
  }
}

const code = await main();
process.exit(code);
