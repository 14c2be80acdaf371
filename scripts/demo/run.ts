/**
 * The demo trading process, start to finish, as its phases: start the stack (providers,
 * supervisor, pool, bus), open the wallet, subscribe, prepare the load and fault schedule, show it
 * (live view, control server), run for --duration-ms, drain gracefully, collect the report; the
 * closer shuts everything down on every path.
 *
 * `runDemo` never exits the process: it returns the report (or throws a DemoStartError when the
 * process could not be brought up) and closes everything it opened on every path.
 */
import { systemClock } from '../../src/clock.ts';
import { seededRandom } from '../../src/random.ts';
import { Closer } from '../lib/closer.ts';
import { collectReport } from './collect.ts';
import { Intervals, type DemoContext, type DemoIo } from './context.ts';
import { prepareLoad, startBackgroundRpc } from './load.ts';
import { MemorySampler, liveView, snapshotter, startControl, type RunWindow } from './monitor.ts';
import type { DemoOptions } from './options.ts';
import type { DemoReport } from './report.ts';
import { drainGracefully } from './shutdown.ts';
import { startStack } from './stack.ts';
import { subscribeAll } from './subscribers.ts';
import type { LiveView } from './view.ts';
import { openWallet } from './wallet.ts';
import { openLanding, prepareChainSource, startChainSource } from './edge.ts';

export { DemoStartError, type DemoIo } from './context.ts';

export async function runDemo(o: DemoOptions, io: DemoIo): Promise<DemoReport> {
  const clock = io.clock ?? systemClock;
  const t0 = clock.now();
  const startedAt = new Date(t0).toISOString();
  let view: LiveView | null = null;
  let lastEvent = '';
  const ctx: DemoContext = {
    o,
    clock,
    logger: io.logger,
    closer: new Closer(),
    t0,
    timers: new Intervals(),
    say: (line) => io.write(`${line}\n`),
    note: (line) => {
      lastEvent = line;
      view?.note(`  ${line}`);
    },
  };
  const random = seededRandom(o.seed);

  try {
    const stack = await startStack(ctx);
    const edge = openLanding(ctx, stack);
    const wallet = await openWallet(ctx, stack.conn, edge.landing);
    prepareChainSource(ctx, stack, edge, wallet);
    const subs = await subscribeAll(ctx, stack, wallet, edge);
    await startChainSource(ctx, edge);
    const load = prepareLoad(ctx, stack, random);

    const run: RunWindow = { startedAt: 0 };
    const memory = new MemorySampler(clock, run);
    const snapshot = snapshotter(ctx, stack, subs, load, run, () => lastEvent);
    view = liveView(ctx, io, snapshot);
    await startControl(ctx, stack, subs, load, snapshot);
    startBackgroundRpc(ctx, stack, load.generator, wallet.sender?.payer.publicKey.toBase58());

    const startupMs = clock.now() - t0;
    ctx.say(
      `run: ${(o.durationMs / 1000).toFixed(0)} s; ${o.rate} signals/s, surge ×${o.surgeFactor} from ${(load.surgeFromMs / 1000).toFixed(1)} s to ${(load.surgeToMs / 1000).toFixed(1)} s; ` +
        `faults ${load.faultsOn ? 'on' : 'off'}; ${io.tty ? 'Ctrl-C stops early (graceful)' : 'SIGINT/SIGTERM stop early (graceful)'}`,
    );
    run.startedAt = clock.now();
    memory.sample();
    const rssStartMb = memory.series[0]!.rssMb;
    ctx.timers.every(1000, () => memory.sample());
    load.generator.start();
    load.faults.start();
    view?.start();
    const reason = await runUntilDoneOrAborted(o.durationMs, io.signal);
    const ranMs = clock.now() - run.startedAt;
    await edge.source?.stop(); // the chain source is intake too: it stops with the generator

    const drain = await drainGracefully(ctx, stack, subs, load, wallet, view, reason);
    return collectReport(
      ctx,
      stack,
      subs,
      load,
      wallet,
      memory,
      { startedAt, startupMs, ranMs, reason, rssStartMb },
      drain,
      edge,
    );
  } finally {
    await ctx.closer.closeAll(ctx.logger, 10_000);
  }
}

/** Waits out the run; resolves with 'completed', or with the abort reason on SIGINT/SIGTERM. */
function runUntilDoneOrAborted(durationMs: number, signal: AbortSignal): Promise<string> {
  return new Promise<string>((resolve) => {
    const h = setTimeout(() => resolve('completed'), durationMs);
    const onAbort = (): void => {
      clearTimeout(h);
      resolve(String(signal.reason ?? 'signal'));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
