/**
 * The run's load and fault schedule: the signal generator with its surge, the fault runner over
 * the providers and the worker subscribers, and the background RPC traffic (a slot poll that
 * feeds the generator, and a mix of reads at --reads-per-sec).
 */
import { killActor } from '../../src/runtime/index.ts';
import { describeError } from '../../test/support/checks.ts';
import type { DemoContext } from './context.ts';
import { FaultRunner, defaultSchedule, type ActorFaultKind, type FaultTargets, type Observed } from './faults.ts';
import { SignalGenerator } from './generator.ts';
import type { Random } from '../../src/clock.ts';
import type { DemoStack } from './stack.ts';
import { RISK, VALIDATOR } from './subscribers.ts';
import { tracedPublisher } from './tracing.ts';

// About 2–3 slots per poll, so the generator has neighbours to publish swapped (the bus must reorder them).
const SLOT_POLL_MS = 1000;

export interface DemoLoad {
  generator: SignalGenerator;
  faults: FaultRunner;
  /** Fault injection runs (local cluster, not --no-faults). */
  faultsOn: boolean;
  surgeFromMs: number;
  surgeToMs: number;
}

export function prepareLoad(ctx: DemoContext, stack: DemoStack, random: Random): DemoLoad {
  const { o, clock, logger, note } = ctx;
  const { supervisor, pool, rpc, cluster, endpoints } = stack;
  const faultsOn = o.faults && !o.real;
  const surgeFromMs = Math.round(o.durationMs * o.surgeFrom);
  const surgeToMs = Math.round(o.durationMs * o.surgeTo);
  const generator = new SignalGenerator(
    { rate: o.rate, surgeFactor: o.surgeFactor, surgeFromMs, surgeToMs },
    o.trace ? tracedPublisher(stack.bus) : stack.bus,
    clock,
    random,
    (err) => logger.error({ err: describeError(err) }, 'demo: publish threw'),
  );

  const actorStats = (name: string) => supervisor.getStats().actors.find((a) => a.name === name);
  const observed: Observed = {
    endpoint: (name) => pool.getStats().endpoints.find((e) => e.name === name),
    poolFailedCalls: () => rpc.failedTotal,
    actor: (name) => {
      const a = actorStats(name);
      return (
        a && {
          state: a.state,
          incarnation: a.incarnation,
          lastCrashAt: a.lastCrash?.at ?? null,
          lastCrashKind: a.lastCrash?.kind ?? null,
        }
      );
    },
  };
  const targets: FaultTargets = {
    killProvider: (n) => cluster!.faults.kill(n),
    reviveProvider: (n) => cluster!.faults.revive(n),
    rateLimitProvider: (n, s) => cluster!.faults.set(n, { kind: '429', retryAfterSec: s }),
    clearProvider: (n) => cluster!.faults.clear(n),
    killActor: (n, k: ActorFaultKind) => killActor(supervisor, n, k),
  };
  const names = endpoints.map((e) => e.name);
  const steps = faultsOn
    ? defaultSchedule(o.durationMs, {
        primary: names[0]!,
        secondary: names[1] ?? names[0]!,
        crashTarget: VALIDATOR,
        hangTarget: RISK,
      })
    : [];
  const faults = new FaultRunner(steps, targets, observed, clock, logger, (e) =>
    note(`${(e.atMs / 1000).toFixed(1)}s ${e.ok ? '' : 'FAILED '}${e.step}${e.detail ? ` — ${e.detail}` : ''}`),
  );
  return { generator, faults, faultsOn, surgeFromMs, surgeToMs };
}

/** Starts the slot poll and the reads on the run's intervals (they stop with the intake). */
export function startBackgroundRpc(
  ctx: DemoContext,
  stack: DemoStack,
  generator: SignalGenerator,
  payer: string | undefined,
): void {
  const { o, timers } = ctx;
  const { rpc } = stack;
  let slotInFlight = false;
  timers.every(SLOT_POLL_MS, () => {
    if (slotInFlight) return;
    slotInFlight = true;
    rpc
      .call('getSlot', [{ commitment: 'processed' }], { timeoutMs: 2000 })
      .then((r) => generator.onSlot(r.result as number))
      .catch(() => {})
      .finally(() => (slotInFlight = false));
  });
  const reads = { started: 0, skipped: 0 };
  let readsInFlight = 0;
  const readCalls: [string, unknown[]][] = [
    ['getSlot', []],
    ['getLatestBlockhash', [{ commitment: 'confirmed' }]],
    ...(payer ? ([['getBalance', [payer, { commitment: 'confirmed' }]]] as [string, unknown[]][]) : []),
    ['getHealth', []],
  ];
  if (o.readsPerSec > 0) {
    timers.every(Math.max(1, Math.round(1000 / o.readsPerSec)), () => {
      if (readsInFlight >= 32) return void reads.skipped++;
      const [method, params] = readCalls[reads.started++ % readCalls.length]!;
      readsInFlight++;
      rpc
        .call(method, params)
        .catch(() => {})
        .finally(() => readsInFlight--);
    });
  }
}
