/**
 * One round of tell throughput into one actor, shared by bench/runtime.bench.ts and the
 * before/after probe: `tells` small messages, the producer pausing (one setImmediate) whenever
 * `outstanding` are unfinished, as a real producer applies backpressure (like the bus's credit).
 * Works with the ActorRef of any palisade version (tell, ask, pending).
 */
export interface TellTarget {
  tell(message: unknown): boolean;
  ask(message: unknown): Promise<unknown>;
  readonly pending: number;
}

export interface TellRound {
  /** Messages per second, wall clock. */
  perSec: number;
  /** Process CPU time (every thread) per message, ns. */
  cpuNs: number;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The actor must answer the ask 'n' with how many messages it has counted. */
export async function tellRound(
  ref: TellTarget,
  message: (i: number) => unknown,
  tells: number,
  outstanding: number,
  drain: (p: Promise<unknown>) => Promise<unknown> = (p) => p,
): Promise<TellRound> {
  const before = (await ref.ask('n')) as number;
  const t0 = performance.now();
  const c0 = cpuMs();
  let sent = 0;
  while (sent < tells) {
    const end = Math.min(tells, sent + 10_000);
    for (; sent < end && ref.pending < outstanding; sent++)
      if (!ref.tell(message(sent))) throw new Error('tell refused');
    await tick();
  }
  const after = (await drain(ref.ask('n'))) as number;
  const ms = performance.now() - t0;
  const cpu = cpuMs() - c0;
  if (after - before !== tells) throw new Error(`counted ${after - before}, expected ${tells}`);
  return { perSec: (tells / ms) * 1000, cpuNs: (cpu / tells) * 1e6 };
}
