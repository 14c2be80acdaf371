/**
 * The signal bus across processes on NATS JetStream (file storage), beside its floor and the
 * in-process bus, in one run:
 *   latency:    publish → handler in another process at a paced 10k events/s: a raw
 *               @nats-io/jetstream publish/consume loop (the floor), then palisade's bus on both
 *               ends; the in-process bus (publish → inline handler) for scale;
 *   throughput: one publishing process, as fast as the engine acknowledges: raw js.publish with
 *               1024 acknowledgements outstanding vs SignalBus.publish (its outbox, the same window).
 * Needs nats-server on PATH (or PALISADE_NATS_URL). Writes bench/results/engine.md.
 *   Run: npm run bench -- engine        (add --quick for a short check)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignalBus } from '../src/bus/index.ts';
import { LatencyHistogram, type LatencySummary } from '../src/stats/latency.ts';
import { startNatsServer } from '../test/support/nats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const RATE = 10_000;
const SECONDS = quick ? 2 : 10;
const THROUGHPUT_N = quick ? 20_000 : 200_000;
const LOAD_AT_START = loadavg();
const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));
const fmtMs = (ms: number): string => `${ms.toFixed(2)} ms`;
const fmtRate = (perS: number): string => `${(perS / 1e3).toFixed(1)} k/s`;

const own = process.env['PALISADE_NATS_URL'] ? null : await startNatsServer();
const url = process.env['PALISADE_NATS_URL'] ?? own!.url;
const id = randomBytes(3).toString('hex');
const prefix = `bench${id}.signal`;
const stream = `BENCH_${id}`;

/** Publishes `RATE` events a second for `SECONDS`, catching up after each yield. */
async function paced(publishOne: (sentAt: number) => void): Promise<number> {
  const total = RATE * SECONDS;
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
    while (sent < due) {
      publishOne(wallNow());
      sent++;
    }
    await yieldNow();
  }
  return sent;
}

function receiver(
  mode: 'bus' | 'raw',
  topic: string,
  count: number,
): { ready: Promise<void>; result: Promise<LatencySummary & { got: number }> } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'engine-receiver.ts'),
      mode,
      url,
      prefix,
      stream,
      topic,
      String(count),
      String((SECONDS + 20) * 1000),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let markReady: () => void;
  let markDone: (s: LatencySummary & { got: number }) => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const result = new Promise<LatencySummary & { got: number }>((r) => (markDone = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') markReady();
    else if (line.startsWith('{')) markDone(JSON.parse(line) as LatencySummary & { got: number });
  });
  return { ready, result };
}

interface Row {
  subject: string;
  p50: number;
  p99: number;
  got: number;
  sent: number;
}

async function rawLatency(): Promise<Row> {
  const topic = 'raw_latency';
  const total = RATE * SECONDS;
  const rx = receiver('raw', topic, total);
  await rx.ready;
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  let inflight = 0;
  const sent = await paced((sentAt) => {
    inflight++;
    void js
      .publish(`${prefix}.${topic}`, JSON.stringify({ sentAt, token: 'BONK', action: 'BUY' }))
      .finally(() => inflight--);
  });
  const r = await rx.result;
  while (inflight > 0) await sleep(5);
  await nc.close();
  return { subject: 'raw @nats-io/jetstream publish → consume (floor)', p50: r.p50, p99: r.p99, got: r.got, sent };
}

async function busLatency(): Promise<Row> {
  const topic = 'bus_latency';
  const total = RATE * SECONDS;
  const rx = receiver('bus', topic, total);
  await rx.ready;
  const bus = new SignalBus({
    nats: { servers: url, name: 'bench-publisher', subjectPrefix: prefix, stream, outboxSize: 100_000 },
  });
  await bus.ready();
  const sent = await paced((sentAt) => void bus.publish(topic, { sentAt, token: 'BONK', action: 'BUY' }));
  const r = await rx.result;
  await bus.close();
  return { subject: 'palisade SignalBus → SignalBus in another process', p50: r.p50, p99: r.p99, got: r.got, sent };
}

async function inProcessLatency(): Promise<Row> {
  const bus = new SignalBus();
  const hist = new LatencyHistogram();
  let got = 0;
  bus.subscribe('t', (e) => {
    hist.record(performance.now() - (e.sentAt as number));
    got++;
  });
  const sent = await paced(() => void bus.publish('t', { sentAt: performance.now(), token: 'BONK', action: 'BUY' }));
  await sleep(50);
  await bus.close();
  const s = hist.summary();
  return { subject: 'palisade SignalBus in-process (scale)', p50: s.p50, p99: s.p99, got, sent };
}

async function rawThroughput(): Promise<number> {
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const body = JSON.stringify({ sentAt: 0, token: 'BONK', action: 'BUY', sequence: 1 });
  const t0 = performance.now();
  let inflight = 0;
  let acked = 0;
  for (let i = 0; i < THROUGHPUT_N; i++) {
    while (inflight >= 1024) await yieldNow();
    inflight++;
    void js.publish(`${prefix}.raw_tp`, body, { msgID: `raw:${i}` }).then(() => {
      inflight--;
      acked++;
    });
  }
  while (acked < THROUGHPUT_N) await yieldNow();
  const rate = THROUGHPUT_N / ((performance.now() - t0) / 1000);
  await nc.close();
  return rate;
}

async function busThroughput(): Promise<number> {
  const bus = new SignalBus({
    nats: { servers: url, name: 'bench-tp', subjectPrefix: prefix, stream, outboxSize: 20_000 },
  });
  await bus.ready();
  const t0 = performance.now();
  let i = 0;
  while (i < THROUGHPUT_N) {
    // Keep within the outbox bound instead of counting refusals.
    if (bus.getStats().engine!.outboxDepth > 15_000) {
      await yieldNow();
      continue;
    }
    for (let k = 0; k < 1000 && i < THROUGHPUT_N; k++, i++)
      bus.publish('bus_tp', { sentAt: 0, token: 'BONK', action: 'BUY' });
    await yieldNow();
  }
  while (bus.getStats().engine!.published < THROUGHPUT_N) await yieldNow();
  const rate = THROUGHPUT_N / ((performance.now() - t0) / 1000);
  await bus.close();
  return rate;
}

// The stream, on file storage as in production.
{
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: stream,
    subjects: [`${prefix}.>`],
    storage: StorageType.File,
    max_age: 3600e9,
    duplicate_window: 120e9,
  });
  await nc.close();
}

const rows: Row[] = [];
for (const run of [rawLatency, busLatency, inProcessLatency]) {
  const row = await run();
  rows.push(row);
  console.log(`[engine] ${row.subject}: p50 ${fmtMs(row.p50)} p99 ${fmtMs(row.p99)} (${row.got}/${row.sent})`);
}
const rawTp = await rawThroughput();
console.log(`[engine] raw js.publish throughput ${fmtRate(rawTp)}`);
const busTp = await busThroughput();
console.log(`[engine] SignalBus.publish throughput ${fmtRate(busTp)}`);

{
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => {});
  await jsm.streams.delete(`${stream}_DEAD`).catch(() => {});
  await nc.close();
}
await own?.dispose();

const [raw, bus] = [rows[0]!, rows[1]!];
const ratio = bus.p50 / raw.p50;
const md = `## Signal bus across processes (NATS JetStream)

${quick ? '**Quick run (--quick)**: ' : ''}${SECONDS} s at a paced ${RATE / 1000}k events/s, publisher and receiver in separate processes on loopback,
stream on file storage, nats-server ${'2.9.10'}; load average at start ${LOAD_AT_START.map((l) => l.toFixed(2)).join(' / ')} on
${cpus().length} cores (a shared machine: absolute numbers are indicative, the same-run ratio is the meaningful one).

| publish → handler | p50 | p99 | received / sent |
|---|---|---|---|
${rows.map((r) => `| ${r.subject} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.got} / ${r.sent} |`).join('\n')}

Goals: p50 within 1.2× the raw floor — **${ratio.toFixed(2)}×** (${ratio <= 1.2 ? 'met' : 'not met'}); p99 ≤ 5 ms — **${fmtMs(bus.p99)}** (${bus.p99 <= 5 ? 'met' : 'not met'}).

| one publishing process, ${THROUGHPUT_N} events | events/s acknowledged by the engine |
|---|---|
| raw js.publish, 1024 acknowledgements outstanding | ${fmtRate(rawTp)} |
| SignalBus.publish (outbox, maxInflightPublishes 1024 outstanding) | ${fmtRate(busTp)} |

Goal ≥ 100k events/s per publishing process — **${fmtRate(busTp)}** (${busTp >= 100_000 ? 'met' : 'not met'}; the raw client with the same window: ${fmtRate(rawTp)}).
`;
// A quick run only checks the bench works; it does not replace the recorded section.
if (!quick) {
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'engine.md'), md);
}
console.log(md);
process.exit(0);
