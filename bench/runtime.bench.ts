/**
 * Actor runtime benchmark (`npm run bench -- runtime`): ask round trip against a raw postMessage
 * echo, piscina run() and a comlink call; tell throughput into one actor against postMessage
 * (single and batched); crash → processing again against a cold Worker spawn; RSS per idle
 * actor. Every subject runs in this process, interleaved over ROUNDS rounds; each subject's
 * figure is its best round (least disturbed by other load on the machine), the range shows all
 * rounds, and ratios use these same-run numbers. Writes bench/results/runtime.md.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { Piscina } from 'piscina';
import * as Comlink from 'comlink';
import { Supervisor, type ActorRef } from '../src/runtime/index.ts';
import { tellRound } from './tell-loop.ts';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env['RUNTIME_BENCH_ROUNDS'] ?? 3);
const ASKS = 3000;
const TELLS = 1_000_000;
const CRASHES = 20;
const IDLE_ACTORS = 16;
const OUTSTANDING = 16_000;

// ------------------------------------------------------------------ fixtures (plain JS, in a temp dir)
const dir = mkdtempSync(join(tmpdir(), 'palisade-runtime-bench-'));
const file = (name: string, src: string): string => {
  const p = join(dir, name);
  writeFileSync(p, src);
  return p;
};
const comlinkUrl = pathToFileURL(join(dirname(require.resolve('comlink/package.json')), 'dist/esm/comlink.mjs')).href;
const comlinkNodeUrl = pathToFileURL(
  join(dirname(require.resolve('comlink/package.json')), 'dist/esm/node-adapter.mjs'),
).href;
const ACTOR = file('actor.mjs', 'let n = 0;\nexport default (m) => { if (m === "n") return n; n++; return m; };\n');
const RAW_ECHO = file(
  'raw-echo.mjs',
  `import { parentPort } from 'node:worker_threads';
let n = 0;
parentPort.on('message', (m) => {
  if (m === 'n') return parentPort.postMessage(n);
  if (Array.isArray(m)) { n += m.length; return; }
  if (typeof m === 'object' && m !== null && m.count) { n++; return; }
  parentPort.postMessage(m);
});\n`,
);
const PISCINA_TASK = file('piscina-task.mjs', 'export default (m) => m;\n');
const COMLINK_WORKER = file(
  'comlink-worker.mjs',
  `import { parentPort } from 'node:worker_threads';
import * as Comlink from '${comlinkUrl}';
import nodeEndpoint from '${comlinkNodeUrl}';
Comlink.expose({ echo: (m) => m }, nodeEndpoint(parentPort));\n`,
);

// ------------------------------------------------------------------ helpers
const msg = (i: number): { seq: number; token: string; px: number } => ({ seq: i, token: 'BONK', px: 0.00012 });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}
const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
const msf = (ms: number): string => `${ms.toFixed(2)} ms`;
const mps = (v: number): string => `${(v / 1e6).toFixed(2)} M/s`;
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`bench deadline: ${what}`)), ms))),
  ]).finally(() => clearTimeout(t));
}

interface Rate {
  perSec: number;
  /** Process CPU time (all threads) per message, ns. */
  cpuNs: number;
}
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Lat {
  p50: number;
  p99: number;
}
async function latency(n: number, call: (i: number) => Promise<unknown>): Promise<Lat> {
  for (let i = 0; i < 300; i++) await call(i);
  const xs: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    xs[i] = performance.now() - t;
  }
  xs.sort((a, b) => a - b);
  return { p50: pct(xs, 0.5), p99: pct(xs, 0.99) };
}

/** A raw echo worker with one listener, as cheap a round trip as postMessage allows. */
function rawEcho(): { call: (m: unknown) => Promise<unknown>; worker: Worker } {
  const worker = new Worker(RAW_ECHO, { execArgv: [] });
  let pending: ((v: unknown) => void) | null = null;
  worker.on('message', (m) => {
    const p = pending;
    pending = null;
    p?.(m);
  });
  return {
    worker,
    call: (m) =>
      new Promise((r) => {
        pending = r;
        worker.postMessage(m);
      }),
  };
}

// ------------------------------------------------------------------ subjects
const results = {
  ask: new Map<string, Lat[]>(),
  tell: new Map<string, Rate[]>(),
  crash: new Map<string, number[][]>(),
};
function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const l = m.get(k) ?? [];
  l.push(v);
  m.set(k, l);
}

async function main(): Promise<void> {
  const sup = new Supervisor({ heartbeatMs: 0 });
  const actor = sup.spawn({ name: 'bench', module: ACTOR, mailboxSize: 100_000 });
  const actorNoRing = sup.spawn({ name: 'bench-noring', module: ACTOR, mailboxSize: 100_000, ringBytes: 0 });
  await Promise.all([actor.ready, actorNoRing.ready]);
  const raw = rawEcho();
  await raw.call('warm');
  const piscinaSync = new Piscina({ filename: PISCINA_TASK, minThreads: 1, maxThreads: 1, execArgv: [] });
  const piscinaOff = new Piscina({
    filename: PISCINA_TASK,
    minThreads: 1,
    maxThreads: 1,
    execArgv: [],
    atomics: 'disabled',
  });
  const comlinkWorker = new Worker(COMLINK_WORKER, { execArgv: [] });
  const remote = Comlink.wrap<{ echo(m: unknown): unknown }>((await import(comlinkNodeUrl)).default(comlinkWorker));

  // A first million through a fresh process runs at roughly half speed while the JIT settles:
  // one unmeasured round of each throughput subject, so every measured round is warm.
  console.log('[runtime bench] warm-up round (not measured)');
  await tellThroughput(actor);
  await tellThroughput(actorNoRing);
  await rawThroughput(raw, 1);
  await rawThroughput(raw, 256);

  for (let round = 0; round < ROUNDS; round++) {
    console.log(`[runtime bench] round ${round + 1}/${ROUNDS}: ask round trips`);
    push(results.ask, 'raw postMessage echo', await latency(ASKS, (i) => raw.call(msg(i))));
    push(results.ask, 'palisade ask', await latency(ASKS, (i) => actor.ask(msg(i))));
    push(results.ask, 'palisade ask (ringBytes 0)', await latency(ASKS, (i) => actorNoRing.ask(msg(i))));
    push(results.ask, "piscina run() (atomics 'sync', default)", await latency(ASKS, (i) => piscinaSync.run(msg(i))));
    push(results.ask, "piscina run() (atomics 'disabled')", await latency(ASKS, (i) => piscinaOff.run(msg(i))));
    push(results.ask, 'comlink call', await latency(ASKS, (i) => remote.echo(msg(i)) as Promise<unknown>));

    console.log(`[runtime bench] round ${round + 1}/${ROUNDS}: tell throughput`);
    push(results.tell, 'palisade tell (ring)', await tellThroughput(actor));
    push(results.tell, 'palisade tell (ringBytes 0: batched postMessage)', await tellThroughput(actorNoRing));
    push(results.tell, 'raw postMessage, one message each', await rawThroughput(raw, 1));
    push(results.tell, 'raw postMessage, batches of 256', await rawThroughput(raw, 256));
  }
  raw.worker.terminate();
  comlinkWorker.terminate();
  await Promise.all([piscinaSync.destroy(), piscinaOff.destroy()]);
  await sup.shutdown({ drainMs: 0 });

  // The throughput rounds leave a large heap behind: collect it first, so a major GC does not land
  // in the recovery times, and run one unmeasured round so the first subject does not pay for JIT.
  console.log('[runtime bench] crash → processing again (after a GC and a warm-up round)');
  await settle();
  await crashRecovery('exit', 1);
  await coldSpawn();
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['exit', 'terminate', 'uncaught'] as const)
      push(results.crash, `palisade, warm spare, ${kind}`, await crashRecovery(kind, 1));
    push(results.crash, 'palisade, no spare (spares: 0), exit', await crashRecovery('exit', 0));
    push(results.crash, 'cold Worker spawn → first echo', await coldSpawn());
  }
  console.log('[runtime bench] RSS per idle actor');
  const rss = await rssPerIdleActor();
  writeReport(rss);
}

async function tellThroughput(ref: ActorRef): Promise<Rate> {
  await ref.ask('n');
  return tellRound(ref, msg, TELLS, OUTSTANDING, (p) => withDeadline(p, 60_000, 'tell drain'));
}

async function rawThroughput(
  raw: { worker: Worker; call: (m: unknown) => Promise<unknown> },
  batch: number,
): Promise<Rate> {
  const before = (await raw.call('n')) as number;
  const t0 = performance.now();
  const c0 = cpuMs();
  let sent = 0;
  while (sent < TELLS) {
    const end = Math.min(TELLS, sent + 10_000);
    if (batch === 1) {
      for (; sent < end; sent++) raw.worker.postMessage({ count: 1, ...msg(sent) });
    } else {
      while (sent < end) {
        const n = Math.min(batch, end - sent);
        const arr = new Array(n);
        for (let i = 0; i < n; i++) arr[i] = msg(sent + i);
        raw.worker.postMessage(arr);
        sent += n;
      }
    }
    await tick();
  }
  const after = (await withDeadline(raw.call('n'), 60_000, 'raw drain')) as number;
  const ms = performance.now() - t0;
  const cpu = cpuMs() - c0;
  if (after - before !== TELLS) throw new Error(`raw counted ${after - before}`);
  return { perSec: (TELLS / ms) * 1000, cpuNs: (cpu / TELLS) * 1e6 };
}

/** Fault → the next ask answered by the new incarnation (detection, spare take, module load, processing). */
async function crashRecovery(kind: 'exit' | 'terminate' | 'uncaught', spares: number): Promise<number[]> {
  const sup = new Supervisor({ heartbeatMs: 0, spares, maxRestarts: 1000, restartBackoff: { initialMs: 0 } });
  const ref = sup.spawn({ name: 'victim', module: ACTOR });
  await ref.ready;
  await ref.ask('warm');
  const xs: number[] = [];
  for (let i = 0; i < CRASHES; i++) {
    await sleep(spares > 0 ? 120 : 10); // a spare is replenished (cold spawn) between crashes
    const t0 = performance.now();
    sup.injectFault('victim', kind === 'uncaught' ? 'uncaught' : kind);
    await withDeadline(ref.ask(i), 10_000, 'recovery');
    xs.push(performance.now() - t0);
  }
  if (ref.stats.crashes !== CRASHES) throw new Error(`expected ${CRASHES} crashes, saw ${ref.stats.crashes}`);
  await sup.shutdown({ drainMs: 0 });
  return xs.sort((a, b) => a - b);
}

async function coldSpawn(): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    const w = new Worker(RAW_ECHO, { execArgv: [] });
    await new Promise<void>((r) => {
      w.once('message', () => r());
      w.postMessage('hi');
    });
    xs.push(performance.now() - t0);
    await w.terminate();
  }
  return xs.sort((a, b) => a - b);
}

function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(200);
  }
}

async function rssPerIdleActor(): Promise<{ actor: number; raw: number; base: number }> {
  await settle();
  const base = rssMb();
  const sup = new Supervisor({ heartbeatMs: 0, spares: 0 });
  const refs = Array.from({ length: IDLE_ACTORS }, (_, i) => sup.spawn({ name: `idle-${i}`, module: ACTOR }));
  await Promise.all(refs.map((r) => r.ready));
  await Promise.all(refs.map((r) => r.ask('hello')));
  await settle();
  const withActors = rssMb();
  await sup.shutdown({ drainMs: 0 });
  await settle();
  const base2 = rssMb();
  const workers = Array.from({ length: IDLE_ACTORS }, () => new Worker(RAW_ECHO, { execArgv: [] }));
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((r) => {
          w.once('message', r);
          w.postMessage('hi');
        }),
    ),
  );
  await settle();
  const withRaw = rssMb();
  await Promise.all(workers.map((w) => w.terminate()));
  return { actor: (withActors - base) / IDLE_ACTORS, raw: (withRaw - base2) / IDLE_ACTORS, base };
}

// ------------------------------------------------------------------ report
function best<T>(xs: T[], key: (x: T) => number, higherIsBetter = false): T {
  return xs.reduce((a, b) => ((higherIsBetter ? key(b) > key(a) : key(b) < key(a)) ? b : a));
}

function writeReport(rss: { actor: number; raw: number; base: number }): void {
  const date = new Date().toISOString().slice(0, 10);
  const lines: string[] = [];
  lines.push('## runtime', '');
  lines.push(
    `Actor runtime, one run of \`npm run bench -- runtime\`, ${date}. ${ROUNDS} rounds after an unmeasured warm-up round; peers run in the same process, interleaved per round;`,
    "each subject's figure is its best round and the range shows all rounds; ratios use these same-run numbers. Messages are",
    "small objects (`{ seq, token: 'BONK', px }`). Machine details are in the header of bench/RESULTS.md.",
    '',
  );

  const rawAsk = best(results.ask.get('raw postMessage echo')!, (l) => l.p50);
  lines.push(`### Round trip (${ASKS} sequential calls per round)`, '');
  lines.push(
    '| subject | p50 (best round) | p99 (same round) | p50 range | vs raw echo p50 |',
    '|---|---:|---:|---:|---:|',
  );
  for (const [name, ls] of results.ask) {
    const b = best(ls, (l) => l.p50);
    const lo = Math.min(...ls.map((l) => l.p50));
    const hi = Math.max(...ls.map((l) => l.p50));
    lines.push(`| ${name} | ${us(b.p50)} | ${us(b.p99)} | ${us(lo)}–${us(hi)} | ${(b.p50 / rawAsk.p50).toFixed(2)}× |`);
  }
  lines.push('');

  const bestTell = (k: string): number => Math.max(...results.tell.get(k)!.map((r) => r.perSec));
  const batched = bestTell('raw postMessage, batches of 256');
  lines.push(
    `### Tell throughput into one actor (${TELLS.toLocaleString('en-US')} messages per round, producer keeps ≤ ${OUTSTANDING.toLocaleString('en-US')} unfinished)`,
    '',
  );
  lines.push(
    'CPU is process CPU time (host and worker threads together) per message in the best round: less sensitive than wall-clock rates to other load on a shared machine.',
    '',
  );
  lines.push(
    '| subject | msgs/s (best round) | range | vs batched postMessage | CPU per message |',
    '|---|---:|---:|---:|---:|',
  );
  for (const [name, xs] of results.tell) {
    const b = best(xs, (r) => r.perSec, true);
    const lo = Math.min(...xs.map((r) => r.perSec));
    lines.push(
      `| ${name} | ${mps(b.perSec)} | ${mps(lo)}–${mps(b.perSec)} | ${(b.perSec / batched).toFixed(2)}× | ${b.cpuNs.toFixed(0)} ns |`,
    );
  }
  lines.push('');

  lines.push(
    `### Crash → processing again (${CRASHES} crashes per round; fault injected → next ask answered by the new incarnation)`,
    '',
  );
  lines.push('| subject | p50 (best round) | p99 (same round) | p50 range |', '|---|---:|---:|---:|');
  const crashBest = new Map<string, number>();
  for (const [name, rounds] of results.crash) {
    const b = best(rounds, (xs) => pct(xs, 0.5));
    const p50s = rounds.map((xs) => pct(xs, 0.5));
    crashBest.set(name, pct(b, 0.5));
    lines.push(
      `| ${name} | ${msf(pct(b, 0.5))} | ${msf(pct(b, 0.99))} | ${msf(Math.min(...p50s))}–${msf(Math.max(...p50s))} |`,
    );
  }
  lines.push('');

  lines.push(`### Memory (${IDLE_ACTORS} idle actors, RSS after GC and settling)`, '');
  lines.push('| subject | RSS per idle worker |', '|---|---:|');
  lines.push(`| palisade actor (ring 256 KiB, control block, host script, module) | ${rss.actor.toFixed(1)} MB |`);
  lines.push(`| raw Worker running a 10-line echo script | ${rss.raw.toFixed(1)} MB |`);
  lines.push('');

  const askP = best(results.ask.get('palisade ask')!, (l) => l.p50).p50;
  const askRatio = askP / rawAsk.p50;
  const tell = bestTell('palisade tell (ring)');
  const warm = Math.min(...['exit', 'terminate', 'uncaught'].map((k) => crashBest.get(`palisade, warm spare, ${k}`)!));
  const warmWorst = Math.max(
    ...['exit', 'terminate', 'uncaught'].map((k) => crashBest.get(`palisade, warm spare, ${k}`)!),
  );
  const cold = crashBest.get('cold Worker spawn → first echo')!;
  const verdict = (ok: boolean): string => (ok ? '**met**' : '**not met**');
  lines.push('### Goals', '');
  lines.push(
    `- ask p50 ≤ 1.1× raw postMessage echo: ${verdict(askRatio <= 1.1)}: ${askRatio.toFixed(2)}× (${us(askP)} vs ${us(rawAsk.p50)}).`,
  );
  lines.push(
    `- tell ≥ 2M msgs/s into one actor: ${verdict(tell >= 2e6)}: ${mps(tell)} (${(tell / batched).toFixed(2)}× batched postMessage).`,
  );
  lines.push(
    `- crash → processing again p50 ≤ 5 ms: ${verdict(warmWorst <= 5)}: ${msf(warm)}–${msf(warmWorst)} by crash kind with a warm spare, vs ${msf(cold)} for a cold Worker spawn to its first reply.`,
  );
  lines.push(
    `- RSS per idle actor ≤ 10 MB: ${verdict(rss.actor <= 10)}: ${rss.actor.toFixed(1)} MB (raw idle worker ${rss.raw.toFixed(1)} MB).`,
  );
  lines.push('');
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'runtime.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
