/**
 * Before/after comparison of hot paths across commits, for changes that must not make them
 * slower (a refactor, a hardening pass):
 *
 *   npx tsx bench/before-after.ts <before>..<after>[:probe,…] […] [--reps 6] [--rounds 8] [--seed 1]
 *
 * Each pair is two git refs (each checked out into a temporary git worktree that shares this
 * checkout's node_modules) or paths of existing checkouts (`.`: this one, uncommitted edits
 * included); the probes (bench/probes/: runtime, recovery, breaker; all by default) run against each side in
 * their own processes, REPS times, the two sides in a seeded random order per repetition, so slow
 * drift of the machine lands on both alike. The first round of each process is JIT warm-up and is
 * discarded; a process then counts once, as the median of its rounds (its rounds share one JIT
 * state and are not independent samples). Per subject the report gives each side's median and
 * middle half over processes, the slowness of after against before and a seeded bootstrap 95%
 * interval of it over processes; "slower" or "faster" is claimed only when the whole interval is
 * past 3% (bench/compare.ts). Writes one section per pair to bench/results/before-after.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../src/random.ts';
import { median, quantile, slowness, slownessInterval, verdict } from './compare.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const PROBES = ['runtime', 'recovery', 'breaker'];
const NOISE = 0.03;

/** One measurement line printed by a probe. */
interface Sample {
  subject: string;
  value: number;
  unit: string;
  higherIsBetter: boolean;
  round: number;
}

interface Pair {
  spec: string;
  refs: [string, string];
  probes: string[];
}

interface Side {
  label: string;
  tree: string;
  /** A worktree this run made (removed at the end). */
  made: boolean;
}

const USAGE = 'usage: before-after.ts <before>..<after>[:probe,…] […] [--reps N] [--rounds N] [--seed N]';

function args(): { pairs: Pair[]; reps: number; rounds: number; seed: number } {
  const a = process.argv.slice(2);
  const opt = (name: string, dflt: number): number => {
    const i = a.indexOf(`--${name}`);
    if (i < 0) return dflt;
    const v = Number(a.splice(i, 2)[1]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
    return v;
  };
  const reps = opt('reps', 6);
  const rounds = opt('rounds', 8);
  const seed = opt('seed', 1);
  if (a.length === 0) throw new Error(USAGE);
  const pairs = a.map((spec): Pair => {
    const [range = '', list] = spec.split(':');
    const refs = range.split('..');
    if (refs.length !== 2 || !refs[0] || !refs[1]) throw new Error(`${spec}: expected <before>..<after>. ${USAGE}`);
    const probes = list ? list.split(',') : PROBES;
    const unknown = probes.filter((p) => !PROBES.includes(p));
    if (unknown.length > 0) throw new Error(`${spec}: unknown probe ${unknown.join(', ')} (have ${PROBES.join(', ')})`);
    return { spec, refs: [refs[0], refs[1]], probes };
  });
  return { pairs, reps, rounds: rounds + 1, seed };
}

function git(...argv: string[]): string {
  return execFileSync('git', argv, { cwd: root, encoding: 'utf8' }).trim();
}

/** A path of an existing checkout is used as it is; a ref gets a detached worktree. */
function side(base: string, ref: string): Side {
  if (existsSync(join(resolve(ref), 'src', 'runtime'))) {
    const tree = resolve(ref);
    const at = (argv: string[]): string => execFileSync('git', argv, { cwd: tree, encoding: 'utf8' }).trim();
    const dirty = at(['status', '--porcelain', '--untracked-files=no']) !== '';
    const head = at(['rev-parse', '--short', 'HEAD']);
    return { label: `${ref} (checkout at ${head}${dirty ? ' with uncommitted edits' : ''})`, tree, made: false };
  }
  const sha = git('rev-parse', '--verify', `${ref}^{commit}`);
  const tree = join(base, sha.slice(0, 12));
  if (!existsSync(tree)) {
    git('worktree', 'add', '--detach', tree, sha);
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  }
  const short = sha.slice(0, 7);
  const subject = git('log', '-1', '--format=%s', sha).slice(0, 100);
  return { label: `${short.startsWith(ref) ? short : `${ref} = ${short}`} (${subject})`, tree, made: true };
}

function runProbe(probe: string, tree: string, rounds: number): Sample[] {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(here, 'probes', `${probe}.ts`), tree, String(rounds)],
    { cwd: root, encoding: 'utf8', timeout: 600_000 },
  );
  if (r.status !== 0) throw new Error(`probe ${probe} on ${tree} exited ${r.status}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Sample)
    .filter((s) => s.round > 0);
}

function fmt(v: number, unit: string): string {
  if (unit === 'msgs/s') return `${(v / 1e6).toFixed(2)} M/s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
  return v >= 1000 ? `${(v / 1000).toFixed(2)} µs` : `${v.toFixed(1)} ns`;
}

function measure(pair: Pair, sides: [Side, Side], reps: number, rounds: number, rnd: () => number): string[] {
  // Rounds within one process share its JIT and memory layout, so they are not independent
  // samples: each process counts once, as the median of its rounds.
  const perProcess = new Map<string, [number[], number[]]>();
  const kind = new Map<string, { unit: string; higherIsBetter: boolean }>();
  for (let rep = 0; rep < reps; rep++) {
    for (const probe of pair.probes) {
      const order = rnd() < 0.5 ? [0, 1] : [1, 0];
      for (const i of order) {
        console.log(`[before-after] ${pair.spec} rep ${rep + 1}/${reps} ${probe} @ ${i === 0 ? 'before' : 'after'}`);
        const bySubject = new Map<string, number[]>();
        for (const s of runProbe(probe, sides[i]!.tree, rounds)) {
          kind.set(s.subject, { unit: s.unit, higherIsBetter: s.higherIsBetter });
          bySubject.set(s.subject, [...(bySubject.get(s.subject) ?? []), s.value]);
        }
        for (const [subject, values] of bySubject) {
          const both = perProcess.get(subject) ?? [[], []];
          both[i]!.push(median(values));
          perProcess.set(subject, both);
        }
      }
    }
  }
  const lines = [
    `### ${pair.spec}`,
    '',
    `Before: ${sides[0].label}.`,
    `After: ${sides[1].label}.`,
    '',
    '| subject | side | median of processes | middle half of processes | slowness (95% interval) | verdict |',
    '|---|---|---:|---:|---:|---|',
  ];
  for (const [name, [bv, av]] of perProcess) {
    const { unit, higherIsBetter: hib } = kind.get(name)!;
    const interval = slownessInterval(bv, av, hib, rnd);
    const v = verdict(interval, NOISE);
    for (const [label, vs] of [
      ['before', bv],
      ['after', av],
    ] as const) {
      const middle = `${fmt(quantile(vs, 0.25), unit)}–${fmt(quantile(vs, 0.75), unit)}`;
      const tail =
        label === 'after'
          ? `${slowness(bv, av, hib).toFixed(3)} (${interval[0].toFixed(3)}–${interval[1].toFixed(3)}) | ${v === 'slower' ? '**slower**' : v}`
          : ' | ';
      lines.push(`| ${name} | ${label} (${vs.length} processes) | ${fmt(median(vs), unit)} | ${middle} | ${tail} |`);
    }
  }
  lines.push('');
  return lines;
}

function main(): void {
  const { pairs, reps, rounds, seed } = args();
  const base = mkdtempSync(join(tmpdir(), 'palisade-before-after-'));
  const rnd = seededRandom(seed);
  const made: Side[] = [];
  const lines = [
    '## before and after',
    '',
    `\`npx tsx bench/before-after.ts ${pairs.map((p) => p.spec).join(' ')} --reps ${reps} --rounds ${rounds - 1} --seed ${seed}\`,`,
    `${new Date().toISOString().slice(0, 10)}. Each side ran each probe in ${reps} processes of ${rounds - 1} measured rounds (after one warm-up`,
    'round), the two sides in a seeded random order per repetition. A process counts once, as the median of its rounds',
    '(rounds in one process share its JIT state and are not independent). Slowness is after/before for times and',
    'before/after for rates (> 1: after is slower), from the medians of the processes, with a seeded bootstrap 95% interval',
    `over processes; "slower" or "faster" is claimed only when the whole interval lies past ${NOISE * 100}%. Probes: bench/probes/`,
    '(tell throughput and CPU into one actor, ask round trip; crash → processing again with a warm spare; breaker',
    'closed-path execute and open-path tryAcquire).',
    '',
  ];
  try {
    for (const pair of pairs) {
      const sides: [Side, Side] = [side(base, pair.refs[0]), side(base, pair.refs[1])];
      made.push(...sides.filter((s) => s.made));
      lines.push(...measure(pair, sides, reps, rounds, rnd));
    }
  } finally {
    for (const s of made) spawnSync('git', ['worktree', 'remove', '--force', s.tree], { cwd: root });
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'before-after.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

main();
