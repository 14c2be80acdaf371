import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { C_RING_HEAD, C_SLOTS } from '../src/runtime/protocol.ts';
import { RingReader, RingWriter, WRITE_FULL, WRITE_OK, WRITE_UNSUPPORTED } from '../src/runtime/ring.ts';
import { Supervisor, type ActorRef } from '../src/runtime/index.ts';
import { ECHO, sharedLog, until } from './fixtures/actors/support.ts';

function pair(bytes = 4096): { w: RingWriter; r: RingReader; ctrl: Int32Array } {
  const ctrl = new Int32Array(new SharedArrayBuffer(C_SLOTS * 4));
  const sab = new SharedArrayBuffer(bytes);
  return { w: new RingWriter(sab, ctrl), r: new RingReader(sab, ctrl), ctrl };
}

function roundTrip(w: RingWriter, r: RingReader, v: unknown, seq: number): unknown {
  assert.equal(w.write(seq, 3, v), WRITE_OK, `write ${JSON.stringify(v)}`);
  w.publish();
  assert.ok(r.peek());
  assert.equal(r.seq, seq);
  assert.equal(r.meta, 3);
  const out = r.take();
  r.release();
  return out;
}

test('codec round-trips the values actors mostly get, exactly as structured clone would', () => {
  const { w, r } = pair(1 << 16);
  const values: unknown[] = [
    0,
    -0,
    1,
    -1,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 31,
    1.5,
    Number.NaN,
    Infinity,
    -Infinity,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    '',
    'BONK',
    'é ü ß',
    'ÿ'.repeat(40),
    '漢字 🚀 \u0000 \uD800',
    'x'.repeat(10_000),
    true,
    false,
    null,
    undefined,
    [],
    [1, 'a', null, undefined, [2, [3]]],
    {},
    { seq: 1, token: 'BONK', px: 0.00012 },
    { seq: 2, token: 'PEPE', px: 3 },
    { a: { b: { c: [1, { d: 'e' }] } } },
    { 2: 'int key', a: 1, 1: 'first' },
    Object.assign(Object.create(null) as object, { n: 1 }),
    { ['k'.repeat(100)]: 1 },
    Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, i])),
  ];
  let seq = 1;
  for (const v of values) {
    const out = roundTrip(w, r, v, seq++);
    assert.deepEqual(out, structuredClone(v));
    if (typeof v === 'number') assert.ok(Object.is(out, v), `${v}`);
  }
});

test('what the codec does not carry is reported so it can go by postMessage; a failed write leaves no trace', () => {
  const { w, r } = pair();
  const unsupported: unknown[] = [
    new Map([[1, 2]]),
    new Date(0),
    new Uint8Array(4),
    10n,
    // biome-ignore lint/suspicious/noSparseArray: an array with a hole is the hostile value under test
    [1, , 3],
    { f: () => 1 },
    { nested: { s: Symbol('x') } },
    new (class K {})(),
    JSON.parse('{"__proto__": 1}'),
  ];
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  unsupported.push(cyclic);
  for (const v of unsupported) assert.equal(w.write(1, 0, v), WRITE_UNSUPPORTED, String(v));
  // A shape first seen in an aborted write is still defined for the worker the next time it is used.
  assert.equal(w.write(1, 0, { x: 1, y: new Map() }), WRITE_UNSUPPORTED);
  assert.deepEqual(roundTrip(w, r, { x: 1, y: 2 }, 1), { x: 1, y: 2 });
  assert.equal(w.used, 0);
});

test('repeated string fields are sent once; a write that fails forgets what it would have taught the reader', () => {
  const { w, r, ctrl } = pair(1024);
  let seq = 1;
  const a = { topic: 't', priority: 'normal', token: 'BONK', n: 1 };
  assert.deepEqual(roundTrip(w, r, a, seq++), a);
  const before = w.used;
  assert.equal(w.write(seq, 0, { ...a, n: 2 }), WRITE_OK);
  const repeatBytes = w.used - before;
  w.publish();
  assert.ok(r.peek());
  assert.deepEqual(r.take(), { ...a, n: 2 });
  r.release();
  assert.ok(repeatBytes <= 12 + 3 + 3 * 1 + 5 + 3, `a repeat costs ${repeatBytes} bytes`);
  seq++;
  // A new token in a record that is then refused (a Map further on): the reader never saw it.
  assert.equal(w.write(seq, 0, { topic: 't', priority: 'normal', token: 'PEPE', n: new Map() }), WRITE_UNSUPPORTED);
  assert.deepEqual(roundTrip(w, r, { topic: 't', priority: 'normal', token: 'PEPE', n: 3 }, seq++), {
    topic: 't',
    priority: 'normal',
    token: 'PEPE',
    n: 3,
  });
  assert.deepEqual(roundTrip(w, r, { topic: 't', priority: 'low', token: 'PEPE', n: 4 }, seq++), {
    topic: 't',
    priority: 'low',
    token: 'PEPE',
    n: 4,
  });
  // Fill the ring so a record with a new string cannot fit; it must not be remembered either.
  const big = 'x'.repeat(200);
  let filled = 0;
  while (w.write(seq, 0, { topic: big, priority: 'low', token: 'PEPE', n: filled }) === WRITE_OK) {
    seq++;
    filled++;
  }
  assert.equal(w.write(seq, 0, { topic: 'WIF'.repeat(300), priority: 'low', token: 'PEPE', n: -1 }), WRITE_FULL);
  w.publish();
  for (let i = 0; i < filled; i++) {
    assert.ok(r.peek());
    assert.deepEqual(r.take(), { topic: big, priority: 'low', token: 'PEPE', n: i });
  }
  r.release();
  assert.equal(Atomics.load(ctrl, C_RING_HEAD) >>> 0, (w as unknown as { tail: number }).tail >>> 0);
  const next = { topic: 'WIF', priority: 'low', token: 'PEPE', n: 5 };
  assert.deepEqual(roundTrip(w, r, next, seq++), next);
  // Nested objects of one shape share the field memory in the order both sides walk them.
  const tree = { k: 'a', child: { k: 'b', child: { k: 'b', child: null } } };
  assert.deepEqual(roundTrip(w, r, tree, seq++), tree);
  assert.deepEqual(roundTrip(w, r, tree, seq++), tree);
});

test('the ring wraps around, reports full, and resumes once the reader releases', () => {
  const { w, r, ctrl } = pair(1024);
  let written = 0;
  let read = 0;
  const msg = (i: number): unknown => ({ i, s: 'abcdefghij'.repeat(3) });
  for (let round = 0; round < 50; round++) {
    while (w.write(written + 1, 0, msg(written)) === WRITE_OK) written++;
    assert.equal(w.write(written + 1, 0, msg(written)), WRITE_FULL);
    w.publish();
    while (r.peek()) {
      assert.equal(r.seq, read + 1);
      assert.deepEqual(r.take(), msg(read));
      read++;
    }
    r.release();
    assert.equal(read, written);
  }
  assert.ok(written > 500, `wrapped many times (${written} records)`);
  assert.equal(Atomics.load(ctrl, C_RING_HEAD) >>> 0, Atomics.load(ctrl, 5) >>> 0);
});

let sup: Supervisor;
before(() => {
  sup = new Supervisor({ heartbeatMs: 0 });
});
after(() => sup.shutdown({ drainMs: 0 }));

async function orderedMix(ref: ActorRef, log: ReturnType<typeof sharedLog>, n: number): Promise<void> {
  // Every 7th message is not ring-encodable (a Date inside) and travels by postMessage; order must hold.
  for (let i = 0; i < n; i++) ref.tell(i % 7 === 3 ? { op: 'record', v: i, at: new Date(i) } : { op: 'record', v: i });
  await until(() => log.values().length === n, `${n} records`);
  assert.deepEqual(
    log.values(),
    Array.from({ length: n }, (_, i) => i),
  );
}

test('ring and postMessage envelopes interleave without reordering', async () => {
  const log = sharedLog(50_000);
  const ref = sup.spawn({ name: 'mix', module: ECHO, init: { log: log.sab }, mailboxSize: 50_000 });
  await ref.ready;
  await orderedMix(ref, log, 20_000);
  await until(() => ref.stats.processed === 20_000, 'acks for all 20000 reach the host');
  assert.equal(ref.stats.deadLetters, 0);
});

test('ringBytes 0: everything by batched postMessage, same guarantees', async () => {
  const log = sharedLog(10_000);
  const ref = sup.spawn({ name: 'noring', module: ECHO, init: { log: log.sab }, mailboxSize: 10_000, ringBytes: 0 });
  await ref.ready;
  await orderedMix(ref, log, 5_000);
  assert.deepEqual(await ref.ask({ op: 'echo', v: new Map([[1, 2]]) }), new Map([[1, 2]]));
});

test('a tiny ring fills up under a burst: the backlog waits in the mailbox and nothing is lost', async () => {
  const log = sharedLog(20_000);
  const ref = sup.spawn({
    name: 'tinyring',
    module: ECHO,
    init: { log: log.sab },
    mailboxSize: 20_000,
    ringBytes: 1024,
  });
  await ref.ready;
  await ref.ask('warm up the window');
  for (let i = 0; i < 10_000; i++) ref.tell({ op: 'record', v: i, pad: 'x'.repeat(i % 50) });
  await until(() => log.values().length === 10_000, 'all records');
  assert.deepEqual(
    log.values(),
    Array.from({ length: 10_000 }, (_, i) => i),
  );
  assert.equal(ref.stats.deadLetters, 0);
});
