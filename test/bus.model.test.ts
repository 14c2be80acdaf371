// Model-based test of the signal bus (fast-check commands): under random publish / subscribe /
// unsubscribe / throwing handler / clock / close schedules, every event a subscriber was offered
// is accounted for (delivered + failed + dropped + queued), each subscriber sees its topic in
// strictly increasing sequence order (exactly the model's order when its handler never fails),
// and the bus's own counts (published, refusals by reason, gaps, skipped sequences) match a
// small model of topic sequencing: in order, reorder buffer, baseline, gaps, jump bound.
// Replay a failure with the command printed by assertProperty plus, for the shrunk command
// list, PALISADE_FUZZ_REPLAY=<the replayPath fast-check printed in the counterexample>.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SignalBus, type SignalBusStats, type Subscription } from '../src/bus/index.ts';
import { ManualClock } from '../src/clock.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { settle, waitFor } from './fixtures/bus/helpers.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';

const TOPICS = ['a', 'b', 'c'];
const WINDOW_MS = 50;
const MAX_JUMP = 40;
const PRIORITIES = ['critical', 'normal', 'low'] as const;
type Behaviour = 'ok' | 'throw' | 'async-ok' | 'async-throw';

interface ModelSub {
  id: string;
  topic: string;
  behaviour: Behaviour;
  /** Sequences the model says the bus offered it, in order. */
  offered: number[];
  /** Sequences its handler actually saw. */
  seen: number[];
  sub: Subscription;
  live: boolean;
}

interface ModelTopic {
  readyTail: number;
  lastSeq: number;
  baselined: boolean;
  /** Waiting for a gap: seq → clock time it arrived. */
  buffer: Map<number, number>;
  accepted: Set<number>;
}

interface Model {
  clock: ManualClock;
  topics: Map<string, ModelTopic>;
  subs: ModelSub[];
  closed: boolean;
  published: number;
  tooFar: number;
  old: number;
  closedDrops: number;
  noSubscribers: number;
  gaps: number;
  skipped: number;
}

function topicOf(m: Model, name: string): ModelTopic {
  let t = m.topics.get(name);
  if (t === undefined) {
    t = { readyTail: 0, lastSeq: 0, baselined: false, buffer: new Map(), accepted: new Set() };
    m.topics.set(name, t);
  }
  return t;
}

/** The model's dispatch of one ready event: to the live subscribers of the topic, or a NO_SUBSCRIBERS drop. */
function dispatch(m: Model, topic: string, seq: number): void {
  const subs = m.subs.filter((s) => s.live && s.topic === topic);
  if (subs.length === 0) m.noSubscribers++;
  for (const s of subs) s.offered.push(seq);
}

function pull(m: Model, name: string, t: ModelTopic): void {
  while (t.buffer.has(t.readyTail + 1)) {
    t.readyTail++;
    t.buffer.delete(t.readyTail);
    dispatch(m, name, t.readyTail);
  }
}

function skipGap(m: Model, name: string, t: ModelTopic): void {
  const min = Math.min(...t.buffer.keys());
  const baseline = !t.baselined;
  if (!baseline) {
    m.gaps++;
    m.skipped += min - (t.readyTail + 1);
  }
  t.baselined = true;
  t.readyTail = min - 1;
  pull(m, name, t);
  if (baseline) {
    for (const seq of [...t.buffer.keys()]) {
      if (seq > t.readyTail + MAX_JUMP) {
        t.buffer.delete(seq);
        m.tooFar++;
      }
    }
  }
}

/** Gives up every gap whose oldest waiting event has waited the reorder window (or all of them). */
function expireGaps(m: Model, all: boolean): void {
  for (const [name, t] of m.topics) {
    while (t.buffer.size > 0 && (all || Math.min(...t.buffer.values()) + WINDOW_MS <= m.clock.now()))
      skipGap(m, name, t);
  }
}

/** What publish should return, with the model updated the way the bus should update itself. */
function modelPublish(m: Model, name: string, explicit: number | undefined): boolean {
  if (m.closed) {
    m.closedDrops++;
    return false;
  }
  const t = m.topics.get(name) ?? {
    readyTail: 0,
    lastSeq: 0,
    baselined: false,
    buffer: new Map<number, number>(),
    accepted: new Set<number>(),
  };
  const seq = explicit ?? t.lastSeq + 1;
  const base = t.baselined ? t.readyTail : t.buffer.size > 0 ? Math.min(...t.buffer.keys()) : NaN;
  if (seq - base > MAX_JUMP || seq > Number.MAX_SAFE_INTEGER) {
    m.tooFar++;
    return false;
  }
  if (seq <= t.readyTail || t.buffer.has(seq)) {
    m.old++;
    return false;
  }
  m.topics.set(name, t);
  m.published++;
  t.accepted.add(seq);
  if (seq > t.lastSeq) t.lastSeq = seq;
  if (seq === t.readyTail + 1) {
    t.readyTail = seq;
    t.baselined = true;
    dispatch(m, name, seq);
    pull(m, name, t);
  } else {
    t.buffer.set(seq, m.clock.now());
  }
  return true;
}

interface Real {
  bus: SignalBus;
}

function subStats(st: SignalBusStats, id: string) {
  return st.subscribers.find((s) => s.id === id);
}

/** Every check the model makes of the real bus, after each command. */
function checkInvariants(m: Model, r: Real): void {
  const st = r.bus.getStats();
  assert.equal(st.published, m.published, 'published');
  assert.equal(st.dropped.SEQUENCE_TOO_FAR, m.tooFar, 'SEQUENCE_TOO_FAR');
  assert.equal(st.dropped.DUPLICATE + st.dropped.STALE, m.old, 'DUPLICATE + STALE');
  assert.equal(st.dropped.BUS_CLOSED, m.closedDrops, 'BUS_CLOSED');
  assert.equal(st.dropped.NO_SUBSCRIBERS, m.noSubscribers, 'NO_SUBSCRIBERS');
  assert.equal(st.gaps, m.gaps, 'gaps');
  assert.equal(st.sequencesSkipped, m.skipped, 'sequencesSkipped');
  assert.equal(st.dropped.QUEUE_FULL + st.dropped.SHED_FOR_PRIORITY + st.dropped.TOO_MANY_TOPICS, 0);
  for (const s of m.subs) {
    assert.ok(
      s.seen.every((v, i) => i === 0 || v > s.seen[i - 1]!),
      `${s.id} saw ${s.seen.join(',')} out of order`,
    );
    if (s.behaviour === 'ok')
      assert.deepEqual(s.seen, s.offered, `${s.id} (never fails) sees exactly what it was offered`);
    else {
      let j = 0;
      for (const v of s.seen) {
        while (j < s.offered.length && s.offered[j] !== v) j++;
        assert.ok(j < s.offered.length, `${s.id} saw ${v}, never offered to it`);
        j++;
      }
    }
    if (!s.live) continue;
    const ss = subStats(st, s.id)!;
    assert.equal(
      ss.delivered + ss.failed + ss.dropped + ss.mailboxDepth,
      s.offered.length,
      `${s.id}: delivered ${ss.delivered} + failed ${ss.failed} + dropped ${ss.dropped} + queued ${ss.mailboxDepth} = offered ${s.offered.length}`,
    );
    assert.equal(ss.delivered + ss.failed, s.seen.length, `${s.id}: outcomes = handler runs`);
  }
  // Bus-wide: every delivery, failure and subscriber-level drop belongs to some offered event.
  const offered = m.subs.reduce((n, s) => n + s.offered.length, 0);
  const subscriberDrops = st.droppedEvents - m.tooFar - m.old - m.closedDrops - m.noSubscribers;
  const queued = st.subscribers.reduce((n, s) => n + s.mailboxDepth, 0);
  assert.equal(st.delivered + st.failed + subscriberDrops + queued, offered, 'bus-wide accounting');
}

type Cmd = fc.AsyncCommand<Model, Real>;

class Publish implements Cmd {
  constructor(
    readonly items: { topic: string; seq: 'auto' | number | 'far' | 'max'; prio: (typeof PRIORITIES)[number] }[],
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    for (const it of this.items) {
      const t = m.topics.get(it.topic);
      const tail = t?.readyTail ?? 0;
      const seq =
        it.seq === 'auto'
          ? undefined
          : it.seq === 'far'
            ? tail + MAX_JUMP + 1 + (m.published % 5)
            : it.seq === 'max'
              ? Number.MAX_SAFE_INTEGER
              : Math.max(0, tail + it.seq);
      if (seq !== undefined && !Number.isSafeInteger(seq)) {
        // Past a MAX_SAFE_INTEGER baseline: bad input, refused before anything happens.
        if (!m.closed)
          assert.throws(() => r.bus.publish(it.topic, { sequence: seq }, it.prio), { code: 'INVALID_EVENT' });
        else assert.equal(r.bus.publish(it.topic, { sequence: seq }, it.prio), modelPublish(m, it.topic, seq));
        continue;
      }
      const expected = modelPublish(m, it.topic, seq);
      const got = r.bus.publish(it.topic, seq === undefined ? { p: it.prio } : { sequence: seq }, it.prio);
      assert.equal(got, expected, `publish ${it.topic} seq ${String(seq)}`);
    }
    await settle();
    checkInvariants(m, r);
  }
  toString(): string {
    return `publish(${this.items.map((i) => `${i.topic}:${String(i.seq)}:${i.prio}`).join(' ')})`;
  }
}

class Subscribe implements Cmd {
  constructor(
    readonly topic: string,
    readonly behaviour: Behaviour,
    readonly mailboxSize: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.subs.filter((s) => s.live).length < 6;
  }
  async run(m: Model, r: Real): Promise<void> {
    const seen: number[] = [];
    const b = this.behaviour;
    const handler = (e: { sequence: number }) => {
      seen.push(e.sequence);
      if (b === 'ok') return undefined;
      if (b === 'throw') throw new Error('handler refuses');
      return b === 'async-ok' ? Promise.resolve() : Promise.reject(new Error('async refusal'));
    };
    if (m.closed) {
      assert.throws(() => r.bus.subscribe(this.topic, handler), { code: 'BUS_CLOSED' });
      return;
    }
    const sub = r.bus.subscribe(this.topic, handler, { mailboxSize: this.mailboxSize });
    topicOf(m, this.topic);
    m.subs.push({ id: sub.id, topic: this.topic, behaviour: b, offered: [], seen, sub, live: true });
    await settle();
    checkInvariants(m, r);
  }
  toString(): string {
    return `subscribe(${this.topic}, ${this.behaviour}, mailbox ${this.mailboxSize})`;
  }
}

class Unsubscribe implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.subs.some((s) => s.live);
  }
  async run(m: Model, r: Real): Promise<void> {
    const live = m.subs.filter((s) => s.live);
    const s = live[this.pick % live.length]!;
    checkInvariants(m, r); // its last stats, before they leave getStats()
    await s.sub.unsubscribe();
    s.live = false;
    await settle();
    checkInvariants(m, r);
  }
  toString(): string {
    return `unsubscribe(#${this.pick})`;
  }
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    m.clock.advance(this.ms);
    if (!m.closed) expireGaps(m, false);
    await settle();
    checkInvariants(m, r);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

class Close implements Cmd {
  check(m: Readonly<Model>): boolean {
    return !m.closed;
  }
  async run(m: Model, r: Real): Promise<void> {
    // Close gives up every gap at once and dispatches what was accepted before detaching.
    expireGaps(m, true);
    m.closed = true;
    await r.bus.close({ timeoutMs: 0 });
    await settle();
    checkInvariants(m, r);
  }
  toString(): string {
    return 'close()';
  }
}

const topicArb = fc.constantFrom(...TOPICS);
const seqArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant<'auto'>('auto') },
  { weight: 6, arbitrary: fc.integer({ min: -2, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom<'far' | 'max'>('far', 'max') },
);
const commands = [
  fc
    .array(fc.record({ topic: topicArb, seq: seqArb, prio: fc.constantFrom(...PRIORITIES) }), {
      minLength: 1,
      maxLength: 6,
    })
    .map((items) => new Publish(items)),
  fc
    .tuple(
      topicArb,
      fc.constantFrom<Behaviour>('ok', 'ok', 'throw', 'async-ok', 'async-throw'),
      fc.integer({ min: 1, max: 4 }),
    )
    .map(([t, b, n]) => new Subscribe(t, b, n)),
  fc.nat(10).map((n) => new Unsubscribe(n)),
  fc.constantFrom(10, 30, WINDOW_MS, 200, 6000).map((ms) => new Advance(ms)),
  fc.constant(new Close()),
];

// Bounded in npm test; `npm run fuzz -- --runs N` raises the budget, and the deadline with it.
const deadlineMs = 60_000 + 300 * Number(process.env.PALISADE_FUZZ_RUNS ?? 0); // a worker run takes ~0.2 s

test('bus model: accounting per subscriber, per-topic order, sequencing counts', { timeout: deadlineMs }, async () => {
  await assertProperty(
    'test/bus.model.test.ts',
    fc.asyncProperty(
      fc.commands(commands, {
        maxCommands: 40,
        ...(process.env.PALISADE_FUZZ_REPLAY ? { replayPath: process.env.PALISADE_FUZZ_REPLAY } : {}),
      }),
      async (cmds) => {
        const clock = new ManualClock();
        const bus = new SignalBus({ clock, reorderWindowMs: WINDOW_MS, maxSequenceJump: MAX_JUMP, maxQueueSize: 1000 });
        const model: Model = {
          clock,
          topics: new Map(),
          subs: [],
          closed: false,
          published: 0,
          tooFar: 0,
          old: 0,
          closedDrops: 0,
          noSubscribers: 0,
          gaps: 0,
          skipped: 0,
        };
        try {
          await fc.asyncModelRun(() => ({ model, real: { bus } }), cmds);
          if (!model.closed) await new Close().run(model, { bus });
        } finally {
          await bus.close({ timeoutMs: 0 });
        }
      },
    ),
    fuzzParams(60),
  );
});

// A worker subscriber under random publish / failing-handler / worker-kill schedules: once the
// bus is quiet, every event is delivered, failed or dropped with a reason, exactly once in the
// counts, and the worker saw its topic in order (a kill may re-run the message it interrupted:
// at-least-once). Few runs: each spawns a worker.
const RECORDER = new URL('./fixtures/bus/recorder.ts', import.meta.url);
const supervisor = new Supervisor({ heartbeatMs: 0, maxRestarts: 100, spares: 1 });
after(() => supervisor.shutdown({ drainMs: 0 }));
let workerRun = 0;

type WorkerStep = { kind: 'publish'; n: number; fail: boolean } | { kind: 'kill' } | { kind: 'wait' };
const workerStep: fc.Arbitrary<WorkerStep> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant<'publish'>('publish'),
      n: fc.integer({ min: 1, max: 40 }),
      fail: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant<WorkerStep>({ kind: 'kill' }) },
  { weight: 1, arbitrary: fc.constant<WorkerStep>({ kind: 'wait' }) },
);

test('bus model: a worker subscriber accounts for every event across kills', { timeout: deadlineMs }, async () => {
  await assertProperty(
    'test/bus.model.test.ts',
    fc.asyncProperty(fc.array(workerStep, { minLength: 1, maxLength: 8 }), async (steps) => {
      const bus = new SignalBus({ supervisor, reorderWindowMs: 0 });
      const log = new SharedArrayBuffer(4 * 2048);
      const flags = new SharedArrayBuffer(16);
      const name = `model-worker-${++workerRun}`;
      try {
        const sub = bus.subscribe(
          'w',
          { module: RECORDER },
          { name, init: { log, flags }, mailboxSize: 64, quarantine: { failureRate: 0.99 } },
        );
        await sub.ready;
        let published = 0;
        let refused = 0;
        let kills = 0;
        for (const step of steps) {
          if (step.kind === 'publish') {
            for (let i = 0; i < step.n; i++) {
              if (bus.publish('w', step.fail && i % 3 === 0 ? { fail: true } : {})) published++;
              else refused++;
            }
          } else if (step.kind === 'kill') {
            if (supervisor.injectFault(name, 'terminate')) kills++;
          } else await settle();
        }
        const quiet = () => {
          const st = bus.getStats();
          const s = st.subscribers[0]!;
          // A kill is noticed (a restart) even when the worker had nothing to do.
          const restarted = kills === 0 || (s.restarts >= 1 && s.actor?.state === 'running');
          return (
            restarted &&
            (st.topics[0]?.depth ?? 0) === 0 &&
            s.mailboxDepth === 0 &&
            s.state === 'running' &&
            s.delivered + s.failed + s.dropped === published
          );
        };
        await waitFor(quiet, 15_000, 'every event accounted for');
        const st = bus.getStats();
        const s = st.subscribers[0]!;
        assert.equal(st.published, published);
        assert.equal(
          published + refused,
          steps.reduce((n, x) => n + (x.kind === 'publish' ? x.n : 0), 0),
        );
        assert.equal(st.droppedEvents, s.dropped + refused, "every drop is the subscriber's or a refusal at publish");
        const a = new Int32Array(log);
        const seen = Array.from(a.subarray(1, 1 + Atomics.load(a, 0)));
        const distinct = seen.filter((v, i) => i === 0 || v !== seen[i - 1]);
        assert.ok(
          distinct.every((v, i) => i === 0 || v > distinct[i - 1]!),
          `worker saw ${seen.join(',')}`,
        );
        assert.ok(distinct.length >= s.delivered, `${s.delivered} delivered, ${distinct.length} recorded`);
        assert.ok(s.restarts <= kills, `${kills} kills, ${s.restarts} restarts`);
      } finally {
        await bus.close({ timeoutMs: 0 });
      }
    }),
    fuzzParams(6),
  );
});
