/**
 * One convention for every model-based (fast-check) test, so a failure found anywhere is replayed
 * the same way:
 *
 *   PALISADE_FUZZ_SEED=<seed> PALISADE_FUZZ_PATH=<path> node --import tsx --test test/<file>
 *
 * `npm test` runs each property with a small, fixed budget; `npm run fuzz -- --runs N` raises it.
 * A failing property prints its seed, path and shrunk counterexample (fast-check's own report),
 * plus the replay command above.
 */
import fc from 'fast-check';

const envInt = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${raw}`);
  return n;
};

/** Parameters for `fc.assert`: `defaultRuns` in `npm test`, PALISADE_FUZZ_RUNS when set. */
export function fuzzParams<T>(defaultRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const seed = envInt('PALISADE_FUZZ_SEED') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const path = process.env.PALISADE_FUZZ_PATH;
  const numRuns = envInt('PALISADE_FUZZ_RUNS') ?? defaultRuns;
  const params: fc.Parameters<T> = { numRuns, seed, endOnFailure: false, ...extra };
  if (path) params.path = path;
  return params;
}

/** `fc.assert` that adds the replay command to the failure it reports. */
export async function assertProperty<T>(
  file: string,
  property: fc.IAsyncProperty<T> | fc.IProperty<T>,
  params: fc.Parameters<T>,
): Promise<void> {
  try {
    await fc.assert(property as fc.IAsyncProperty<T>, params);
  } catch (err) {
    const e = err as Error;
    const found = /seed: (-?\d+), path: "([^"]*)"/.exec(e.message);
    const replay = found
      ? `\nreplay: PALISADE_FUZZ_SEED=${found[1]} PALISADE_FUZZ_PATH=${found[2]} node --import tsx --test ${file}`
      : `\nseed: ${String(params.seed)}`;
    e.message += replay;
    throw e;
  }
}
