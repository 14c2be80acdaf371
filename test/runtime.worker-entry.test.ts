import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { workerEntry, type WorkerEntryName } from '../src/runtime/worker-entry.ts';

const NAMES: WorkerEntryName[] = ['host', 'endpoint', 'signer', 'devnet-cluster', 'chain-source'];

test('every worker entry src/ starts resolves to a file under actors/', () => {
  const actorsDir = fileURLToPath(new URL('../actors/', import.meta.url));
  for (const name of NAMES) {
    const path = fileURLToPath(workerEntry(name));
    assert.ok(path.startsWith(actorsDir), `${name} -> ${path}`);
    assert.ok(existsSync(path), `${name} -> ${path} does not exist`);
  }
});

test('src/ links to actors/ only through the resolver', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
  const offenders = (readdirSync(srcDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && f !== 'runtime/worker-entry.ts')
    .filter((f) => /new URL\(\s*['"][./]*actors\//.test(readFileSync(srcDir + f, 'utf8')));
  assert.deepEqual(offenders, []);
});

test('nothing under actors/ imports scripts/', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const actorsDir = fileURLToPath(new URL('../actors/', import.meta.url));
  const offenders = (readdirSync(actorsDir, { recursive: true }) as string[])
    .filter((f) => /\.(ts|mjs)$/.test(f))
    .filter((f) => /from\s+['"][./]*scripts\/|import\(\s*['"][./]*scripts\//.test(readFileSync(actorsDir + f, 'utf8')));
  assert.deepEqual(offenders, []);
});
