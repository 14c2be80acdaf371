/**
 * Signal bus against its floors and peers, all in one process and one run:
 *   inline:  throughput (events published in chunks of 1000, the router drained between chunks)
 *            and publish → handler latency of SignalBus vs Node's EventEmitter (synchronous, no
 *            ordering, no bounds) and a queueMicrotask fan-out (the naive async bus);
 *   worker:  a worker subscriber (through the actor runtime) vs raw postMessage to a plain worker,
 *            one message per event and batched; sustained throughput with flow control, and
 *            publish → handler-start latency at a paced 100k events/s;
 *   surge:   10k/s → 1M/s offered for 5 s → 10k/s, over three topics and five subscribers (one
 *            a worker): every drop counted, critical events lost, heap against the queue bounds.
 * Writes bench/results/bus.md.   Run: npm run bench -- bus
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { SignalBus, type SignalBusStats } from '../src/bus/index.ts';
import { LatencyHistogram, type LatencySummary } from '../src/stats/latency.ts';

const here = dirname(fileURLToPath(import.meta.url));
const LOAD_AT_START = loadavg();
const SINK = new URL('../test/fixtures/bus/sink.ts', import.meta.url);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const quick = process.argv.includes('--quick');

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}
const fmtNs = (ns: number): string => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
const fmtRate = (perS: number): string =>
  perS >= 1e6 ? `${(perS / 1e6).toFixed(2)} M/s` : `${(perS / 1e3).toFixed(0)} k/s`;
const fmtUs = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
const fmtMs = (ms: number): string => `${ms.toFixed(1)} ms`;

// ------------------------------------------------------------------ inline subjects

interface InlineSubject {
  name: string;
  note: string;
  /** Publishes one event; handlers count into `received`. */
  publish(ev: object): void;
  received(): number;
}

function busSubject(
  name: string,
  note: string,
  subscribers: number,
  opts: { freeze?: boolean } = {},
): InlineSubject & { bus: SignalBus } {
  const bus = new SignalBus({ maxQueueSize: 10_000, freezeEvents: opts.freeze ?? true });
  let n = 0;
  for (let i = 0; i < subscribers; i++) bus.subscribe('t', () => void n++);
  return { name, note, bus, publish: (ev) => bus.publish('t', ev), received: () => n };
}

function emitterSubject(subscribers: number): InlineSubject {
  const ee = new EventEmitter();
  let n = 0;
  for (let i = 0; i < subscribers; i++) ee.on('t', () => void n++);
  return {
    name: `EventEmitter (${subscribers} listener${subscribers > 1 ? 's' : ''})`,
    note: 'synchronous; no ordering, bounds, priority or isolation',
    publish: (ev) => void ee.emit('t', ev),
    received: () => n,
  };
}

function microtaskSubject(subscribers: number): InlineSubject {
  const handlers: Array<(e: object) => void> = [];
  let n = 0;
  for (let i = 0; i < subscribers; i++) handlers.push(() => void n++);
  return {
    name: `queueMicrotask fan-out (${subscribers})`,
    note: 'a microtask per subscriber per event; unbounded',
    publish: (ev) => {
      for (const h of handlers) queueMicrotask(() => h(ev));
    },
    received: () => n,
  };
}

/** ns per event: `total` events published in chunks of `chunk`, the event loop turned between chunks. */
async function inlineThroughput(
  s: InlineSubject,
  total: number,
  chunk: number,
  withTimestamp: boolean,
): Promise<number> {
  const start = s.received();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i += chunk) {
    if (withTimestamp)
      for (let j = 0; j < chunk; j++) s.publish({ token: 'BONK', price: j, timestamp: 1_700_000_000_000 });
    else for (let j = 0; j < chunk; j++) s.publish({ token: 'BONK', price: j });
    await null;
  }
  while (s.received() - start < total) await yieldNow();
  return Number(process.hrtime.bigint() - t0) / total;
}

/** publish → handler latency: one event at a time (isolated) and inside bursts of `burst`. */
async function inlineLatency(
  make: (onEvent: (e: { t0: number }) => void) => (ev: object) => void,
  samples: number,
  burst: number,
): Promise<{ isolated: LatencySummary; burst: LatencySummary }> {
  const iso = new LatencyHistogram();
  const bur = new LatencyHistogram();
  let target = iso;
  let got = 0;
  const publish = make((e) => {
    target.record(performance.now() - e.t0);
    got++;
  });
  for (let i = 0; i < samples; i++) {
    publish({ t0: performance.now() });
    await yieldNow();
  }
  target = bur;
  for (let i = 0; i < samples; i += burst) {
    for (let j = 0; j < burst; j++) publish({ t0: performance.now() });
    await yieldNow();
  }
  if (got < samples * 2) throw new Error(`latency run lost events: ${got} of ${samples * 2}`);
  return { isolated: iso.summary(), burst: bur.summary() };
}

// ------------------------------------------------------------------ worker subjects

/** The surge's event source: plan of { name, rate, seconds }; records are [slot, topic, priority, sentAtUs]. */
const FEEDER = `
const { workerData } = require('node:worker_threads');
const parentPort = workerData.port;
function nowUs() { const [s, ns] = process.hrtime(); return s * 1e6 + ns / 1e3; }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let k = 0;
function record(buf, i) {
  k++;
  const r = k % 100;
  // trade_signal: 2% critical, 38% normal; price: 15% normal, 15% low; metrics: 30% low
  const topic = r < 40 ? 0 : r < 70 ? 1 : 2;
  const prio = r < 2 ? 0 : r < 55 ? 1 : 2;
  buf[i] = k; buf[i + 1] = topic; buf[i + 2] = prio; buf[i + 3] = nowUs();
}
(async () => {
  for (const ph of workerData.plan) {
    parentPort.postMessage({ start: ph.name });
    const t0 = performance.now();
    const total = Math.round(ph.rate * ph.seconds);
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * ph.rate));
      while (sent < due) {
        const n = Math.min(1000, due - sent);
        const buf = new Float64Array(n * 4);
        for (let i = 0; i < n; i++) record(buf, i * 4);
        parentPort.postMessage(buf, [buf.buffer]);
        sent += n;
      }
      await sleep(1);
    }
    parentPort.postMessage({ end: ph.name, sent });
  }
  parentPort.postMessage({ done: true });
})();
`;

const RAW_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const counters = new Int32Array(workerData.counters);
const latency = new Float64Array(workerData.latency);
function nowUs() { const [s, ns] = process.hrtime(); return s * 1e6 + ns / 1e3; }
function handle(e) {
  if (e.sentAt !== undefined) { const i = Atomics.add(counters, 1, 1); latency[i % latency.length] = nowUs() - e.sentAt; }
  Atomics.add(counters, 0, 1);
}
parentPort.on('message', (m) => { if (Array.isArray(m)) for (const e of m) handle(e); else handle(m); });
`;

interface WorkerSubject {
  name: string;
  note: string;
  send(ev: object): void;
  /** Called once per event-loop turn by the driver (batched subjects flush here). */
  flush(): void;
  processed(): number;
  /** Events the subject dropped instead of handling (0 for the raw peers, which cannot drop). */
  dropped(): number;
  latencySamples(): number[];
  resetLatency(): void;
  close(): Promise<void>;
}

function shared() {
  const counters = new Int32Array(new SharedArrayBuffer(16));
  const latency = new Float64Array(new SharedArrayBuffer(8 * (1 << 19)));
  return {
    counters,
    latency,
    init: { counters: counters.buffer as SharedArrayBuffer, latency: latency.buffer as SharedArrayBuffer },
    samples: () => {
      const n = Math.min(Atomics.load(counters, 1), latency.length);
      return Array.from(latency.subarray(0, n));
    },
    reset: () => {
      Atomics.store(counters, 1, 0);
    },
  };
}

async function rawWorker(batched: boolean): Promise<WorkerSubject> {
  const sh = shared();
  const w = new Worker(RAW_WORKER, { eval: true, execArgv: [], workerData: sh.init });
  await new Promise((r) => w.once('online', r));
  let batch: object[] = [];
  return {
    name: batched ? 'raw postMessage, batched per turn' : 'raw postMessage, one per event',
    note: batched
      ? 'array of the events published in one turn; no ordering/bounds/restarts'
      : 'floor for one message per event; nothing else',
    send: batched ? (ev) => void batch.push(ev) : (ev) => w.postMessage(ev),
    flush: batched
      ? () => {
          if (batch.length > 0) {
            w.postMessage(batch);
            batch = [];
          }
        }
      : () => {},
    processed: () => Atomics.load(sh.counters, 0),
    dropped: () => 0,
    latencySamples: sh.samples,
    resetLatency: sh.reset,
    close: async () => void (await w.terminate()),
  };
}

async function busWorker(): Promise<WorkerSubject & { bus: SignalBus }> {
  const sh = shared();
  const bus = new SignalBus({ maxQueueSize: 50_000, mailboxSize: 50_000 });
  const sub = bus.subscribe('t', { module: SINK }, { init: sh.init, heartbeatMs: 0 });
  await sub.ready;
  return {
    name: 'SignalBus worker subscriber',
    note: `runtime actor; order, bounds, restarts; ≤ ${1024} handed to the runtime at once`,
    bus,
    send: (ev) => {
      if (!bus.publish('t', ev)) throw new Error('bench flow control failed: the bus refused an event');
    },
    flush: () => {},
    processed: () => Atomics.load(sh.counters, 0),
    dropped: () => bus.getStats().droppedEvents,
    latencySamples: sh.samples,
    resetLatency: sh.reset,
    close: () => bus.close(),
  };
}

/** Sustained events/s: send as fast as the subject drains, keeping at most `window` outstanding. */
async function workerThroughput(s: WorkerSubject, seconds: number, window = 20_000, chunk = 1000): Promise<number> {
  const base = s.processed();
  const droppedBase = s.dropped();
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    if (sent - (s.processed() - base) < window) {
      for (let j = 0; j < chunk; j++) s.send({ token: 'BONK', price: j });
      sent += chunk;
      s.flush();
      await null;
    } else {
      await yieldNow();
    }
  }
  const deadline = performance.now() + 10_000;
  while (s.processed() - base < sent && performance.now() < deadline) await yieldNow();
  const done = s.processed() - base;
  const lost = sent - done;
  if (lost > 0)
    console.warn(
      `[bench bus] ${s.name}: ${lost} of ${sent} events not handled within 10 s of the end (${s.dropped() - droppedBase} dropped)`,
    );
  return done / ((performance.now() - t0) / 1000);
}

/** Latency (µs) at a paced rate: events published in small steps on every event-loop turn. */
async function workerLatency(
  s: WorkerSubject,
  ratePerS: number,
  seconds: number,
): Promise<{
  summary: { p50: number; p90: number; p99: number; p999: number; max: number; count: number };
  achieved: number;
}> {
  s.resetLatency();
  const base = s.processed();
  let sent = 0;
  const t0 = performance.now();
  const total = Math.round(ratePerS * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * ratePerS));
    for (; sent < due; sent++) s.send({ token: 'BONK', sentAt: nowUs() });
    s.flush();
    await yieldNow();
  }
  const elapsed = (performance.now() - t0) / 1000;
  const deadline = performance.now() + 10_000;
  while (s.processed() - base < sent && performance.now() < deadline) await yieldNow();
  const xs = s.latencySamples().sort((a, b) => a - b);
  if (xs.length < sent) console.warn(`[bench bus] ${s.name}: latency recorded for ${xs.length} of ${sent} events`);
  const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
  return {
    summary: {
      p50: q(0.5),
      p90: q(0.9),
      p99: q(0.99),
      p999: q(0.999),
      max: xs[xs.length - 1] ?? NaN,
      count: xs.length,
    },
    achieved: sent / elapsed,
  };
}

// ------------------------------------------------------------------ surge

interface SurgeReport {
  phases: Array<{ name: string; rate: number; seconds: number; offered: number; offeredRate: number }>;
  offered: Record<string, number>;
  refusedAtPublish: Record<string, number>;
  stats: SignalBusStats;
  received: Record<string, { critical: number; normal: number; low: number }>;
  criticalLost: Record<string, number>;
  unaccounted: Record<string, number>;
  heapBaseMb: number;
  heapPeakMb: number;
  heapEndMb: number;
  boundMb: number;
  maxQueued: number;
  queuedBound: number;
  bytesPerQueued: number;
  criticalLatency: LatencySummary;
  criticalPublishLatency: LatencySummary;
  retainedPeakMb: number;
}

async function surge(): Promise<SurgeReport> {
  const MAX_Q = 10_000;
  const MAILBOX = 10_000;
  const sh = shared();
  const bus = new SignalBus({ maxQueueSize: MAX_Q, mailboxSize: MAILBOX, latencySampleEvery: 64 });
  const received: SurgeReport['received'] = {};
  const critLatency = new LatencyHistogram();
  const critPublishLatency = new LatencyHistogram();
  const count = (name: string) => {
    const c = { critical: 0, normal: 0, low: 0 };
    received[name] = c;
    return (e: { priority: 'critical' | 'normal' | 'low' }) => void c[e.priority]++;
  };
  const execCount = count('executor');
  bus.subscribe('trade_signal', (e: { priority: 'critical' | 'normal' | 'low'; sentAt: number; t0: number }) => {
    execCount(e);
    if (e.priority === 'critical') {
      critPublishLatency.record(performance.now() - e.t0);
      critLatency.record((nowUs() - e.sentAt) / 1000);
    }
  });
  const scoreCount = count('scorer');
  let spin = 0;
  bus.subscribe('trade_signal', async (e: { priority: 'critical' | 'normal' | 'low' }) => {
    scoreCount(e);
    for (let i = 0; i < 200; i++) spin = (spin + i * 31) % 1_000_003; // some scoring work
    await null; // and an await per event
  });
  bus.subscribe('price', count('price-tracker'));
  const metricsCount = count('metrics-sink');
  let m = 0;
  bus.subscribe('metrics', async (e: { priority: 'critical' | 'normal' | 'low' }) => {
    metricsCount(e);
    if (++m % 50 === 0) await yieldNow(); // a slow sink: an I/O-sized pause every 50 events
  });
  const wsub = bus.subscribe('trade_signal', { module: SINK }, { init: sh.init, heartbeatMs: 0, name: 'surge-worker' });
  await wsub.ready;

  // What one queued event costs in heap, measured on a throwaway bus, to state the bound.
  const probe = new SignalBus({ maxQueueSize: 100_000 });
  gc();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) probe.publish('p', { token: 'BONK', price: i, slot: i });
  gc();
  const bytesPerQueued = (process.memoryUsage().heapUsed - h0) / 100_000;
  await probe.close();

  const offered = { critical: 0, normal: 0, low: 0 };
  const refusedAtPublish = { critical: 0, normal: 0, low: 0 };
  const TOPICS = ['trade_signal', 'price', 'metrics'] as const;
  const PRIOS = ['critical', 'normal', 'low'] as const;
  const publishBatch = (batch: Float64Array) => {
    for (let i = 0; i < batch.length; i += 4) {
      const p = PRIOS[batch[i + 2]!]!;
      offered[p]++;
      // What a websocket handler would build from one parsed message.
      const ev = { token: 'BONK', slot: batch[i]!, sentAt: batch[i + 3]!, t0: performance.now() };
      if (!bus.publish(TOPICS[batch[i + 1]!]!, ev, p)) refusedAtPublish[p]++;
    }
  };

  gc();
  const heapBase = process.memoryUsage().heapUsed;
  let heapPeak = heapBase;
  let retainedPeak = heapBase;
  let maxQueued = 0;
  // Live heap (after a full collection) twice a second: what the bus really retains under the surge.
  const retainedSampler = setInterval(() => {
    gc();
    const h = process.memoryUsage().heapUsed;
    if (h > retainedPeak) retainedPeak = h;
  }, 500);
  const sampler = setInterval(() => {
    const h = process.memoryUsage().heapUsed;
    if (h > heapPeak) heapPeak = h;
  }, 20);
  // Events held anywhere in the bus (topic queues, reorder buffers, subscriber mailboxes, handed to the worker).
  const depthSampler = setInterval(() => {
    const s = bus.getStats();
    let q = 0;
    for (const t of s.topics) q += t.depth;
    for (const x of s.subscribers) q += x.mailboxDepth;
    if (q > maxQueued) maxQueued = q;
    if (process.env['BUS_BENCH_TRACE']) {
      const w = s.subscribers.find((x) => x.kind === 'worker')!;
      console.log(
        `[trace] ${Math.round(performance.now())} worker delivered ${w.delivered} held ${w.mailboxDepth} dropped ${w.dropped} intake ${offered.critical + offered.normal + offered.low}`,
      );
    }
  }, 50);
  const plan = quick
    ? [
        { name: 'normal', rate: 10_000, seconds: 0.5 },
        { name: 'surge ×100', rate: 1_000_000, seconds: 1 },
        { name: 'after', rate: 10_000, seconds: 0.5 },
      ]
    : [
        { name: 'normal', rate: 10_000, seconds: 2 },
        { name: 'surge ×100', rate: 1_000_000, seconds: 5 },
        { name: 'after', rate: 10_000, seconds: 2 },
      ];
  // The feed runs in its own thread, paced by its own clock, and hands over batches of at most
  // 1000 events (what one socket read yields). The main thread reads the channel like a socket:
  // up to READS_PER_TURN batches per event-loop iteration, the router dispatching after each, then
  // the loop turns (timers, the worker's acks). A backlog waits in the channel, as in a socket buffer.
  const READS_PER_TURN = 16;
  const { port1, port2 } = new MessageChannel();
  const feeder = new Worker(FEEDER, {
    eval: true,
    execArgv: [],
    workerData: { plan, port: port2 },
    transferList: [port2],
  });
  feeder.on('error', (err) => console.error('[bench bus] feeder failed', err));
  const phases: SurgeReport['phases'] = [];
  let phaseStart = 0;
  let phaseOffered = 0;
  for (let done = false; !done; ) {
    for (let r = 0; r < READS_PER_TURN && !done; r++) {
      const got = receiveMessageOnPort(port1);
      if (got === undefined) break;
      const m = got.message as Float64Array | { start?: string; end?: string; done?: boolean };
      if (m instanceof Float64Array) {
        publishBatch(m);
        await null; // the microtask checkpoint after an I/O callback: the router dispatches here
        continue;
      }
      if (m.start !== undefined) {
        phaseStart = performance.now();
        phaseOffered = offered.critical + offered.normal + offered.low;
      } else if (m.end !== undefined) {
        const ph = plan.find((x) => x.name === m.end)!;
        const n = offered.critical + offered.normal + offered.low - phaseOffered;
        phases.push({ ...ph, offered: n, offeredRate: n / ((performance.now() - phaseStart) / 1000) });
      } else if (m.done) done = true;
    }
    await yieldNow();
  }
  port1.close();
  await feeder.terminate();
  await bus.close({ timeoutMs: 30_000 });
  clearInterval(sampler);
  clearInterval(depthSampler);
  clearInterval(retainedSampler);
  gc();
  const heapEnd = process.memoryUsage().heapUsed;
  const stats = bus.getStats();

  // Every event dispatched to a topic reached each of its subscribers or was dropped for it, counted.
  const unaccounted: Record<string, number> = {};
  const criticalLost: Record<string, number> = {};
  const workerStats = stats.subscribers.find((s) => s.kind === 'worker')!;
  received['worker'] = { critical: NaN, normal: NaN, low: NaN };
  for (const s of stats.subscribers) {
    const t = stats.topics.find((x) => x.topic === s.topic)!;
    const name = surgeSubscriberName(s);
    unaccounted[name] = t.published - t.displaced - (s.delivered + s.failed + s.dropped);
  }
  const critAccepted = offered.critical - refusedAtPublish.critical;
  criticalLost['at publish (refused)'] = refusedAtPublish.critical;
  criticalLost['executor'] = critAccepted - received['executor']!.critical;
  criticalLost['scorer'] = critAccepted - received['scorer']!.critical;
  criticalLost['worker'] = critAccepted - Atomics.load(sh.counters, 2);
  criticalLost['all subscribers (stats)'] = stats.byPriority.critical.dropped;
  void workerStats;

  const queued = 3 * MAX_Q + 5 * MAILBOX + 1024; // topic queues + subscriber mailboxes + worker credit
  return {
    phases,
    offered,
    refusedAtPublish,
    stats,
    received,
    criticalLost,
    unaccounted,
    heapBaseMb: heapBase / 2 ** 20,
    heapPeakMb: heapPeak / 2 ** 20,
    heapEndMb: heapEnd / 2 ** 20,
    boundMb: (queued * bytesPerQueued) / 2 ** 20,
    maxQueued,
    queuedBound: queued,
    bytesPerQueued,
    criticalLatency: critLatency.summary(),
    criticalPublishLatency: critPublishLatency.summary(),
    retainedPeakMb: retainedPeak / 2 ** 20,
  };
}

// ------------------------------------------------------------------ run

/** `--surge-only`: run just the surge and print its table (debugging; writes no results file). */
async function surgeOnly(): Promise<void> {
  const sg = await surge();
  console.log(
    JSON.stringify(
      {
        phases: sg.phases,
        offered: sg.offered,
        refusedAtPublish: sg.refusedAtPublish,
        criticalLost: sg.criticalLost,
        unaccounted: sg.unaccounted,
        dropped: sg.stats.dropped,
        byPriority: sg.stats.byPriority,
        subscribers: sg.stats.subscribers,
        maxQueued: sg.maxQueued,
        heap: {
          base: sg.heapBaseMb,
          retainedPeak: sg.retainedPeakMb,
          peak: sg.heapPeakMb,
          end: sg.heapEndMb,
          boundMb: sg.boundMb,
        },
        criticalPublishLatency: sg.criticalPublishLatency,
        criticalFeedLatency: sg.criticalLatency,
      },
      null,
      1,
    ),
  );
}

async function main(): Promise<void> {
  const ROUNDS = quick ? 2 : 5;
  const TOTAL = quick ? 200_000 : 1_000_000;
  const CHUNK = 1000;

  // Inline throughput, subjects interleaved per round; best round (least disturbed) and median.
  const subjects: Array<{ s: InlineSubject; ts: boolean }> = [
    {
      s: busSubject(
        'SignalBus, 1 subscriber',
        'ordering, priority lanes, bounds, isolation; bus timestamps (Date.now per event)',
        1,
      ),
      ts: false,
    },
    {
      s: busSubject(
        'SignalBus, 1 subscriber, publisher timestamps',
        'same, events carry their own timestamp (no clock read)',
        1,
      ),
      ts: true,
    },
    { s: emitterSubject(1), ts: false },
    { s: microtaskSubject(1), ts: false },
    { s: busSubject('SignalBus, 4 subscribers', 'events frozen (shared by 4 subscribers)', 4), ts: false },
    { s: busSubject('SignalBus, 4 subscribers, not frozen', 'freezeEvents: false', 4, { freeze: false }), ts: false },
    { s: emitterSubject(4), ts: false },
    { s: microtaskSubject(4), ts: false },
  ];
  const times = new Map<string, number[]>(subjects.map(({ s }) => [s.name, []]));
  for (const { s, ts } of subjects) await inlineThroughput(s, 100_000, CHUNK, ts); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const { s, ts } of subjects) {
      gc();
      times.get(s.name)!.push(await inlineThroughput(s, TOTAL, CHUNK, ts));
    }
  }
  const best = (name: string) => Math.min(...times.get(name)!);
  for (const { s } of subjects) if ('bus' in s) await (s as unknown as { bus: SignalBus }).bus.close();

  // Inline latency.
  const SAMPLES = quick ? 5000 : 20_000;
  const latBus = await inlineLatency(
    (on) => {
      const bus = new SignalBus();
      bus.subscribe('t', on);
      return (ev) => bus.publish('t', ev);
    },
    SAMPLES,
    100,
  );
  const latEE = await inlineLatency(
    (on) => {
      const ee = new EventEmitter();
      ee.on('t', on);
      return (ev) => void ee.emit('t', ev);
    },
    SAMPLES,
    100,
  );
  const latQM = await inlineLatency((on) => (ev) => queueMicrotask(() => on(ev as { t0: number })), SAMPLES, 100);

  // Worker subjects.
  const WSECONDS = quick ? 1 : 3;
  const wsubs = [await rawWorker(false), await rawWorker(true), await busWorker()];
  const wput = new Map<string, number[]>(wsubs.map((s) => [s.name, []]));
  for (const s of wsubs) await workerThroughput(s, 0.5); // warm-up
  for (let r = 0; r < (quick ? 1 : 3); r++)
    for (const s of wsubs) wput.get(s.name)!.push(await workerThroughput(s, WSECONDS));
  const wlat = new Map<string, Awaited<ReturnType<typeof workerLatency>>>();
  for (const s of wsubs) {
    // A full collection first, so the garbage of the throughput rounds (whichever subject made it)
    // is not collected inside the next subject's latency window.
    gc();
    await sleep(100);
    wlat.set(s.name, await workerLatency(s, 100_000, quick ? 1 : 3));
  }
  const busW = wsubs[2] as Awaited<ReturnType<typeof busWorker>>;
  const busWStats = busW.bus.getStats();
  for (const s of wsubs) await s.close();

  // Surge.
  await sleep(200);
  const sg = await surge();

  // ---------------------------------------------------------------- report
  const busOne = best('SignalBus, 1 subscriber');
  const busOneTs = best('SignalBus, 1 subscriber, publisher timestamps');
  const ee1 = best('EventEmitter (1 listener)');
  const qm1 = best('queueMicrotask fan-out (1)');
  const lines: string[] = [];
  const date = new Date().toISOString().slice(0, 10);
  lines.push('## bus', '');
  lines.push(
    `Signal bus, one run of \`npm run bench -- bus\`${quick ? ' (--quick)' : ''}, ${date}. Peers run in the same process as the subject, interleaved`,
    `per round (${ROUNDS} rounds of ${TOTAL.toLocaleString('en-US')} events for inline throughput); each subject's time is its best round, the`,
    'range shows all rounds, and ratios come from these same-run numbers. Machine details are in the header of',
    'bench/RESULTS.md. Events are small objects (`{ token, price }`) published in chunks of 1000 with the event loop',
    'turned between chunks (publish is synchronous; the router dispatches in a microtask after the chunk).',
    `Load average (1/5/15 min) when the run started: ${LOAD_AT_START.map((x) => x.toFixed(2)).join(' / ')} on ${cpus().length} cores; timings taken under load are`,
    'noisy (other processes share the cores), ratios from the same round less so.',
    '',
    '### Inline delivery throughput',
    '',
    '| subject | ns/event (best) | rounds range | events/s | vs EventEmitter | vs queueMicrotask | note |',
    '|---|---:|---:|---:|---:|---:|---|',
  );
  for (const { s } of subjects) {
    const xs = times.get(s.name)!;
    const b = Math.min(...xs);
    const peers = s.name.includes('4')
      ? [best('EventEmitter (4 listeners)'), best('queueMicrotask fan-out (4)')]
      : [ee1, qm1];
    lines.push(
      `| ${s.name} | ${fmtNs(b)} | ${fmtNs(b)}–${fmtNs(Math.max(...xs))} | ${fmtRate(1e9 / b)} | ${(b / peers[0]!).toFixed(2)}× | ${(b / peers[1]!).toFixed(2)}× | ${s.note} |`,
    );
  }
  lines.push('');
  lines.push('### Inline publish → handler latency', '');
  lines.push(
    'Isolated: one event, then the event loop turns. In bursts: 100 events published back to back (the bus dispatches after the burst).',
    '',
  );
  lines.push(
    '| subject | isolated p50 | isolated p99 | burst p50 | burst p99 | burst p99.9 |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const [name, l] of [
    ['SignalBus', latBus],
    ['EventEmitter (synchronous)', latEE],
    ['queueMicrotask fan-out', latQM],
  ] as const) {
    lines.push(
      `| ${name} | ${fmtUs(l.isolated.p50)} | ${fmtUs(l.isolated.p99)} | ${fmtUs(l.burst.p50)} | ${fmtUs(l.burst.p99)} | ${fmtUs(l.burst.p999)} |`,
    );
  }
  lines.push('');
  lines.push('### Worker subscriber', '');
  lines.push(
    'Sustained throughput: events sent as fast as the worker drains them (at most 20,000 outstanding), measured until all are',
    `handled (${quick ? 1 : 3} s per round, best of ${quick ? 1 : 3}). Latency: publish → handler start in the worker, on the process-wide monotonic`,
    'clock, at a paced 100k events/s, every event measured; each latency run starts after a full GC of the host heap (the throughput',
    "rounds' garbage is not collected inside it).",
    '',
    '| subject | events/s (best) | rounds | p50 @100k/s | p99 @100k/s | p99.9 @100k/s | max | rate achieved | note |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const s of wsubs) {
    const xs = wput.get(s.name)!;
    const l = wlat.get(s.name)!;
    lines.push(
      `| ${s.name} | ${fmtRate(Math.max(...xs))} | ${xs.map(fmtRate).join(', ')} | ${l.summary.p50.toFixed(1)} µs | ${l.summary.p99.toFixed(1)} µs | ${l.summary.p999.toFixed(1)} µs | ${l.summary.max.toFixed(0)} µs | ${fmtRate(l.achieved)} | ${s.note} |`,
    );
  }
  lines.push(
    '',
    `Bus-side drops during the worker runs: ${busWStats.droppedEvents} (the bench keeps the subscriber within its bounds).`,
    '',
  );

  lines.push('### Surge: 10k/s → 1M/s for 5 s → 10k/s', '');
  lines.push(
    'Three topics (`trade_signal`: 2% critical, 38% normal; `price`: 15% normal, 15% low; `metrics`: 30% low), five subscribers:',
    'an executor (sync) and a scorer (200-iteration loop plus an await per event) and a worker actor on `trade_signal`, a',
    'price tracker (sync) on `price`, a slow metrics sink (yields to the event loop every 50 events) on `metrics`.',
    'maxQueueSize 10,000 per topic, mailboxes 10,000. The feed runs in its own thread, paced by its own clock, and writes',
    "batches of at most 1,000 events (one socket read's worth) into a channel; the main thread reads it like a socket, up to",
    '16 batches per event-loop turn, builds each event object and publishes it, the router dispatching after every batch.',
    'When the main thread cannot keep up, the backlog waits in the channel (as in a socket buffer) and the bus sheds what',
    'its subscribers cannot take.',
    '',
    '| phase | target rate | events fed | taken in by the main thread |',
    '|---|---:|---:|---:|',
  );
  for (const p of sg.phases)
    lines.push(`| ${p.name} | ${fmtRate(p.rate)} | ${p.offered.toLocaleString('en-US')} | ${fmtRate(p.offeredRate)} |`);
  const st = sg.stats;
  lines.push(
    '',
    '| priority | offered | refused at publish | accepted | delivered (all subscribers) | dropped (all reasons) |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const p of ['critical', 'normal', 'low'] as const) {
    lines.push(
      `| ${p} | ${sg.offered[p]!.toLocaleString('en-US')} | ${sg.refusedAtPublish[p]!.toLocaleString('en-US')} | ${st.byPriority[p].published.toLocaleString('en-US')} | ${st.byPriority[p].delivered.toLocaleString('en-US')} | ${st.byPriority[p].dropped.toLocaleString('en-US')} |`,
    );
  }
  lines.push('', '| drop reason | count |', '|---|---:|');
  for (const [r, n] of Object.entries(st.dropped)) if (n > 0) lines.push(`| ${r} | ${n.toLocaleString('en-US')} |`);
  lines.push('', '| subscriber | topic | kind | delivered | dropped | unaccounted |', '|---|---|---|---:|---:|---:|');
  for (const s of st.subscribers) {
    const name = surgeSubscriberName(s);
    lines.push(
      `| ${name} | ${s.topic} | ${s.kind} | ${s.delivered.toLocaleString('en-US')} | ${s.dropped.toLocaleString('en-US')} | ${sg.unaccounted[name]} |`,
    );
  }
  const critLost = Object.entries(sg.criticalLost)
    .filter(([k]) => k !== 'all subscribers (stats)')
    .reduce((a, [, v]) => a + v, 0);
  lines.push(
    '',
    `Critical events lost: ${Object.entries(sg.criticalLost)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}. Critical feed → executor latency over the whole run (includes the wait in the port while the main thread`,
    `was behind, which no bus can reorder): p50 ${fmtMs(sg.criticalLatency.p50)}, p99 ${fmtMs(sg.criticalLatency.p99)}, max ${fmtMs(sg.criticalLatency.max)}.`,
    `Critical publish → executor latency (inside the bus): p50 ${fmtUs(sg.criticalPublishLatency.p50)}, p99 ${fmtUs(sg.criticalPublishLatency.p99)}, max ${fmtUs(sg.criticalPublishLatency.max)}.`,
    '',
    `Heap: ${sg.heapBaseMb.toFixed(1)} MB before; live heap after a full GC, sampled twice a second, peaked at ${sg.retainedPeakMb.toFixed(1)} MB`,
    `(+${(sg.retainedPeakMb - sg.heapBaseMb).toFixed(1)} MB); heapUsed including garbage peaked at ${sg.heapPeakMb.toFixed(1)} MB; ${sg.heapEndMb.toFixed(1)} MB after close. One queued event costs ≈ ${sg.bytesPerQueued.toFixed(0)} B`,
    `(measured); the queue limits (3 topics × 10,000 + 5 mailboxes × 10,000 + 1,024 worker credit = ${sg.queuedBound.toLocaleString('en-US')} events) bound what the bus`,
    `holds to ≈ ${sg.boundMb.toFixed(1)} MB. Most events held at once (sampled every 50 ms): ${sg.maxQueued.toLocaleString('en-US')}.`,
  );

  const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');
  const wBus = Math.max(...wput.get('SignalBus worker subscriber')!);
  const wLat = wlat.get('SignalBus worker subscriber')!.summary.p99;
  const dropsOnlyLowNormal = st.byPriority.critical.dropped === 0 && sg.refusedAtPublish.critical === 0;
  const allCounted = Object.values(sg.unaccounted).every((x) => x === 0);
  lines.push(
    '',
    '### Goals',
    '',
    `- Inline delivery ≤ 200 ns/event, one subscriber, ordering/priority/bounds on: ${verdict(busOne <= 200)}: ${fmtNs(busOne)} (${fmtRate(1e9 / busOne)}); with publisher timestamps ${fmtNs(busOneTs)}. EventEmitter ${fmtNs(ee1)}, queueMicrotask fan-out ${fmtNs(qm1)}.`,
    `- Worker subscriber ≥ 2M events/s sustained: ${verdict(wBus >= 2e6)}: ${fmtRate(wBus)} (raw postMessage ${fmtRate(Math.max(...wput.get('raw postMessage, one per event')!))} single, ${fmtRate(Math.max(...wput.get('raw postMessage, batched per turn')!))} batched).`,
    `- Worker subscriber p99 ≤ 200 µs at 100k events/s: ${verdict(wLat <= 200)}: ${wLat.toFixed(1)} µs (the seed asks < 1 ms: ${verdict(wLat < 1000)}).`,
    `- Surge: 0 critical lost ${verdict(critLost === 0)} (${critLost}); drops only in low/normal ${verdict(dropsOnlyLowNormal)}; every drop counted ${verdict(allCounted)}; memory bounded by the queue limits ${verdict(sg.maxQueued <= sg.queuedBound && sg.retainedPeakMb - sg.heapBaseMb <= sg.boundMb + 8)} (at most ${sg.maxQueued.toLocaleString('en-US')} of ${sg.queuedBound.toLocaleString('en-US')} events held; live heap +${(sg.retainedPeakMb - sg.heapBaseMb).toFixed(1)} MB at most against a ${sg.boundMb.toFixed(1)} MB bound for the events plus 8 MB for everything else; ${sg.heapEndMb.toFixed(1)} MB after close).`,
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'bus.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

if (process.argv.includes('--surge-only')) await surgeOnly();
else await main();

/** The surge scenario's subscribers, named by the order they subscribed in (ids end in #1..#4). */
function surgeSubscriberName(s: { kind: string; id: string }): string {
  if (s.kind === 'worker') return 'worker';
  if (s.id.endsWith('#1')) return 'executor';
  if (s.id.endsWith('#2')) return 'scorer';
  if (s.id.endsWith('#3')) return 'price-tracker';
  return 'metrics-sink';
}
