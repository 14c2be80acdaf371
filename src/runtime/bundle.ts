/**
 * Turns an actor module path into something a worker can import. Workers are spawned without
 * the tsx loader (it costs ~70 ms per spawn and still cannot load .ts in Node 20 workers), so
 * TypeScript modules are bundled to plain ESM with esbuild into a cache under os.tmpdir().
 *
 * Cache: per entry file, a manifest lists every bundled input with its content hash and names
 * the output file, itself named by the hash of its content. A manifest whose inputs still hash
 * the same is reused without running esbuild, so a restart of a process with a warm cache costs
 * a few file reads. Packages from node_modules are not bundled: each bare import is resolved
 * where the source lives and emitted as an absolute file URL, so the bundle behaves the same
 * from the cache directory. Plain .js/.mjs/.cjs modules are imported as they are.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuildResult, Plugin } from 'esbuild';
import { ActorStartError } from './errors.ts';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);
const JS_EXTENSIONS = new Set(['.js', '.mjs', '.cjs']);
const CACHE_VERSION = 'v2';

export interface ResolvedModule {
  /** file: URL the worker imports. */
  url: string;
  /** Absolute path of the source module. */
  path: string;
  /** Export names when known (bundled modules), used to fail fast on a missing export. */
  exports: readonly string[] | null;
}

/** Absolute source path of a module given as a path (relative to cwd) or a file URL. */
export function modulePath(module: string | URL): string {
  if (module instanceof URL) return fileURLToPath(module);
  if (module.startsWith('file:')) return fileURLToPath(module);
  return isAbsolute(module) ? module : resolve(process.cwd(), module);
}

const memo = new Map<string, Promise<ResolvedModule>>();

/**
 * Resolves (and if needed bundles) an actor module. Memoised per process: the first spawn pays,
 * restarts reuse the result. Throws ActorStartError ('module-not-found' | 'bundle-failed' |
 * 'syntax-error').
 */
export function resolveActorModule(
  actor: string,
  module: string | URL,
  cacheDir = defaultCacheDir(),
): Promise<ResolvedModule> {
  const path = modulePath(module);
  const key = `${cacheDir}\0${path}`;
  let p = memo.get(key);
  if (!p) {
    p = resolveUncached(actor, path, cacheDir);
    memo.set(key, p);
    // A failed resolution is not cached: the caller may fix the file and spawn again.
    p.catch(() => memo.delete(key));
  }
  return p;
}

export function defaultCacheDir(): string {
  return join(tmpdir(), 'palisade-bundles', CACHE_VERSION);
}

async function resolveUncached(actor: string, path: string, cacheDir: string): Promise<ResolvedModule> {
  if (!existsSync(path)) throw new ActorStartError(actor, 'module-not-found', `no file at ${path}`);
  const ext = extname(path);
  if (JS_EXTENSIONS.has(ext)) return { url: pathToFileURL(path).href, path, exports: null };
  if (!TS_EXTENSIONS.has(ext))
    throw new ActorStartError(actor, 'bundle-failed', `unsupported module extension "${ext}" (${path})`);
  return bundle(actor, path, cacheDir);
}

interface Manifest {
  entry: string;
  inputs: Record<string, string>;
  output: string;
  exports: string[];
}

async function bundle(actor: string, entry: string, cacheDir: string): Promise<ResolvedModule> {
  mkdirSync(cacheDir, { recursive: true });
  const manifestFile = join(cacheDir, `${sha(entry).slice(0, 24)}.json`);
  const cached = readManifest(manifestFile);
  if (cached && cached.entry === entry && existsSync(join(cacheDir, cached.output)) && inputsUnchanged(cached.inputs)) {
    return { url: pathToFileURL(join(cacheDir, cached.output)).href, path: entry, exports: cached.exports };
  }

  const esbuild = await import('esbuild');
  let result: BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      // Packages stay external and Node loads them, so resolve them as Node would: no bundler-only
      // `module` condition or field (some packages' ESM builds there use extensionless imports
      // that Node's loader refuses, e.g. @opentelemetry/api).
      conditions: [],
      mainFields: ['main'],
      plugins: [externalPackagesAsFileUrls],
    });
  } catch (err) {
    const errors =
      (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] })
        .errors ?? [];
    const first = errors[0];
    const where = first?.location ? ` at ${first.location.file}:${first.location.line}:${first.location.column}` : '';
    const text = first ? `${first.text}${where}` : String(err);
    const reason = /could not resolve/i.test(text) ? 'module-not-found' : 'syntax-error';
    throw new ActorStartError(actor, reason, text, { cause: err });
  }
  const out = result.outputFiles[0];
  if (!out) throw new ActorStartError(actor, 'bundle-failed', `esbuild produced no output for ${entry}`);
  const code = out.text;
  const outputName = `${sha(code).slice(0, 32)}.mjs`;
  const outputPath = join(cacheDir, outputName);
  if (!existsSync(outputPath)) writeAtomic(outputPath, code);

  const inputs: Record<string, string> = {};
  for (const rel of Object.keys(result.metafile.inputs)) {
    const abs = resolve(process.cwd(), rel);
    inputs[abs] = sha(readFileSync(abs));
  }
  const outMeta = Object.values(result.metafile.outputs)[0];
  const exports = outMeta?.exports ?? [];
  writeAtomic(manifestFile, JSON.stringify({ entry, inputs, output: outputName, exports } satisfies Manifest));
  return { url: pathToFileURL(outputPath).href, path: entry, exports };
}

/** Bare package imports stay external but point at the file they resolve to from the source. */
const externalPackagesAsFileUrls: Plugin = {
  name: 'palisade-external-packages',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'palisade-inner') return undefined;
      const p = args.path;
      if (p.startsWith('.') || p.startsWith('/') || p.startsWith('file:')) return undefined;
      if (p.startsWith('node:') || builtinModules.includes(p) || builtinModules.includes(p.split('/')[0] ?? '')) {
        return { path: p, external: true };
      }
      const r = await build.resolve(p, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'palisade-inner',
      });
      if (r.errors.length > 0) return { errors: r.errors };
      return { path: pathToFileURL(r.path).href, external: true };
    });
  },
};

function readManifest(file: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

function inputsUnchanged(inputs: Record<string, string>): boolean {
  for (const [file, hash] of Object.entries(inputs)) {
    try {
      if (sha(readFileSync(file)) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Concurrent processes may build the same entry: write to a unique temp name, then rename. */
function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${Math.floor(Math.random() * 1e9)}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

function sha(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
