/**
 * npm run stress — the actor-isolation stress bench; npm run soak — the memory soak.
 *
 *   npm run stress
 *   npm run stress -- --workers 32 --ops 5000 --surge-factor 100 --json .reports/stress.json
 *   npm run soak                                  # 10M events, RSS growth after warm-up
 *   npm run soak -- --events 2000000 --max-ms 120000
 *
 * Prints a table and PASS/FAIL per check, writes the JSON report (default .reports/, git-ignored)
 * and exits 0 only when every check passed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { soakHtml, stressHtml } from './plots.ts';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createLogger } from '../../src/log/index.ts';
import { describeError, formatCheck, summaryLine } from '../../test/support/checks.ts';
import { intFlag, numberFlag } from '../lib/flags.ts';
import { fmt, table } from '../../test/support/table.ts';
import { runStress, STRESS_DEFAULTS, type StressReport } from './bench.ts';
import { runSoak, SOAK_DEFAULTS, type SoakReport } from './soak.ts';

const USAGE = `usage: npm run stress -- [--workers ${STRESS_DEFAULTS.workers}] [--ops ${STRESS_DEFAULTS.ops}] [--base-rate ${STRESS_DEFAULTS.baseRate}] [--surge-factor ${STRESS_DEFAULTS.surgeFactor}]
                         [--surge-ms ${STRESS_DEFAULTS.surgeMs}] [--kill-every-ms ${STRESS_DEFAULTS.killEveryMs}] [--seed 1] [--json PATH] [--log-level warn] [--log-file PATH]
                         [--cluster-in-process]   (the local cluster in the bench's own thread; default: its own worker thread)
       npm run soak   -- [--events ${SOAK_DEFAULTS.events}] [--max-ms ${SOAK_DEFAULTS.maxMs}] [--goal-percent ${SOAK_DEFAULTS.goalPercent}] [--json PATH]`;

const write = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        soak: { type: 'boolean' },
        'cluster-in-process': { type: 'boolean' },
        workers: { type: 'string' },
        ops: { type: 'string' },
        'ask-actors': { type: 'string' },
        'base-rate': { type: 'string' },
        'surge-factor': { type: 'string' },
        'base-ms': { type: 'string' },
        'surge-ms': { type: 'string' },
        'cool-ms': { type: 'string' },
        'kill-every-ms': { type: 'string' },
        seed: { type: 'string' },
        events: { type: 'string' },
        'max-ms': { type: 'string' },
        'goal-percent': { type: 'string' },
        json: { type: 'string' },
        'log-level': { type: 'string' },
        'log-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values['help']) {
    write(USAGE);
    return 0;
  }
  const s = (k: string): string | undefined => values[k] as string | undefined;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // The bench crashes workers on purpose and the runtime logs every crash: logs go to a file.
  const logFile = s('log-file') ?? join('.reports', `${values['soak'] ? 'soak' : 'stress'}-${stamp}.log`);
  const logger = createLogger({
    name: 'palisade-stress',
    level: s('log-level') ?? 'warn',
    destination: pino.destination({ dest: logFile, mkdir: true, sync: true }),
  });
  write(`logs: ${logFile}`);
  try {
    if (values['soak']) {
      const r = await runSoak({
        events: intFlag('events', s('events'), SOAK_DEFAULTS.events, 10_000),
        maxMs: intFlag('max-ms', s('max-ms'), SOAK_DEFAULTS.maxMs, 1000),
        warmupShare: SOAK_DEFAULTS.warmupShare,
        goalPercent: numberFlag('goal-percent', s('goal-percent'), SOAK_DEFAULTS.goalPercent, 0, 1000),
        logger,
        write,
      });
      printSoak(r);
      return save(r, s('json') ?? join('.reports', `soak-${stamp}.json`), r.ok);
    }
    const r = await runStress({
      workers: intFlag('workers', s('workers'), STRESS_DEFAULTS.workers, 3, 128),
      ops: intFlag('ops', s('ops'), STRESS_DEFAULTS.ops, 1, 1_000_000),
      askActors: intFlag('ask-actors', s('ask-actors'), STRESS_DEFAULTS.askActors, 1, 64),
      baseRate: numberFlag('base-rate', s('base-rate'), STRESS_DEFAULTS.baseRate, 1, 10_000_000),
      surgeFactor: numberFlag('surge-factor', s('surge-factor'), STRESS_DEFAULTS.surgeFactor, 1, 10_000),
      baseMs: intFlag('base-ms', s('base-ms'), STRESS_DEFAULTS.baseMs, 0),
      surgeMs: intFlag('surge-ms', s('surge-ms'), STRESS_DEFAULTS.surgeMs, 100),
      coolMs: intFlag('cool-ms', s('cool-ms'), STRESS_DEFAULTS.coolMs, 0),
      killEveryMs: intFlag('kill-every-ms', s('kill-every-ms'), STRESS_DEFAULTS.killEveryMs, 0),
      seed: intFlag('seed', s('seed'), STRESS_DEFAULTS.seed, 0, 2 ** 32 - 1),
      drainMs: STRESS_DEFAULTS.drainMs,
      clusterInProcess: values['cluster-in-process'] === true,
      logger,
      write,
    });
    printStress(r);
    return save(r, s('json') ?? join('.reports', `stress-${stamp}.json`), r.ok);
  } catch (err) {
    process.stderr.write(`stress could not run: ${describeError(err)}\n`);
    return 3;
  }
}

function save(report: StressReport | SoakReport, path: string, ok: boolean): number {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  write(`report written to ${path}`);
  const html = `${path.replace(/\.json$/, '')}.html`;
  writeFileSync(html, 'timeline' in report ? stressHtml(report) : soakHtml(report));
  write(`plots written to ${html}`);
  return ok ? 0 : 1;
}

function ms(x: number): string {
  return `${fmt(Math.round(x * 100) / 100)} ms`;
}

function printStress(r: StressReport): void {
  write('');
  write(
    `==== palisade stress bench (${r.options.workers} worker subscribers, ${r.options.askActors} ask actors; local cluster ${r.options.clusterInProcess ? 'in this thread' : 'in its own thread'}) ====`,
  );
  write(
    table(
      ['concurrent operations', 'ops', 'ok', 'failed', 'ops/s', 'p50', 'p99', 'max in flight'],
      r.concurrentOps.map((o) => [
        o.name,
        o.ops,
        o.ok,
        o.ops - o.ok,
        Math.round(o.opsPerSec),
        ms(o.latency.p50),
        ms(o.latency.p99),
        o.maxConcurrent,
      ]),
    ),
  );
  write('');
  const p = r.surge.phases;
  write(
    table(
      ['surge phase', 'target/s', 'achieved/s', 'published', 'seconds'],
      (['base', 'surge', 'cool'] as const).map((k) => [
        k,
        Math.round(p[k].targetRate),
        Math.round(p[k].achievedRate),
        p[k].published,
        Math.round(p[k].durationMs / 100) / 10,
      ]),
    ),
  );
  write('');
  write(
    table(
      ['priority', 'attempted', 'accepted', 'refused', 'handler runs', 'failed', 'dropped'],
      (['critical', 'normal', 'low'] as const).map((k) => {
        const x = r.surge.byPriority[k];
        return [k, x.attempted, x.accepted, x.refused, x.delivered, x.failed, x.dropped];
      }),
    ),
  );
  write(
    `drops by reason: ${
      Object.entries(r.surge.droppedByReason)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ') || 'none'
    }; drained in ${ms(r.surge.drainedInMs)}`,
  );
  write(
    `publish→handler: inline p50 ${ms(r.surge.latency.inline.p50)} p99 ${ms(r.surge.latency.inline.p99)}; worker (to done) p50 ${ms(r.surge.latency.worker.p50)} p99 ${ms(r.surge.latency.worker.p99)}`,
  );
  write('');
  write(
    table(
      ['subscriber', 'kind', 'owed', 'delivered', 'failed', 'dropped', 'unaccounted', 'restarts', 'state'],
      r.subscribers.map((x) => [
        x.name,
        x.kind,
        x.owed,
        x.delivered,
        x.failed,
        x.dropped,
        x.unaccounted,
        x.restarts,
        x.state,
      ]),
    ),
  );
  write('');
  write(
    `kills: ${r.kills.injected} injected ${JSON.stringify(r.kills.byKind)} (${r.kills.notRunning} skipped: worker not running at that moment); recovered ${r.kills.recovered}, kill → running again p50 ${ms(r.kills.recovery.p50)} p99 ${ms(r.kills.recovery.p99)} max ${ms(r.kills.recovery.max)}`,
  );
  write(
    `runtime: ${r.runtime.actors} actors, ${r.runtime.restarts} restarts, ${r.runtime.crashes} crashes, ${r.runtime.quarantined} quarantined, dead letters ${r.runtime.deadLetters} ${JSON.stringify(r.runtime.deadLettersByReason)}`,
  );
  write(
    `memory: rss ${r.memory.rssStartMb} → peak ${r.memory.rssPeakMb} → ${r.memory.rssEndMb} MB; heap ${r.memory.heapStartMb} → peak ${r.memory.heapPeakMb} → ${r.memory.heapEndMb} MB`,
  );
  write('');
  for (const c of r.checks) write(formatCheck(c));
  write(summaryLine(r.checks));
}

function printSoak(r: SoakReport): void {
  write('');
  write(
    `==== palisade soak: ${fmt(r.events)} events in ${fmt(Math.round(r.durationMs / 100) / 10)} s (${fmt(r.eventsPerSec)}/s) ====`,
  );
  write(
    table(
      ['t (s)', 'events', 'rss MB', 'heap MB'],
      r.memory.series.map((x) => [Math.round(x.atMs / 100) / 10, x.events, x.rssMb, x.heapMb]),
    ),
  );
  write(
    `after warm-up (${Math.round(r.options.warmupShare * 100)}% of events), first half → second half: rss floor ${r.memory.baselineRssMb} → ${r.memory.finalRssMb} MB (medians ${r.memory.medianRssMb[0]} → ${r.memory.medianRssMb[1]} MB), heap floor ${r.memory.baselineHeapMb} → ${r.memory.finalHeapMb} MB; peak rss ${r.memory.peakRssMb} MB; ${r.memory.gcBeforeSample ? 'a full GC before each sample' : 'no forced GC (run with node --expose-gc for exact floors)'}`,
  );
  write(
    `growth: rss floor ${r.memory.rssGrowthPercent}%, heap floor ${r.memory.heapGrowthPercent}%; drops ${JSON.stringify(r.droppedByReason)}`,
  );
  write('');
  for (const c of r.checks) write(formatCheck(c));
  write(summaryLine(r.checks));
}

process.exit(await main());
