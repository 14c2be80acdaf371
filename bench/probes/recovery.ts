/**
 * One process of `bench/before-after.ts` for crash recovery: loads the runtime from the tree
 * given as the first argument; per round, CRASHES workers killed (process.exit inside the
 * actor, a warm spare waiting) and the time from the fault to the next ask answered by the new
 * incarnation. Prints the round's median, one JSON line per round.
 */
import { emit, probeSetup } from './setup.ts';

const CRASHES = 5;
/** Long enough for the supervisor to replenish its spare (a cold spawn) between crashes. */
const SPARE_REFILL_MS = 120;

const { rounds, runtime, actorFile, cleanup } = await probeSetup('recovery', 'export default (m) => m;\n');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const sup = new runtime.Supervisor({
  heartbeatMs: 0,
  spares: 1,
  maxRestarts: 100_000,
  restartBackoff: { initialMs: 0 },
});
const ref = sup.spawn({ name: 'victim', module: actorFile });
await ref.ready;
await ref.ask('warm');
for (let round = 0; round < rounds; round++) {
  const xs: number[] = [];
  for (let i = 0; i < CRASHES; i++) {
    await sleep(SPARE_REFILL_MS);
    const t0 = performance.now();
    sup.injectFault('victim', 'exit');
    await ref.ask(i);
    xs.push(performance.now() - t0);
  }
  xs.sort((a, b) => a - b);
  emit('crash → processing again (exit, warm spare)', xs[CRASHES >> 1]! * 1e6, 'ns', false, round);
}
await sup.shutdown({ drainMs: 0 });
cleanup();
process.exit(0);
