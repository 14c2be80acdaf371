/**
 * The report of a finished run, from the components' own numbers: every critical signal the bus
 * accepted is accounted for per subscriber (handled, dropped with a reason, or lost), refusals are
 * matched between publishers and the bus, order violations are summed, and the RPC, fault, runtime
 * and memory numbers are gathered for `finishReport`.
 */
import { TOPICS } from '../../actors/demo/signals.ts';
import { chainRefusals, edgeReport, type DemoEdge } from './edge.ts';
import { accountSubscribers, dropsAfterAccept } from '../../test/support/bus-accounting.ts';
import { memoryMb } from '../lib/flags.ts';
import type { DemoContext } from './context.ts';
import type { DemoLoad } from './load.ts';
import type { MemorySampler } from './monitor.ts';
import { CRITICAL_LOST_DEFINITION, finishReport, type CriticalAccount, type DemoReport } from './report.ts';
import type { DrainResult } from './shutdown.ts';
import type { DemoStack } from './stack.ts';
import { VALIDATOR, type DemoSubscribers } from './subscribers.ts';
import type { DemoWallet } from './wallet.ts';

/** How the run went, as runDemo saw it. */
export interface RunSummary {
  startedAt: string;
  startupMs: number;
  ranMs: number;
  reason: string;
  rssStartMb: number;
}

export function collectReport(
  ctx: DemoContext,
  stack: DemoStack,
  subs: DemoSubscribers,
  load: DemoLoad,
  wallet: DemoWallet,
  memory: MemorySampler,
  run: RunSummary,
  drain: DrainResult,
  edge?: DemoEdge,
): DemoReport {
  const { o, say } = ctx;
  const { cluster, pool, rpc } = stack;
  const { recorder, acks, executor, nameOf } = subs;
  const { generator, faults, faultsOn, surgeFromMs, surgeToMs } = load;
  const { busStats, supStats } = drain;
  const gen = generator.stats();
  const x = executor.stats();
  const poolStats = pool.getStats();
  const clusterControl = cluster?.controlStats();
  if (clusterControl) {
    say(
      `  cluster control (comlink to the cluster's thread): ${clusterControl.calls} calls, ${clusterControl.failed} refused by the cluster, ${clusterControl.timeouts} timed out, ${clusterControl.rejectedExited} cut by a thread exit; round trip p50 ${clusterControl.latency.p50.toFixed(2)} ms p99 ${clusterControl.latency.p99.toFixed(2)} ms`,
    );
  }
  memory.sample();
  const mem = memoryMb();

  const refused: Record<string, number> = {};
  for (const [t, c] of Object.entries(gen.byTopic)) refused[t] = c.refused;
  for (const [t, c] of Object.entries(drain.poolPublishedAtClose)) refused[t] = c.refused;
  if (edge) Object.assign(refused, chainRefusals(edge));
  const subscribers = accountSubscribers(busStats, refused, nameOf);
  // The publishers' own count of refusals must match what the bus says it refused.
  const refusalMismatches = busStats.topics
    .filter((t) => refused[t.topic] !== undefined && typeof t.refused === 'number' && t.refused !== refused[t.topic])
    .map((t) => `${t.topic}: publisher saw ${refused[t.topic]} refusals, bus counted ${t.refused}`);

  const accepted = generator.acceptedTrades;
  const tradePostAccept = dropsAfterAccept(busStats, TOPICS.trade, refused[TOPICS.trade] ?? 0);
  const critical: CriticalAccount[] = subscribers
    .filter((s) => s.topic === TOPICS.trade)
    .map((s) => {
      let seen: Set<number>;
      let redelivered = 0;
      if (s.name === VALIDATOR) {
        const a = acks.record(VALIDATOR);
        seen = a.seen;
        redelivered = a.redelivered;
      } else if (s.name === 'trade-executor') seen = executor.tradesSeen;
      else seen = recorder.tradesSeen;
      let handled = 0;
      for (const q of accepted) if (seen.has(q)) handled++;
      const dropped = s.dropped + tradePostAccept;
      return {
        name: s.name,
        kind: s.kind,
        handled,
        redelivered,
        droppedWithReason: dropped,
        lost: Math.max(0, accepted.size - handled - dropped),
      };
    });

  const workerReported: Record<string, number> = {};
  for (const [name, rec] of acks.bySubscriber) workerReported[name] = rec.orderViolations;
  const orderViolations = recorder.orderViolations() + Object.values(workerReported).reduce((a, b) => a + b, 0);

  const pri = (k: 'critical' | 'normal' | 'low') => ({
    attempted: gen.byPriority[k].attempted,
    accepted: gen.byPriority[k].accepted,
    refused: gen.byPriority[k].refused,
    delivered: busStats.byPriority[k].delivered,
    failed: busStats.byPriority[k].failed,
    dropped: busStats.byPriority[k].dropped,
  });
  const dropsByReason: Record<string, number> = {};
  for (const [k, v] of Object.entries(busStats.dropped)) if (v > 0) dropsByReason[k] = v;

  return finishReport({
    mode: o.real ? 'real' : 'local',
    startedAt: run.startedAt,
    durationMs: o.durationMs,
    ranMs: run.ranMs,
    startupMs: run.startupMs,
    shutdown: {
      reason: run.reason,
      drainMs: o.drainMs,
      drainedInMs: drain.drainedInMs,
      droppedAtClose: drain.droppedAtClose,
      notDrained: drain.notDrained,
    },
    options: {
      rate: o.rate,
      surgeFactor: o.surgeFactor,
      faults: faultsOn,
      seed: o.seed,
      txPerSec: o.txPerSec,
      cluster: cluster?.mode ?? 'none',
    },
    signals: {
      byPriority: { critical: pri('critical'), normal: pri('normal'), low: pri('low') },
      byTopic: gen.byTopic,
      droppedByReason: dropsByReason,
      droppedTotal: busStats.droppedEvents,
      publishErrors: gen.errors,
      refusalMismatches,
      surge: { factor: o.surgeFactor, fromMs: surgeFromMs, toMs: surgeToMs, peakRate: o.rate * o.surgeFactor },
    },
    critical: {
      definition: CRITICAL_LOST_DEFINITION,
      accepted: accepted.size,
      refusedAtPublish: gen.byPriority.critical.refused,
      lost: critical.reduce((a, s) => a + s.lost, 0),
      subscribers: critical,
    },
    subscribers,
    ordering: {
      violations: orderViolations,
      byTopic: recorder.snapshot(),
      workerReported,
      slotUpdatesShuffled: gen.slotsShuffled,
      gapsSkipped: busStats.topics.reduce((a, t) => a + t.gaps, 0),
    },
    latency: { inline: busStats.latency, worker: busStats.workerLatency, sampleEvery: busStats.latency.sampleEvery },
    rpc: {
      calls: rpc.calls,
      ok: rpc.ok,
      failed: { ...rpc.failed, ...(rpc.callerErrors ? { caller_errors: rpc.callerErrors } : {}) },
      failovers: poolStats.failovers,
      endpoints: poolStats.endpoints.map((e) => ({
        name: e.name,
        state: e.state,
        calls: e.calls,
        successes: e.successes,
        failures: e.failures,
        failuresByClass: Object.fromEntries(Object.entries(e.failuresByClass).filter(([, v]) => v > 0)),
        p50: e.latency.p50,
        p99: e.latency.p99,
      })),
    },
    faults: { enabled: faultsOn, ...faults.report() },
    transactions: { ...x, wallet: wallet.wallet, ...(wallet.walletNote ? { note: wallet.walletNote } : {}) },
    ...(edge ? { edge: edgeReport(edge) } : {}),
    runtime: {
      restarts: supStats.restarts,
      crashes: supStats.crashes,
      quarantined: supStats.quarantined,
      deadLetters: supStats.deadLetters,
      deadLettersByReason: supStats.deadLettersByReason as Record<string, number>,
      actors: supStats.actors.map((a) => ({
        name: a.name,
        state: a.state,
        incarnation: a.incarnation,
        restarts: a.restarts,
        crashes: a.crashes,
        processed: a.processed,
        deadLetters: a.deadLetters,
      })),
    },
    memory: {
      rssStartMb: run.rssStartMb,
      rssPeakMb: memory.peakRssMb,
      rssEndMb: mem.rssMb,
      heapEndMb: mem.heapUsedMb,
      series: memory.series,
    },
    generator: gen,
  });
}
