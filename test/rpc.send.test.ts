import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcPoolError } from '../src/rpc/errors.ts';
import { encodeBase58 as base58Encode } from '../src/encoding/base58.ts';
import { refusedPort, startFixtureServer } from './fixtures/rpc/server.ts';
import { count, testPool, until } from './fixtures/rpc/helpers.ts';

/** A wire-format transaction with one (fake but non-zero) signature, as web3.js sends it. */
function signedTx(): { params: unknown[]; signature: string } {
  const sig = new Uint8Array(64).map((_, i) => (i * 7 + 3) & 0xff);
  const wire = new Uint8Array([1, ...sig, 1, 0, 1, 2, 3, 4, 5]);
  return { params: [Buffer.from(wire).toString('base64'), { encoding: 'base64' }], signature: base58Encode(sig) };
}

test('sendTransaction after a failure that may have reached the node: status check first, then the SAME bytes', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  a.methodFaults.set('sendTransaction', { kind: 'reset' });
  b.results.set('sendTransaction', () => tx.signature);
  const tx = signedTx();
  const t = await testPool([
    { name: 'a', url: a.url },
    { name: 'b', url: b.url },
  ]);
  try {
    const r = await t.pool.call('sendTransaction', tx.params);
    assert.equal(r.endpoint, 'b');
    assert.equal(r.result, tx.signature);
    const onB = b.log.filter((l) => l.method !== 'getSlot');
    assert.deepEqual(
      onB.map((l) => l.method),
      ['getSignatureStatuses', 'sendTransaction'],
    );
    assert.deepEqual(onB[0]!.params, [[tx.signature], { searchTransactionHistory: false }]);
    assert.deepEqual(onB[1]!.params, tx.params, 'the same signed bytes');
    assert.deepEqual(t.pool.getStats().sendTransaction, { statusChecks: 1, alreadyLanded: 0, resent: 1, notResent: 0 });
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('sendTransaction: when the signature is already known elsewhere, it is not re-sent', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  const tx = signedTx();
  a.methodFaults.set('sendTransaction', { kind: 'hang' });
  b.results.set('getSignatureStatuses', () => ({
    context: { slot: 5 },
    value: [{ slot: 4, confirmations: 0, err: null, confirmationStatus: 'processed' }],
  }));
  const t = await testPool([
    { name: 'a', url: a.url },
    { name: 'b', url: b.url },
  ]);
  try {
    const p = t.pool.call('sendTransaction', tx.params);
    await until(() => count(a, 'sendTransaction') === 1, 'the hung send');
    t.clock.advance(800);
    const r = await p;
    assert.equal(r.result, tx.signature);
    assert.equal(r.endpoint, 'b');
    assert.equal(count(b, 'sendTransaction'), 0);
    assert.equal(t.pool.getStats().sendTransaction.alreadyLanded, 1);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('sendTransaction after a refused connection goes straight to the next endpoint', async () => {
  const b = await startFixtureServer();
  const tx = signedTx();
  b.results.set('sendTransaction', () => tx.signature);
  const t = await testPool([
    { name: 'a', url: `http://127.0.0.1:${await refusedPort()}/` },
    { name: 'b', url: b.url },
  ]);
  try {
    const r = await t.pool.call('sendTransaction', tx.params);
    assert.equal(r.result, tx.signature);
    assert.equal(count(b, 'getSignatureStatuses'), 0, 'provably not sent: no status check needed');
    assert.equal(count(b, 'sendTransaction'), 1);
  } finally {
    await t.close();
    await b.close();
  }
});

test('sendTransaction re-send answered "already processed" is the landed transaction', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  const tx = signedTx();
  a.methodFaults.set('sendTransaction', { kind: 'http', status: 502 });
  b.methodFaults.set('sendTransaction', {
    kind: 'rpc_error',
    code: -32002,
    message: 'Transaction simulation failed: This transaction has already been processed',
  });
  const t = await testPool([
    { name: 'a', url: a.url },
    { name: 'b', url: b.url },
  ]);
  try {
    const r = await t.pool.call('sendTransaction', tx.params);
    assert.equal(r.result, tx.signature);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('sendTransaction with an unreadable signature is not re-sent after a maybe-delivered failure', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  a.methodFaults.set('sendTransaction', { kind: 'http', status: 503 });
  const t = await testPool([
    { name: 'a', url: a.url },
    { name: 'b', url: b.url },
  ]);
  try {
    const e = await t.pool.call('sendTransaction', ['not-a-transaction!']).catch((x: unknown) => x);
    assert.ok(e instanceof RpcPoolError);
    assert.match(e.message, /not re-sent/);
    assert.equal(count(b, 'sendTransaction'), 0);
    assert.equal(t.pool.getStats().sendTransaction.notResent, 1);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

test('hedged reads: after hedgeAfterMs the next endpoint is asked too; the first answer wins', async () => {
  const a = await startFixtureServer();
  const b = await startFixtureServer();
  a.methodFaults.set('getVersion', { kind: 'hang' });
  a.methodFaults.set('sendTransaction', { kind: 'hang' });
  const t = await testPool(
    [
      { name: 'a', url: a.url },
      { name: 'b', url: b.url },
    ],
    { hedgeAfterMs: 50, stallAfterMs: 0 },
  );
  try {
    const p = t.pool.call('getVersion');
    await until(() => count(a, 'getVersion') === 1, 'the slow first attempt');
    assert.equal(count(b, 'getVersion'), 0, 'no hedge before hedgeAfterMs');
    t.clock.advance(50);
    const r = await p;
    assert.equal(r.endpoint, 'b');
    let s = t.pool.getStats();
    assert.equal(s.hedges, 1);
    assert.equal(s.endpoints[0]!.failures, 0, 'the slow attempt is still running');
    // The loser runs to its own deadline and is counted, so a hung endpoint is still found out.
    t.clock.advance(750);
    await until(() => t.pool.getStats().endpoints[0]!.failuresByClass.timeout === 1, 'the slow attempt timed out');
    s = t.pool.getStats();
    assert.equal(s.endpoints[0]!.state, 'CLOSED');

    // sendTransaction is never hedged.
    const tx = signedTx();
    const ps = t.pool.call('sendTransaction', tx.params);
    ps.catch(() => undefined);
    await until(() => count(a, 'sendTransaction') === 1, 'the send');
    t.clock.advance(50);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(count(b, 'sendTransaction'), 0);
    t.clock.advance(800);
    await ps.catch(() => undefined);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});
