/**
 * One process of `bench/before-after.ts` for the actor runtime: loads the runtime from the tree
 * given as the first argument (a checkout of any commit), then runs ROUNDS rounds of tell
 * throughput into one actor and ask round trips, printing one JSON line per measurement. Uses
 * only API every compared commit has (Supervisor, spawn, tell, ask, pending, shutdown).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tellRound } from '../tell-loop.ts';

const tree = process.argv[2];
const rounds = Number(process.argv[3] ?? 8);
if (!tree || !(rounds > 0)) throw new Error('usage: runtime.ts <tree> <rounds>');

const TELLS = 1_000_000;
const OUTSTANDING = 16_000;
const ASKS = 2000;

const { Supervisor } = await import(pathToFileURL(join(tree, 'src/runtime/index.ts')).href);
const dir = mkdtempSync(join(tmpdir(), 'palisade-probe-'));
const actorFile = join(dir, 'actor.mjs');
writeFileSync(actorFile, 'let n = 0;\nexport default (m) => { if (m === "n") return n; n++; return m; };\n');

const msg = (i: number) => ({ seq: i, token: 'BONK', px: 0.00012 });
const emit = (subject: string, value: number, unit: string, higherIsBetter: boolean, round: number): void => {
  console.log(JSON.stringify({ subject, value, unit, higherIsBetter, round }));
};

const sup = new Supervisor({ heartbeatMs: 0 });
const ref = sup.spawn({ name: 'probe', module: actorFile, mailboxSize: 100_000 });
await ref.ready;

for (let round = 0; round < rounds; round++) {
  const tell = await tellRound(ref, msg, TELLS, OUTSTANDING);
  emit('runtime tell throughput', tell.perSec, 'msgs/s', true, round);
  emit('runtime tell CPU per message', tell.cpuNs, 'ns', false, round);

  const lat: number[] = [];
  for (let i = 0; i < ASKS; i++) {
    const s = performance.now();
    await ref.ask(msg(i));
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  emit('runtime ask p50', lat[Math.floor(ASKS / 2)]! * 1e6, 'ns', false, round);
}
await sup.shutdown({ drainMs: 0 });
rmSync(dir, { recursive: true, force: true });
process.exit(0);
