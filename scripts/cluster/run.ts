/**
 * The cluster demo, start to finish: a nats-server of its own (free loopback ports, own store),
 * the local Solana cluster, a feed process and two trading processes as children; a surge, a
 * SIGKILL and restart of one trading process, a provider killed (and later revived), the engine
 * stopped for a few seconds; then a drain and the checks (scripts/cluster/report.ts).
 *
 * The parent watches the executors' trade ledger in the engine (a KV bucket) as the truth of
 * what was claimed and traded; the children's own numbers arrive every 200 ms over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { PalisadeError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/index.ts';
import { connectEngine, type EngineConnection } from '../../src/engine/connect.ts';
import { natsServerBinary, startNatsServer, type NatsServerHandle } from '../../test/support/nats.ts';
import { startScriptCluster, type ScriptCluster } from '../demo/cluster.ts';
import { Closer } from '../lib/closer.ts';
import type { FeedStats, ProcessConfig, ToChild, ToParent, TraderStats } from './process.ts';
import { buildReport, type ClusterReport, type Timeline } from './report.ts';

export class ClusterDemoStartError extends PalisadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLUSTER_DEMO_START_FAILED', message, options);
  }
}

export interface ClusterDemoOptions {
  /** Traffic time (the faults are placed at fractions of it). */
  durationMs: number;
  /** How long the engine stays stopped. */
  engineDownMs: number;
  /** Trade signals per second before and after the surge; the surge multiplies it. */
  tradeRate: number;
  surgeFactor: number;
  /** How long the drain may take after the feed stops. */
  drainMs: number;
}

export const DEFAULTS: ClusterDemoOptions = {
  durationMs: 30_000,
  engineDownMs: 3000,
  tradeRate: 40,
  surgeFactor: 5,
  drainMs: 15_000,
};

const PROCESS_MODULE = fileURLToPath(new URL('./process.ts', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Child {
  name: string;
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  last: FeedStats | TraderStats | undefined;
  fatal: string | undefined;
}

export interface LedgerEntry {
  by: string;
  status: string;
  /** When the parent first saw the claim. */
  seenAt: number;
}

export async function runClusterDemo(
  o: ClusterDemoOptions,
  io: { say(line: string): void; logger: Logger },
): Promise<ClusterReport> {
  const say = io.say;
  const closer = new Closer();
  const logDir = mkdtempSync(join(tmpdir(), 'palisade-cluster-'));
  const run = Date.now().toString(36);
  const healthBucket = `palisade_demo_health_${run}`;
  const ledgerBucket = `palisade_demo_trades_${run}`;
  const tl: Timeline = { t0: Date.now(), events: [] };
  const mark = (what: string, detail?: string) => {
    tl.events.push({ atMs: Date.now() - tl.t0, what, ...(detail ? { detail } : {}) });
    say(`  ${((Date.now() - tl.t0) / 1000).toFixed(1).padStart(5)} s  ${what}${detail ? ` — ${detail}` : ''}`);
  };
  const children = new Map<string, Child>();
  const history: { name: string; at: number; stats: FeedStats | TraderStats }[] = [];
  try {
    if (!natsServerBinary())
      throw new ClusterDemoStartError(
        'nats-server not found on PATH or in /usr/sbin: install it with `apt-get install nats-server` (2.9 or newer)',
      );
    let engine: NatsServerHandle;
    try {
      engine = await startNatsServer();
    } catch (err) {
      throw new ClusterDemoStartError(`nats-server did not start: ${(err as Error).message}`, { cause: err });
    }
    closer.add('nats-server', () => engine.dispose());
    mark('engine up', `nats-server on ${engine.url} (JetStream, store ${engine.storeDir})`);
    let cluster: ScriptCluster;
    try {
      cluster = await startScriptCluster({ inProcess: false, logger: io.logger });
    } catch (err) {
      throw new ClusterDemoStartError(`the local Solana cluster did not start: ${(err as Error).message}`, {
        cause: err,
      });
    }
    closer.add('local Solana cluster', () => cluster.close());
    const endpoints = cluster.endpoints.map((e) => ({ name: e.name, url: e.url }));
    mark('local Solana cluster up', endpoints.map((e) => e.name).join(', '));

    // The parent's view of the trade ledger: every claim as the engine stores it.
    // Quiet: the engine stop is planned; the timeline says so.
    const conn: EngineConnection = await connectEngine({
      servers: engine.url,
      name: 'cluster-demo-observer',
      reconnectTimeWaitMs: 100,
    });
    closer.add('observer connection', () => conn.close());
    const ledgerKv = await new Kvm(conn.js).create(ledgerBucket, { history: 1 });
    const ledger = new Map<string, LedgerEntry>();
    const watch = await ledgerKv.watch({ key: 'sig.>' });
    closer.add('ledger watch', () => watch.stop());
    void (async () => {
      for await (const e of watch) {
        if (e.operation !== 'PUT') continue;
        try {
          const v = JSON.parse(e.string()) as { by: string; status: string };
          const id = e.key.slice(4);
          const prev = ledger.get(id);
          ledger.set(id, { by: v.by, status: v.status, seenAt: prev?.seenAt ?? Date.now() });
        } catch {
          // Only the demo's executors write this bucket; anything else is ignored.
        }
      }
    })();

    const base = { nats: engine.url, endpoints, healthBucket, ledgerBucket, tradeRate: o.tradeRate, ticksPerTrade: 4 };
    // trader-2 also scans the market (100 RPC calls/s), so it meets a dead provider first; trader-1 learns of it from trader-2.
    const start = (role: 'feed' | 'trader', name: string): Child => {
      const cfg: ProcessConfig = {
        role,
        name,
        ...base,
        scanPerSec: name === 'trader-2' ? 100 : 0,
        logFile: join(logDir, `${name}.log`),
      };
      const proc = fork(PROCESS_MODULE, [JSON.stringify(cfg)], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      let onReady: () => void = () => undefined;
      let onFail: (e: Error) => void = () => undefined;
      const child: Child = {
        name,
        proc,
        ready: new Promise<void>((res, rej) => {
          onReady = res;
          onFail = rej;
        }),
        exited: new Promise((res) => proc.once('exit', (code) => res(code))),
        last: undefined,
        fatal: undefined,
      };
      child.ready.catch(() => undefined);
      proc.on('message', (m: ToParent) => {
        if (m.type === 'ready') onReady();
        else if (m.type === 'stats') {
          child.last = m.stats;
          history.push({ name, at: m.at, stats: m.stats });
        } else if (m.type === 'fatal') {
          child.fatal = m.error;
          onFail(new Error(`${name}: ${m.error.split('\n')[0]}`));
        }
      });
      void child.exited.then((code) => onFail(new Error(`${name} exited (${code}) before it was ready`)));
      children.set(name, child);
      return child;
    };
    const tell = (name: string, m: ToChild) => {
      const c = children.get(name);
      if (c?.proc.connected) c.proc.send(m);
    };
    closer.add('child processes', async () => {
      for (const c of children.values()) tell(c.name, { type: 'exit' });
      await Promise.race([Promise.all([...children.values()].map((c) => c.exited)), sleep(5000)]);
      for (const c of children.values())
        if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    });

    const traders = [start('trader', 'trader-1'), start('trader', 'trader-2')];
    try {
      await Promise.race([
        Promise.all(traders.map((t) => t.ready)),
        sleep(30_000).then(() => Promise.reject(new Error('trading processes not ready within 30 s'))),
      ]);
    } catch (err) {
      throw new ClusterDemoStartError(
        `a trading process did not start: ${(err as Error).message} (logs in ${logDir})`,
        { cause: err },
      );
    }
    mark(
      'trading processes up',
      'trader-1, trader-2: executors in group "executors", each with its own risk monitor and RPC pool (trader-2 also scans the market)',
    );
    const feed = start('feed', 'feed');
    try {
      await Promise.race([feed.ready, sleep(30_000).then(() => Promise.reject(new Error('not ready within 30 s')))]);
    } catch (err) {
      throw new ClusterDemoStartError(`the feed did not start: ${(err as Error).message} (logs in ${logDir})`, {
        cause: err,
      });
    }
    tl.trafficStart = Date.now();
    mark('feed publishing', `${o.tradeRate} trade signals/s (critical) + 4 market ticks each (low)`);

    const at = (fraction: number) => sleep(Math.max(0, tl.trafficStart! + fraction * o.durationMs - Date.now()));
    const killed = endpoints[0]!.name;

    await at(0.2);
    tell('feed', { type: 'surge', factor: o.surgeFactor });
    mark('surge', `×${o.surgeFactor}: ${o.tradeRate * o.surgeFactor} trade signals/s`);

    await at(0.3);
    tl.killSequence = (feed.last as FeedStats | undefined)?.lastSequence ?? 0;
    children.get('trader-1')!.proc.kill('SIGKILL');
    tl.killedAt = Date.now();
    mark('SIGKILL trader-1', 'mid-surge, handlers in flight');
    await children.get('trader-1')!.exited;

    await at(0.4);
    const again = start('trader', 'trader-1');
    tl.restartedAt = Date.now();
    tl.restartSequence = (feed.last as FeedStats | undefined)?.lastSequence ?? 0;
    mark('restart trader-1', 'same name: its durable consumers resume where it stopped');
    await Promise.race([again.ready, sleep(30_000)]).catch(() => undefined);

    await at(0.5);
    tell('feed', { type: 'surge', factor: 1 });
    await cluster.faults.kill(killed);
    tl.providerKilledAt = Date.now();
    mark('surge over; provider killed', `${killed} (the preferred provider) refuses every connection`);

    await at(0.65);
    await engine.stop();
    tl.engineStoppedAt = Date.now();

    mark('engine stopped', `${o.engineDownMs} ms`);
    await sleep(o.engineDownMs);
    await engine.restart();
    tl.engineRestartedAt = Date.now();
    tl.sequenceAtEngineRestart = (feed.last as FeedStats | undefined)?.lastSequence ?? 0;
    mark('engine restarted', 'same ports and store');

    await at(0.8);
    await cluster.faults.revive(killed);
    tl.providerRevivedAt = Date.now();
    mark('provider revived', `${killed}: recovery is probed by one process at a time`);

    await at(1);
    tell('feed', { type: 'stop-feed' });
    await sleep(400); // the feed's next stats carry its final counts
    const feedFinal = feed.last as FeedStats;
    const accepted = feedFinal.tradeAccepted;
    const lastSequence = feedFinal.lastSequence;
    const refusedIds = new Set(feedFinal.refusedIds);
    tl.feedStoppedAt = Date.now();
    mark('feed stopped', `${accepted} trade signals accepted`);
    const allTraded = () => {
      for (let i = 1; i <= lastSequence; i++) if (!ledger.has(`t${i}`) && !refusedIds.has(`t${i}`)) return false;
      const done = [...ledger.values()].every(
        (e) => e.status !== 'claimed' || (e.by === 'trader-1' && e.seenAt <= (tl.killedAt ?? 0) + 1000),
      );
      return (
        done &&
        [...children.values()]
          .filter((c) => c.name.startsWith('trader') && c.proc.exitCode === null)
          .every((c) => (c.last as TraderStats | undefined)?.riskMaxSequence === lastSequence)
      );
    };
    const drained = await waitFor(allTraded, o.drainMs);
    await sleep(400); // one more round of stats from everyone
    mark(
      drained ? 'drained' : 'drain deadline passed',
      drained ? 'every accepted trade signal is in the ledger; every risk monitor saw the last one' : undefined,
    );
    const finals = new Map([...children.values()].map((c) => [c.name, c.last]));
    return buildReport({
      options: o,
      timeline: tl,
      ledger,
      accepted,
      lastSequence,
      feed: finals.get('feed') as FeedStats,
      traders: ['trader-1', 'trader-2'].map((n) => ({ name: n, stats: finals.get(n) as TraderStats | undefined })),
      history,
      killedProvider: killed,
      providerIndex: 0,
      logDir,
    });
  } finally {
    await closer.closeAll(io.logger, 10_000);
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}
