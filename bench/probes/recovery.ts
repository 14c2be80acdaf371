/**
 * One process of `bench/before-after.ts` for crash recovery: loads the runtime from the tree
 * given as the first argument; per round, CRASHES workers killed (process.exit inside the
 * actor, a warm spare waiting) and the time from the fault to the next ask answered by the new
 * incarnation. Prints the round's median, one JSON line per round.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const tree = process.argv[2];
const rounds = Number(process.argv[3] ?? 8);
if (!tree || !(rounds > 0)) throw new Error('usage: recovery.ts <tree> <rounds>');

const CRASHES = 5;
/** Long enough for the supervisor to replenish its spare (a cold spawn) between crashes. */
const SPARE_REFILL_MS = 120;

const { Supervisor } = await import(pathToFileURL(join(tree, 'src/runtime/index.ts')).href);
const dir = mkdtempSync(join(tmpdir(), 'palisade-probe-'));
const actorFile = join(dir, 'actor.mjs');
writeFileSync(actorFile, 'export default (m) => m;\n');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const sup = new Supervisor({ heartbeatMs: 0, spares: 1, maxRestarts: 100_000, restartBackoff: { initialMs: 0 } });
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
  const value = xs[CRASHES >> 1]! * 1e6;
  console.log(
    JSON.stringify({
      subject: 'crash → processing again (exit, warm spare)',
      value,
      unit: 'ns',
      higherIsBetter: false,
      round,
    }),
  );
}
await sup.shutdown({ drainMs: 0 });
rmSync(dir, { recursive: true, force: true });
process.exit(0);
