/**
 * The seed's signal-bus checks as a script: its four tests as written (ordering, isolation,
 * backpressure, trading events) plus the key guarantees behind them. Prints one line per check
 * and a final "N passed, N failed"; exits non-zero if any check failed.
 *
 *   npm run test-signal-bus
 */
import { ManualClock } from '../../src/clock.ts';
import { SignalBus } from '../../src/bus/index.ts';
import { Supervisor } from '../../src/runtime/index.ts';
import { SEED_TESTS } from '../../test/fixtures/bus/seed-tests.ts';
import { CheckRunner, ensure } from '../../test/support/checks.ts';
import { waitFor } from '../../test/support/wait.ts';

const RECORDER = new URL('../../test/fixtures/bus/recorder.ts', import.meta.url);

const settle = async (): Promise<void> => {
  for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
};

const checks: Array<readonly [string, () => Promise<void>]> = [
  ...SEED_TESTS,
  [
    'critical events survive a flood: a full queue sheds low, then normal, never critical',
    async () => {
      const bus = new SignalBus({ maxQueueSize: 500, clock: new ManualClock() });
      let critical = 0;
      bus.subscribe('t', (e: { priority: string }) => void (e.priority === 'critical' && critical++));
      let sent = 0;
      // 50 bursts of 1000 (2% critical) into a queue of 500: each burst overflows it.
      for (let i = 0; i < 50_000; i++) {
        const p = i % 50 === 0 ? 'critical' : i % 2 ? 'low' : 'normal';
        if (p === 'critical') sent++;
        bus.publish('t', { i }, p);
        if (i % 1000 === 999) await settle();
      }
      await settle();
      const st = bus.getStats();
      ensure(critical === sent, `critical delivered ${critical} of ${sent}`);
      ensure(st.byPriority.critical.dropped === 0, 'a critical event was dropped');
      ensure(st.dropped.QUEUE_FULL + st.published === 50_000, 'every refusal counted');
      await bus.close();
    },
  ],
  [
    'a critical event is served before a backlog of low events on another topic',
    async () => {
      const bus = new SignalBus({ maxQueueSize: 20_000 });
      const order: string[] = [];
      bus.subscribe('metrics', () => void order.push('low'));
      bus.subscribe('alerts', () => void order.push('critical'));
      for (let i = 0; i < 10_000; i++) bus.publish('metrics', {}, 'low');
      bus.publish('alerts', {}, 'critical');
      await settle();
      ensure(order[0] === 'critical', `first delivered was ${order[0]}`);
      ensure(order.length === 10_001, `delivered ${order.length}`);
      await bus.close();
    },
  ],
  [
    'a sequence gap is given up after the reorder window (counted) and the topic moves on',
    async () => {
      const clock = new ManualClock();
      const bus = new SignalBus({ reorderWindowMs: 50, clock });
      const got: number[] = [];
      bus.subscribe('slots', (e: { sequence: number }) => void got.push(e.sequence));
      for (const s of [1, 2, 4, 5]) bus.publish('slots', { sequence: s });
      await settle();
      ensure(got.join() === '1,2', `before the window: ${got.join()}`);
      clock.advance(50);
      await settle();
      ensure(got.join() === '1,2,4,5', `after the window: ${got.join()}`);
      const st = bus.getStats();
      ensure(st.topics[0]!.gaps === 1 && st.sequencesSkipped === 1, 'the gap was not counted');
      ensure(
        !bus.publish('slots', { sequence: 3 }) && bus.getStats().dropped.STALE === 1,
        'a late sequence was not refused as stale',
      );
      await bus.close();
    },
  ],
  [
    'an expired signal is dropped, never delivered late',
    async () => {
      const clock = new ManualClock();
      const bus = new SignalBus({ clock });
      const got: string[] = [];
      let release!: () => void;
      bus.subscribe('t', async (e: { tag: string }) => {
        got.push(e.tag);
        if (e.tag === 'slow') await new Promise<void>((r) => (release = r));
      });
      bus.publish('t', { tag: 'slow' });
      bus.publish('t', { tag: 'short-lived', expiresAt: clock.now() + 10 });
      await settle();
      clock.advance(20);
      release();
      await settle();
      ensure(got.join() === 'slow', `delivered: ${got.join()}`);
      ensure(bus.getStats().dropped.EXPIRED === 1, 'the expiry was not counted');
      await bus.close();
    },
  ],
  [
    'a subscriber failing over half the time is quarantined and the others carry on',
    async () => {
      const bus = new SignalBus({ clock: new ManualClock() });
      let good = 0;
      bus.subscribe('t', () => {
        throw new Error('broken validator');
      });
      bus.subscribe('t', () => void good++);
      for (let i = 0; i < 30; i++) bus.publish('t', {});
      await settle();
      const st = bus.getStats();
      ensure(st.subscribers[0]!.state === 'quarantined', `state ${st.subscribers[0]!.state}`);
      ensure(st.subscribers[0]!.failed === 10, `failed ${st.subscribers[0]!.failed}`);
      ensure(st.dropped.SUBSCRIBER_QUARANTINED === 20, `quarantined drops ${st.dropped.SUBSCRIBER_QUARANTINED}`);
      ensure(good === 30, `the healthy subscriber got ${good}`);
      await bus.close();
    },
  ],
  [
    'bad input is a typed error at the call and nothing is published',
    async () => {
      const bus = new SignalBus();
      const codes: string[] = [];
      for (const call of [
        () => bus.publish('', {}),
        () => bus.publish('t', null as never),
        () => bus.publish('t', {}, 'urgent' as never),
        () => bus.subscribe('t', 42 as never),
      ]) {
        try {
          call();
        } catch (e) {
          codes.push((e as { code: string }).code);
        }
      }
      ensure(codes.join() === 'INVALID_TOPIC,INVALID_EVENT,INVALID_PRIORITY,INVALID_HANDLER', `codes: ${codes.join()}`);
      ensure(bus.getStats().published === 0, 'something was published');
      await bus.close();
    },
  ],
  [
    'a worker subscriber crashing mid-stream is restarted and gets every event, in order',
    async () => {
      const supervisor = new Supervisor({ heartbeatMs: 0 });
      const bus = new SignalBus({ supervisor });
      const log = new SharedArrayBuffer(4 * 1001);
      const flags = new SharedArrayBuffer(16);
      const values = () => Array.from(new Int32Array(log).subarray(1, 1 + Atomics.load(new Int32Array(log), 0)));
      try {
        const sub = bus.subscribe('t', { module: RECORDER }, { init: { log, flags }, name: 'script-recorder' });
        await sub.ready;
        for (let s = 1; s <= 1000; s++) bus.publish('t', s === 400 ? { crashOnce: true } : {});
        await waitFor(() => values().length >= 1000, 15_000, 'all events recorded');
        ensure(
          values().every((v, i) => v === i + 1) && values().length === 1000,
          'lost, duplicated or reordered events',
        );
        await waitFor(() => bus.getStats().delivered === 1000, 5000, 'all outcomes');
        const w = bus.getStats().subscribers[0]!;
        ensure(w.restarts === 1, `restarts ${w.restarts}`);
        ensure(bus.getStats().droppedEvents === 0, 'events were dropped');
      } finally {
        await bus.close();
        await supervisor.shutdown();
      }
    },
  ],
];

const runner = new CheckRunner(undefined, { timing: true });
for (const [name, fn] of checks) await runner.run(name, fn);
process.exit(runner.summary());
