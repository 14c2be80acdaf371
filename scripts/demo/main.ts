/**
 * npm start — the palisade demo trading process (see the README's "Run the demo" section).
 *
 *   npm start                                   # ~60 s run against a local Solana cluster, with faults
 *   npm start -- --duration-ms 20000 --surge-factor 100
 *   npm start -- --no-faults --json .reports/demo.json
 *   npm start -- --real                         # HELIUS_RPC_URL / CHAINSTACK_RPC_URL / SOLANA_RPC_URL
 *
 * Exit code: 0 when the run met its checks, 1 when a check failed, 2 on bad flags, 3 when the
 * process could not be brought up. SIGINT/SIGTERM stop intake, drain, print the report and exit
 * with the checks' verdict; a second signal exits at once (130).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { createLogger } from '../../src/log/index.ts';
import { describeError } from '../../test/support/checks.ts';
import { USAGE, parseDemoArgs, type DemoOptions } from './options.ts';
import { formatReport } from './report.ts';
import { runDemo } from './run.ts';
import { startDemoTracing } from './tracing.ts';

function defaultLogFile(): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join('.reports', `demo-${stamp}.log`);
}

async function main(): Promise<number> {
  let options: DemoOptions | 'help';
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o = options;
  // On a terminal the live view redraws in place; JSON log lines on the same terminal would
  // scroll it away, so they go to a file there unless --log-file says where.
  const logFile =
    o.logFile ?? (process.stderr.isTTY && process.stdout.isTTY && !o.quiet ? defaultLogFile() : undefined);
  if (logFile && !o.logFile) process.stdout.write(`logs: ${logFile}\n`);
  const destination = logFile
    ? pino.destination({ dest: logFile, mkdir: true, sync: true })
    : pino.destination({ fd: 2, sync: true });
  const logger = createLogger({ name: 'palisade-demo', level: o.logLevel, destination });

  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\n${sig} again: exiting without the report\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${sig}: stopping intake, draining, then the report (${sig} again to exit at once)\n`);
    stop.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = process.stdout.isTTY === true;
  try {
    const tracing = o.trace ? await startDemoTracing() : null;
    const report = await runDemo(o, {
      write: (s) => process.stdout.write(s),
      tty,
      columns: () => process.stdout.columns || 120,
      signal: stop.signal,
      logger,
    });
    process.stdout.write(`${formatReport(report)}\n`);
    if (tracing) process.stdout.write(`\n${tracing.format()}\n`);
    if (o.jsonPath) {
      mkdirSync(dirname(o.jsonPath), { recursive: true });
      writeFileSync(o.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`report written to ${o.jsonPath}\n`);
    }
    return report.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`demo could not run: ${describeError(err)}\n`);
    logger.error({ err }, 'demo failed');
    return 3;
  }
}

const code = await main();
// Everything was closed by runDemo; exit explicitly so a stray handle cannot hold the verdict back.
process.exit(code);
