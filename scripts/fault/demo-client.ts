/**
 * Fault injection against a running demo, through its control server:
 *
 *   npm start                                              # prints "control server: http://127.0.0.1:PORT"
 *   npx tsx scripts/fault/demo-client.ts --target http://127.0.0.1:PORT [--duration-ms 20000] [--interval-ms 1500]
 *        [--actors signal-validator,risk-monitor] [--kinds uncaught,exit,terminate,hang] [--provider-outage helius-local] [--json PATH]
 *
 * `npm run fault-inject -- --target URL` runs the same thing once scripts/fault/inject.ts hands
 * `--target` over to `faultInjectTarget(argv)` (exported below).
 *
 * It kills actors of the demo at random (by the kinds each actor accepts), optionally takes a
 * provider down for the middle third of the run, waits for every killed actor to run again, and
 * reports kills, recoveries (with percentiles), and the demo's dead letters and bus drops over
 * the window. Exit 0 when every kill was recovered from and no critical signal was dropped.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/errors.ts';
import { LatencyHistogram, type LatencySummary } from '../../src/stats/latency.ts';
import { describeError } from '../../test/support/checks.ts';
import { intFlag } from '../lib/flags.ts';
import { sleep } from '../../test/support/wait.ts';
import { seededRandom } from '../../src/random.ts';

export interface TargetOptions {
  target: string;
  /** The control server's token (the demo prints it; also PALISADE_CONTROL_TOKEN). */
  token?: string;
  durationMs: number;
  intervalMs: number;
  /** Only these actors (default: every actor of the demo). */
  actors?: string[];
  /** Only these crash kinds (default: every kind each actor accepts, but oom). */
  kinds?: string[];
  providerOutage?: string;
  seed: number;
  /** Per kill: how long to wait for the actor to run again. */
  recoverTimeoutMs: number;
  write: (line: string) => void;
}

export interface KillRecord {
  atMs: number;
  actor: string;
  kind: string;
  /** The control server's answer: 200 killed, 409 not running at that moment, ... */
  status: number;
  recoveredMs: number | null;
}

export interface TargetReport {
  target: string;
  kills: KillRecord[];
  attempted: number;
  killed: number;
  notRunning: number;
  recovered: number;
  notRecovered: number;
  recovery: LatencySummary;
  deadLettersDelta: Record<string, number>;
  busDropsDelta: Record<string, number>;
  criticalDroppedDelta: number;
  restartsDelta: number;
  quarantinedAtEnd: number;
  ok: boolean;
}

interface ActorInfo {
  name: string;
  state: string;
  incarnation: number;
  restarts: number;
  kinds: string[];
}

interface Snapshot {
  deadLettersByReason: Record<string, number>;
  dropped: Record<string, number>;
  criticalDropped: number;
  restarts: number;
  quarantined: number;
}

export class ControlClient {
  constructor(
    readonly base: string,
    private readonly token?: string,
  ) {}

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as T & { error?: { code: string; message: string } };
    if (!res.ok) throw new ConfigError(`GET ${path}`, res.status, `200 (${body.error?.code}: ${body.error?.message})`);
    return body;
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async actors(): Promise<ActorInfo[]> {
    return (await this.get<{ actors: ActorInfo[] }>('/actors')).actors;
  }

  async snapshot(): Promise<Snapshot> {
    const s = await this.get<{
      bus: { dropped: Record<string, number>; byPriority: { critical: { dropped: number } } };
      supervisor: { deadLettersByReason: Record<string, number>; restarts: number; quarantined: number };
    }>('/stats');
    return {
      deadLettersByReason: s.supervisor.deadLettersByReason,
      dropped: s.bus.dropped,
      criticalDropped: s.bus.byPriority.critical.dropped,
      restarts: s.supervisor.restarts,
      quarantined: s.supervisor.quarantined,
    };
  }
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export async function runAgainstTarget(o: TargetOptions): Promise<TargetReport> {
  const client = new ControlClient(o.target.replace(/\/+$/, ''), o.token ?? process.env.PALISADE_CONTROL_TOKEN);
  try {
    await client.get('/health');
  } catch (err) {
    throw new ConfigError('--target', o.target, `a running demo's control server (${describeError(err)})`);
  }
  const random = seededRandom(o.seed);
  const before = await client.snapshot();
  const kills: KillRecord[] = [];
  const recoveryHist = new LatencyHistogram();
  const waits: Promise<void>[] = [];
  const t0 = Date.now();
  let outage: 'none' | 'down' | 'revived' = 'none';

  const waitRecovered = async (rec: KillRecord, incarnation: number): Promise<void> => {
    const start = Date.now();
    while (Date.now() - start < o.recoverTimeoutMs) {
      await sleep(20);
      const a = (await client.actors().catch(() => [])).find((x) => x.name === rec.actor);
      if (a && a.incarnation > incarnation && a.state === 'running') {
        rec.recoveredMs = Date.now() - start;
        recoveryHist.record(rec.recoveredMs);
        return;
      }
    }
  };

  while (Date.now() - t0 < o.durationMs) {
    const elapsed = Date.now() - t0;
    if (o.providerOutage && outage === 'none' && elapsed >= o.durationMs / 3) {
      const r = await client.post('/providers/kill', { provider: o.providerOutage });
      o.write(`${(elapsed / 1000).toFixed(1)}s kill provider ${o.providerOutage}: ${r.status}`);
      outage = 'down';
    } else if (outage === 'down' && elapsed >= (2 * o.durationMs) / 3) {
      const r = await client.post('/providers/revive', { provider: o.providerOutage });
      o.write(`${(elapsed / 1000).toFixed(1)}s revive provider ${o.providerOutage}: ${r.status}`);
      outage = 'revived';
    }
    const actors = (await client.actors()).filter((a) => !o.actors || o.actors.includes(a.name));
    const candidates = actors.filter((a) => a.state === 'running');
    const pick = candidates[Math.floor(random() * candidates.length)];
    if (pick) {
      const kinds = pick.kinds.filter((k) => (o.kinds ? o.kinds.includes(k) : k !== 'oom'));
      const kind = kinds[Math.floor(random() * kinds.length)];
      if (kind) {
        const r = await client.post('/actors/kill', { actor: pick.name, kind });
        const rec: KillRecord = { atMs: Date.now() - t0, actor: pick.name, kind, status: r.status, recoveredMs: null };
        kills.push(rec);
        o.write(
          `${(rec.atMs / 1000).toFixed(1)}s ${kind} ${pick.name}: ${r.status === 200 ? 'killed' : `${r.status} ${JSON.stringify(r.body['error'] ?? r.body)}`}`,
        );
        if (r.status === 200) waits.push(waitRecovered(rec, pick.incarnation));
      }
    }
    await sleep(Math.max(50, o.intervalMs * (0.5 + random())));
  }
  if (outage === 'down') await client.post('/providers/revive', { provider: o.providerOutage });
  await Promise.all(waits);
  const after = await client.snapshot();
  const killed = kills.filter((k) => k.status === 200);
  const recovered = killed.filter((k) => k.recoveredMs !== null).length;
  const report: TargetReport = {
    target: o.target,
    kills,
    attempted: kills.length,
    killed: killed.length,
    notRunning: kills.filter((k) => k.status === 409).length,
    recovered,
    notRecovered: killed.length - recovered,
    recovery: recoveryHist.summary(),
    deadLettersDelta: delta(after.deadLettersByReason, before.deadLettersByReason),
    busDropsDelta: delta(after.dropped, before.dropped),
    criticalDroppedDelta: after.criticalDropped - before.criticalDropped,
    restartsDelta: after.restarts - before.restarts,
    quarantinedAtEnd: after.quarantined,
    ok: false,
  };
  report.ok =
    killed.length > 0 &&
    report.notRecovered === 0 &&
    report.quarantinedAtEnd === 0 &&
    report.criticalDroppedDelta === 0;
  return report;
}

export function formatTargetReport(r: TargetReport): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
  return [
    '',
    `==== fault injection against ${r.target} ====`,
    `kills: ${r.attempted} attempted, ${r.killed} killed, ${r.notRunning} found the actor not running (409)`,
    `recovered: ${r.recovered} of ${r.killed}; recovery (kill → running again, polled every 20 ms) p50 ${f(r.recovery.p50)} ms p99 ${f(r.recovery.p99)} ms max ${f(r.recovery.max)} ms`,
    `demo over the window: restarts +${r.restartsDelta}, dead letters ${JSON.stringify(r.deadLettersDelta)}, bus drops ${JSON.stringify(r.busDropsDelta)}, critical drops +${r.criticalDroppedDelta}, quarantined now ${r.quarantinedAtEnd}`,
    `${r.ok ? 'PASS' : 'FAIL'} every kill recovered, nothing quarantined, no critical signal dropped`,
  ].join('\n');
}

export const TARGET_USAGE = `usage: npm run fault-inject -- --target http://127.0.0.1:PORT --token TOKEN [--duration-ms 20000] [--interval-ms 1500]
       [--actors a,b] [--kinds uncaught,exit,terminate,hang] [--provider-outage NAME] [--seed N] [--json PATH]`;

/** CLI entry for target mode; returns the exit code. */
export async function faultInjectTarget(
  argv: readonly string[],
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  let o: TargetOptions;
  let json: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        target: { type: 'string' },
        token: { type: 'string' },
        'duration-ms': { type: 'string' },
        'interval-ms': { type: 'string' },
        actors: { type: 'string' },
        kinds: { type: 'string' },
        'provider-outage': { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'string' },
        'recover-timeout-ms': { type: 'string' },
      },
      strict: true,
    });
    if (!values.target || !/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/.test(values.target)) {
      throw new ConfigError(
        '--target',
        values.target,
        'the demo control server on loopback, e.g. http://127.0.0.1:PORT',
      );
    }
    json = values.json;
    const list = (s: string | undefined): string[] | undefined =>
      s
        ? s
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
        : undefined;
    const actors = list(values.actors);
    const kinds = list(values.kinds);
    o = {
      target: values.target,
      ...(values.token ? { token: values.token } : {}),
      durationMs: intFlag('duration-ms', values['duration-ms'], 20_000, 100, 3600_000),
      intervalMs: intFlag('interval-ms', values['interval-ms'], 1500, 10, 600_000),
      ...(actors ? { actors } : {}),
      ...(kinds ? { kinds } : {}),
      ...(values['provider-outage'] ? { providerOutage: values['provider-outage'] } : {}),
      seed: intFlag('seed', values.seed, 1, 0, 2 ** 32 - 1),
      recoverTimeoutMs: intFlag('recover-timeout-ms', values['recover-timeout-ms'], 10_000, 100, 600_000),
      write,
    };
  } catch (err) {
    write(`${describeError(err)}\n${TARGET_USAGE}`);
    return 2;
  }
  try {
    const report = await runAgainstTarget(o);
    write(formatTargetReport(report));
    if (json) {
      mkdirSync(dirname(json), { recursive: true });
      writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    }
    return report.ok ? 0 : 1;
  } catch (err) {
    write(`fault injection failed: ${describeError(err)}`);
    return 3;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await faultInjectTarget(process.argv.slice(2));
}
