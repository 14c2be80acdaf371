// The thread boundary under hostile messages and errors: nothing a caller sends or a handler
// throws may alter a later message, jam the actor or crash its worker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/clock.ts';
import { ActorHandlerError, MessageNotCloneableError, Supervisor, type DeadLetter } from '../src/runtime/index.ts';
import { C_SLOTS } from '../src/runtime/protocol.ts';
import { RingReader, RingWriter, WRITE_OK, WRITE_TOO_LARGE } from '../src/runtime/ring.ts';
import { ECHO, capturingLogger } from './fixtures/actors/support.ts';

const ODD_ERRORS = new URL('./fixtures/actors/odd-errors.ts', import.meta.url);
const clock = new ManualClock();
const { logger } = capturingLogger();
let sup: Supervisor;
const deadLetters: DeadLetter[] = [];

before(() => {
  sup = new Supervisor({ clock, logger, heartbeatMs: 0 });
  sup.on('deadLetter', (dl: DeadLetter) => deadLetters.push(dl));
});
after(() => sup.shutdown({ drainMs: 0 }));

function ringPair(bytes: number): { w: RingWriter; r: RingReader } {
  const ctrl = new Int32Array(new SharedArrayBuffer(C_SLOTS * 4));
  const sab = new SharedArrayBuffer(bytes);
  return { w: new RingWriter(sab, ctrl), r: new RingReader(sab, ctrl) };
}

function send(w: RingWriter, r: RingReader, seq: number, v: unknown): unknown {
  assert.equal(w.write(seq, 0, v), WRITE_OK);
  w.publish();
  assert.ok(r.peek());
  const out = r.take();
  r.release();
  return out;
}

test('ring codec: a throw while encoding rolls back the string cache and the shape table', () => {
  const { w, r } = ringPair(4096);
  assert.deepEqual(send(w, r, 1, { sym: 'BONK', n: 1 }), { sym: 'BONK', n: 1 });
  const getter = {
    sym: 'WIF',
    get n(): number {
      throw new Error('getter boom');
    },
  };
  assert.throws(() => w.write(2, 0, getter), /getter boom/);
  assert.deepEqual(send(w, r, 2, { sym: 'WIF', n: 2 }), { sym: 'WIF', n: 2 });
  // A shape first defined in a record that threw must be defined again by the next record of that shape.
  const fresh = {
    a: 'x',
    get b(): number {
      throw new Error('fresh boom');
    },
  };
  assert.throws(() => w.write(3, 0, fresh), /fresh boom/);
  assert.deepEqual(send(w, r, 3, { a: 'y', b: 3 }), { a: 'y', b: 3 });
  const revoked = Proxy.revocable({ sym: 'PEPE', n: 3 }, {});
  revoked.revoke();
  assert.throws(() => w.write(4, 0, { sym: 'PEPE', n: revoked.proxy }), TypeError);
  assert.deepEqual(send(w, r, 4, { sym: 'PEPE', n: 4 }), { sym: 'PEPE', n: 4 });
});

test('ring codec: a record over half the ring is refused as too large, even with the ring empty', () => {
  const { w, r } = ringPair(1024);
  assert.equal(w.write(1, 0, 'x'.repeat(600)), WRITE_TOO_LARGE);
  assert.equal(w.write(1, 0, '漢'.repeat(300)), WRITE_TOO_LARGE);
  // Anything up to half the ring fits once the ring has drained, whatever offset the ring is at.
  for (let seq = 1; seq <= 40; seq++)
    assert.equal((send(w, r, seq, 'z'.repeat((seq * 37) % 490)) as string).length, (seq * 37) % 490);
});

test('a message whose encoding throws part-way leaves no trace: later messages arrive unaltered', async () => {
  const ref = sup.spawn({ name: 'codec-rollback', module: ECHO });
  await ref.ready;
  assert.deepEqual(await ref.ask({ sym: 'BONK', n: 1 }), { sym: 'BONK', n: 1 });
  const throwing = {
    sym: 'WIF',
    get n(): number {
      throw new Error('getter boom');
    },
  };
  const revoked = Proxy.revocable({ sym: 'PEPE', n: 3 }, {});
  revoked.revoke();
  const before = deadLetters.length;
  // Refused (typed, dead-lettered), not thrown raw, and not half-written into the codec's state.
  assert.equal(ref.tell(throwing), false);
  assert.equal(ref.tell(revoked.proxy), false);
  await assert.rejects(ref.ask(throwing), MessageNotCloneableError);
  const refused = deadLetters.slice(before).map((d) => [d.reason, d.error?.constructor.name]);
  assert.deepEqual(refused, Array(3).fill(['not-cloneable', 'MessageNotCloneableError']));
  assert.deepEqual(await ref.ask({ sym: 'WIF', n: 2 }), { sym: 'WIF', n: 2 });
  assert.deepEqual(await ref.ask({ sym: 'PEPE', n: 4 }), { sym: 'PEPE', n: 4 });
  assert.equal(ref.stats.crashes, 0);
  assert.equal(ref.stats.incarnation, 1);

  // Through the mailbox as well: told before the worker exists, encoded when it starts.
  const queued = sup.spawn({ name: 'codec-rollback-queued', module: ECHO });
  const first = queued.ask({ sym: 'BONK', n: 10 });
  assert.equal(
    queued.tell({
      sym: 'JUP',
      get n(): number {
        throw new Error('late boom');
      },
    }),
    true,
  );
  const second = queued.ask({ sym: 'JUP', n: 11 });
  assert.deepEqual(await first, { sym: 'BONK', n: 10 });
  assert.deepEqual(await second, { sym: 'JUP', n: 11 });
  assert.equal(deadLetters.at(-1)?.reason, 'not-cloneable');
  assert.equal(queued.stats.deadLettersByReason['not-cloneable'], 1);
  assert.equal(queued.stats.crashes, 0);
});

test('a message larger than the ring travels by postMessage; nothing queues behind it for good', {
  timeout: 20_000,
}, async () => {
  const ref = sup.spawn({ name: 'big-message', module: ECHO, ringBytes: 64 * 1024 });
  await ref.ready;
  const latin = { blob: 'x'.repeat(300 * 1024) };
  const wide = { blob: '漢'.repeat(150 * 1024) };
  // Between half the ring and the ring: may never fit at an unlucky offset, so it goes by message too.
  const justUnder = { blob: 'y'.repeat(60 * 1024) };
  const replies = [
    ref.ask({ n: 1 }),
    ref.ask(latin),
    ref.ask({ n: 2 }),
    ref.ask(wide),
    ref.ask(justUnder),
    ref.ask({ n: 3 }),
  ];
  for (let i = 0; i < 50; i++) ref.tell({ n: 100 + i });
  const got = (await Promise.all(replies)) as { n?: number; blob?: string }[];
  assert.deepEqual(got[0], { n: 1 });
  assert.equal(got[1]!.blob, latin.blob);
  assert.deepEqual(got[2], { n: 2 });
  assert.equal(got[3]!.blob, wide.blob);
  assert.equal(got[4]!.blob, justUnder.blob);
  assert.deepEqual(got[5], { n: 3 });
  assert.deepEqual(await ref.ask({ n: 4 }), { n: 4 });
  assert.equal(ref.stats.processed, 57);
  assert.equal(ref.stats.crashes, 0);
  assert.equal(ref.stats.sentOffRing, 3, 'the three large messages are counted as sent off the ring');
});

test('a handler error that cannot be read or cloned fails that message, not the worker', {
  timeout: 20_000,
}, async () => {
  const ref = sup.spawn({ name: 'odd-errors', module: ODD_ERRORS });
  await ref.ready;
  for (const op of ['stack-number', 'message-fn', 'getters-throw', 'null-proto', 'async-stack-object']) {
    const err = await ref.ask({ op }).then(
      () => assert.fail(`${op} should fail`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ActorHandlerError, `${op}: ${String(err)}`);
    assert.equal(typeof err.remote.name, 'string', op);
    assert.equal(typeof err.remote.message, 'string', op);
    assert.ok(err.remote.stack === undefined || typeof err.remote.stack === 'string', op);
  }
  // A reply that cannot be cloned (its getter throws null) fails the ask the same way.
  await assert.rejects(
    ref.ask({ op: 'reply-getter-throws-null' }),
    (e: unknown) => e instanceof ActorHandlerError && e.code === 'ACTOR_HANDLER_FAILED',
  );
  // Tells fail the same way (no reply to carry the error): counted as failed, the worker lives on.
  ref.tell({ op: 'stack-number' });
  ref.tell({ op: 'message-fn' });
  assert.equal(await ref.ask({ op: 'echo', v: 'alive' }), 'alive');
  assert.equal(ref.stats.failed, 8);
  assert.equal(ref.stats.crashes, 0);
  assert.equal(ref.stats.incarnation, 1);
});

test('hostile messages: deep, cyclic, huge, non-cloneable — a typed refusal or a delivery, never a stuck or dead actor', {
  timeout: 30_000,
}, async () => {
  const ref = sup.spawn({ name: 'hostile-messages', module: ECHO });
  await ref.ready;
  let deep: object = { leaf: 1 };
  for (let i = 0; i < 100_000; i++) deep = { a: deep };
  await assert.rejects(ref.ask(deep), MessageNotCloneableError, 'deeper than structured clone can go');
  await assert.rejects(ref.ask({ f: () => 1 }), MessageNotCloneableError);
  await assert.rejects(ref.ask(Symbol('s')), MessageNotCloneableError);
  assert.throws(() => ref.tell(() => 1), MessageNotCloneableError);
  const cyclic: Record<string, unknown> = { n: 1 };
  cyclic['self'] = cyclic;
  const back = (await ref.ask(cyclic)) as Record<string, unknown>;
  assert.equal(back['self'], back);
  const huge = 'h'.repeat(8 * 1024 * 1024);
  assert.equal(((await ref.ask({ huge })) as { huge: string }).huge.length, huge.length);
  for (const v of [NaN, Infinity, -0, 2n ** 70n, new Date(0), new Map([[1, { x: 1 }]])])
    assert.deepEqual(await ref.ask(v), v);
  assert.deepEqual(await ref.ask({ n: 'still fine' }), { n: 'still fine' });
  assert.equal(ref.stats.crashes, 0);
  assert.equal(ref.stats.deadLettersByReason['not-cloneable'], 2);
});
