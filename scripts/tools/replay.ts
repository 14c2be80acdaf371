/**
 * npm run replay — reads a topic's signals back from the NATS JetStream log, one JSON line per
 * event on stdout (a summary on stderr), for audit and backtests.
 *
 *   npm run replay -- --topic trade_signal --from 1
 *   npm run replay -- --topic trade_signal --from 2026-12-03T09:00:00Z --limit 1000
 *   npm run replay -- --topic t --from 1 --servers nats://127.0.0.1:4222 --stream PALISADE_SIGNALS --prefix palisade.signal
 *
 * Exit codes: 0 done, 1 the engine refused or failed, 2 bad arguments.
 */
import { parseArgs } from 'node:util';
import { SignalBus } from '../../src/bus/index.ts';
import { replaySignals } from '../../src/engine/replay.ts';
import { PalisadeError } from '../../src/errors.ts';
import { redactText } from '../../src/log/index.ts';

const USAGE = `usage: npm run replay -- --topic T --from <stream sequence | ISO time> [--limit N]
       [--servers nats://127.0.0.1:4222 (or PALISADE_NATS_URL)] [--stream PALISADE_SIGNALS] [--prefix palisade.signal]`;

function fail(code: number, message: string): never {
  process.stderr.write(`${redactText(message)}\n`);
  process.exit(code);
}

/** A whole number is a stream sequence; anything else must parse as a time. */
function parseFrom(raw: string): number | Date {
  if (/^\d+$/.test(raw)) return Number(raw);
  const d = new Date(raw);
  if (!/\d{4}-\d{2}-\d{2}/.test(raw) || !Number.isFinite(d.getTime()))
    fail(
      2,
      `--from ${JSON.stringify(raw)}: expected a stream sequence (>= 1) or an ISO time like 2026-12-03T09:00:00Z\n${USAGE}`,
    );
  return d;
}

async function main(): Promise<void> {
  let values: {
    topic?: string;
    from?: string;
    limit?: string;
    servers?: string;
    stream?: string;
    prefix?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        topic: { type: 'string' },
        from: { type: 'string' },
        limit: { type: 'string' },
        servers: { type: 'string' },
        stream: { type: 'string' },
        prefix: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    fail(2, `${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.topic || !values.from) fail(2, `--topic and --from are required\n${USAGE}`);
  const from = parseFrom(values.from);
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1)
      fail(2, `--limit ${JSON.stringify(values.limit)}: expected an integer >= 1`);
  }
  const servers = values.servers ?? process.env['PALISADE_NATS_URL'] ?? 'nats://127.0.0.1:4222';

  const bus = new SignalBus();
  bus.subscribe(values.topic, (e) => {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  });
  try {
    const r = await replaySignals({
      nats: { servers, stream: values.stream, subjectPrefix: values.prefix },
      topic: values.topic,
      from,
      into: bus,
      limit,
    });
    await bus.close();
    process.stderr.write(`${JSON.stringify({ topic: values.topic, ...r })}\n`);
  } catch (err) {
    await bus.close();
    if (err instanceof PalisadeError)
      fail(err.code === 'CONFIG_INVALID' || err.code === 'INVALID_SUBJECT' ? 2 : 1, `${err.code}: ${err.message}`);
    throw err;
  }
}

await main();
