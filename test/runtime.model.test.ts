// Model-based: the runtime's accounting under random schedules of tells, asks and worker kills.
// Whatever the schedule, every message told or asked ends with exactly one outcome (processed,
// failed, or a counted dead letter with its reason), reported once to 'outcome' listeners and
// once to the outcome sink; every ask settles, in agreement with that outcome; the per-actor
// and supervisor counts add up. Workers are real, so schedules stay short and actors few.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../src/clock.ts';
import {
  ActorCrashedError,
  ActorError,
  ActorHandlerError,
  AskTimeoutError,
  Supervisor,
  type ActorRef,
  type DeadLetter,
  type Outcome,
  type Priority,
} from '../src/runtime/index.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';
import { ECHO, sharedLog, sleep, tick, until } from './fixtures/actors/support.ts';

const FILE = 'test/runtime.model.test.ts';

type Body = 'echo' | 'sleep' | 'throw' | 'crash' | 'never';
type Cmd =
  | { t: 'tell' | 'ask'; actor: number; body: Body; priority: Priority; timeoutMs: number }
  | { t: 'kill'; actor: number; kind: 'exit' | 'uncaught' | 'terminate' }
  | { t: 'pause'; ms: number }
  | { t: 'advance'; ms: number };

/** Run deadline of every message (on the injected clock): a 'never' message makes its actor hung. */
const MESSAGE_TIMEOUT_MS = 200;

const message = fc.record({
  t: fc.constantFrom('tell' as const, 'ask' as const),
  actor: fc.nat(1),
  body: fc.constantFrom<Body>('echo', 'echo', 'echo', 'sleep', 'throw', 'crash', 'never'),
  priority: fc.constantFrom<Priority>('critical', 'normal', 'low'),
  timeoutMs: fc.constantFrom(0, 0, 5, 50),
});
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: message, weight: 6 },
  {
    arbitrary: fc.record({
      t: fc.constant('kill' as const),
      actor: fc.nat(1),
      kind: fc.constantFrom('exit' as const, 'uncaught' as const, 'terminate' as const),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ t: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 4 }) }), weight: 2 },
  {
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(1, 10, 60, MESSAGE_TIMEOUT_MS) }),
    weight: 1,
  },
);
const setup = fc.record({
  actors: fc.integer({ min: 1, max: 2 }),
  mailboxSize: fc.integer({ min: 2, max: 16 }),
  overflow: fc.constantFrom('reject' as const, 'drop-oldest' as const, 'drop-lowest' as const),
  maxAttempts: fc.integer({ min: 1, max: 2 }),
  maxRestarts: fc.constantFrom(1, 3, 100),
  ringBytes: fc.constantFrom(0, 4096, 256 * 1024),
});

interface Sent {
  id: number;
  actor: string;
  body: Body;
  ask: boolean;
  result?: { value: unknown } | { error: unknown };
}

/** The worker logs `runId` each time it starts the message, so the test sees how often each one ran. */
function payload(id: number, body: Body): unknown {
  switch (body) {
    case 'echo':
      return { op: 'echo', v: id, id, runId: id };
    case 'sleep':
      return { op: 'sleep', ms: 2, v: id, id, runId: id };
    case 'throw':
      return { op: 'throw', v: String(id), id, runId: id };
    case 'crash':
      return { op: 'crash', kind: 'exit', id, runId: id };
    case 'never':
      return { op: 'never', id, runId: id };
  }
}

const idOf = (m: unknown): number => (m as { id: number }).id;

test('every tell and ask gets exactly one outcome, under random kill schedules (no loss, nothing settled twice)', async () => {
  await assertProperty(
    FILE,
    fc.asyncProperty(setup, fc.array(cmd, { minLength: 1, maxLength: 24 }), async (s, cmds) => {
      const clock = new ManualClock();
      const sup = new Supervisor({
        clock,
        heartbeatMs: 0,
        messageTimeoutMs: MESSAGE_TIMEOUT_MS,
        maxRestarts: s.maxRestarts,
        restartBackoff: { initialMs: 1, maxMs: 4, jitter: 0 },
      });
      const refs: ActorRef[] = [];
      const log = sharedLog();
      const events = new Map<number, Outcome[]>();
      const sunk = new Map<number, string[]>();
      const dls: DeadLetter[] = [];
      sup.on('deadLetter', (d: DeadLetter) => dls.push(d));
      for (let i = 0; i < s.actors; i++) {
        const ref = sup.spawn({
          name: `m${i}`,
          module: ECHO,
          mailboxSize: s.mailboxSize,
          overflow: s.overflow,
          maxAttempts: s.maxAttempts,
          ringBytes: s.ringBytes,
          init: { log: log.sab },
        });
        ref.on('outcome', (o: Outcome) => {
          const id = idOf(o.message);
          events.set(id, [...(events.get(id) ?? []), o]);
        });
        ref.setOutcomeSink({
          processed(ms, n) {
            for (let k = 0; k < n; k++) sunk.set(idOf(ms[k]), [...(sunk.get(idOf(ms[k])) ?? []), 'processed']);
          },
          settled(o) {
            sunk.set(idOf(o.message), [...(sunk.get(idOf(o.message)) ?? []), o.kind]);
          },
        });
        refs.push(ref);
      }
      await Promise.all(refs.map((r) => r.ready));
      const sent: Sent[] = [];
      const asks: Promise<void>[] = [];
      for (const c of cmds) {
        if (c.t === 'pause') {
          if (c.ms === 0) await tick();
          else await sleep(c.ms);
          continue;
        }
        if (c.t === 'advance') {
          clock.advance(c.ms);
          continue;
        }
        const ref = refs[c.actor % refs.length]!;
        if (c.t === 'kill') {
          sup.injectFault(ref.name, c.kind);
          continue;
        }
        const rec: Sent = { id: sent.length, actor: ref.name, body: c.body, ask: c.t === 'ask' };
        sent.push(rec);
        const m = payload(rec.id, c.body);
        if (c.t === 'tell') ref.tell(m, { priority: c.priority });
        else {
          asks.push(
            ref.ask(m, { priority: c.priority, timeoutMs: c.timeoutMs }).then(
              (value) => {
                rec.result = { value };
              },
              (error: unknown) => {
                rec.result = { error };
              },
            ),
          );
        }
      }
      // Time moves on until every actor has finished or given up (hung messages are found, backoffs end).
      await until(
        () => {
          clock.advance(MESSAGE_TIMEOUT_MS / 4);
          return refs.every((r) => r.pending === 0 || r.state === 'quarantined');
        },
        'the actors to finish or give up',
        20_000,
      );
      await sup.shutdown({ drainMs: 0 });
      await Promise.all(asks);

      let deadLettered = 0;
      const runs = new Map<number, number>();
      for (const id of log.values()) runs.set(id, (runs.get(id) ?? 0) + 1);
      for (const rec of sent) {
        const ran = runs.get(rec.id) ?? 0;
        assert.ok(ran <= s.maxAttempts, `message ${rec.id} ran ${ran} times (maxAttempts ${s.maxAttempts})`);
        const got = events.get(rec.id) ?? [];
        assert.equal(
          got.length,
          1,
          `message ${rec.id} (${rec.body}, ${rec.ask ? 'ask' : 'tell'}) has ${got.length} outcomes: ${JSON.stringify(got.map((o) => o.kind))}`,
        );
        const o = got[0]!;
        if (o.kind !== 'dead-letter') assert.ok(ran >= 1, `message ${rec.id} is ${o.kind} but never ran`);
        // An ask withdrawn when it timed out (its dead letter carries the timeout) never ran after
        // that: its only runs are the deliveries that crashed before it timed out, which its dead
        // letter counts (an ask that crashed its worker, was queued again and timed out waiting).
        if (o.kind === 'dead-letter' && o.error instanceof AskTimeoutError) {
          const dl = dls.find((d) => idOf(d.message) === rec.id);
          assert.ok(dl, `timed-out ask ${rec.id} has a dead letter`);
          assert.ok(ran <= dl.attempts, `timed-out ask ${rec.id} ran ${ran} times, ${dl.attempts} before it timed out`);
        }
        assert.deepEqual(sunk.get(rec.id), [o.kind], `the sink saw message ${rec.id} as the listeners did`);
        if (o.kind === 'dead-letter') {
          deadLettered++;
          assert.ok(o.reason, 'a dead letter has a reason');
          assert.ok(o.error instanceof ActorError, 'a dead letter carries a typed error');
        }
        if (o.kind === 'failed') assert.equal(rec.body, 'throw', 'only a throwing handler fails a message');
        if (rec.body === 'never')
          assert.equal(o.kind, 'dead-letter', 'a message that never finishes is never processed');
        if (rec.body === 'throw' && o.kind === 'processed')
          assert.fail(`a throwing message ${rec.id} was reported processed`);
        if (!rec.ask) continue;
        const r = rec.result;
        assert.ok(r, `ask ${rec.id} settled`);
        if ('value' in r) {
          assert.equal(o.kind, 'processed');
          assert.equal(r.value, rec.id);
        } else if (r.error instanceof ActorHandlerError) {
          assert.equal(o.kind, 'failed');
        } else if (r.error instanceof AskTimeoutError) {
          // Withdrawn before it ran (a dead letter 'ask-timeout'), or it had started: then it ran once.
          if (o.kind === 'dead-letter') assert.equal(o.reason, 'ask-timeout');
        } else {
          assert.ok(r.error instanceof ActorError, `ask ${rec.id} rejected with ${String(r.error)}`);
          // A reply lost in a crash: processed, but the asker hears of the crash.
          if (o.kind === 'processed') assert.ok(r.error instanceof ActorCrashedError);
          else assert.equal(o.kind, 'dead-letter');
        }
      }
      assert.equal(dls.length, deadLettered, 'every dead letter is counted once by the supervisor');
      assert.equal(sup.getStats().deadLetters, deadLettered);
      for (const ref of refs) {
        const st = ref.stats;
        const mine = sent.filter((x) => x.actor === ref.name).length;
        assert.equal(
          st.processed + st.failed + st.deadLetters,
          mine,
          `${ref.name}: processed + failed + dead letters = messages sent`,
        );
      }
    }),
    fuzzParams(6),
  );
});
