/**
 * Circuit-breaker hot paths against their floor and peers, all in one process and one mitata run:
 *   closed: execute() on an always-succeeding async function vs bare `await fn()`, a ten-line
 *           breaker that only counts consecutive failures, opossum 9 (defaults and timeout:false),
 *           cockatiel 3.2 (ConsecutiveBreaker);
 *   open:   the cost of a refusal (ours via execute and via tryAcquire, opossum, cockatiel);
 *   errors: how the refusal error is built (with stack, withoutStack, the stack-less factory).
 * Writes bench/results/breaker.md.   Run: npm run bench -- breaker
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench, group, run, do_not_optimize } from 'mitata';
import OpossumBreaker from 'opossum';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import { CircuitBreaker } from '../src/breaker/index.ts';
import { CircuitOpenError, circuitOpenError } from '../src/breaker/errors.ts';
import { withoutStack } from '../src/errors.ts';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const version = (pkg: string): string => (require(`${pkg}/package.json`) as { version: string }).version;

/** The floor for any breaker: counts consecutive failures, nothing else. */
class TenLineBreaker {
  private failures = 0;
  private open = false;
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    if (this.open) throw TEN_LINE_OPEN;
    try {
      const value = await fn();
      this.failures = 0;
      return value;
    } catch (err) {
      if (++this.failures >= 5) this.open = true;
      throw err;
    }
  }
}
const TEN_LINE_OPEN = new Error('open');

const ok = async (): Promise<number> => 1;
const fail = async (): Promise<number> => {
  throw new Error('down');
};
const noop = (): void => {};

// --- closed-path subjects ---
const ours = new CircuitBreaker({ name: 'bench', failureThreshold: 5, cooldownMs: 3_600_000 });
const ten = new TenLineBreaker();
const opossumDefaults = new OpossumBreaker(ok, {});
const opossumNoTimeout = new OpossumBreaker(ok, { timeout: false });
const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) });

// --- open-path subjects (tripped by real failures, cooldowns of an hour) ---
const oursOpen = new CircuitBreaker({ name: 'bench-open', failureThreshold: 5, cooldownMs: 3_600_000 });
const opossumOpen = new OpossumBreaker(fail, {
  timeout: false,
  volumeThreshold: 0,
  errorThresholdPercentage: 1,
  resetTimeout: 3_600_000,
});
const cockatielOpen = circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) });
for (let i = 0; i < 5; i++) {
  await oursOpen.execute(fail).catch(noop);
  await opossumOpen.fire().catch(noop);
  await cockatielOpen.execute(fail).catch(noop);
}
if (oursOpen.getState() !== 'OPEN' || !opossumOpen.opened || cockatielOpen.state !== 1) {
  throw new Error('bench setup: an open-path subject did not open');
}
const STATIC_ERR = new Error('x');

const NAMES = {
  bare: 'bare await fn()',
  ten: 'ten-line breaker',
  ours: 'palisade execute',
  oursLabel: 'palisade execute(label, fn)',
  opossumDefaults: 'opossum 9 defaults',
  opossumNoTimeout: 'opossum 9 timeout:false',
  cockatiel: 'cockatiel 3.2 ConsecutiveBreaker',
  oursOpen: 'palisade execute (OPEN)',
  oursTryAcquire: 'palisade tryAcquire (OPEN)',
  rejectFloor: 'floor: await Promise.reject',
  opossumOpen: 'opossum 9 fire (OPEN)',
  cockatielOpen: 'cockatiel 3.2 execute (OPEN)',
  errStack: 'new CircuitOpenError (stack)',
  errWithoutStack: 'withoutStack(new CircuitOpenError)',
  errFactory: 'circuitOpenError() factory',
} as const;

// Other work may share the cores: the whole set runs ROUNDS times, interleaved, and each subject
// is judged by its best round (the least disturbed one); the spread is reported too.
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 3));

function register(): void {
  group('closed path: always-succeeding async fn', () => {
    bench(NAMES.bare, async () => do_not_optimize(await ok()));
    bench(NAMES.ten, async () => do_not_optimize(await ten.execute(ok)));
    bench(NAMES.ours, async () => do_not_optimize(await ours.execute(ok)));
    bench(NAMES.oursLabel, async () => do_not_optimize(await ours.execute('rpc_getSlot', ok)));
    bench(NAMES.opossumDefaults, async () => do_not_optimize(await opossumDefaults.fire()));
    bench(NAMES.opossumNoTimeout, async () => do_not_optimize(await opossumNoTimeout.fire()));
    bench(NAMES.cockatiel, async () => do_not_optimize(await cockatiel.execute(ok)));
  });

  group('open path: refusal', () => {
    bench(NAMES.rejectFloor, async () => {
      try {
        await Promise.reject(STATIC_ERR);
      } catch (e) {
        do_not_optimize(e);
      }
    });
    bench(NAMES.oursOpen, async () => {
      try {
        await oursOpen.execute(ok);
      } catch (e) {
        do_not_optimize(e);
      }
    });
    bench(NAMES.oursTryAcquire, () => do_not_optimize(oursOpen.tryAcquire()));
    bench(NAMES.opossumOpen, async () => {
      try {
        await opossumOpen.fire();
      } catch (e) {
        do_not_optimize(e);
      }
    });
    bench(NAMES.cockatielOpen, async () => {
      try {
        await cockatielOpen.execute(ok);
      } catch (e) {
        do_not_optimize(e);
      }
    });
  });

  group('building the refusal error', () => {
    bench(NAMES.errStack, () => do_not_optimize(new CircuitOpenError('bench', 'OPEN', 1000)));
    bench(NAMES.errWithoutStack, () =>
      do_not_optimize(withoutStack(() => new CircuitOpenError('bench', 'OPEN', 1000))),
    );
    bench(NAMES.errFactory, () => do_not_optimize(circuitOpenError('bench', 'OPEN', 1000)));
  });
}

const rounds = new Map<string, number[]>();
for (let round = 1; round <= ROUNDS; round++) {
  console.log(`\n--- round ${round} of ${ROUNDS} ---`);
  register();
  const { benchmarks } = await run();
  for (const trial of benchmarks) {
    for (const r of trial.runs) if (r.stats) rounds.set(r.name, [...(rounds.get(r.name) ?? []), r.stats.avg]);
  }
}

const ns = new Map<string, number>();
for (const [name, avgs] of rounds) ns.set(name, Math.min(...avgs));
const spread = (name: string): string => {
  const avgs = rounds.get(name) ?? [];
  return avgs.length > 1 ? `${fmt(Math.min(...avgs))}–${fmt(Math.max(...avgs))}` : '';
};
const get = (name: string): number => {
  const v = ns.get(name);
  if (v === undefined) throw new Error(`no result for ${name}`);
  return v;
};

// Sanity: the subjects really took the paths measured.
if (oursOpen.getStats().successes !== 0 || ours.getState() !== 'CLOSED')
  throw new Error('bench: a subject changed state');

const fmt = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} µs` : `${v.toFixed(1)} ns`);
const x = (v: number): string => `${v.toFixed(2)}×`;

const closed = get(NAMES.ours);
const tenNs = get(NAMES.ten);
const bare = get(NAMES.bare);
const row = (name: string, note = ''): string => {
  const v = get(name);
  return `| ${name} | ${fmt(v)} | ${spread(name)} | ${x(v / tenNs)} | ${x(v / closed)} | ${note} |`;
};
const closedRatio = closed / tenNs;
const vsCockatiel = get(NAMES.cockatiel) / closed;
const vsOpossum = get(NAMES.opossumDefaults) / closed;
const openNs = get(NAMES.oursOpen);
const goal = (met: boolean, text: string): string => `${met ? '**met**' : '**not met**'}: ${text}`;
/** The same ratio within each round (subjects measured seconds apart), to show how stable it is. */
const perRound = (num: string, den: string): string => {
  const a = rounds.get(num) ?? [];
  const b = rounds.get(den) ?? [];
  return a.length > 1 ? ` (per round: ${a.map((v, i) => (v / b[i]!).toFixed(2)).join(', ')})` : '';
};

const lines = [
  '## breaker',
  '',
  `Circuit breaker hot paths, one mitata ${version('mitata')} run (\`npm run bench -- breaker\`), ${new Date().toISOString().slice(0, 10)}.`,
  `Peers: opossum ${version('opossum')}, cockatiel ${version('cockatiel')} (opossum 10 and cockatiel 4 need Node 22). Each iteration`,
  `awaits one call through the subject. The set ran ${ROUNDS} times in one process; each subject's time is`,
  'its best round (least disturbed by other load), and ratios are computed from those same-run numbers.',
  'Machine details are in the header of bench/RESULTS.md.',
  '',
  '### Closed path (always-succeeding async function)',
  '',
  '| subject | time/op (best round) | rounds range | vs ten-line | vs palisade | note |',
  '|---|---:|---:|---:|---:|---|',
  row(NAMES.bare, 'floor: no breaker'),
  row(NAMES.ten, 'floor for any breaker'),
  row(
    NAMES.ours,
    `no bulkhead, no timeout; at this rate latency is timed 1 call in ${ours.getStats().latency.sampledEvery}`,
  ),
  row(NAMES.oursLabel),
  row(NAMES.opossumDefaults, 'timeout 10 s: a timer per call'),
  row(NAMES.opossumNoTimeout),
  row(NAMES.cockatiel),
  '',
  `Overhead over a bare await: palisade ${fmt(closed - bare)}, ten-line ${fmt(tenNs - bare)}.`,
  '',
  '### Open path (refusal)',
  '',
  '| subject | time/op (best round) | rounds range | note |',
  '|---|---:|---:|---|',
  `| ${NAMES.rejectFloor} | ${fmt(get(NAMES.rejectFloor))} | ${spread(NAMES.rejectFloor)} | floor of a promise API refusing synchronously (Node's unhandled-rejection bookkeeping) |`,
  `| ${NAMES.oursOpen} | ${fmt(openNs)} | ${spread(NAMES.oursOpen)} | stack-less error, settled through a thenable after the handler is attached |`,
  `| ${NAMES.oursTryAcquire} | ${fmt(get(NAMES.oursTryAcquire))} | ${spread(NAMES.oursTryAcquire)} | synchronous admission (the RPC pool's endpoint choice) |`,
  `| ${NAMES.opossumOpen} | ${fmt(get(NAMES.opossumOpen))} | ${spread(NAMES.opossumOpen)} | ${x(get(NAMES.opossumOpen) / openNs)} palisade |`,
  `| ${NAMES.cockatielOpen} | ${fmt(get(NAMES.cockatielOpen))} | ${spread(NAMES.cockatielOpen)} | ${x(get(NAMES.cockatielOpen) / openNs)} palisade |`,
  '',
  '### Building the refusal error',
  '',
  '| how | time/op |',
  '|---|---:|',
  `| ${NAMES.errStack} | ${fmt(get(NAMES.errStack))} |`,
  `| ${NAMES.errWithoutStack} | ${fmt(get(NAMES.errWithoutStack))} |`,
  `| ${NAMES.errFactory} (used) | ${fmt(get(NAMES.errFactory))} |`,
  '',
  '### Goals',
  '',
  `- Closed path ≤ 1.2× the ten-line breaker: ${goal(closedRatio <= 1.2, `${x(closedRatio)}`)}${closedRatio <= 1.2 ? '' : ` (gap: ${fmt(closed - 1.2 * tenNs)} per call over the 1.2× line)`}${perRound(NAMES.ours, NAMES.ten)}.`,
  `- ≥ 1.5× faster than cockatiel 3.2 ConsecutiveBreaker: ${goal(vsCockatiel >= 1.5, `${x(vsCockatiel)}`)}${vsCockatiel >= 1.5 ? '' : ` (gap: palisade would need ${fmt(get(NAMES.cockatiel) / 1.5)} per call, measured ${fmt(closed)})`}${perRound(NAMES.cockatiel, NAMES.ours)}.`,
  `- ≥ 5× faster than opossum 9 defaults: ${goal(vsOpossum >= 5, `${x(vsOpossum)}`)}${perRound(NAMES.opossumDefaults, NAMES.ours)}.`,
  `- Open-path rejection ≤ 1 µs: ${goal(openNs <= 1000, `execute ${fmt(openNs)}, tryAcquire ${fmt(get(NAMES.oursTryAcquire))}`)}.`,
  '',
];
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'breaker.md'), lines.join('\n'));
console.log(
  `\nwrote bench/results/breaker.md (closed ${x(closedRatio)} ten-line, ${x(vsCockatiel)} faster than cockatiel, ${x(vsOpossum)} faster than opossum, open ${fmt(openNs)})`,
);
// mitata leaves nothing running, but opossum's and cockatiel's subjects may hold timers.
opossumDefaults.shutdown();
opossumNoTimeout.shutdown();
opossumOpen.shutdown();
process.exit(0);
