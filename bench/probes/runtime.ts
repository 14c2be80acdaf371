/**
 * One process of `bench/before-after.ts` for the actor runtime: loads the runtime from the tree
 * given as the first argument (a checkout of any commit), then runs ROUNDS rounds of tell
 * throughput into one actor and ask round trips, printing one JSON line per measurement. Uses
 * only API every compared commit has (Supervisor, spawn, tell, ask, pending, shutdown).
 */
import { tellRound } from '../tell-loop.ts';
import { emit, probeSetup } from './setup.ts';

const TELLS = 1_000_000;
const OUTSTANDING = 16_000;
const ASKS = 2000;

const { rounds, runtime, actorFile, cleanup } = await probeSetup(
  'runtime',
  'let n = 0;\nexport default (m) => { if (m === "n") return n; n++; return m; };\n',
);
const msg = (i: number) => ({ seq: i, token: 'BONK', px: 0.00012 });

const sup = new runtime.Supervisor({ heartbeatMs: 0 });
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
cleanup();
process.exit(0);
