/**
 * The RPC pool, all in one run (`npm run bench -- rpc`):
 *   1. latency: pool.call against a direct keep-alive node:http request and a direct global
 *      fetch to the same local endpoint (sequential calls, interleaved rounds), inline and actor
 *      mode; and throughput with 64 calls in flight;
 *   2. failure isolation: from an endpoint's death (refused, reset, hang; and an endpoint actor
 *      crash) to its breaker OPEN and to the last call routed to it, under steady traffic with a
 *      healthy second provider, and the user-visible failed calls meanwhile (goal 0).
 * The upstream fixture servers run in a child process so they do not share the measured event
 * loop. Writes bench/results/rpc.md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/clock.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { LatencyHistogram, type LatencySummary } from '../src/stats/latency.ts';
import { RpcConnectionPool, type EndpointHandle, type PoolMode } from '../src/rpc/pool.ts';
import { HttpTransport } from '../src/rpc/transport.ts';

const here = dirname(fileURLToPath(import.meta.url));
const BODY = '{"jsonrpc":"2.0","id":1,"method":"getSlot","params":[]}';

// ---------------------------------------------------------------- upstream in a child process
interface Upstream {
  urls: string[];
  send(cmd: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

async function startUpstream(n: number): Promise<Upstream> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, '../test/fixtures/rpc/serve.ts'), String(n)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const next = () => new Promise<string>((r) => waiting.push(r));
  const first = JSON.parse(await next()) as { urls: string[] };
  return {
    urls: first.urls,
    async send(cmd) {
      const p = next();
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
      const answer = await p;
      if (answer !== 'ok') throw new Error(`upstream: ${answer}`);
    },
    close: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.stdin.end();
      }),
  };
}

// ---------------------------------------------------------------- helpers
const us = (ms: number): string => `${(ms * 1000).toFixed(0)} µs`;
const msf = (ms: number): string => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sequential(fn: () => Promise<unknown>, n: number, h: LatencyHistogram): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    h.record(performance.now() - s);
  }
  return (performance.now() - t0) / n;
}

async function concurrent(fn: () => Promise<unknown>, total: number, inFlight: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (started < total) {
      started++;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total / ((performance.now() - t0) / 1000);
}

// ---------------------------------------------------------------- 1. latency
async function latencyPart(up: Upstream) {
  const url = up.urls[0]!;
  const transport = new HttpTransport(url, { clock: systemClock });
  const single = { endpoints: [{ name: 'local', url }], healthIntervalMs: 60_000 };
  const inline = new RpcConnectionPool(single, { mode: 'inline' });
  const sup = new Supervisor({});
  const actor = new RpcConnectionPool(single, { supervisor: sup });
  await actor.ready();
  const subjects: [string, () => Promise<unknown>][] = [
    ['direct node:http keep-alive', async () => JSON.parse((await transport.post(BODY, 5000)).body)],
    [
      'direct global fetch',
      async () =>
        (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY })).json(),
    ],
    ['pool.call, inline mode', () => inline.call('getSlot', [])],
    ['pool.call, actor mode', () => actor.call('getSlot', [])],
  ];
  // Warm-up (JIT, sockets, bundles), then interleaved rounds; a subject's figure is its best round.
  for (const [, fn] of subjects) await sequential(fn, 500, new LatencyHistogram());
  const ROUNDS = 5;
  const N = 2000;
  const best = new Map<string, { p50: number; mean: number; p99: number }>();
  const p50s = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of subjects) {
      const h = new LatencyHistogram();
      await sequential(fn, N, h);
      const s = h.summary();
      const b = best.get(name);
      if (!b || s.p50 < b.p50) best.set(name, { p50: s.p50, mean: s.mean, p99: s.p99 });
      p50s.set(name, [...(p50s.get(name) ?? []), s.p50]);
    }
  }
  const throughput = new Map<string, number>();
  for (const [name, fn] of subjects) {
    await concurrent(fn, 2000, 64);
    throughput.set(name, await concurrent(fn, 20_000, 64));
  }
  await inline.close();
  await actor.close();
  await sup.shutdown({ drainMs: 100 });
  transport.close();
  return { best, p50s, throughput, rounds: ROUNDS, n: N };
}

// ---------------------------------------------------------------- 2. failure isolation
type Kind = 'refused' | 'reset' | 'hang' | 'actor-crash';

interface DeathResult {
  mode: PoolMode;
  kind: Kind;
  hedge: boolean;
  openMs: number | undefined;
  lastRoutedMs: number | undefined;
  callsAfter: number;
  failedAfter: number;
  latency: LatencySummary;
  recoveredMs?: number;
}

async function deathScenario(up: Upstream, mode: PoolMode, kind: Kind, hedge = false): Promise<DeathResult> {
  await up.send({ op: 'revive', i: 0 });
  await up.send({ op: 'fault', i: 0, fault: { kind: 'none' } });
  await up.send({ op: 'fault', i: 1, fault: { kind: 'none' } });
  let openAt: number | undefined;
  const bus = {
    publish(topic: string, e: Record<string, unknown>) {
      if (topic === 'rpc_endpoint_state_changed' && e['endpoint'] === 'a' && e['to'] === 'OPEN' && openAt === undefined)
        openAt = performance.now();
    },
  };
  const sup = mode === 'actor' ? new Supervisor({}) : undefined;
  const pool = new RpcConnectionPool(
    {
      endpoints: [
        { name: 'a', url: up.urls[0]!, tier: 0 },
        { name: 'b', url: up.urls[1]!, tier: 1 },
      ],
      ...(hedge ? { hedgeAfterMs: 50 } : {}),
    },
    sup ? { supervisor: sup, bus, actorNamePrefix: 'bench' } : { mode: 'inline', bus },
  );
  await pool.ready();
  // White-box: time every attempt routed to endpoint a (the pool does not expose attempt starts).
  const handles = (pool as unknown as { handles: EndpointHandle[] }).handles;
  const a = handles[0]!;
  let lastRouted = 0;
  const original = a.attempt.bind(a);
  a.attempt = (req, signal) => {
    lastRouted = performance.now();
    return original(req, signal);
  };
  let t0 = Infinity;
  let stop = false;
  let callsAfter = 0;
  let failedAfter = 0;
  const h = new LatencyHistogram();
  const lane = async () => {
    while (!stop) {
      const s = performance.now();
      let ok = true;
      try {
        await pool.call('getSlot', []);
      } catch {
        ok = false;
      }
      if (s >= t0) {
        callsAfter++;
        if (!ok) failedAfter++;
        h.record(performance.now() - s);
      }
      await new Promise((r) => setImmediate(r));
    }
  };
  const lanes = Array.from({ length: 4 }, lane);
  await sleep(300);
  t0 = performance.now();
  if (kind === 'refused') await up.send({ op: 'kill', i: 0 });
  else if (kind === 'reset') await up.send({ op: 'fault', i: 0, fault: { kind: 'reset' } });
  else if (kind === 'hang') await up.send({ op: 'fault', i: 0, fault: { kind: 'hang' } });
  else sup!.injectFault('bench-a', 'exit');
  const cap = t0 + 6000;
  let recoveredAt: number | undefined;
  while (performance.now() < cap) {
    await sleep(5);
    if (kind === 'actor-crash') {
      const e = pool.getStats().endpoints[0]!;
      if (recoveredAt === undefined && e.incarnations >= 2 && e.alive) recoveredAt = performance.now();
      if (recoveredAt !== undefined && performance.now() > recoveredAt + 500) break;
    } else if (openAt !== undefined && performance.now() > Math.max(openAt, lastRouted) + 1000) break;
  }
  stop = true;
  await Promise.all(lanes);
  await pool.close();
  await sup?.shutdown({ drainMs: 100 });
  await up.send({ op: 'revive', i: 0 });
  await up.send({ op: 'fault', i: 0, fault: { kind: 'none' } });
  return {
    mode,
    kind,
    hedge,
    openMs: openAt === undefined ? undefined : openAt - t0,
    lastRoutedMs: kind === 'actor-crash' ? undefined : lastRouted - t0,
    callsAfter,
    failedAfter,
    latency: h.summary(),
    ...(recoveredAt !== undefined ? { recoveredMs: recoveredAt - t0 } : {}),
  };
}

// ---------------------------------------------------------------- run
const up = await startUpstream(2);
console.log('[rpc] latency ...');
const lat = await latencyPart(up);
console.log('[rpc] failure isolation ...');
const deaths: DeathResult[] = [];
for (const mode of ['inline', 'actor'] as const) {
  for (const kind of ['refused', 'reset', 'hang'] as const) {
    deaths.push(await deathScenario(up, mode, kind));
    console.log(
      `[rpc]   ${mode} ${kind}: OPEN after ${deaths.at(-1)!.openMs?.toFixed(1)} ms, ${deaths.at(-1)!.failedAfter} failed`,
    );
  }
}
deaths.push(await deathScenario(up, 'inline', 'hang', true));
deaths.push(await deathScenario(up, 'actor', 'actor-crash'));
await up.close();

// ---------------------------------------------------------------- report
const get = (name: string) => lat.best.get(name)!;
const direct = get('direct node:http keep-alive');
const fetchB = get('direct global fetch');
const inl = get('pool.call, inline mode');
const act = get('pool.call, actor mode');
const inlineOverhead = inl.p50 / direct.p50 - 1;
const actorDelta = act.p50 - direct.p50;
const goal = (ok: boolean, text: string) => `${ok ? '**met**' : '**not met**'} (${text})`;
const failedTotal = deaths.reduce((a, d) => a + d.failedAfter, 0);
const isolation = deaths.filter((d) => d.kind !== 'actor-crash' && !d.hedge);
const lines = [
  '## rpc',
  '',
  `RPC pool, one run (\`npm run bench -- rpc\`), ${new Date().toISOString().slice(0, 10)}. Upstream: minimal JSON-RPC fixture servers`,
  '(test/fixtures/rpc/serve.ts) in a child process on loopback, answering `getSlot`. Latency: calls one at a time,',
  `${lat.rounds} interleaved rounds × ${lat.n} calls per subject after a warm-up; each subject's figure is its best round`,
  '(least disturbed by other load on this shared 2-core machine); ratios are computed from those same-run figures.',
  '',
  '### Call latency against a direct request to the same endpoint',
  '',
  '| subject | p50 | mean | p99 | p50 of each round | vs direct node:http (p50) | throughput, 64 in flight |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...[...lat.best.entries()].map(
    ([name, s]) =>
      `| ${name} | ${us(s.p50)} | ${us(s.mean)} | ${us(s.p99)} | ${lat.p50s
        .get(name)!
        .map((v) => (v * 1000).toFixed(0))
        .join(
          ' / ',
        )} µs | ${name.startsWith('direct node') ? '1.00×' : `${(s.p50 / direct.p50).toFixed(2)}× (${s.p50 >= direct.p50 ? '+' : ''}${us(s.p50 - direct.p50)})`} | ${Math.round(lat.throughput.get(name)!).toLocaleString('en-US')} calls/s |`,
  ),
  '',
  `Transport choice: the endpoint client uses node:http with a keep-alive Agent; global fetch (undici) to the same endpoint`,
  `measured ${(fetchB.p50 / direct.p50).toFixed(2)}× its p50 here, so fetch was not used.`,
  '',
  "### From an endpoint's death to isolation (endpoint a, tier 0; endpoint b healthy)",
  '',
  'Four callers issue `getSlot` back to back; at t=0 endpoint a dies. Defaults: breaker failureThreshold 5, attemptTimeoutMs',
  '800, requestTimeoutMs 2000, healthIntervalMs 1000, stallAfterMs 250 (an attempt unanswered that long makes its endpoint',
  'suspect: new calls go to the others, and it is probed at once with a 500 ms deadline). "last routed" is the start of the',
  'last attempt sent to a; calls already in flight on a at that moment still end at their own attempt deadline (the max',
  'column for a hang) and then succeed on b. Latency is of the calls started after t=0. The actor-crash row kills the',
  "endpoint's actor (process.exit in its worker) instead of the provider.",
  '',
  '| mode | death | breaker OPEN after | last call routed to it after | calls after t=0 | user-visible failures | p50 | p99 | max |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ...deaths.map(
    (d) =>
      `| ${d.mode} | ${d.kind}${d.hedge ? ' (hedgeAfterMs 50)' : ''} | ${d.kind === 'actor-crash' ? `n/a (restarted after ${d.recoveredMs === undefined ? '?' : msf(d.recoveredMs)})` : d.openMs === undefined ? 'never (within 6 s)' : msf(d.openMs)} | ${d.lastRoutedMs === undefined ? 'n/a' : msf(d.lastRoutedMs)} | ${d.callsAfter} | ${d.failedAfter} | ${msf(d.latency.p50)} | ${msf(d.latency.p99)} | ${msf(d.latency.max)} |`,
  ),
  '',
  '### Goals',
  '',
  `- Inline overhead ≤ 10% over a direct request: ${goal(inlineOverhead <= 0.1, `p50 ${us(inl.p50)} vs ${us(direct.p50)}, ${(inlineOverhead * 100).toFixed(1)}%`)}.`,
  `- Actor mode ≤ +100 µs: ${goal(actorDelta <= 0.1, `p50 ${us(act.p50)} vs ${us(direct.p50)}, +${us(actorDelta)}`)}.`,
  `- User-visible failed calls during a provider outage while another is healthy = 0: ${goal(failedTotal === 0, `${failedTotal} failed across ${deaths.length} scenarios`)}.`,
  `- Isolation in under a second (the seed's business goal): ${isolation
    .map((d) => `${d.mode} ${d.kind} ${d.openMs === undefined ? 'never' : msf(d.openMs)}`)
    .join(
      ', ',
    )}. ${isolation.every((d) => d.openMs !== undefined && d.openMs < 1000) ? '**met** for every kind.' : '**not met** for every kind: a hung endpoint is only proven dead when attempts reach their deadline (attemptTimeoutMs 800) and failureThreshold (5) of them have failed; new calls stop going to it once it is suspect (stallAfterMs), but the breaker opens later.'} A hang still costs the calls already stuck on the endpoint up to attemptTimeoutMs (the max column); hedged reads (\`hedgeAfterMs\`, off by default) bound that at the hedge delay.`,
  '',
];
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'rpc.md'), lines.join('\n'));
console.log(lines.join('\n'));
process.exit(0);
