/**
 * The demo trading process, start to finish: local Solana cluster (or real providers), a
 * supervisor, the RPC pool with endpoint actors, a signal bus with worker and inline
 * subscribers, the signal generator with its surge, the fault schedule, the live view and the
 * control server; then a graceful shutdown (stop intake, drain within a deadline) and the report.
 *
 * `runDemo` never exits the process: it returns the report (or throws a DemoStartError when the
 * process could not be brought up) and closes everything it opened on every path.
 */
import { Keypair } from '@solana/web3.js';
import { systemClock, type Clock } from '../../src/clock.ts';
import { PalisadeError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/index.ts';
import { getRpcPoolConfig, loadConfig } from '../../src/config/index.ts';
import { CircuitBreakerManager } from '../../src/breaker/index.ts';
import { Supervisor, faultKindsFor, killActor } from '../../src/runtime/index.ts';
import { SignalBus, type SignalBusStats, type Subscription } from '../../src/bus/index.ts';
import { RpcConnectionPool, createSolanaConnection } from '../../src/rpc/index.ts';
import { accountSubscribers, dropsAfterAccept } from '../../test/support/bus-accounting.ts';
import { describeError } from '../../test/support/checks.ts';
import { Closer } from '../lib/closer.ts';
import { memoryMb } from '../lib/flags.ts';
import { sleep, waitFor, withDeadline } from '../../test/support/wait.ts';
import { startScriptCluster, type ScriptCluster } from './cluster.ts';
import { startControlServer, type ControlServer } from './control-server.ts';
import { TradeExecutor } from './executor.ts';
import { FaultRunner, defaultSchedule, type ActorFaultKind, type FaultTargets, type Observed } from './faults.ts';
import { SignalGenerator } from './generator.ts';
import type { DemoOptions } from './options.ts';
import { AckCollector, Recorder } from './recorder.ts';
import { CRITICAL_LOST_DEFINITION, finishReport, type CriticalAccount, type DemoReport } from './report.ts';
import { CountingRpc } from './rpc-client.ts';
import { TOPICS, ackChannelName } from '../../actors/demo/signals.ts';
import { seededRandom } from '../../src/random.ts';
import { SolTransferSender, loadKeypairFile } from './transfers.ts';
import { OffThreadSigner } from '../../src/signing/index.ts';
import { LiveView, type ViewSnapshot } from './view.ts';
import { BlockhashCache } from '../../src/solana/blockhash-cache.ts';
import { ChainSource } from '../../src/solana/chain-source.ts';
import { TransactionLander } from '../../src/solana/land.ts';
import { SendEndpoints } from '../../src/solana/send-endpoints.ts';

export class DemoStartError extends PalisadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEMO_START_FAILED', message, options);
  }
}

export interface DemoIo {
  /** Where the live view, start-up lines and the report go. */
  write(text: string): void;
  tty: boolean;
  columns(): number;
  /** Aborting it asks for a graceful shutdown (SIGINT/SIGTERM). */
  signal: AbortSignal;
  logger: Logger;
  clock?: Clock;
}

export const VALIDATOR = 'signal-validator';
export const CHAIN_SOURCE = 'chain-source';
export const CHAIN_TOPIC = 'chain_logs';
export const RISK = 'risk-monitor';
const VALIDATOR_MODULE = new URL('../../actors/demo/signal-validator.ts', import.meta.url);
const RISK_MODULE = new URL('../../actors/demo/risk-monitor.ts', import.meta.url);
const HEARTBEAT_MS = 250;
// About 2–3 slots per poll, so the generator has neighbours to publish swapped (the bus must reorder them).
const SLOT_POLL_MS = 1000;

export async function runDemo(o: DemoOptions, io: DemoIo): Promise<DemoReport> {
  const clock = io.clock ?? systemClock;
  const logger = io.logger;
  const say = (line: string): void => io.write(`${line}\n`);
  const t0 = clock.now();
  const startedAt = new Date(t0).toISOString();
  const closer = new Closer();
  const random = seededRandom(o.seed);
  const mode: 'local' | 'real' = o.real ? 'real' : 'local';
  const faultsOn = o.faults && !o.real;
  const cooldownMs = Math.max(400, Math.min(3000, Math.round(o.durationMs * 0.04)));

  let view: LiveView | null = null;
  let lastEvent = '';
  const note = (line: string): void => {
    lastEvent = line;
    view?.note(`  ${line}`);
  };

  try {
    // ---------------------------------------------------------------- providers
    let cluster: ScriptCluster | null = null;
    let endpoints: { name: string; url: string; wsUrl?: string; tier: number; weight?: number }[];
    if (o.real) {
      endpoints = getRpcPoolConfig(loadConfig()).endpoints.map((e) => ({ name: e.name, url: e.url, tier: e.tier, weight: e.weight }));
      say(`real providers: ${endpoints.map((e) => e.name).join(' → ')} (from HELIUS_RPC_URL / CHAINSTACK_RPC_URL / SOLANA_RPC_URL); no local fault injection`);
    } else {
      say(`starting the local Solana cluster (litesvm; one chain, one port per provider) ${o.clusterInProcess ? 'in this thread (--cluster-in-process)' : 'in a worker thread of its own (comlink control)'} ...`);
      cluster = await startScriptCluster({ inProcess: o.clusterInProcess === true, logger });
      const c = cluster;
      closer.add('local cluster', () => c.close());
      endpoints = cluster.endpoints.map((e, i) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl, tier: i }));
      for (const e of cluster.endpoints) say(`  ${e.name.padEnd(18)} ${e.url}`);
    }

    // ---------------------------------------------------------------- runtime, pool, bus
    const supervisor = new Supervisor({ logger, maxRestarts: 5, withinMs: 60_000, heartbeatMs: 1000 });
    closer.add('supervisor', () => supervisor.shutdown({ drainMs: 1000 }));
    const bus = new SignalBus({ maxQueueSize: 4096, reorderWindowMs: 50, supervisor, logger, closeTimeoutMs: o.drainMs });
    let busClosed = false;
    closer.add('signal bus', () => (busClosed ? undefined : bus.close({ timeoutMs: 0 })));
    // The pool reports on the bus too (the seed's 'rpc_call_completed'); subscribed before the
    // pool exists so none of its events meets a topic without subscribers. The view shows state changes.
    const rpcEvents = { completed: 0, stateChanges: 0 };
    const early: { name: string; sub: Subscription }[] = [
      { name: 'rpc-events', sub: bus.subscribe('rpc_call_completed', () => void rpcEvents.completed++) },
      {
        name: 'rpc-state',
        sub: bus.subscribe('rpc_endpoint_state_changed', (e: { endpoint?: string; from?: string; to?: string }) => {
          rpcEvents.stateChanges++;
          note(`endpoint ${e.endpoint}: ${e.from} → ${e.to}`);
        }),
      },
    ];
    // What the pool publishes, with the bus's refusals counted (the pool itself ignores them).
    const poolPublished: Record<string, { accepted: number; refused: number }> = {};
    const poolBus = {
      publish(topic: string, event: Record<string, unknown>, priority?: 'critical' | 'normal' | 'low'): boolean {
        const c = (poolPublished[topic] ??= { accepted: 0, refused: 0 });
        const ok = bus.publish(topic, event, priority);
        if (ok) c.accepted++;
        else c.refused++;
        return ok;
      },
    };

    const pool = new RpcConnectionPool(
      {
        endpoints,
        requestTimeoutMs: 5000,
        attemptTimeoutMs: 1500,
        healthIntervalMs: 250,
        maxSlotLag: 50,
        breaker: { failureThreshold: 3, cooldownMs, jitterRatio: 0.1 },
      },
      { supervisor, logger, bus: poolBus },
    );
    closer.add('rpc pool', () => pool.close());
    say('starting the supervisor and one endpoint actor per provider ...');
    await withDeadline(pool.ready(), 60_000, 'endpoint actors start-up');
    // The seed's integration pattern: a per-method breaker in front of the pool, same call().
    const breakers = new CircuitBreakerManager({ defaults: { failureThreshold: 20, cooldownMs: 1000 }, logger });
    const protectedPool = breakers.protect(pool);
    const rpc = new CountingRpc(protectedPool as never, () => pool.wsEndpoint());
    try {
      const v = await rpc.call('getVersion', [], { timeoutMs: 10_000 });
      say(`  providers answer: solana-core ${(v.result as { 'solana-core'?: string })?.['solana-core'] ?? '?'} via ${v.endpoint}`);
    } catch (err) {
      throw new DemoStartError(`no provider answered getVersion: ${describeError(err)}`, { cause: err });
    }
    const conn = createSolanaConnection(rpc, { commitment: 'confirmed', confirmPollMs: 400 });
    // The landing path: sends get their own breakers and rate limits (the send class), reads go
    // through the pool; the same signed bytes are re-broadcast until landed or provably expired.
    const sends = new SendEndpoints({ endpoints, clock, logger });
    closer.add('send endpoints', () => sends.close());
    const blockhashes = new BlockhashCache(rpc, { clock, logger });
    closer.add('blockhash cache', () => blockhashes.close());
    const lander = new TransactionLander(rpc, sends, { clock, logger });
    closer.add('transaction lander', () => lander.close());
    const landing = { lander, blockhashes };

    // ---------------------------------------------------------------- wallet
    let sender: SolTransferSender | null = null;
    // Transfers are signed on a piscina worker, never on this thread (it runs the bus router and
    // the inline subscribers). Started only when there is a wallet to sign for.
    const startSigner = async (): Promise<OffThreadSigner> => {
      const s = new OffThreadSigner({ minThreads: 1, maxThreads: 1, logger });
      closer.add('signer', () => s.close({ drainMs: 1000 }));
      await withDeadline(s.ready(), 30_000, 'the signing worker start-up');
      return s;
    };
    let wallet = 'none';
    let walletNote: string | undefined;
    let maxTransfers: number | undefined;
    if (o.real) {
      const path = process.env['PALISADE_DEMO_KEYPAIR'];
      if (path) {
        sender = new SolTransferSender(conn, loadKeypairFile(path), await startSigner(), clock, { selfTransfer: true, landing });
        wallet = `real key ${sender.payer.publicKey.toBase58().slice(0, 8)}…`;
        maxTransfers = 3;
        walletNote = 'real mode: at most 3 self-transfers (payer to payer: only fees are spent)';
        say(`  wallet: ${wallet} (${walletNote})`);
      } else {
        walletNote = '--real without PALISADE_DEMO_KEYPAIR: no funded key, so no transfers are sent';
        say(`  wallet: none — ${walletNote}`);
      }
    } else {
      say('funding a fresh wallet by airdrop (through the pool) ...');
      sender = new SolTransferSender(conn, Keypair.generate(), await startSigner(), clock, { landing });
      await withDeadline(sender.fundByAirdrop(1000, 20_000), 25_000, 'the airdrop');
      wallet = `local wallet ${sender.payer.publicKey.toBase58().slice(0, 8)}…`;
      say(`  ${wallet} funded with ${(await sender.balanceSol()).toFixed(0)} SOL`);
    }

    // ---------------------------------------------------------------- subscribers
    const recorder = new Recorder();
    const acks = new AckCollector(`${ackChannelName()}:${t0}`);
    closer.add('ack channel', () => acks.close());
    const executor = new TradeExecutor({ txPerSec: o.txPerSec, maxInFlight: o.txInFlight, ...(maxTransfers !== undefined ? { maxTransfers } : {}) }, sender, clock, logger);
    closer.add('executor', () => executor.drain(0));
    const subs: { name: string; sub: Subscription }[] = [...early];
    const subscribe = (name: string, sub: Subscription): void => void subs.push({ name, sub });
    say('subscribing: signal-validator and risk-monitor as worker actors; trade-executor and recorders inline ...');
    subscribe(
      VALIDATOR,
      bus.subscribe(TOPICS.trade, { module: VALIDATOR_MODULE }, { name: VALIDATOR, heartbeatMs: HEARTBEAT_MS, mailboxSize: 16_384, init: { ackChannel: `${ackChannelName()}:${t0}` } }),
    );
    subscribe('trade-executor', bus.subscribe(TOPICS.trade, executor.handle));
    subscribe('recorder:trade', bus.subscribe(TOPICS.trade, recorder.handlerFor(TOPICS.trade)));
    subscribe(RISK, bus.subscribe(TOPICS.price, { module: RISK_MODULE }, { name: RISK, heartbeatMs: HEARTBEAT_MS, mailboxSize: 4096 }));
    subscribe('recorder:price', bus.subscribe(TOPICS.price, recorder.handlerFor(TOPICS.price)));
    subscribe('recorder:slot', bus.subscribe(TOPICS.slot, recorder.handlerFor(TOPICS.slot)));
    subscribe('recorder:metrics', bus.subscribe(TOPICS.metrics, recorder.handlerFor(TOPICS.metrics)));
    // A real source on the chain beside the generator: the wallet's own transfers, seen through a
    // resilient logs subscription in a supervised actor, published with sequence numbers.
    const chainEvents = { received: 0, outOfSequence: 0, last: 0 };
    let chainSource: ChainSource | null = null;
    if (sender) {
      chainSource = new ChainSource(supervisor, bus, { name: CHAIN_SOURCE, topic: CHAIN_TOPIC, kind: 'logs', address: sender.payer.publicKey.toBase58(), endpoints, watchdogMs: 1000, clock, logger });
      subscribe(
        'recorder:chain',
        bus.subscribe(CHAIN_TOPIC, (e: { sequence: number }) => {
          chainEvents.received++;
          if (e.sequence !== chainEvents.last + 1) chainEvents.outOfSequence++;
          chainEvents.last = e.sequence;
        }),
      );
    }
    await withDeadline(Promise.all(subs.map((s) => s.sub.ready)), 60_000, 'worker subscribers start-up');
    if (chainSource) {
      const src = chainSource;
      closer.add('chain source', () => src.stop());
      await withDeadline(src.start(), 60_000, 'the chain source actor start-up');
      say(`chain source: a resilient logs subscription on the wallet in a supervised actor → topic ${CHAIN_TOPIC}`);
    }

    // ---------------------------------------------------------------- generator, faults, view
    const surgeFromMs = Math.round(o.durationMs * o.surgeFrom);
    const surgeToMs = Math.round(o.durationMs * o.surgeTo);
    const generator = new SignalGenerator({ rate: o.rate, surgeFactor: o.surgeFactor, surgeFromMs, surgeToMs }, bus, clock, random, (err) =>
      logger.error({ err: describeError(err) }, 'demo: publish threw'),
    );

    const actorStats = (name: string) => supervisor.getStats().actors.find((a) => a.name === name);
    const observed: Observed = {
      endpoint: (name) => pool.getStats().endpoints.find((e) => e.name === name),
      poolFailedCalls: () => rpc.failedTotal,
      actor: (name) => {
        const a = actorStats(name);
        return a && { state: a.state, incarnation: a.incarnation, lastCrashAt: a.lastCrash?.at ?? null, lastCrashKind: a.lastCrash?.kind ?? null };
      },
    };
    const targets: FaultTargets = {
      killProvider: (n) => cluster!.faults.kill(n),
      reviveProvider: (n) => cluster!.faults.revive(n),
      rateLimitProvider: (n, s) => cluster!.faults.set(n, { kind: '429', retryAfterSec: s }),
      clearProvider: (n) => cluster!.faults.clear(n),
      killActor: (n, k: ActorFaultKind) => killActor(supervisor, n, k),
    };
    const names = endpoints.map((e) => e.name);
    const steps = faultsOn ? defaultSchedule(o.durationMs, { primary: names[0]!, secondary: names[1] ?? names[0]!, crashTarget: VALIDATOR, hangTarget: RISK }) : [];
    const faults = new FaultRunner(steps, targets, observed, clock, logger, (e) => note(`${(e.atMs / 1000).toFixed(1)}s ${e.ok ? '' : 'FAILED '}${e.step}${e.detail ? ` — ${e.detail}` : ''}`));

    const memSeries: { atMs: number; rssMb: number; heapMb: number }[] = [];
    let rssPeak = 0;
    let runStart = 0;
    const sampleMemory = (): void => {
      const m = memoryMb();
      rssPeak = Math.max(rssPeak, m.rssMb);
      memSeries.push({ atMs: clock.now() - runStart, rssMb: m.rssMb, heapMb: m.heapUsedMb });
    };

    const snapshot = (): ViewSnapshot => {
      const b = bus.getStats();
      const p = pool.getStats();
      const s = supervisor.getStats();
      const x = executor.stats();
      const m = memoryMb();
      const now = clock.now();
      return {
        atMs: now,
        elapsedMs: runStart ? now - runStart : 0,
        durationMs: o.durationMs,
        phase: generator.phase,
        targetRate: generator.stats().rateNow,
        published: { critical: b.byPriority.critical.published, normal: b.byPriority.normal.published, low: b.byPriority.low.published },
        delivered: b.delivered,
        dropped: b.dropped,
        latency: { p50: b.latency.p50, p99: b.latency.p99, count: b.latency.count },
        workerLatency: { p50: b.workerLatency.p50, p99: b.workerLatency.p99, count: b.workerLatency.count },
        endpoints: p.endpoints.map((e) => ({ name: e.name, state: e.state, alive: e.alive, calls: e.calls, failures: e.failures, resting: e.rateLimitedUntil > 0 })),
        subscribers: b.subscribers.map((sub) => ({ name: nameOf(sub.id), kind: sub.kind, state: sub.state, depth: sub.mailboxDepth, delivered: sub.delivered, restarts: sub.restarts })),
        restarts: s.restarts,
        quarantined: s.quarantined,
        tx: { started: x.started, confirmed: x.confirmed, failed: Object.values(x.failed).reduce((a, c) => a + c, 0), inFlight: x.inFlight },
        rpc: { calls: rpc.calls, failed: rpc.failedTotal },
        rssMb: m.rssMb,
        heapMb: m.heapUsedMb,
        lastEvent,
      };
    };
    const idToName = new Map(subs.map((s) => [s.sub.id, s.name]));
    const nameOf = (id: string): string => idToName.get(id) ?? id;
    view = o.quiet ? null : new LiveView(snapshot, io.write, io.tty, o.viewMs ?? (io.tty ? 1000 : 5000), clock, io.columns);

    // ---------------------------------------------------------------- control server
    const control: ControlServer = await startControlServer(
      {
        stats: () => ({ view: snapshot(), bus: bus.getStats(), supervisor: supervisor.getStats(), pool: pool.getStats(), generator: generator.stats(), executor: executor.stats(), faults: faults.report() }),
        actors: () =>
          supervisor.getStats().actors.map((a) => ({
            name: a.name,
            state: a.state,
            incarnation: a.incarnation,
            restarts: a.restarts,
            kinds: faultKindsFor({ heartbeatMs: a.name === VALIDATOR || a.name === RISK ? HEARTBEAT_MS : 1000 }),
          })),
        killActor: (n, k) => killActor(supervisor, n, k),
        ...(cluster
          ? {
              providers: {
                list: () => cluster!.faults.list(),
                set: (n: string, f: unknown) => cluster!.faults.set(n, f as never),
                clear: (n?: string) => cluster!.faults.clear(n),
                kill: (n: string) => cluster!.faults.kill(n),
                revive: (n: string) => cluster!.faults.revive(n),
              },
            }
          : {}),
        logger,
        onAction: (what) => note(what),
      },
      o.controlPort,
    );
    closer.add('control server', () => control.close());
    say(`control server: ${control.url}  (GET /stats /actors /providers; POST /actors/kill /providers/fault|clear|kill|revive)`);
    say(`  e.g. curl -s -XPOST ${control.url}/actors/kill -d '{"actor":"${VALIDATOR}","kind":"uncaught"}'`);
    say(`  or  npm run fault-inject -- --target ${control.url}`);

    // ---------------------------------------------------------------- background RPC load
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const every = (ms: number, fn: () => void): void => {
      const h = setInterval(fn, ms);
      h.unref();
      timers.add(h);
    };
    let slotInFlight = false;
    every(SLOT_POLL_MS, () => {
      if (slotInFlight) return;
      slotInFlight = true;
      rpc
        .call('getSlot', [{ commitment: 'processed' }], { timeoutMs: 2000 })
        .then((r) => generator.onSlot(r.result as number))
        .catch(() => {})
        .finally(() => (slotInFlight = false));
    });
    const reads = { started: 0, skipped: 0 };
    let readsInFlight = 0;
    const payer = sender?.payer.publicKey.toBase58();
    const readCalls: [string, unknown[]][] = [
      ['getSlot', []],
      ['getLatestBlockhash', [{ commitment: 'confirmed' }]],
      ...(payer ? ([['getBalance', [payer, { commitment: 'confirmed' }]]] as [string, unknown[]][]) : []),
      ['getHealth', []],
    ];
    if (o.readsPerSec > 0) {
      every(Math.max(1, Math.round(1000 / o.readsPerSec)), () => {
        if (readsInFlight >= 32) return void reads.skipped++;
        const [method, params] = readCalls[reads.started++ % readCalls.length]!;
        readsInFlight++;
        rpc
          .call(method, params)
          .catch(() => {})
          .finally(() => readsInFlight--);
      });
    }

    // ---------------------------------------------------------------- run
    const startupMs = clock.now() - t0;
    say(
      `run: ${(o.durationMs / 1000).toFixed(0)} s; ${o.rate} signals/s, surge ×${o.surgeFactor} from ${(surgeFromMs / 1000).toFixed(1)} s to ${(surgeToMs / 1000).toFixed(1)} s; ` +
        `faults ${faultsOn ? 'on' : 'off'}; ${io.tty ? 'Ctrl-C stops early (graceful)' : 'SIGINT/SIGTERM stop early (graceful)'}`,
    );
    runStart = clock.now();
    sampleMemory();
    const rssStart = memSeries[0]!.rssMb;
    every(1000, sampleMemory);
    generator.start();
    faults.start();
    view?.start();
    let reason = 'completed';
    await new Promise<void>((resolve) => {
      const h = setTimeout(resolve, o.durationMs);
      const onAbort = (): void => {
        clearTimeout(h);
        reason = String(io.signal.reason ?? 'signal');
        resolve();
      };
      if (io.signal.aborted) onAbort();
      else io.signal.addEventListener('abort', onAbort, { once: true });
    });
    const ranMs = clock.now() - runStart;

    // ---------------------------------------------------------------- graceful shutdown
    generator.stop(); // intake stops here: nothing is published after this line
    await chainSource?.stop();
    for (const h of timers) clearInterval(h);
    view?.stop();
    view?.draw();
    say(`stopping (${reason}): intake stopped; draining within ${o.drainMs} ms ...`);
    const drainT0 = clock.now();
    const dropsBeforeClose = bus.getStats().dropped.BUS_CLOSED;
    await executor.drain(o.drainMs);
    const sig = sender?.signerStats();
    if (sig) {
      const failures = Object.entries(sig.failed).filter(([, n]) => n > 0);
      say(`  signing off-thread (piscina): ${sig.signed} signed, call→signature p50 ${sig.latency.p50.toFixed(2)} ms p99 ${sig.latency.p99.toFixed(2)} ms, failed ${failures.length ? JSON.stringify(Object.fromEntries(failures)) : 'none'}, workers started ${sig.workersStarted}`);
    }
    const left = Math.max(0, o.drainMs - (clock.now() - drainT0));
    // Final bus numbers are read before close(): close stops the worker subscribers.
    await waitFor(() => busIdle(bus.getStats()), left, 'the bus to drain').catch(() => undefined);
    faults.stop();
    const busStatsBeforeClose = bus.getStats();
    const notDrained = busStatsBeforeClose.subscribers.filter((x) => x.mailboxDepth > 0).map((x) => ({ name: nameOf(x.id), depth: x.mailboxDepth, state: x.state }));
    if (notDrained.length) {
      const actors = supervisor.getStats().actors.filter((a) => notDrained.some((n) => n.name === a.name));
      const runtimeView = actors.map((a) => ({ name: a.name, state: a.state, incarnation: a.incarnation, mailboxDepth: a.mailboxDepth, inFlight: a.inFlight, accepted: a.accepted, processed: a.processed, heartbeats: a.heartbeats }));
      logger.warn({ notDrained, runtimeView }, 'demo: subscribers still had events queued at the drain deadline');
    }
    const supStats = supervisor.getStats();
    await bus.close({ timeoutMs: Math.max(0, o.drainMs - (clock.now() - drainT0)) });
    busClosed = true;
    const drainedInMs = clock.now() - drainT0;
    const busStats = bus.getStats();
    // The pool keeps publishing (probes, state changes) until it is closed: freeze its counts with the bus's.
    const poolPublishedAtClose = Object.fromEntries(Object.entries(poolPublished).map(([k, v]) => [k, { ...v }]));
    const droppedAtClose = busStats.dropped.BUS_CLOSED - dropsBeforeClose;
    // A worker's ack is posted before its handler returns, but on another channel than the
    // runtime's outcome: wait (bounded) until every processed critical event's ack has arrived.
    const validatorSub = busStatsBeforeClose.subscribers.find((s) => nameOf(s.id) === VALIDATOR);
    await waitFor(() => acks.record(VALIDATOR).handled >= (validatorSub?.delivered ?? 0), 2000, 'worker acks').catch(() => undefined);
    await sleep(20);

    // ---------------------------------------------------------------- report
    const gen = generator.stats();
    const x = executor.stats();
    const poolStats = pool.getStats();
    const clusterControl = cluster?.controlStats();
    if (clusterControl) {
      say(`  cluster control (comlink to the cluster's thread): ${clusterControl.calls} calls, ${clusterControl.failed} refused by the cluster, ${clusterControl.timeouts} timed out, ${clusterControl.rejectedExited} cut by a thread exit; round trip p50 ${clusterControl.latency.p50.toFixed(2)} ms p99 ${clusterControl.latency.p99.toFixed(2)} ms`);
    }
    sampleMemory();
    const mem = memoryMb();

    const refused: Record<string, number> = {};
    for (const [t, c] of Object.entries(gen.byTopic)) refused[t] = c.refused;
    for (const [t, c] of Object.entries(poolPublishedAtClose)) refused[t] = c.refused;
    const sourceStats = chainSource?.getStats();
    if (sourceStats) refused[CHAIN_TOPIC] = sourceStats.refusedByBus;
    const subscribers = accountSubscribers(busStats, refused, nameOf);
    // The publishers' own count of refusals must match what the bus says it refused.
    const refusalMismatches = busStats.topics
      .filter((t) => refused[t.topic] !== undefined && typeof t.refused === 'number' && t.refused !== refused[t.topic])
      .map((t) => `${t.topic}: publisher saw ${refused[t.topic]} refusals, bus counted ${t.refused}`);

    const accepted = generator.acceptedTrades;
    const tradePostAccept = dropsAfterAccept(busStats, TOPICS.trade, refused[TOPICS.trade] ?? 0);
    const critical: CriticalAccount[] = subscribers
      .filter((s) => s.topic === TOPICS.trade)
      .map((s) => {
        let seen: Set<number>;
        let redelivered = 0;
        if (s.name === VALIDATOR) {
          const a = acks.record(VALIDATOR);
          seen = a.seen;
          redelivered = a.redelivered;
        } else if (s.name === 'trade-executor') seen = executor.tradesSeen;
        else seen = recorder.tradesSeen;
        let handled = 0;
        for (const q of accepted) if (seen.has(q)) handled++;
        const dropped = s.dropped + tradePostAccept;
        return { name: s.name, kind: s.kind, handled, redelivered, droppedWithReason: dropped, lost: Math.max(0, accepted.size - handled - dropped) };
      });

    const workerReported: Record<string, number> = {};
    for (const [name, rec] of acks.bySubscriber) workerReported[name] = rec.orderViolations;
    const orderViolations = recorder.orderViolations() + Object.values(workerReported).reduce((a, b) => a + b, 0);

    const pri = (k: 'critical' | 'normal' | 'low') => ({
      attempted: gen.byPriority[k].attempted,
      accepted: gen.byPriority[k].accepted,
      refused: gen.byPriority[k].refused,
      delivered: busStats.byPriority[k].delivered,
      failed: busStats.byPriority[k].failed,
      dropped: busStats.byPriority[k].dropped,
    });
    const dropsByReason: Record<string, number> = {};
    for (const [k, v] of Object.entries(busStats.dropped)) if (v > 0) dropsByReason[k] = v;

    const report = finishReport({
      mode,
      startedAt,
      durationMs: o.durationMs,
      ranMs,
      startupMs,
      shutdown: { reason, drainMs: o.drainMs, drainedInMs, droppedAtClose, notDrained },
      options: { rate: o.rate, surgeFactor: o.surgeFactor, faults: faultsOn, seed: o.seed, txPerSec: o.txPerSec, cluster: cluster?.mode ?? 'none' },
      signals: {
        byPriority: { critical: pri('critical'), normal: pri('normal'), low: pri('low') },
        byTopic: gen.byTopic,
        droppedByReason: dropsByReason,
        droppedTotal: busStats.droppedEvents,
        publishErrors: gen.errors,
        refusalMismatches,
        surge: { factor: o.surgeFactor, fromMs: surgeFromMs, toMs: surgeToMs, peakRate: o.rate * o.surgeFactor },
      },
      critical: {
        definition: CRITICAL_LOST_DEFINITION,
        accepted: accepted.size,
        refusedAtPublish: gen.byPriority.critical.refused,
        lost: critical.reduce((a, s) => a + s.lost, 0),
        subscribers: critical,
      },
      subscribers,
      ordering: {
        violations: orderViolations,
        byTopic: recorder.snapshot(),
        workerReported,
        slotUpdatesShuffled: gen.slotsShuffled,
        gapsSkipped: busStats.topics.reduce((a, t) => a + t.gaps, 0),
      },
      latency: { inline: busStats.latency, worker: busStats.workerLatency, sampleEvery: busStats.latency.sampleEvery },
      rpc: {
        calls: rpc.calls,
        ok: rpc.ok,
        failed: { ...rpc.failed, ...(rpc.callerErrors ? { caller_errors: rpc.callerErrors } : {}) },
        failovers: poolStats.failovers,
        endpoints: poolStats.endpoints.map((e) => ({
          name: e.name,
          state: e.state,
          calls: e.calls,
          successes: e.successes,
          failures: e.failures,
          failuresByClass: Object.fromEntries(Object.entries(e.failuresByClass).filter(([, v]) => v > 0)),
          p50: e.latency.p50,
          p99: e.latency.p99,
        })),
      },
      faults: { enabled: faultsOn, ...faults.report() },
      transactions: { ...x, wallet, ...(walletNote ? { note: walletNote } : {}) },
      edge: edgeReport(lander, sends, blockhashes, sourceStats, chainEvents),
      runtime: {
        restarts: supStats.restarts,
        crashes: supStats.crashes,
        quarantined: supStats.quarantined,
        deadLetters: supStats.deadLetters,
        deadLettersByReason: supStats.deadLettersByReason as Record<string, number>,
        actors: supStats.actors.map((a) => ({ name: a.name, state: a.state, incarnation: a.incarnation, restarts: a.restarts, crashes: a.crashes, processed: a.processed, deadLetters: a.deadLetters })),
      },
      memory: { rssStartMb: rssStart, rssPeakMb: rssPeak, rssEndMb: mem.rssMb, heapEndMb: mem.heapUsedMb, series: memSeries },
      generator: gen,
    });
    return report;
  } finally {
    await closer.closeAll(logger, 10_000);
  }
}

function edgeReport(
  lander: TransactionLander,
  sends: SendEndpoints,
  blockhashes: BlockhashCache,
  source: ReturnType<ChainSource['getStats']> | undefined,
  received: { received: number; outOfSequence: number },
): NonNullable<DemoReport['edge']> {
  const l = lander.getStats();
  const sub = source?.subscription as { failovers?: Record<string, number>; resubscriptions?: number; backfilled?: { logs?: number }; duplicatesDropped?: number } | undefined;
  return {
    landing: {
      results: l.results,
      broadcasts: l.broadcasts,
      timeToLand: { p50: l.timeToLandMs.p50, p99: l.timeToLandMs.p99, count: l.timeToLandMs.count },
      sends: sends.getStats().map((e) => ({ name: e.name, state: e.state, accepted: e.accepted, failures: e.failures, skipped: e.skipped })),
      blockhashRefreshFailures: blockhashes.getStats().refreshFailures,
    },
    chainSource: source
      ? {
          published: source.published,
          received: received.received,
          outOfSequence: received.outOfSequence,
          sequenceBreaks: source.sequenceBreaks,
          resumes: source.resumes,
          failovers: Object.values(sub?.failovers ?? {}).reduce((a, b) => a + b, 0),
          resubscriptions: sub?.resubscriptions ?? 0,
          backfilled: sub?.backfilled?.logs ?? 0,
          duplicatesDropped: sub?.duplicatesDropped ?? 0,
        }
      : null,
  };
}

/** Nothing queued on any topic and nothing waiting in or handed to any subscriber. */
function busIdle(s: SignalBusStats): boolean {
  return s.topics.every((t) => t.depth === 0) && s.subscribers.every((x) => x.mailboxDepth === 0);
}
