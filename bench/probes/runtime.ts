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
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const emit = (subject: string, value: number, unit: string, higherIsBetter: boolean, round: number): void => {
  console.log(JSON.stringify({ subject, value, unit, higherIsBetter, round }));
};

const sup = new Supervisor({ heartbeatMs: 0 });
const ref = sup.spawn({ name: 'probe', module: actorFile, mailboxSize: 100_000 });
await ref.ready;

for (let round = 0; round < rounds; round++) {
  const before = (await ref.ask('n')) as number;
  const t0 = performance.now();
  const c0 = cpuMs();
  let sent = 0;
  while (sent < TELLS) {
    const end = Math.min(TELLS, sent + 10_000);
    for (; sent < end && ref.pending < OUTSTANDING; sent++) if (!ref.tell(msg(sent))) throw new Error('tell refused');
    await tick();
  }
  const after = (await ref.ask('n')) as number;
  const ms = performance.now() - t0;
  const cpu = cpuMs() - c0;
  if (after - before !== TELLS) throw new Error(`counted ${after - before}, expected ${TELLS}`);
  emit('runtime tell throughput', TELLS / (ms / 1000), 'msgs/s', true, round);
  emit('runtime tell CPU per message', (cpu / TELLS) * 1e6, 'ns', false, round);

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
