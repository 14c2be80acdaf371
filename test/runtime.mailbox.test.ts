import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Mailbox,
  OFFER_ACCEPTED,
  OFFER_EVICTED,
  OFFER_REFUSED,
  laneOf,
  type MailboxItem,
} from '../src/runtime/mailbox.ts';
import { Deque } from '../src/runtime/deque.ts';

interface Item extends MailboxItem {
  id: string;
}
const item = (id: string, priority: 'critical' | 'normal' | 'low' = 'normal'): Item => ({
  id,
  lane: laneOf(priority),
  cancelled: false,
});
const ids = (xs: Item[]): string[] => xs.map((x) => x.id);

test('serves critical, then normal, then low; FIFO within a lane', () => {
  const mb = new Mailbox<Item>(10, 'reject');
  for (const [id, p] of [
    ['n1', 'normal'],
    ['l1', 'low'],
    ['c1', 'critical'],
    ['n2', 'normal'],
    ['c2', 'critical'],
    ['l2', 'low'],
  ] as const) {
    assert.equal(mb.offer(item(id, p)), OFFER_ACCEPTED);
  }
  assert.equal(mb.size, 6);
  assert.deepEqual(ids(mb.drain()), ['c1', 'c2', 'n1', 'n2', 'l1', 'l2']);
  assert.equal(mb.size, 0);
});

test("'reject' refuses the newcomer when full", () => {
  const mb = new Mailbox<Item>(2, 'reject');
  mb.offer(item('a'));
  mb.offer(item('b'));
  assert.equal(mb.offer(item('c', 'critical')), OFFER_REFUSED);
  assert.deepEqual(ids(mb.drain()), ['a', 'b']);
});

test("'drop-oldest' evicts the oldest of the newcomer's lane, else a lower lane, never a higher one", () => {
  const mb = new Mailbox<Item>(3, 'drop-oldest');
  mb.offer(item('n1'));
  mb.offer(item('n2'));
  mb.offer(item('l1', 'low'));
  assert.equal(mb.offer(item('n3')), OFFER_EVICTED);
  assert.equal(mb.evicted?.id, 'n1');
  // critical lane empty: the nearest lower lane (normal) gives up its oldest
  assert.equal(mb.offer(item('c1', 'critical')), OFFER_EVICTED);
  assert.equal(mb.evicted?.id, 'n2');
  // a low newcomer cannot push out critical or normal: only low
  assert.equal(mb.offer(item('l2', 'low')), OFFER_EVICTED);
  assert.equal(mb.evicted?.id, 'l1');
  assert.deepEqual(ids(mb.drain()), ['c1', 'n3', 'l2']);

  const full = new Mailbox<Item>(1, 'drop-oldest');
  full.offer(item('c', 'critical'));
  assert.equal(full.offer(item('l', 'low')), OFFER_REFUSED);
});

test("'drop-lowest' evicts from a strictly lower lane, else refuses", () => {
  const mb = new Mailbox<Item>(2, 'drop-lowest');
  mb.offer(item('l1', 'low'));
  mb.offer(item('n1'));
  assert.equal(mb.offer(item('c1', 'critical')), OFFER_EVICTED);
  assert.equal(mb.evicted?.id, 'l1');
  assert.equal(mb.offer(item('n2')), OFFER_REFUSED, 'equal priorities do not push each other out');
  assert.equal(mb.offer(item('c2', 'critical')), OFFER_EVICTED);
  assert.equal(mb.evicted?.id, 'n1');
  assert.deepEqual(ids(mb.drain()), ['c1', 'c2']);
});

test('cancelled items are skipped and stop counting; requeueFront restores order ahead of the lane', () => {
  const mb = new Mailbox<Item>(3, 'reject');
  const a = item('a');
  mb.offer(a);
  mb.offer(item('b'));
  mb.offer(item('c'));
  mb.cancel(a);
  mb.cancel(a);
  assert.equal(mb.size, 2);
  assert.equal(mb.offer(item('d')), OFFER_ACCEPTED, 'a cancelled item frees its place');
  const b = mb.shift()!;
  const c = mb.shift()!;
  assert.deepEqual([b.id, c.id], ['b', 'c']);
  mb.requeueFront([b, c, item('x', 'critical')]);
  assert.equal(mb.size, 4);
  assert.deepEqual(ids(mb.drain()), ['x', 'b', 'c', 'd']);
});

test('laneOf maps priorities and flags unknown ones', () => {
  assert.equal(laneOf(undefined), 1);
  assert.equal(laneOf('critical'), 0);
  assert.equal(laneOf('low'), 2);
  assert.equal(laneOf('urgent' as never), -1);
});

test('Deque grows, shifts, unshifts and pops across the wrap point', () => {
  const d = new Deque<number>(4);
  for (let i = 0; i < 3; i++) d.push(i);
  assert.equal(d.shift(), 0);
  for (let i = 3; i < 20; i++) d.push(i);
  d.unshift(-1);
  assert.equal(d.pop(), 19);
  assert.equal(d.length, 19);
  assert.equal(d.at(0), -1);
  assert.equal(d.at(1), 1);
  assert.deepEqual(d.drain(), [-1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  assert.equal(d.shift(), undefined);
});
