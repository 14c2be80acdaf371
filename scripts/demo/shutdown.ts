/**
 * The graceful shutdown: stop the intake (nothing is published after it), let the executor and
 * the bus drain within --drain-ms, freeze the counts the report needs, close the bus, and wait
 * (bounded) for the worker acks still on their way. What did not drain is logged and reported.
 */
import type { SignalBusStats } from '../../src/bus/index.ts';
import type { SupervisorStats } from '../../src/runtime/index.ts';
import { sleep, waitFor } from '../../test/support/wait.ts';
import type { DemoContext } from './context.ts';
import type { DemoLoad } from './load.ts';
import type { DemoStack } from './stack.ts';
import { VALIDATOR, type DemoSubscribers } from './subscribers.ts';
import type { LiveView } from './view.ts';
import type { DemoWallet } from './wallet.ts';

export interface DrainResult {
  drainedInMs: number;
  /** Events the bus dropped as BUS_CLOSED during the drain. */
  droppedAtClose: number;
  notDrained: { name: string; depth: number; state: string }[];
  /** The runtime's numbers before the bus closed its worker subscribers. */
  supStats: SupervisorStats;
  /** The bus's numbers after close. */
  busStats: SignalBusStats;
  /** The pool's publish counts, frozen with the bus's. */
  poolPublishedAtClose: Record<string, { accepted: number; refused: number }>;
}

export async function drainGracefully(
  ctx: DemoContext,
  stack: DemoStack,
  subs: DemoSubscribers,
  load: DemoLoad,
  wallet: DemoWallet,
  view: LiveView | null,
  reason: string,
): Promise<DrainResult> {
  const { o, clock, logger, timers, say } = ctx;
  const { bus, supervisor } = stack;
  const { executor, acks, nameOf } = subs;
  load.generator.stop(); // intake stops here: nothing is published after this line
  timers.clearAll();
  view?.stop();
  view?.draw();
  say(`stopping (${reason}): intake stopped; draining within ${o.drainMs} ms ...`);
  const drainT0 = clock.now();
  const dropsBeforeClose = bus.getStats().dropped.BUS_CLOSED;
  await executor.drain(o.drainMs);
  const sig = wallet.sender?.signerStats();
  if (sig) {
    const failures = Object.entries(sig.failed).filter(([, n]) => n > 0);
    say(
      `  signing off-thread (piscina): ${sig.signed} signed, call→signature p50 ${sig.latency.p50.toFixed(2)} ms p99 ${sig.latency.p99.toFixed(2)} ms, failed ${failures.length ? JSON.stringify(Object.fromEntries(failures)) : 'none'}, workers started ${sig.workersStarted}`,
    );
  }
  const left = Math.max(0, o.drainMs - (clock.now() - drainT0));
  // Final bus numbers are read before close(): close stops the worker subscribers.
  await waitFor(() => busIdle(bus.getStats()), left, 'the bus to drain').catch(() => undefined);
  load.faults.stop();
  const busStatsBeforeClose = bus.getStats();
  const notDrained = busStatsBeforeClose.subscribers
    .filter((x) => x.mailboxDepth > 0)
    .map((x) => ({ name: nameOf(x.id), depth: x.mailboxDepth, state: x.state }));
  if (notDrained.length) {
    const actors = supervisor.getStats().actors.filter((a) => notDrained.some((n) => n.name === a.name));
    const runtimeView = actors.map((a) => ({
      name: a.name,
      state: a.state,
      incarnation: a.incarnation,
      mailboxDepth: a.mailboxDepth,
      inFlight: a.inFlight,
      accepted: a.accepted,
      processed: a.processed,
      heartbeats: a.heartbeats,
    }));
    logger.warn({ notDrained, runtimeView }, 'demo: subscribers still had events queued at the drain deadline');
  }
  const supStats = supervisor.getStats();
  await bus.close({ timeoutMs: Math.max(0, o.drainMs - (clock.now() - drainT0)) });
  stack.busState.closed = true;
  const drainedInMs = clock.now() - drainT0;
  const busStats = bus.getStats();
  // The pool keeps publishing (probes, state changes) until it is closed: freeze its counts with the bus's.
  const poolPublishedAtClose = Object.fromEntries(Object.entries(stack.poolPublished).map(([k, v]) => [k, { ...v }]));
  const droppedAtClose = busStats.dropped.BUS_CLOSED - dropsBeforeClose;
  // A worker's ack is posted before its handler returns, but on another channel than the
  // runtime's outcome: wait (bounded) until every processed critical event's ack has arrived.
  const validatorSub = busStatsBeforeClose.subscribers.find((s) => nameOf(s.id) === VALIDATOR);
  await waitFor(() => acks.record(VALIDATOR).handled >= (validatorSub?.delivered ?? 0), 2000, 'worker acks').catch(
    () => undefined,
  );
  await sleep(20);
  return { drainedInMs, droppedAtClose, notDrained, supStats, busStats, poolPublishedAtClose };
}

/** Nothing queued on any topic and nothing waiting in or handed to any subscriber. */
function busIdle(s: SignalBusStats): boolean {
  return s.topics.every((t) => t.depth === 0) && s.subscribers.every((x) => x.mailboxDepth === 0);
}
