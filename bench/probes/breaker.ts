/**
 * One process of `bench/before-after.ts` for the circuit breaker: loads CircuitBreaker from the
 * tree given as the first argument and times its closed path (awaited execute of an
 * always-succeeding async function) and its open-path synchronous refusal (tryAcquire), ROUNDS
 * rounds, one JSON line per measurement.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const tree = process.argv[2];
const rounds = Number(process.argv[3] ?? 8);
if (!tree || !(rounds > 0)) throw new Error('usage: breaker.ts <tree> <rounds>');

const CALLS = 300_000;
const { CircuitBreaker } = await import(pathToFileURL(join(tree, 'src/breaker/index.ts')).href);
const closed = new CircuitBreaker({ name: 'probe', failureThreshold: 5, cooldownMs: 3_600_000 });
const open = new CircuitBreaker({ name: 'probe-open', failureThreshold: 1, cooldownMs: 3_600_000 });
await open.execute(async () => Promise.reject(new Error('trip'))).catch(() => undefined);
if (open.getState() !== 'OPEN') throw new Error(`expected OPEN, got ${open.getState()}`);
const ok = async (): Promise<number> => 1;
const emit = (subject: string, value: number, round: number): void => {
  console.log(JSON.stringify({ subject, value, unit: 'ns', higherIsBetter: false, round }));
};

let sink = 0;
for (let round = 0; round < rounds; round++) {
  let t0 = performance.now();
  for (let i = 0; i < CALLS; i++) sink += (await closed.execute(ok)) as number;
  emit('breaker closed execute', ((performance.now() - t0) * 1e6) / CALLS, round);
  t0 = performance.now();
  for (let i = 0; i < CALLS; i++) if (open.tryAcquire() === null) sink++;
  emit('breaker open tryAcquire', ((performance.now() - t0) * 1e6) / CALLS, round);
}
if (sink < CALLS) throw new Error('closed calls did not all succeed');
process.exit(0);
