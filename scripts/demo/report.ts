/**
 * The demo's end-of-run report: what it holds, the checks that decide the exit code, and the
 * text a person reads. Every number comes from the components' own stats or from the demo's
 * independent bookkeeping (generator, recorder, worker acks), never from assumptions.
 */
import type { LatencySummary } from '../../src/stats/latency.ts';
import type { SubscriberAccount } from '../../test/support/bus-accounting.ts';
import { exitCodeOf, formatCheck, summaryLine, type CheckResult } from '../../test/support/checks.ts';
import type { ExecutorStats } from './executor.ts';
import type { FaultReport } from './faults.ts';
import type { GeneratorStats } from './generator.ts';
import type { TopicRecord } from './recorder.ts';

import type { Priority } from '../../src/runtime/index.ts';
export type { Priority };
export type { SubscriberAccount };

export const CRITICAL_LOST_DEFINITION =
  'an accepted critical signal (publish returned true) that some subscriber of its topic neither handled nor had ' +
  'counted as a drop with a reason; per subscriber: lost = accepted − distinct sequences it handled − its counted drops (never below 0)';

export interface CriticalAccount {
  name: string;
  kind: 'inline' | 'worker';
  /** Distinct accepted critical sequences this subscriber reported handling (independent of bus stats). */
  handled: number;
  /** Handled again after a worker restart (at-least-once delivery); not a loss. */
  redelivered: number;
  /** Drops the bus counted for this subscriber, with their reasons (all critical on this topic). */
  droppedWithReason: number;
  lost: number;
}

export interface DemoReport {
  mode: 'local' | 'real';
  startedAt: string;
  /** Requested run length and what really elapsed from first signal to intake stop. */
  durationMs: number;
  ranMs: number;
  startupMs: number;
  shutdown: {
    reason: string;
    drainMs: number;
    drainedInMs: number;
    droppedAtClose: number;
    notDrained: { name: string; depth: number; state: string }[];
  };
  /** cluster: where the local cluster ran ('worker': its own thread behind comlink; 'none': real providers). */
  options: {
    rate: number;
    surgeFactor: number;
    faults: boolean;
    seed: number;
    txPerSec: number;
    cluster?: 'worker' | 'in-process' | 'none';
  };
  signals: {
    byPriority: Record<
      Priority,
      { attempted: number; accepted: number; refused: number; delivered: number; failed: number; dropped: number }
    >;
    byTopic: Record<string, { attempted: number; accepted: number; refused: number }>;
    droppedByReason: Record<string, number>;
    droppedTotal: number;
    publishErrors: number;
    /** Topics where the publisher's count of refusals differs from the bus's (should be none). */
    refusalMismatches: string[];
    surge: { factor: number; fromMs: number; toMs: number; peakRate: number };
  };
  critical: {
    definition: string;
    accepted: number;
    refusedAtPublish: number;
    lost: number;
    subscribers: CriticalAccount[];
  };
  subscribers: SubscriberAccount[];
  ordering: {
    violations: number;
    byTopic: Record<string, TopicRecord>;
    workerReported: Record<string, number>;
    slotUpdatesShuffled: number;
    gapsSkipped: number;
  };
  latency: { inline: LatencySummary; worker: LatencySummary; sampleEvery: number };
  rpc: {
    calls: number;
    ok: number;
    failed: Record<string, number>;
    failovers: number;
    endpoints: {
      name: string;
      state: string;
      calls: number;
      successes: number;
      failures: number;
      failuresByClass: Record<string, number>;
      p50: number;
      p99: number;
    }[];
  };
  faults: FaultReport & { enabled: boolean };
  transactions: ExecutorStats & { wallet: string; note?: string };
  /** The Solana edge: the landing path the transfers took, and the chain source's resilient subscription. */
  edge?: {
    landing: {
      results: Record<string, number>;
      broadcasts: number;
      timeToLand: { p50: number; p99: number; count: number };
      sends: { name: string; state: string; accepted: number; failures: number; skipped: number }[];
      blockhashRefreshFailures: number;
    };
    chainSource: {
      published: number;
      received: number;
      outOfSequence: number;
      sequenceBreaks: number;
      resumes: number;
      failovers: number;
      resubscriptions: number;
      backfilled: number;
      duplicatesDropped: number;
    } | null;
  };
  runtime: {
    restarts: number;
    crashes: number;
    quarantined: number;
    deadLetters: number;
    deadLettersByReason: Record<string, number>;
    actors: {
      name: string;
      state: string;
      incarnation: number;
      restarts: number;
      crashes: number;
      processed: number;
      deadLetters: number;
    }[];
  };
  memory: {
    rssStartMb: number;
    rssPeakMb: number;
    rssEndMb: number;
    heapEndMb: number;
    series: { atMs: number; rssMb: number; heapMb: number }[];
  };
  generator: GeneratorStats;
  checks: CheckResult[];
  ok: boolean;
}

/** The checks the run must meet; decided from the report alone. */
export function evaluateChecks(r: Omit<DemoReport, 'checks' | 'ok'>): CheckResult[] {
  const out: CheckResult[] = [];
  const add = (name: string, ok: boolean, detail: string): void => void out.push({ name, ok, detail });
  const skip = (name: string, why: string): void => void out.push({ name, ok: true, skipped: true, detail: why });

  const lostBy = r.critical.subscribers.filter((s) => s.lost > 0).map((s) => `${s.name}: ${s.lost}`);
  add(
    'critical signals lost = 0',
    r.critical.lost === 0 && r.critical.accepted > 0,
    r.critical.accepted === 0
      ? 'no critical signal was accepted, nothing was tested'
      : `${r.critical.accepted} accepted, ${r.critical.subscribers.length} subscribers, lost ${r.critical.lost}${lostBy.length ? ` (${lostBy.join(', ')})` : ''}`,
  );

  const unaccounted = r.subscribers.filter((s) => s.unaccounted !== 0).map((s) => `${s.name}: ${s.unaccounted}`);
  const reasonSum = Object.values(r.signals.droppedByReason).reduce((a, b) => a + b, 0);
  const genMismatch = Object.entries(r.signals.byTopic).filter(([, t]) => t.attempted !== t.accepted + t.refused);
  add(
    'every drop counted with a reason',
    unaccounted.length === 0 &&
      reasonSum === r.signals.droppedTotal &&
      r.signals.publishErrors === 0 &&
      genMismatch.length === 0 &&
      r.signals.refusalMismatches.length === 0,
    unaccounted.length
      ? `events not accounted for: ${unaccounted.join(', ')}`
      : r.signals.publishErrors
        ? `${r.signals.publishErrors} publish calls threw`
        : r.signals.refusalMismatches.length
          ? r.signals.refusalMismatches.join('; ')
          : `${r.signals.droppedTotal} drops, all with a reason; every subscriber's owed = delivered + failed + dropped; refusals match the publishers' counts`,
  );

  const nd = r.shutdown.notDrained;
  add(
    'subscribers drained by the deadline',
    nd.length === 0,
    nd.length === 0
      ? `every subscriber finished its backlog; drained in ${r.shutdown.drainedInMs} ms`
      : `still queued after ${r.shutdown.drainMs} ms: ${nd.map((x) => `${x.name} ${x.depth} (${x.state})`).join(', ')} — dropped at close, counted BUS_CLOSED`,
  );

  add(
    'ordering violations = 0',
    r.ordering.violations === 0,
    `${r.ordering.violations} violations; ${r.ordering.slotUpdatesShuffled} slot updates published out of order on purpose and delivered in order`,
  );

  if (r.transactions.wallet === 'none')
    skip('at least one transaction confirmed', r.transactions.note ?? 'no funded wallet');
  else
    add(
      'at least one transaction confirmed',
      r.transactions.confirmed >= 1,
      `${r.transactions.confirmed} confirmed of ${r.transactions.started} sent`,
    );

  const src = r.edge?.chainSource;
  if (src) {
    add(
      'chain source in sequence',
      src.sequenceBreaks === 0 && src.outOfSequence === 0 && (r.transactions.confirmed === 0 || src.published >= 1),
      `${src.published} published, ${src.sequenceBreaks} sequence breaks, ${src.outOfSequence} received out of sequence, ${src.resumes} actor resumes`,
    );
  }

  if (!r.faults.enabled) {
    skip(
      'failover under the provider kill',
      r.mode === 'real' ? 'no local fault injection against real providers' : '--no-faults',
    );
    skip(
      'killed provider recovered',
      r.mode === 'real' ? 'no local fault injection against real providers' : '--no-faults',
    );
    skip(
      'all restarts recovered',
      r.mode === 'real' ? 'no local fault injection against real providers' : '--no-faults',
    );
  } else {
    const outages = r.faults.outages;
    const failedOver = outages.length > 0 && outages.every((o) => o.breakerOpenMs !== null || o.callsAfterKill === 0);
    add(
      'failover under the provider kill',
      failedOver && outages.every((o) => o.failedCallsDuringOutage === 0),
      outages.length === 0
        ? 'no provider was killed'
        : outages
            .map(
              (o) =>
                `${o.provider}: last call routed to it ${o.lastRoutedAfterKillMs ?? 0} ms after the kill (${o.callsAfterKill} calls), breaker open after ${o.breakerOpenMs ?? '-'} ms, user-visible failed calls during the outage ${o.failedCallsDuringOutage}`,
            )
            .join('; '),
    );
    const revived = outages.filter((o) => o.revivedAtMs !== null);
    add(
      'killed provider recovered',
      revived.length > 0 && revived.every((o) => o.recoveryMs !== null),
      revived.length === 0
        ? 'no provider was revived'
        : revived
            .map(
              (o) =>
                `${o.provider}: ${o.recoveryMs === null ? 'not CLOSED and serving by the end' : `CLOSED and serving ${o.recoveryMs} ms after revive`}`,
            )
            .join('; '),
    );
    const recs = r.faults.actorRecoveries;
    const failedSteps = r.faults.timeline.filter((t) => !t.ok);
    add(
      'all restarts recovered',
      recs.length > 0 &&
        recs.every((x) => x.recoveredMs !== null) &&
        r.runtime.quarantined === 0 &&
        failedSteps.length === 0,
      [
        recs
          .map(
            (x) =>
              `${x.actor} ${x.crash}: ${x.recoveredMs === null ? 'NOT recovered' : `detected ${x.detectedMs} ms, running again ${x.recoveredMs} ms`}`,
          )
          .join('; '),
        r.runtime.quarantined ? `${r.runtime.quarantined} actors quarantined` : '',
        failedSteps.length ? `fault steps failed: ${failedSteps.map((t) => `${t.step} (${t.detail})`).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ') || 'no actor fault was injected',
    );
  }
  return out;
}

export function finishReport(r: Omit<DemoReport, 'checks' | 'ok'>): DemoReport {
  const checks = evaluateChecks(r);
  return { ...r, checks, ok: exitCodeOf(checks) === 0 };
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number): string => (Number.isFinite(x) ? (x < 1 ? x.toFixed(3) : x.toFixed(2)) : '-');
const n = (x: number): string => x.toLocaleString('en-US');

export function formatReport(r: DemoReport): string {
  const L: string[] = [];
  const p = r.signals.byPriority;
  L.push('');
  L.push(
    `==== palisade demo report (${r.mode}${r.options.cluster === 'worker' ? ', cluster in its own thread' : r.options.cluster === 'in-process' ? ', cluster in this thread' : ''}) ====`,
  );
  L.push(
    `run ${f1(r.ranMs / 1000)} s of ${f1(r.durationMs / 1000)} s requested; start-up ${f1(r.startupMs / 1000)} s; stopped by ${r.shutdown.reason}; drained in ${r.shutdown.drainedInMs} ms (deadline ${r.shutdown.drainMs} ms, ${r.shutdown.droppedAtClose} dropped at close)`,
  );
  if (r.shutdown.notDrained.length)
    L.push(
      `  not drained by the deadline: ${r.shutdown.notDrained.map((x) => `${x.name} (${x.depth} queued, ${x.state})`).join(', ')}`,
    );
  L.push(
    `surge ×${r.options.surgeFactor} from ${f1(r.signals.surge.fromMs / 1000)} s to ${f1(r.signals.surge.toMs / 1000)} s (peak target ${n(Math.round(r.signals.surge.peakRate))} ev/s), seed ${r.options.seed}`,
  );
  L.push('');
  L.push('signals        attempted   accepted    refused  handler runs   failed    dropped');
  for (const k of ['critical', 'normal', 'low'] as const) {
    const s = p[k];
    L.push(
      `  ${k.padEnd(10)} ${n(s.attempted).padStart(11)} ${n(s.accepted).padStart(10)} ${n(s.refused).padStart(10)} ${n(s.delivered).padStart(13)} ${n(s.failed).padStart(8)} ${n(s.dropped).padStart(10)}`,
    );
  }
  const reasons = Object.entries(r.signals.droppedByReason).filter(([, v]) => v > 0);
  L.push(`  drops by reason: ${reasons.length ? reasons.map(([k, v]) => `${k} ${n(v)}`).join(', ') : 'none'}`);
  L.push(`  (handler runs and drops count once per subscriber; refusals once per event)`);
  L.push('');
  L.push(
    `critical lost: ${r.critical.lost} of ${n(r.critical.accepted)} accepted (${r.critical.refusedAtPublish} refused at publish)`,
  );
  for (const s of r.critical.subscribers) {
    L.push(
      `  ${s.name.padEnd(18)} ${s.kind.padEnd(6)} handled ${n(s.handled)}  dropped with reason ${n(s.droppedWithReason)}  redelivered ${s.redelivered}  lost ${s.lost}`,
    );
  }
  L.push(`  definition: ${r.critical.definition}`);
  L.push('');
  L.push('subscribers (owed = delivered + failed + dropped + queued)');
  for (const s of r.subscribers) {
    L.push(
      `  ${s.name.padEnd(18)} ${s.kind.padEnd(6)} ${s.topic.padEnd(20)} owed ${n(s.owed).padStart(9)} delivered ${n(s.delivered).padStart(9)} failed ${s.failed} dropped ${n(s.dropped)} queued ${s.queuedAtEnd}  ${s.state}${s.restarts ? `, ${s.restarts} restarts` : ''}${s.quarantines ? `, ${s.quarantines} quarantines` : ''}${s.unaccounted ? `  UNACCOUNTED ${s.unaccounted}` : ''}`,
    );
  }
  L.push('');
  L.push(
    `ordering: ${r.ordering.violations} violations; ${r.ordering.slotUpdatesShuffled} slot updates published swapped and restored by the bus; ${r.ordering.gapsSkipped} gaps skipped`,
  );
  L.push(
    `latency publish→handler: inline p50 ${f2(r.latency.inline.p50)} ms p99 ${f2(r.latency.inline.p99)} ms; worker (to done) p50 ${f2(r.latency.worker.p50)} ms p99 ${f2(r.latency.worker.p99)} ms (every ${r.latency.sampleEvery}th event)`,
  );
  L.push('');
  L.push(
    `rpc: ${n(r.rpc.calls)} calls, ${n(r.rpc.ok)} ok, failed ${JSON.stringify(r.rpc.failed)}, ${n(r.rpc.failovers)} failovers`,
  );
  for (const e of r.rpc.endpoints) {
    const fails = Object.entries(e.failuresByClass)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    L.push(
      `  ${e.name.padEnd(18)} ${e.state.padEnd(9)} calls ${n(e.calls).padStart(7)} ok ${n(e.successes).padStart(7)} p50 ${f2(e.p50)} ms p99 ${f2(e.p99)} ms${fails ? `  failures: ${fails}` : ''}`,
    );
  }
  if (r.faults.enabled) {
    L.push('');
    L.push('faults');
    for (const t of r.faults.timeline)
      L.push(
        `  ${f1(t.atMs / 1000).padStart(6)} s  ${t.ok ? '' : 'FAILED '}${t.step}${t.detail ? ` — ${t.detail}` : ''}`,
      );
    for (const o of r.faults.outages) {
      L.push(
        `  failover ${o.provider}: last call routed to it ${o.lastRoutedAfterKillMs ?? 0} ms after the kill (${o.callsAfterKill} calls, each failed over at once); breaker open after ${o.breakerOpenMs ?? '-'} ms; user-visible failed calls ${o.failedCallsDuringOutage}`,
      );
      L.push(
        `  recovery ${o.provider}: ${o.recoveryMs === null ? 'not seen' : `${o.recoveryMs} ms from revive to CLOSED and serving`}`,
      );
    }
  }
  L.push('');
  const t = r.transactions;
  const skipped = Object.entries(t.skipped)
    .map(([k, v]) => `${k} ${n(v ?? 0)}`)
    .join(', ');
  L.push(
    `transactions (${t.wallet}): ${t.started} sent, ${t.confirmed} confirmed, failed ${JSON.stringify(t.failed)}; signal→confirmed p50 ${f1(t.signalToConfirmed.p50)} ms p99 ${f1(t.signalToConfirmed.p99)} ms`,
  );
  L.push(
    `  trade signals seen ${n(t.seen)}, valid ${n(t.valid)}, invalid ${JSON.stringify(t.invalid)}, skipped: ${skipped || 'none'}${t.note ? `; ${t.note}` : ''}`,
  );
  if (t.lastSignatures.length) L.push(`  last signature ${t.lastSignatures.at(-1)}`);
  if (r.edge) {
    const e = r.edge.landing;
    L.push(
      `  landing path: ${Object.entries(e.results)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}; ${e.broadcasts} broadcast rounds; send→landed p50 ${f1(e.timeToLand.p50)} ms p99 ${f1(e.timeToLand.p99)} ms`,
    );
    L.push(
      `  send class: ${e.sends.map((x) => `${x.name} ${x.state} accepted ${x.accepted} failed ${x.failures} skipped ${x.skipped}`).join('; ')}`,
    );
    const c = r.edge.chainSource;
    if (c) {
      L.push(
        `chain source (actor, resilient logs subscription on the wallet): ${c.published} published, ${c.received} received in sequence order (${c.outOfSequence} out of sequence), ${c.sequenceBreaks} sequence breaks, ${c.resumes} actor resumes`,
      );
      L.push(
        `  subscription: ${c.failovers} failovers, ${c.resubscriptions} resubscriptions elsewhere, ${c.backfilled} backfilled, ${c.duplicatesDropped} duplicates dropped`,
      );
    }
  }
  L.push('');
  const rt = r.runtime;
  L.push(
    `runtime: ${rt.restarts} restarts, ${rt.crashes} crashes, ${rt.quarantined} quarantined, ${rt.deadLetters} dead letters ${JSON.stringify(rt.deadLettersByReason)}`,
  );
  L.push(
    `memory: rss ${f1(r.memory.rssStartMb)} MB at start, peak ${f1(r.memory.rssPeakMb)} MB, ${f1(r.memory.rssEndMb)} MB at end; heap ${f1(r.memory.heapEndMb)} MB`,
  );
  L.push('');
  for (const c of r.checks) L.push(formatCheck(c));
  L.push(summaryLine(r.checks));
  return L.join('\n');
}
