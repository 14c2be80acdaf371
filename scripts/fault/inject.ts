/**
 * npm run fault-inject: actors under steady load while their workers are killed at random, in
 * every way an actor dies (uncaught exception, async uncaught, unhandled rejection,
 * process.exit, terminate, out of memory, hang), plus poison messages that crash the worker on
 * every delivery. Then a report: sent, processed, failed, dead-lettered by reason, lost, asks
 * unsettled, restarts, recovery-time percentiles.
 *
 *   npm run fault-inject -- --duration-ms 60000 --actors 4 --rate 2000 --seed 42
 *   flags: --duration-ms (60000) --actors (4) --rate (messages/s per actor, 2000)
 *          --seed (1) --kill-every-ms (mean time between kills, 250) --poison (fraction, 0.0002)
 *          --ask-fraction (0.2) --spares (warm spares per group, 2) --json <file>
 *
 * "Lost" is checked independently of the runtime's own counters: every message must end with
 * exactly one outcome (processed, failed or dead-lettered), and every message reported
 * processed must have been executed by a worker (the actor marks executions in shared memory).
 * Exit code 1 if anything was lost or an ask was left unsettled, 2 on bad flags.
 *
 *   npm run fault-inject -- --target http://127.0.0.1:PORT [...]
 * targets a running demo through its control server instead (scripts/fault/demo-client.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Supervisor, killActor, type ActorRef, type FaultKind, type Outcome } from '../../src/runtime/index.ts';
import { LatencyHistogram } from '../../src/stats/latency.ts';
import { createLogger } from '../../src/log/index.ts';
import { seededRandom } from '../../src/random.ts';

const KINDS: FaultKind[] = ['uncaught', 'async-uncaught', 'unhandled-rejection', 'exit', 'terminate', 'oom', 'hang'];

function options(): {
  durationMs: number;
  actors: number;
  rate: number;
  seed: number;
  killEveryMs: number;
  poison: number;
  askFraction: number;
  spares: number;
  json: string | undefined;
} {
  const { values } = parseArgs({
    options: {
      'duration-ms': { type: 'string', default: '60000' },
      actors: { type: 'string', default: '4' },
      rate: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      'kill-every-ms': { type: 'string', default: '250' },
      poison: { type: 'string', default: '0.0002' },
      'ask-fraction': { type: 'string', default: '0.2' },
      spares: { type: 'string', default: '2' },
      json: { type: 'string' },
    },
  });
  const num = (k: keyof typeof values, min: number, max: number): number => {
    const v = Number(values[k]);
    if (!Number.isFinite(v) || v < min || v > max)
      throw new Error(`--${k} must be a number in [${min}, ${max}], got ${String(values[k])}`);
    return v;
  };
  return {
    durationMs: num('duration-ms', 100, 24 * 3600_000),
    actors: Math.floor(num('actors', 1, 64)),
    rate: num('rate', 1, 1_000_000),
    seed: Math.floor(num('seed', 0, 2 ** 31)),
    killEveryMs: num('kill-every-ms', 1, 3600_000),
    poison: num('poison', 0, 0.1),
    askFraction: num('ask-fraction', 0, 1),
    spares: Math.floor(num('spares', 0, 16)),
    json: values.json,
  };
}

interface Msg {
  id: number;
  work: 'sync' | 'async' | 'poison';
}

async function main(): Promise<number> {
  let o: ReturnType<typeof options>;
  try {
    o = options();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const random = seededRandom(o.seed);
  const logger = createLogger({ name: 'fault-inject', level: process.env['PALISADE_LOG_LEVEL'] ?? 'silent' });
  const capacity = Math.ceil(o.rate * o.actors * (o.durationMs / 1000) * 1.2) + 10_000;
  const executions = new SharedArrayBuffer(capacity * 4);
  const exec = new Int32Array(executions);
  const sup = new Supervisor({
    logger,
    maxRestarts: 100_000,
    withinMs: 60_000,
    restartBackoff: { initialMs: 0, maxMs: 50 },
    random,
    spares: o.spares,
  });
  const module = new URL('../../actors/fault-target.ts', import.meta.url);
  const refs: ActorRef[] = [];
  for (let i = 0; i < o.actors; i++) {
    refs.push(
      sup.spawn({
        name: `actor-${i}`,
        module,
        init: { executions },
        heartbeatMs: 100,
        resourceLimits: { maxOldGenerationSizeMb: 48 },
        mailboxSize: 1_000_000,
        maxAttempts: 3,
      }),
    );
  }
  await Promise.all(refs.map((r) => r.ready));

  // Every message must reach exactly one outcome.
  const outcome = new Uint8Array(capacity); // 0 none, 1 processed, 2 failed, 3 dead-letter
  let doubleOutcomes = 0;
  let processed = 0;
  let failed = 0;
  const deadByReason: Record<string, number> = {};
  for (const ref of refs) {
    ref.on('outcome', (oc: Outcome) => {
      const id = (oc.message as Msg).id;
      if (outcome[id] !== 0) doubleOutcomes++;
      if (oc.kind === 'processed') {
        outcome[id] = 1;
        processed++;
      } else if (oc.kind === 'failed') {
        outcome[id] = 2;
        failed++;
      } else {
        outcome[id] = 3;
        deadByReason[oc.reason ?? 'unknown'] = (deadByReason[oc.reason ?? 'unknown'] ?? 0) + 1;
      }
    });
  }

  // Fault → actor running again, as seen from here.
  const faultToRunning = new LatencyHistogram();
  const kills: Record<string, number> = {};
  const killedAt = new Map<string, number>();
  for (const ref of refs) {
    ref.on('state', (s: string) => {
      const t = killedAt.get(ref.name);
      if (s === 'running' && t !== undefined) {
        faultToRunning.record(performance.now() - t);
        killedAt.delete(ref.name);
      }
    });
  }

  let sent = 0;
  let asks = 0;
  let asksSettled = 0;
  let asksRejected = 0;
  const started = performance.now();
  const stopAt = started + o.durationMs;
  process.stdout.write(`fault-inject: ${o.actors} actors, ${o.rate} msg/s each, ${o.durationMs} ms, seed ${o.seed}\n`);

  const tickMs = 10;
  const load = setInterval(() => {
    const perTick = (o.rate * tickMs) / 1000;
    for (const ref of refs) {
      let n = Math.floor(perTick) + (random() < perTick % 1 ? 1 : 0);
      for (; n > 0; n--) {
        const id = sent++;
        const r = random();
        const msg: Msg = { id, work: r < o.poison ? 'poison' : r < 0.05 ? 'async' : 'sync' };
        if (random() < o.askFraction) {
          asks++;
          ref.ask(msg, { timeoutMs: 0 }).then(
            () => asksSettled++,
            () => {
              asksSettled++;
              asksRejected++;
            },
          );
        } else {
          ref.tell(msg);
        }
      }
    }
  }, tickMs);

  const killer = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      await new Promise((r) => setTimeout(r, -Math.log(1 - random()) * o.killEveryMs));
      if (performance.now() >= stopAt) break;
      const ref = refs[Math.floor(random() * refs.length)]!;
      const kind = KINDS[Math.floor(random() * KINDS.length)]!;
      if (ref.state !== 'running') continue;
      if (killActor(sup, ref.name, kind)) {
        kills[kind] = (kills[kind] ?? 0) + 1;
        killedAt.set(ref.name, performance.now());
      }
    }
  };
  const progress = setInterval(() => {
    const s = sup.getStats();
    process.stdout.write(
      `  ${((performance.now() - started) / 1000).toFixed(0)} s: sent ${sent}, processed ${processed}, restarts ${s.restarts}, dead letters ${s.deadLetters}\n`,
    );
  }, 10_000);
  await killer();
  clearInterval(load);
  clearInterval(progress);

  // Let everything in flight finish (the runtime must get there by itself), then look.
  const drainDeadline = performance.now() + 30_000;
  const settled = (): boolean => refs.every((r) => r.pending === 0 && r.state === 'running') && asksSettled === asks;
  while (!settled() && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  const unsettledAsks = asks - asksSettled;
  const stats = sup.getStats();
  let noOutcome = 0;
  let processedNotExecuted = 0;
  let reExecuted = 0;
  for (let id = 0; id < sent; id++) {
    if (outcome[id] === 0) noOutcome++;
    if (outcome[id] === 1 && Atomics.load(exec, id) === 0) processedNotExecuted++;
    if (Atomics.load(exec, id) > 1) reExecuted++;
  }
  await sup.shutdown({ drainMs: 1000 });
  const lost = noOutcome + processedNotExecuted;

  const deadLetters = Object.values(deadByReason).reduce((a, b) => a + b, 0);
  const report = {
    durationMs: Math.round(performance.now() - started),
    seed: o.seed,
    actors: o.actors,
    sent,
    processed,
    failed,
    deadLettered: deadLetters,
    deadLetteredByReason: deadByReason,
    lost,
    lostDetail: { noOutcome, processedNotExecuted, doubleOutcomes },
    reExecutedAfterCrash: reExecuted,
    asks,
    asksRejected,
    asksUnsettled: unsettledAsks,
    kills,
    crashes: stats.crashes,
    crashesByKind: mergeCounts(stats.actors.map((a) => a.crashesByKind)),
    restarts: stats.restarts,
    quarantined: stats.quarantined,
    recoveryMs: stats.actors.map((a) => ({
      actor: a.name,
      count: a.recovery.count,
      p50: round(a.recovery.p50),
      p90: round(a.recovery.p90),
      p99: round(a.recovery.p99),
      max: round(a.recovery.max),
    })),
    faultToRunningMs: summary(faultToRunning),
    workers: stats.workers,
  };
  process.stdout.write(format(report));
  if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2));
  return lost === 0 && unsettledAsks === 0 && doubleOutcomes === 0 ? 0 : 1;
}

function mergeCounts(xs: Partial<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x)) out[k] = (out[k] ?? 0) + (v ?? 0);
  return out;
}
const round = (v: number): number => Math.round(v * 100) / 100;
function summary(h: LatencyHistogram): { count: number; p50: number; p90: number; p99: number; max: number } {
  const s = h.summary();
  return { count: s.count, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max) };
}

function format(r: Record<string, unknown> & { lost: number; asksUnsettled: number }): string {
  const lines = [
    '',
    'fault-inject report',
    `  duration            ${String(r['durationMs'])} ms (seed ${String(r['seed'])}, ${String(r['actors'])} actors)`,
    `  sent                ${String(r['sent'])}`,
    `  processed           ${String(r['processed'])}`,
    `  failed (handler)    ${String(r['failed'])}`,
    `  dead-lettered       ${String(r['deadLettered'])} ${JSON.stringify(r['deadLetteredByReason'])}`,
    `  lost                ${r.lost} ${JSON.stringify(r['lostDetail'])}${r.lost === 0 ? '' : '   <-- FAIL'}`,
    `  re-executed         ${String(r['reExecutedAfterCrash'])} (at-least-once: executed again after a crash)`,
    `  asks                ${String(r['asks'])} (rejected ${String(r['asksRejected'])}), unsettled ${r.asksUnsettled}${r.asksUnsettled === 0 ? '' : '   <-- FAIL'}`,
    `  kills injected      ${JSON.stringify(r['kills'])}`,
    `  crashes seen        ${String(r['crashes'])} ${JSON.stringify(r['crashesByKind'])}`,
    `  restarts            ${String(r['restarts'])}, quarantined ${String(r['quarantined'])}`,
    `  fault → running     ${JSON.stringify(r['faultToRunningMs'])} ms`,
    `  recovery per actor  (crash detected → new incarnation finished its first message, ms)`,
    ...(r['recoveryMs'] as { actor: string }[]).map((x) => `    ${JSON.stringify(x)}`),
    `  workers             ${JSON.stringify(r['workers'])}`,
    '',
    r.lost === 0 && r.asksUnsettled === 0 ? 'PASS: nothing lost, every ask settled' : 'FAIL',
    '',
  ];
  return lines.join('\n');
}

const targetMode = process.argv.slice(2).some((a) => a === '--target' || a.startsWith('--target='));
const run = targetMode
  ? async (): Promise<number> => (await import('./demo-client.ts')).faultInjectTarget(process.argv.slice(2))
  : main;

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fault-inject failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
