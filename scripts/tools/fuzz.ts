/**
 * The longer search: every model-based test (test/*.model.test.ts) with a larger budget.
 *   npm run fuzz -- --runs 100000 [--seed N] [--only breaker]
 * Each property prints its seed and a replay command when it fails; exit code is the test run's.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const runs = flag('runs') ?? '2000';
const seed = flag('seed');
const only = flag('only');
if (!/^\d+$/.test(runs)) throw new Error(`--runs takes a whole number, got ${runs}`);

const testDir = fileURLToPath(new URL('../../test/', import.meta.url));
const files = readdirSync(testDir)
  .filter((f) => f.endsWith('.model.test.ts') && (!only || f.includes(only)))
  .map((f) => `test/${f}`);
if (files.length === 0) throw new Error(`no model test matches ${only ?? '*'}`);

const env = { ...process.env, PALISADE_FUZZ_RUNS: runs, ...(seed ? { PALISADE_FUZZ_SEED: seed } : {}) };
console.log(`fuzz: ${files.join(', ')} with ${runs} runs each${seed ? `, seed ${seed}` : ''}`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env,
  cwd: fileURLToPath(new URL('../..', import.meta.url)),
});
process.exit(r.status ?? 1);
