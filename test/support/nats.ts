/**
 * A real nats-server with JetStream for the engine tests: a free loopback port, its own store
 * directory, ready when its monitoring /healthz answers ok. No mock of the engine anywhere.
 *
 * `natsUrlForTests()` reuses the server `.ci/run` started (PALISADE_NATS_URL) and otherwise
 * starts one for the calling test file. Tests that stop or restart the engine call
 * `startNatsServer()` for a server of their own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  /** SIGTERM and wait for exit; the store directory is kept so a restart sees the same streams. */
  stop(): Promise<void>;
  /** Start again on the same ports and store (after stop). */
  restart(): Promise<void>;
  /** Stop and delete the store directory. */
  dispose(): Promise<void>;
}

export function natsServerBinary(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null'], {
    encoding: 'utf8',
  });
  const path = r.stdout.trim().split('\n')[0];
  return path ? path : undefined;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(monitorPort: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode} before it was healthy`);
    try {
      const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz`);
      last = await res.text();
      if (res.ok) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server not healthy after ${deadlineMs} ms: ${last}`);
}

export async function startNatsServer(
  opts: { port?: number; monitorPort?: number; storeDir?: string } = {},
): Promise<NatsServerHandle> {
  const bin = natsServerBinary();
  if (!bin) throw new Error('nats-server is not installed: apt-get install -y nats-server');
  const port = opts.port ?? (await freeLoopbackPort());
  const monitorPort = opts.monitorPort ?? (await freeLoopbackPort());
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'palisade-nats-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.resume();
    await waitHealthy(monitorPort, child, 10_000);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorPort,
    storeDir,
    stop,
    restart: start,
    dispose: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<{ url: string; dispose(): Promise<void> }> | undefined;

/** The URL of a running JetStream server for tests that do not stop it. */
export async function natsUrlForTests(): Promise<{ url: string; dispose(): Promise<void> }> {
  const fromCi = process.env.PALISADE_NATS_URL;
  if (fromCi) return { url: fromCi, dispose: async () => {} };
  shared ??= startNatsServer().then((h) => ({ url: h.url, dispose: () => h.dispose() }));
  return shared;
}
