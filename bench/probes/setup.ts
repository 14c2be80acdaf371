/**
 * What every runtime probe of bench/before-after.ts starts with: its arguments (the tree to load
 * palisade from, the number of rounds), the runtime module of that tree, and an actor module
 * written to a temporary directory (removed by `cleanup`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ProbeSetup {
  tree: string;
  rounds: number;
  /** The tree's src/runtime/index.ts (typed loosely: any compared commit's version). */
  runtime: any;
  actorFile: string;
  cleanup(): void;
}

export async function probeSetup(name: string, actorSource: string): Promise<ProbeSetup> {
  const tree = process.argv[2];
  const rounds = Number(process.argv[3] ?? 8);
  if (!tree || !(Number.isInteger(rounds) && rounds > 0)) throw new Error(`usage: ${name}.ts <tree> <rounds>`);
  const runtime = await import(pathToFileURL(join(tree, 'src/runtime/index.ts')).href);
  const dir = mkdtempSync(join(tmpdir(), 'palisade-probe-'));
  const actorFile = join(dir, 'actor.mjs');
  writeFileSync(actorFile, actorSource);
  return { tree, rounds, runtime, actorFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One measurement line, as bench/before-after.ts reads it. */
export function emit(subject: string, value: number, unit: string, higherIsBetter: boolean, round: number): void {
  console.log(JSON.stringify({ subject, value, unit, higherIsBetter, round }));
}
