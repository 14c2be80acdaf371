/**
 * The demo's parts on their own, with a hand-driven clock: the signal generator's rates, surge
 * and sequences; the executor's outcomes; the fault runner's failover/recovery measurements;
 * the report's checks; the check runner and the live view's rendering.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { silentLogger } from '../src/log/index.ts';
import { SignalGenerator, type Priority } from '../scripts/demo/generator.ts';
import { TradeExecutor, type TransferSender } from '../scripts/demo/executor.ts';
import {
  FaultRunner,
  defaultSchedule,
  type ActorFaultKind,
  type FaultTargets,
  type Observed,
} from '../scripts/demo/faults.ts';
import { Recorder } from '../scripts/demo/recorder.ts';
import { TOPICS, validateTradeSignal } from '../actors/demo/signals.ts';
import { seededRandom } from '../src/random.ts';
import { evaluateChecks } from '../scripts/demo/report.ts';
import { renderFrame, renderLine, type ViewSnapshot } from '../scripts/demo/view.ts';
import { CheckRunner } from './support/checks.ts';
import { parseDemoArgs } from '../scripts/demo/options.ts';
import { baseReport } from './fixtures/demo/report.ts';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Published {
  topic: string;
  event: Record<string, unknown>;
  priority: Priority | undefined;
}

function fakeBus(refuse: (topic: string, n: number) => boolean = () => false) {
  const published: Published[] = [];
  const firstSequence: Record<string, number> = {};
  return {
    published,
    firstSequence,
    publish(topic: string, event: object, priority?: Priority): boolean {
      if (refuse(topic, published.length)) return false;
      published.push({ topic, event: event as Record<string, unknown>, priority });
      return true;
    },
    configureTopic(topic: string, o: { firstSequence?: number }): void {
      if (o.firstSequence !== undefined) firstSequence[topic] = o.firstSequence;
    },
  };
}

describe('demo signal generator', () => {
  it('publishes the normal rate, the surge at rate × factor inside its window, and stops at once on stop()', () => {
    const clock = new ManualClock();
    const bus = fakeBus();
    const gen = new SignalGenerator(
      { rate: 100, surgeFactor: 20, surgeFromMs: 1000, surgeToMs: 2000 },
      bus,
      clock,
      seededRandom(7),
    );
    gen.start();
    clock.advance(1000);
    const normal = bus.published.length;
    assert.ok(normal >= 95 && normal <= 100, `~100 events in the first second, got ${normal}`);
    clock.advance(500);
    assert.equal(gen.phase, 'surge');
    clock.advance(500);
    const surge = bus.published.length - normal;
    assert.ok(surge >= 1900 && surge <= 2010, `~2000 events during the surge second, got ${surge}`);
    clock.advance(1000);
    const after = bus.published.length - normal - surge;
    assert.ok(after >= 95 && after <= 105, `back to ~100/s after the surge, got ${after}`);
    assert.equal(gen.phase, 'cooldown');
    gen.stop();
    const n = bus.published.length;
    clock.advance(5000);
    gen.onSlot(1_000_000);
    assert.equal(bus.published.length, n, 'nothing is published after stop()');
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  it('gives trade signals contiguous sequences, critical priority, and remembers exactly which were accepted', () => {
    const clock = new ManualClock();
    // Refuse every 5th publish of a trade signal.
    let trades = 0;
    const bus = fakeBus((topic) => topic === TOPICS.trade && ++trades % 5 === 0);
    const gen = new SignalGenerator(
      { rate: 2000, surgeFactor: 1, surgeFromMs: 0, surgeToMs: 0 },
      bus,
      clock,
      seededRandom(1),
    );
    gen.start();
    clock.advance(2000);
    gen.stop();
    const tradeEvents = bus.published.filter((p) => p.topic === TOPICS.trade);
    assert.ok(tradeEvents.length > 50);
    assert.ok(tradeEvents.every((p) => p.priority === 'critical'));
    const seqs = tradeEvents.map((p) => p.event['sequence'] as number);
    assert.deepEqual(
      [...gen.acceptedTrades].sort((a, b) => a - b),
      seqs,
      'accepted set = what the bus took',
    );
    const s = gen.stats();
    assert.equal(s.byTopic[TOPICS.trade]!.refused, trades - tradeEvents.length);
    assert.equal(s.attempted, s.accepted + s.refused);
    assert.equal(s.byPriority.critical.accepted, tradeEvents.length);
    assert.ok(bus.published.some((p) => p.topic === TOPICS.price && p.priority === 'normal'));
    assert.ok(bus.published.some((p) => p.topic === TOPICS.metrics && p.priority === 'low'));
  });

  it('publishes one slot update per slot with sequence = slot, some neighbours swapped, none lost', () => {
    const clock = new ManualClock();
    const bus = fakeBus();
    const gen = new SignalGenerator(
      { rate: 1, surgeFactor: 1, surgeFromMs: 0, surgeToMs: 0, slotShuffle: 0.5 },
      bus,
      clock,
      seededRandom(3),
    );
    gen.start();
    gen.onSlot(500);
    gen.onSlot(520);
    gen.onSlot(510); // the chain never goes back; ignored
    gen.onSlot(560);
    gen.stop();
    const slots = bus.published.filter((p) => p.topic === TOPICS.slot).map((p) => p.event['sequence'] as number);
    assert.equal(bus.firstSequence[TOPICS.slot], 500);
    assert.deepEqual(
      [...slots].sort((a, b) => a - b),
      Array.from({ length: 61 }, (_, i) => 500 + i),
    );
    const swapped = slots.filter((s, i) => i > 0 && s < slots[i - 1]!).length;
    assert.ok(swapped > 0, 'some slot updates go out of order on purpose');
    assert.equal(gen.stats().slotsShuffled, swapped);
  });
});

describe('demo trade executor', () => {
  const signal = (seq: number, over: Record<string, unknown> = {}) => ({
    token: 'BONK',
    action: 'BUY' as const,
    price: 0.00002,
    confidence: 0.9,
    source: 'telegram' as const,
    slot: 1,
    expiresAt: Number.MAX_SAFE_INTEGER,
    sequence: seq,
    timestamp: 0,
    ...over,
  });

  it('gives every signal exactly one outcome: invalid, skipped with a reason, or a transfer', async () => {
    const clock = new ManualClock(0);
    const pending: (() => void)[] = [];
    const sender: TransferSender = {
      transfer: () => new Promise((resolve) => pending.push(() => resolve({ signature: `sig${pending.length}` }))),
    };
    const ex = new TradeExecutor({ txPerSec: 2, maxInFlight: 2 }, sender, clock, silentLogger);
    ex.handle(signal(1, { price: 0 })); // invalid
    ex.handle(signal(2, { action: 'SELL' })); // sell
    ex.handle(signal(3, { confidence: 0.5 })); // low confidence
    ex.handle(signal(4)); // transfer (bucket starts with 1 token)
    ex.handle(signal(5)); // budget: no token left
    clock.advance(500); // one more token
    ex.handle(signal(6)); // transfer
    clock.advance(1000);
    ex.handle(signal(7)); // in-flight limit (2 running)
    let s = ex.stats();
    assert.equal(s.seen, 7);
    assert.deepEqual(s.invalid, { 'bad-price': 1 });
    assert.deepEqual(s.skipped, { 'sell-signal': 1, 'low-confidence': 1, budget: 1, 'in-flight-limit': 1 });
    assert.equal(s.started, 2);
    assert.equal(s.inFlight, 2);
    for (const f of pending) f();
    await ex.drain(1000);
    s = ex.stats();
    assert.equal(s.confirmed, 2);
    assert.equal(s.inFlight, 0);
    assert.deepEqual(
      [...ex.tradesSeen].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('counts a transfer that never confirms as failed when drained, and starts nothing after drain', async () => {
    const clock = new ManualClock(0);
    const sender: TransferSender = {
      transfer: (_t, signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    };
    const ex = new TradeExecutor({ txPerSec: 10, maxInFlight: 4 }, sender, clock, silentLogger);
    ex.handle(signal(1));
    const drained = ex.drain(100);
    clock.advance(100);
    await drained;
    ex.handle(signal(2));
    const s = ex.stats();
    assert.deepEqual(s.failed, { 'aborted-at-shutdown': 1 });
    assert.deepEqual(s.skipped, { stopped: 1 });
    assert.equal(s.inFlight, 0);
  });

  it('validateTradeSignal rejects bad shapes and stale signals', () => {
    assert.equal(validateTradeSignal(signal(1), 0).ok, true);
    assert.deepEqual(validateTradeSignal(signal(1, { action: 'HODL' }) as never, 0), {
      ok: false,
      reason: 'bad-action',
    });
    assert.deepEqual(validateTradeSignal(signal(1, { confidence: 2 }), 0), { ok: false, reason: 'bad-confidence' });
    assert.deepEqual(validateTradeSignal(signal(1, { expiresAt: 10 }), 10), { ok: false, reason: 'expired' });
    assert.deepEqual(validateTradeSignal(null, 0), { ok: false, reason: 'not-an-object' });
  });
});

describe('demo recorder', () => {
  it('counts order violations and gaps per topic', () => {
    const r = new Recorder();
    const h = r.handlerFor(TOPICS.trade);
    for (const s of [1, 2, 3, 5, 4, 6]) h({ sequence: s });
    const rec = r.snapshot()[TOPICS.trade]!;
    assert.equal(rec.delivered, 6);
    assert.equal(rec.orderViolations, 1);
    assert.equal(rec.skipped, 1);
    assert.deepEqual(r.firstViolations, [{ topic: TOPICS.trade, sequence: 4, after: 5 }]);
    assert.deepEqual([...r.tradesSeen].sort(), [1, 2, 3, 4, 5, 6]);
  });
});

describe('demo fault runner', () => {
  function world() {
    const ep = { calls: 10, successes: 10, state: 'CLOSED' };
    const actor = {
      state: 'running',
      incarnation: 1,
      lastCrashAt: null as number | null,
      lastCrashKind: null as string | null,
    };
    let failed = 0;
    const actions: string[] = [];
    const targets: FaultTargets = {
      killProvider: async (n) => void actions.push(`kill ${n}`),
      reviveProvider: async (n) => void actions.push(`revive ${n}`),
      rateLimitProvider: (n, s) => void actions.push(`429 ${n} ${s}`),
      clearProvider: (n) => void actions.push(`clear ${n}`),
      killActor: (n: string, k: ActorFaultKind) => {
        actions.push(`${k} ${n}`);
        return actor.state === 'running';
      },
    };
    const observed: Observed = {
      endpoint: (n) => (n === 'p1' ? { ...ep } : undefined),
      poolFailedCalls: () => failed,
      actor: (n) => (n === 'a1' ? { ...actor } : undefined),
    };
    return { ep, actor, targets, observed, actions, fail: () => failed++ };
  }

  it('measures kill → last call routed and breaker open, revive → CLOSED and serving, crash → running again', async () => {
    const clock = new ManualClock(1_000_000);
    const w = world();
    const steps = [
      { atMs: 100, kind: 'kill-provider' as const, provider: 'p1' },
      { atMs: 200, kind: 'crash-actor' as const, actor: 'a1', crash: 'exit' as const },
      { atMs: 1000, kind: 'revive-provider' as const, provider: 'p1' },
    ];
    const runner = new FaultRunner(steps, w.targets, w.observed, clock, silentLogger);
    runner.start();
    clock.advance(100);
    await flush();
    // Two calls still reach it (each fails over), then its breaker opens.
    clock.advance(20);
    w.ep.calls += 2;
    clock.advance(30);
    w.ep.state = 'OPEN';
    clock.advance(50); // t = 200: the crash
    w.actor.state = 'restarting';
    w.actor.lastCrashAt = Date.now();
    clock.advance(40);
    w.actor.state = 'running';
    w.actor.incarnation = 2;
    clock.advance(760); // t = 1000: revive
    await flush();
    clock.advance(100);
    w.ep.state = 'CLOSED';
    clock.advance(50);
    w.ep.successes++;
    clock.advance(50);
    runner.stop();
    const r = runner.report();
    const o = r.outages[0]!;
    assert.equal(o.provider, 'p1');
    assert.equal(o.callsAfterKill, 2);
    assert.ok(
      o.lastRoutedAfterKillMs! >= 20 && o.lastRoutedAfterKillMs! <= 25,
      `last routed ${o.lastRoutedAfterKillMs}`,
    );
    assert.ok(o.breakerOpenMs! >= 50 && o.breakerOpenMs! <= 55, `breaker open ${o.breakerOpenMs}`);
    assert.ok(o.recoveryMs! >= 150 && o.recoveryMs! <= 155, `recovery ${o.recoveryMs}`);
    assert.equal(o.failedCallsDuringOutage, 0);
    const a = r.actorRecoveries[0]!;
    assert.equal(a.actor, 'a1');
    assert.equal(a.incarnationAfter, 2);
    assert.ok(a.recoveredMs! >= 40 && a.recoveredMs! <= 45, `actor recovered ${a.recoveredMs}`);
    assert.deepEqual(w.actions, ['kill p1', 'exit a1', 'revive p1']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('retries a kill while the actor is restarting, and reports a kill that never found it running', () => {
    const clock = new ManualClock();
    const w = world();
    w.actor.state = 'restarting';
    const runner = new FaultRunner(
      [{ atMs: 0, kind: 'crash-actor', actor: 'a1', crash: 'hang' }],
      w.targets,
      w.observed,
      clock,
      silentLogger,
    );
    runner.start();
    clock.advance(10_000);
    runner.stop();
    const r = runner.report();
    assert.equal(r.actorRecoveries.length, 0);
    assert.equal(r.timeline.length, 1);
    assert.equal(r.timeline[0]!.ok, false);
    assert.ok(w.actions.length > 10, 'it tried again several times');
  });

  it('the default schedule kills, rate-limits, crashes, hangs, clears and revives in that order within the run', () => {
    const steps = defaultSchedule(60_000, { primary: 'h', secondary: 'c', crashTarget: 'v', hangTarget: 'r' });
    assert.deepEqual(
      steps.map((s) => s.kind),
      ['kill-provider', 'rate-limit', 'crash-actor', 'crash-actor', 'clear-provider', 'revive-provider', 'crash-actor'],
    );
    assert.ok(steps.every((s, i) => s.atMs > 0 && s.atMs < 60_000 && (i === 0 || s.atMs > steps[i - 1]!.atMs)));
    assert.ok(steps.some((s) => s.kind === 'crash-actor' && s.crash === 'hang' && s.actor === 'r'));
  });
});

describe('demo report checks', () => {
  it('pass on a clean run', () => {
    const checks = evaluateChecks(baseReport());
    assert.deepEqual(
      checks.filter((c) => !c.ok).map((c) => c.name),
      [],
    );
  });

  it('fail when a critical signal is lost, a drop is unaccounted, order breaks, nothing confirms, failover or recovery is missing', () => {
    const failing = (mutate: (r: ReturnType<typeof baseReport>) => void): string[] => {
      const r = baseReport();
      mutate(r);
      return evaluateChecks(r)
        .filter((c) => !c.ok)
        .map((c) => c.name);
    };
    assert.deepEqual(
      failing((r) => {
        r.critical.lost = 1;
        r.critical.subscribers[0]!.lost = 1;
      }),
      ['critical signals lost = 0'],
    );
    assert.deepEqual(
      failing((r) => (r.subscribers[0]!.unaccounted = 3)),
      ['every drop counted with a reason'],
    );
    assert.deepEqual(
      failing((r) => (r.signals.refusalMismatches = ['t: publisher saw 1 refusals, bus counted 2'])),
      ['every drop counted with a reason'],
    );
    assert.deepEqual(
      failing((r) => (r.ordering.violations = 1)),
      ['ordering violations = 0'],
    );
    assert.deepEqual(
      failing((r) => (r.transactions.confirmed = 0)),
      ['at least one transaction confirmed'],
    );
    assert.deepEqual(
      failing((r) => (r.faults.outages[0]!.failedCallsDuringOutage = 2)),
      ['failover under the provider kill'],
    );
    assert.deepEqual(
      failing((r) => (r.faults.outages[0]!.recoveryMs = null)),
      ['killed provider recovered'],
    );
    assert.deepEqual(
      failing((r) => (r.faults.actorRecoveries[0]!.recoveredMs = null)),
      ['all restarts recovered'],
    );
    assert.deepEqual(
      failing((r) => (r.runtime.quarantined = 1)),
      ['all restarts recovered'],
    );
    assert.deepEqual(
      failing((r) => (r.shutdown.notDrained = [{ name: 'x', depth: 5, state: 'running' }])),
      ['subscribers drained by the deadline'],
    );
    assert.deepEqual(
      failing((r) => (r.critical.accepted = 0)),
      ['critical signals lost = 0'],
      'a run that accepted no critical signal proves nothing',
    );
  });

  it('skip (not pass, not fail) what a run without faults or without a wallet cannot show', () => {
    const r = baseReport();
    r.faults.enabled = false;
    r.transactions.wallet = 'none';
    const checks = evaluateChecks(r);
    assert.equal(checks.filter((c) => c.skipped).length, 4);
    assert.equal(checks.filter((c) => !c.ok).length, 0);
  });
});

describe('demo scripts plumbing', () => {
  it('the check runner prints PASS/FAIL/SKIP lines and a final count line, and exits non-zero on a failure', async () => {
    const lines: string[] = [];
    const c = new CheckRunner((l) => lines.push(l));
    await c.run('ok check', () => 'fine');
    await c.run('bad check', () => {
      throw Object.assign(new Error('boom'), { code: 'X' });
    });
    c.skip('n/a check', 'not here');
    const code = c.summary();
    assert.deepEqual(lines, [
      'PASS ok check — fine',
      'FAIL bad check — X: boom',
      'SKIP n/a check — not here',
      '1 passed, 1 failed, 1 skipped',
    ]);
    assert.equal(code, 1);
    const c2 = new CheckRunner(() => {});
    await c2.run('only', () => undefined);
    assert.equal(c2.summary(), 0);
    assert.equal(new CheckRunner(() => {}).summary(), 1, 'no checks at all is not a pass');
  });

  it('parses demo flags with defaults and rejects bad values naming the flag', () => {
    const o = parseDemoArgs([]);
    assert.notEqual(o, 'help');
    if (o === 'help') return;
    assert.equal(o.trace, false);
    assert.equal((parseDemoArgs(['--trace']) as { trace?: boolean }).trace, true);
    assert.equal(o.durationMs, 60_000);
    assert.equal(o.surgeFactor, 50);
    assert.equal(o.faults, true);
    const p = parseDemoArgs(['--duration-ms', '8000', '--surge-factor', '10', '--no-faults', '--json', 'x.json']);
    assert.ok(p !== 'help' && p.durationMs === 8000 && p.surgeFactor === 10 && !p.faults && p.jsonPath === 'x.json');
    assert.throws(() => parseDemoArgs(['--surge-factor', '0']), /--surge-factor/);
    assert.throws(() => parseDemoArgs(['--duration-ms', 'soon']), /--duration-ms/);
    assert.throws(() => parseDemoArgs(['--bogus']), /command line/);
    assert.equal(parseDemoArgs(['-h']), 'help');
  });

  it('the live view renders a dashboard and a plain line with rates from two snapshots', () => {
    const snap = (atMs: number, critical: number, calls: number): ViewSnapshot => ({
      atMs,
      elapsedMs: atMs,
      durationMs: 60_000,
      phase: 'surge',
      targetRate: 10_000,
      published: { critical, normal: critical * 10, low: 0 },
      delivered: critical * 11,
      dropped: { QUEUE_FULL: 3, DUPLICATE: 0 },
      latency: { p50: 0.05, p99: 1.5, count: 10 },
      workerLatency: { p50: 0.2, p99: 3, count: 10 },
      endpoints: [{ name: 'helius-local', state: 'OPEN', alive: true, calls, failures: 3, resting: false }],
      subscribers: [{ name: 'risk-monitor', kind: 'worker', state: 'running', depth: 12, delivered: 5, restarts: 1 }],
      restarts: 1,
      quarantined: 0,
      tx: { started: 3, confirmed: 2, failed: 0, inFlight: 1 },
      rpc: { calls: 10, failed: 0 },
      rssMb: 200,
      heapMb: 30,
      lastEvent: 'kill provider helius-local',
    });
    const a = snap(1000, 100, 50);
    const b = snap(2000, 600, 50);
    const frame = renderFrame(a, b).join('\n');
    assert.match(frame, /critical 500 /);
    assert.match(frame, /helius-local OPEN 0\.0\/s/);
    assert.match(frame, /QUEUE_FULL=3/);
    assert.doesNotMatch(frame, /DUPLICATE/);
    assert.match(frame, /risk-monitor\[w\] running depth 12 restarts 1/);
    const line = renderLine(a, b);
    assert.match(line, /c=500 n=5000 /);
    assert.ok(!line.includes('\n'));
  });
});
