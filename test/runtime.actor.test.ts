import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { ConfigError } from '../src/errors.ts';
import {
  ActorHandlerError,
  AskAbortedError,
  AskTimeoutError,
  MailboxFullError,
  MessageDroppedError,
  MessageNotCloneableError,
  Supervisor,
  type ActorRef,
  type DeadLetter,
  type Outcome,
} from '../src/runtime/index.ts';
import { ECHO, PLAIN, capturingLogger, sharedLog, tick, until } from './fixtures/actors/support.ts';

const clock = new ManualClock();
const { logger, lines } = capturingLogger();
let sup: Supervisor;
let echo: ActorRef;
const deadLetters: DeadLetter[] = [];

before(async () => {
  sup = new Supervisor({ clock, logger, heartbeatMs: 0 });
  sup.on('deadLetter', (dl: DeadLetter) => deadLetters.push(dl));
  echo = sup.spawn({ name: 'echo', module: ECHO });
  assert.equal(echo.state, 'starting');
  await echo.ready;
});
after(() => sup.shutdown({ drainMs: 0 }));

test('spawn → running; ask returns the reply; tell is accepted', async () => {
  assert.equal(echo.state, 'running');
  assert.deepEqual(await echo.ask({ op: 'echo', v: { a: [1, 2], s: 'x' } }), { a: [1, 2], s: 'x' });
  assert.equal(echo.tell('hello'), true);
  assert.equal(await echo.ask('plain value'), 'plain value');
  const info = await echo.ask<{ name: string; incarnation: number }>({ op: 'info' });
  assert.deepEqual(info, { name: 'echo', incarnation: 1 });
  assert.equal(sup.get('echo'), echo);
});

test('a plain JavaScript module with a named export runs without bundling', async () => {
  const ref = sup.spawn({ name: 'plain', module: PLAIN, export: 'handle' });
  await ref.ready;
  assert.deepEqual(await ref.ask('a'), { n: 1, msg: 'a' });
  assert.deepEqual(await ref.ask('b'), { n: 2, msg: 'b' }, 'module state persists across messages');
  await ref.stop();
  assert.equal(ref.state, 'stopped');
});

test('messages are processed one at a time, in order within a lane, critical first', async () => {
  const log = sharedLog();
  const ref = sup.spawn({ name: 'order', module: ECHO, init: { log: log.sab } });
  await ref.ready;
  // The first message keeps the worker busy; what arrives meanwhile waits in the host mailbox.
  const busy = ref.ask({ op: 'sleep', ms: 50 });
  for (let i = 0; i < 3; i++) ref.tell({ op: 'record', v: 300 + i }, { priority: 'low' });
  for (let i = 0; i < 3; i++) ref.tell({ op: 'record', v: 200 + i });
  for (let i = 0; i < 3; i++) ref.tell({ op: 'record', v: 100 + i }, { priority: 'critical' });
  await busy;
  await until(() => log.values().length === 9, 'nine records');
  assert.deepEqual(log.values(), [100, 101, 102, 200, 201, 202, 300, 301, 302]);

  for (let i = 0; i < 500; i++) ref.tell({ op: 'record', v: i });
  await until(() => log.values().length === 509, '500 more records');
  assert.deepEqual(
    log.values().slice(9),
    Array.from({ length: 500 }, (_, i) => i),
  );
  await until(() => ref.stats.processed === 510, 'acks reach the host');
  await ref.stop();
});

test('a handler that throws or rejects fails that message only: typed error, actor keeps running', async () => {
  const before = echo.stats;
  await assert.rejects(echo.ask({ op: 'throw', v: 'x1' }), (e: unknown) => {
    assert.ok(e instanceof ActorHandlerError);
    assert.equal(e.code, 'ACTOR_HANDLER_FAILED');
    assert.equal(e.remote.name, 'Error');
    assert.match(e.remote.message, /handler boom x1/);
    return true;
  });
  await assert.rejects(
    echo.ask({ op: 'reject' }),
    (e: unknown) => e instanceof ActorHandlerError && e.remote.name === 'TypeError',
  );
  const outcomes: Outcome[] = [];
  const onOutcome = (o: Outcome): void => void outcomes.push(o);
  echo.on('outcome', onOutcome);
  echo.tell({ op: 'throw', v: 'tell' });
  echo.tell({ op: 'echo', v: 1 });
  await until(() => outcomes.length === 2, 'two outcomes');
  echo.off('outcome', onOutcome);
  assert.equal(outcomes[0]!.kind, 'failed');
  assert.ok(outcomes[0]!.error instanceof ActorHandlerError);
  assert.equal(outcomes[1]!.kind, 'processed');
  const s = echo.stats;
  assert.equal(s.failed - before.failed, 3);
  assert.equal(s.crashes, 0);
  assert.equal(s.incarnation, 1);
  assert.equal(await echo.ask({ op: 'echo', v: 'still alive' }), 'still alive');
  assert.ok(
    lines.some((l) => l['actor'] === 'echo' && /handler failed/.test(String(l['msg']))),
    'handler failures are logged',
  );
});

test('an outcome sink gets processed messages in batches and failures in order; reapFinished reads finished tells without waiting for an ack', async () => {
  const log = sharedLog();
  const ref = sup.spawn({ name: 'sink', module: ECHO, init: { log: log.sab } });
  await ref.ready;
  const seen: string[] = [];
  ref.setOutcomeSink({
    processed: (messages, count) => {
      for (let i = 0; i < count; i++) seen.push(`ok ${(messages[i] as { v: unknown }).v}`);
    },
    settled: (o) => seen.push(`${o.kind} ${(o.message as { v: unknown }).v}`),
  });
  // Order across batches and failures.
  for (let i = 1; i <= 3; i++) ref.tell({ op: 'record', v: i });
  ref.tell({ op: 'throw', v: 'x' });
  for (let i = 4; i <= 6; i++) ref.tell({ op: 'record', v: i });
  await until(() => seen.length === 7, 'seven outcomes');
  assert.deepEqual(seen, ['ok 1', 'ok 2', 'ok 3', 'failed x', 'ok 4', 'ok 5', 'ok 6']);

  // Reaping: no event-loop turn between the tells and the reap, so no ack message can have been handled.
  seen.length = 0;
  const processedBefore = ref.stats.processed;
  for (let i = 10; i < 15; i++) ref.tell({ op: 'record', v: i });
  await null; // the microtask that wakes the worker
  let reaped = 0;
  const deadline = Date.now() + 5000;
  // Microtasks only: the host may hand queued tells over as reaping frees its window (a microtask),
  // while an ack from the worker (a macrotask) cannot be handled inside this loop.
  while (reaped < 5 && Date.now() < deadline) {
    reaped += ref.reapFinished();
    await null;
  }
  assert.equal(reaped, 5);
  assert.deepEqual(seen, ['ok 10', 'ok 11', 'ok 12', 'ok 13', 'ok 14']);
  assert.equal(ref.stats.processed - processedBefore, 5);
  assert.equal(ref.stats.inFlight, 0);

  // A failed tell is never reaped as processed: while its report is on its way nothing is reaped past it.
  seen.length = 0;
  ref.tell({ op: 'record', v: 20 });
  ref.tell({ op: 'throw', v: 'y' });
  ref.tell({ op: 'record', v: 21 });
  await null;
  const until21 = Date.now() + 5000;
  while (!log.values().includes(21) && Date.now() < until21) {
    reaped += ref.reapFinished();
    await null;
  }
  assert.ok(log.values().includes(21), 'the worker ran all three');
  for (let i = 0; i < 100; i++) ref.reapFinished();
  assert.ok(!seen.includes('ok y'));
  await until(() => seen.length === 3, 'three outcomes');
  assert.deepEqual(seen, ['ok 20', 'failed y', 'ok 21']);
  assert.equal(ref.stats.failed, 2);
  await ref.stop();
});

test("overflow 'reject': tell returns false, the refusal is a counted dead letter; asks reject MailboxFullError", async () => {
  const ref = sup.spawn({ name: 'tiny', module: ECHO, mailboxSize: 2 });
  await ref.ready;
  const busy = ref.ask({ op: 'sleep', ms: 50 });
  await tick(); // the busy message is handed to the worker; the next ones wait in the mailbox
  assert.equal(ref.tell('a'), true);
  assert.equal(ref.tell('b'), true);
  assert.equal(ref.tell('c'), false);
  await assert.rejects(ref.ask('d'), MailboxFullError);
  await busy;
  await until(() => ref.stats.processed === 3, 'queued ones processed');
  const s = ref.stats;
  assert.equal(s.deadLetters, 2);
  assert.deepEqual(s.deadLettersByReason, { 'mailbox-full': 2 });
  assert.deepEqual(
    deadLetters.filter((d) => d.actor === 'tiny').map((d) => [d.message, d.reason]),
    [
      ['c', 'mailbox-full'],
      ['d', 'mailbox-full'],
    ],
  );
  assert.ok(sup.deadLetters().some((d) => d.actor === 'tiny' && d.message === 'c'));
  await ref.stop();
});

test("overflow 'drop-oldest' and 'drop-lowest': evicted messages are dead-lettered with their reason", async () => {
  const oldest = sup.spawn({ name: 'drop-oldest', module: ECHO, mailboxSize: 2, overflow: 'drop-oldest' });
  const lowest = sup.spawn({ name: 'drop-lowest', module: ECHO, mailboxSize: 2, overflow: 'drop-lowest' });
  await Promise.all([oldest.ready, lowest.ready]);

  const b1 = oldest.ask({ op: 'sleep', ms: 40 });
  await tick();
  const evicted = oldest.ask('first');
  oldest.tell('second');
  assert.equal(oldest.tell('third'), true);
  await assert.rejects(evicted, (e: unknown) => e instanceof MessageDroppedError && e.reason === 'dropped-oldest');

  const b2 = lowest.ask({ op: 'sleep', ms: 40 });
  await tick();
  lowest.tell('low', { priority: 'low' });
  lowest.tell('normal');
  assert.equal(lowest.tell('normal-2'), true, 'evicts the low one');
  assert.equal(lowest.tell('normal-3'), false, 'equal priority does not evict');
  assert.equal(lowest.tell('critical', { priority: 'critical' }), true, 'evicts the oldest normal');
  await Promise.all([b1, b2]);
  await until(() => oldest.stats.processed === 3 && lowest.stats.processed === 3, 'survivors processed');
  assert.deepEqual(oldest.stats.deadLettersByReason, { 'dropped-oldest': 1 });
  assert.deepEqual(lowest.stats.deadLettersByReason, { 'dropped-lowest': 2, 'mailbox-full': 1 });
  assert.deepEqual(
    deadLetters.filter((d) => d.actor === 'drop-lowest').map((d) => [d.message, d.reason]),
    [
      ['low', 'dropped-lowest'],
      ['normal-3', 'mailbox-full'],
      ['normal', 'dropped-lowest'],
    ],
  );
  await Promise.all([oldest.stop(), lowest.stop()]);
});

test('ask timeout (injected clock): a queued ask is withdrawn and dead-lettered; a late reply is discarded', async () => {
  const log = sharedLog();
  const ref = sup.spawn({ name: 'slow', module: ECHO, init: { log: log.sab } });
  await ref.ready;
  const inFlight = ref.ask({ op: 'sleep', ms: 30, v: 'late', mark: 1 }, { timeoutMs: 100 });
  await until(() => log.values().length === 1, 'the worker has started the first ask'); // one it has not started is withdrawn instead
  const queued = ref.ask('queued', { timeoutMs: 100 });
  const r1 = assert.rejects(inFlight, (e: unknown) => e instanceof AskTimeoutError && e.timeoutMs === 100);
  const r2 = assert.rejects(queued, AskTimeoutError);
  clock.advance(100);
  await Promise.all([r1, r2]);
  assert.equal(ref.stats.deadLettersByReason['ask-timeout'], 1);
  await until(() => ref.stats.lateReplies === 1, 'the late reply arrives and is discarded');
  assert.equal(ref.stats.processed, 1, 'the withdrawn ask was never processed');
  await ref.stop();
});

test('ask abort signal: rejects AskAbortedError, withdrawn when still queued', async () => {
  const ref = sup.spawn({ name: 'abortable', module: ECHO });
  await ref.ready;
  const busy = ref.ask({ op: 'sleep', ms: 30 });
  await tick();
  const ac = new AbortController();
  const p = ref.ask('x', { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, AskAbortedError);
  await assert.rejects(
    ref.ask('y', { signal: ac.signal }),
    AskAbortedError,
    'an already-aborted signal rejects at once',
  );
  await busy;
  assert.equal(ref.stats.deadLettersByReason['ask-aborted'], 1);
  await ref.stop();
});

test('what cannot cross the thread boundary is refused with a typed error', async () => {
  assert.throws(() => echo.tell(() => 1), MessageNotCloneableError);
  await assert.rejects(echo.ask({ f: () => 1 }), MessageNotCloneableError);
  assert.ok(deadLetters.some((d) => d.actor === 'echo' && d.reason === 'not-cloneable'));
  await assert.rejects(
    echo.ask({ op: 'fn' }),
    (e: unknown) => e instanceof ActorHandlerError && e.remote.code === 'ACTOR_REPLY_NOT_CLONEABLE',
  );
  assert.equal(await echo.ask({ op: 'echo', v: 2 }), 2);
});

test('init(data) receives structured-cloneable data with SharedArrayBuffers shared', async () => {
  const log = sharedLog();
  const ref = sup.spawn({ name: 'init', module: ECHO, init: { log: log.sab } });
  await ref.ready;
  await ref.ask({ op: 'record', v: 42 });
  assert.deepEqual(log.values(), [42]);
  assert.throws(() => sup.spawn({ name: 'bad-init', module: ECHO, init: { f: () => 1 } }), ConfigError);
  await ref.stop();
});

test('actor logs go through the host logger, tagged with the actor', async () => {
  assert.equal(await echo.ask({ op: 'log' }), 'logged');
  await until(() => lines.some((l) => l['msg'] === 'hello from the actor'), 'log line');
  const line = lines.find((l) => l['msg'] === 'hello from the actor')!;
  assert.equal(line['actor'], 'echo');
  assert.equal(line['level'], 40);
});

test('invalid options and arguments are ConfigErrors at the boundary', () => {
  assert.throws(() => sup.spawn({ name: '', module: ECHO }), ConfigError);
  assert.throws(() => sup.spawn({ name: 'x', module: ECHO, mailboxSize: 0 }), ConfigError);
  assert.throws(() => sup.spawn({ name: 'x', module: ECHO, overflow: 'shed' as never }), ConfigError);
  assert.throws(() => sup.spawn({ name: 'x', module: ECHO, maxAttempts: 0 }), ConfigError);
  assert.throws(() => sup.spawn({ name: 'echo', module: ECHO }), ConfigError, 'names are unique');
  assert.throws(() => echo.tell(1, { priority: 'urgent' as never }), ConfigError);
  assert.throws(() => new Supervisor({ strategy: 'rest_for_one' as never }), ConfigError);
  assert.throws(() => new Supervisor({ maxRestarts: -1 }), ConfigError);
});

test('getStats reports per actor state, depth, counts and ask latency', async () => {
  const s = sup.getStats();
  const e = s.actors.find((a) => a.name === 'echo')!;
  assert.equal(e.state, 'running');
  assert.equal(e.mailboxDepth, 0);
  assert.ok(e.processed > 5);
  assert.ok(e.failed >= 3);
  assert.ok(e.ask.count > 3 && e.ask.p50 > 0 && e.ask.p99 >= e.ask.p50);
  assert.equal(s.strategy, 'one_for_one');
  assert.ok(s.deadLetters >= 5);
  assert.ok(s.workers.live >= 1);
});

test('a stopped actor refuses messages with a counted dead letter', async () => {
  const ref = sup.spawn({ name: 'stoppable', module: ECHO });
  await ref.ready;
  const states: string[] = [];
  ref.on('state', (s: string) => states.push(s));
  await ref.stop();
  assert.equal(ref.tell('x'), false);
  assert.equal(ref.stats.deadLettersByReason['stopped'], 1);
  assert.deepEqual(states, ['stopped']);
  const again = sup.spawn({ name: 'stoppable', module: ECHO });
  await again.ready;
  assert.equal(await again.ask('back'), 'back', 'a stopped name can be spawned again');
  await again.stop();
});
