/**
 * The cluster demo's report: what happened, each check with the numbers behind it, and a verdict
 * (exit 0 only when every check passed). Built from the ledger the engine holds (what was claimed
 * and traded), the trade ids each process reported, and the processes' 200 ms stats.
 */
import type { ClusterDemoOptions, LedgerEntry } from './run.ts';
import type { FeedStats, TraderStats } from './process.ts';

export interface Timeline {
  t0: number;
  events: { atMs: number; what: string; detail?: string }[];
  trafficStart?: number;
  /** The feed's last sequence as last reported (≤200 ms old) at the kill and at the restart. */
  killSequence?: number;
  killedAt?: number;
  restartedAt?: number;
  restartSequence?: number;
  providerKilledAt?: number;
  providerRevivedAt?: number;
  engineStoppedAt?: number;
  engineRestartedAt?: number;
  sequenceAtEngineRestart?: number;
  feedStoppedAt?: number;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ClusterReport {
  ok: boolean;
  durationMs: number;
  checks: Check[];
  numbers: Record<string, unknown>;
  timeline: Timeline['events'];
  logDir: string;
}

export interface ReportInput {
  options: ClusterDemoOptions;
  timeline: Timeline;
  ledger: Map<string, LedgerEntry>;
  accepted: number;
  lastSequence: number;
  feed: FeedStats | undefined;
  traders: { name: string; stats: TraderStats | undefined }[];
  history: { name: string; at: number; stats: FeedStats | TraderStats }[];
  killedProvider: string;
  providerIndex: number;
  logDir: string;
}

export function buildReport(r: ReportInput): ClusterReport {
  const tl = r.timeline;
  const checks: Check[] = [];
  const numbers: Record<string, unknown> = {};

  // 1. Critical signals lost: accepted by the feed, never claimed by an executor.
  const missing: string[] = [];
  const refusedIds = new Set(r.feed?.refusedIds ?? []);
  for (let i = 1; i <= r.lastSequence; i++)
    if (!r.ledger.has(`t${i}`) && !refusedIds.has(`t${i}`)) missing.push(`t${i}`);
  const refused = r.feed?.tradeRefused ?? 0;
  checks.push({
    name: 'critical signals lost: 0',
    ok: missing.length === 0 && refused === 0 && r.accepted > 0,
    detail: `${r.accepted} trade signals (critical) accepted by the feed, ${r.accepted - missing.length} reached an executor, ${missing.length} lost${missing.length ? ` (${missing.slice(0, 5).join(', ')}…)` : ''}; refused at publish: ${refused}`,
  });

  // 2. Exactly once across the executor group: trades per id as the processes reported them.
  const trades = new Map<string, number>();
  const tradedBy = new Map<string, number>();
  for (const h of r.history) {
    if (h.stats.role !== 'trader') continue;
    for (const id of h.stats.tradedIds) {
      trades.set(id, (trades.get(id) ?? 0) + 1);
      tradedBy.set(h.name, (tradedBy.get(h.name) ?? 0) + 1);
    }
  }
  const doubled = [...trades].filter(([, n]) => n > 1).map(([id]) => id);
  const statuses = { done: 0, claimed: 0, failed: 0 };
  const inDoubt: string[] = [];
  for (const [id, e] of r.ledger) {
    if (e.status === 'done') statuses.done++;
    else if (e.status === 'failed') statuses.failed++;
    else {
      statuses.claimed++;
      inDoubt.push(`${id} by ${e.by}`);
    }
  }
  // A claim left "claimed" is only acceptable from the incarnation killed mid-trade.
  const inDoubtOk = [...r.ledger].every(
    ([, e]) =>
      e.status !== 'claimed' || (e.by === 'trader-1' && tl.killedAt !== undefined && e.seenAt <= tl.killedAt + 1000),
  );
  const refusedDup = sumTraders(r, (s) => s.refusedAsDuplicate);
  checks.push({
    name: 'every trade signal handled exactly once across the executor group',
    ok: doubled.length === 0 && inDoubtOk && statuses.failed === 0,
    detail: `traded once: ${trades.size - doubled.length}, twice or more: ${doubled.length}; per process: ${[...tradedBy].map(([n, c]) => `${n} ${c}`).join(', ')} (trader-1 both incarnations; the killed one's last ≤200 ms of reports are lost with it); redeliveries refused by the ledger: ${refusedDup}; in doubt (claimed by the killed process mid-trade, not re-traded): ${statuses.claimed}${inDoubt.length ? ` [${inDoubt.slice(0, 3).join(', ')}]` : ''}; trades that failed on RPC: ${statuses.failed}`,
  });

  // 3. The restarted process caught up: its risk monitor got what was published while it was dead, with no gap.
  const t1 = r.traders.find((t) => t.name === 'trader-1')?.stats;
  // Resumed from its durable position: its first event was published before it came back (the backlog), and nothing after it is missing.
  const caughtUp =
    t1 !== undefined &&
    tl.restartSequence !== undefined &&
    t1.riskFirstSequence >= 1 &&
    t1.riskFirstSequence <= tl.restartSequence &&
    t1.riskMaxSequence === r.lastSequence &&
    t1.riskReceived === r.lastSequence - t1.riskFirstSequence + 1;
  checks.push({
    name: 'the restarted process caught up',
    ok: caughtUp,
    detail: t1
      ? `trader-1 was killed near sequence ${tl.killSequence} and restarted near ${tl.restartSequence}; its risk monitor resumed from sequence ${t1.riskFirstSequence} (the backlog from its downtime) and saw ${t1.riskReceived} distinct signals up to ${t1.riskMaxSequence} (last published ${r.lastSequence}: ${t1.riskReceived === r.lastSequence - t1.riskFirstSequence + 1 ? 'no gap' : 'GAP'}; redeliveries ignored by sequence: ${t1.riskDuplicates}); its executor claimed ${t1.claimed} after the restart`
      : 'trader-1 sent no stats after its restart',
  });

  // 4. A provider found dead by one process, avoided by all: who reported it OPEN first, who learned it from that report.
  const pi = r.providerIndex;
  const killedAt = tl.providerKilledAt ?? Infinity;
  const views = r.traders.map((t) => {
    const sh = t.stats?.pool.shared;
    const reported = sh?.reportedOpenAt[pi] ?? 0;
    const learned = sh?.learnedOpenAt[pi] ?? 0;
    // The first event after the kill of each kind (the stats carry the latest; the earliest after the kill is in the history).
    const firstAfter = (pick: (s: TraderStats) => number) => {
      for (const h of r.history)
        if (h.name === t.name && h.stats.role === 'trader' && pick(h.stats) >= killedAt) return pick(h.stats);
      return 0;
    };
    const ownAt = reported >= killedAt ? firstAfter((s) => s.pool.shared?.reportedOpenAt[pi] ?? 0) : 0;
    const learnedAt = learned >= killedAt ? firstAfter((s) => s.pool.shared?.learnedOpenAt[pi] ?? 0) : 0;
    const before = lastBefore(r, t.name, killedAt)?.pool.endpoints[pi]?.failures ?? 0;
    const failed = Math.max(0, (t.stats?.pool.endpoints[pi]?.failures ?? 0) - before);
    const learnedFirst = learnedAt > 0 && (ownAt === 0 || learnedAt < ownAt);
    return {
      name: t.name,
      ownAt,
      learnedAt,
      learnedFirst,
      failed,
      propagationMs: firstPropagation(r, t.name, killedAt),
    };
  });
  const finder = views.filter((v) => v.ownAt > 0).sort((a, b) => a.ownAt - b.ownAt)[0];
  const avoiders = views.filter((v) => v.learnedFirst);
  const avoidedByAll = views.every((v) => v.ownAt > 0 || v.learnedAt > 0);
  numbers['providerPropagationMs'] = avoiders.map((v) => ({ process: v.name, ms: v.propagationMs }));
  checks.push({
    name: 'a provider found dead by one process is avoided by all',
    ok: avoidedByAll && finder !== undefined && avoiders.length > 0,
    detail: `${r.killedProvider} killed; ${finder ? `${finder.name} found it dead ${finder.ownAt - killedAt} ms after the kill (its own breaker opened)` : 'no process opened its own breaker'}; ${
      avoiders.length
        ? avoiders
            .map(
              (v) =>
                `${v.name} stopped routing to it on that report, ${v.propagationMs === undefined ? '?' : `${v.propagationMs} ms`} after it was written (${v.learnedAt - killedAt} ms after the kill)${v.ownAt ? `; its own breaker opened later, ${v.ownAt - killedAt} ms after the kill, from probes of its own (the lease's recovery probes, or its prober while the engine was down)` : ', without opening its own breaker'}`,
            )
            .join('; ')
        : 'every process found it dead on its own before the shared report reached it'
    }; failed attempts there after the kill: ${views.map((v) => `${v.name} ${v.failed}`).join(', ')}`,
  });

  // 5. The engine stopped for a few seconds.
  const during = r.history.filter(
    (h) => tl.engineStoppedAt !== undefined && h.at > tl.engineStoppedAt && h.at < (tl.engineRestartedAt ?? Infinity),
  );
  const fallbackSeen = new Set(
    during.filter((h) => h.stats.role === 'trader' && h.stats.pool.shared?.fallback).map((h) => h.name),
  );
  const outboxPeak = Math.max(
    0,
    ...during.filter((h) => h.stats.role === 'feed').map((h) => (h.stats as FeedStats).engine.outboxDepth),
  );
  const traded = during
    .filter((h) => h.stats.role === 'trader')
    .reduce((a, h) => a + (h.stats as TraderStats).tradedIds.length, 0);
  const upAgain = r.traders.every((t) => t.stats?.pool.shared?.connected && t.stats.engine.connected);
  let catchUpMs: number | undefined;
  if (tl.engineRestartedAt !== undefined && tl.sequenceAtEngineRestart !== undefined) {
    let last = 0;
    let all = true;
    for (let i = 1; i <= tl.sequenceAtEngineRestart; i++) {
      const e = r.ledger.get(`t${i}`);
      if (!e) all = !refusedIds.has(`t${i}`) ? false : all;
      else if (e.seenAt > last) last = e.seenAt;
    }
    if (all) catchUpMs = Math.max(0, last - tl.engineRestartedAt);
  }
  numbers['engineDown'] = { outboxPeak, tradedWhileDown: traded, catchUpMs, fallback: [...fallbackSeen] };
  checks.push({
    name: 'engine down: each process fell back to its own view and caught up after',
    ok: fallbackSeen.size === r.traders.length && upAgain && catchUpMs !== undefined,
    detail: `stopped ${(r.options.engineDownMs / 1000).toFixed(1)} s: the feed held up to ${outboxPeak} signals in its outbox (refused: ${refused}); trading processes on their own endpoint view: ${[...fallbackSeen].join(', ') || 'none'}; trades completed while down: ${traded} (claimed before the stop; a new claim needs the engine's ledger, so executors waited for it); after the restart every signal published before it was claimed within ${catchUpMs === undefined ? '— (not all)' : `${(catchUpMs / 1000).toFixed(2)} s`}; all reconnected: ${upAgain}`,
  });

  const ok = checks.every((c) => c.ok);
  numbers['accepted'] = r.accepted;
  numbers['ticks'] = r.feed?.ticksAccepted;
  numbers['ledger'] = statuses;
  return { ok, durationMs: Date.now() - tl.t0, checks, numbers, timeline: tl.events, logDir: r.logDir };
}

/** Sums a counter over each process incarnation's last stats (trader-1 has two: before the kill and after the restart). */
function sumTraders(r: ReportInput, f: (s: TraderStats) => number): number {
  const lastOf = new Map<string, TraderStats>();
  for (const h of r.history) {
    if (h.stats.role !== 'trader') continue;
    const second = h.name === 'trader-1' && r.timeline.restartedAt !== undefined && h.at >= r.timeline.restartedAt;
    lastOf.set(`${h.name}#${second ? 2 : 1}`, h.stats);
  }
  let total = 0;
  for (const s of lastOf.values()) total += f(s);
  return total;
}

/** The propagation time of the first OPEN report a process applied after `at` (its stats keep the latest). */
function firstPropagation(r: ReportInput, name: string, at: number): number | undefined {
  for (const h of r.history) {
    if (h.name !== name || h.stats.role !== 'trader') continue;
    const sh = h.stats.pool.shared;
    if (sh?.learnedOpenAt.some((t) => t >= at)) return sh.lastPropagationMs;
  }
  return undefined;
}

function lastBefore(r: ReportInput, name: string, at: number): TraderStats | undefined {
  let found: TraderStats | undefined;
  for (const h of r.history) if (h.name === name && h.at < at && h.stats.role === 'trader') found = h.stats;
  return found;
}

export function formatReport(rep: ClusterReport): string {
  const lines = [
    '',
    `palisade cluster demo — ${rep.ok ? 'PASS' : 'FAIL'} in ${(rep.durationMs / 1000).toFixed(1)} s`,
    '',
  ];
  for (const c of rep.checks) lines.push(`  ${c.ok ? '✓' : '✗'} ${c.name}`, `      ${c.detail}`);
  lines.push('', `  process logs: ${rep.logDir}`);
  return lines.join('\n');
}
