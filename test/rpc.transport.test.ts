import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../src/clock.ts';
import { classifyError, provablyNotSent } from '../src/rpc/classify.ts';
import { RpcHttpError, RpcTimeoutError } from '../src/rpc/errors.ts';
import { HttpTransport, parseRetryAfter } from '../src/rpc/transport.ts';
import { TokenBucket } from '../src/rpc/token-bucket.ts';
import { signatureOfSendParams } from '../src/rpc/signature.ts';
import { decodeBase58 as base58Decode, encodeBase58 as base58Encode } from '../src/encoding/base58.ts';
import { refusedPort, startFixtureServer } from './fixtures/rpc/server.ts';

const body = '{"jsonrpc":"2.0","id":1,"method":"getSlot","params":[]}';

test('transport: keep-alive POST returns the body; sockets are reused', async () => {
  const srv = await startFixtureServer({ slot: 77 });
  const t = new HttpTransport(srv.url, { clock: systemClock });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await t.post(body, 1000);
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).result, 77);
    }
    assert.equal(srv.counts.get('getSlot'), 5);
  } finally {
    t.close();
    await srv.close();
  }
});

test('transport: non-2xx is RpcHttpError with Retry-After parsed; classes follow', async () => {
  const srv = await startFixtureServer();
  const t = new HttpTransport(srv.url, { clock: systemClock });
  try {
    srv.fault = { kind: 'http', status: 429, retryAfter: '3' };
    const e = await t.post(body, 1000).catch((x: unknown) => x);
    assert.ok(e instanceof RpcHttpError);
    assert.equal(e.status, 429);
    assert.equal(e.retryAfterMs, 3000);
    assert.equal(classifyError(e), 'http_429');
    srv.fault = { kind: 'http', status: 503 };
    const e5 = await t.post(body, 1000).catch((x: unknown) => x);
    assert.equal(classifyError(e5), 'http_5xx');
    srv.fault = { kind: 'reset' };
    const er = await t.post(body, 1000).catch((x: unknown) => x);
    assert.equal(classifyError(er), 'reset');
    assert.equal(provablyNotSent('reset'), false);
  } finally {
    t.close();
    await srv.close();
  }
});

test('transport: refused connection classifies as refused (provably not sent)', async () => {
  const port = await refusedPort();
  const t = new HttpTransport(`http://127.0.0.1:${port}/`, { clock: systemClock });
  try {
    const e = await t.post(body, 1000).catch((x: unknown) => x);
    assert.equal(classifyError(e), 'refused');
    assert.equal(provablyNotSent('refused'), true);
  } finally {
    t.close();
  }
});

test('transport: a hung upstream is cut at the deadline (injected clock) and by an abort', async () => {
  const srv = await startFixtureServer();
  srv.fault = { kind: 'hang' };
  const clock = new ManualClock();
  const t = new HttpTransport(srv.url, { clock });
  try {
    const p = t.post(body, 500).catch((x: unknown) => x);
    while (srv.total() === 0) await new Promise((r) => setTimeout(r, 2));
    clock.advance(499);
    let settled = false;
    void p.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(settled, false, 'must not time out before the deadline');
    clock.advance(1);
    const e = await p;
    assert.ok(e instanceof RpcTimeoutError);
    assert.equal(classifyError(e), 'timeout');

    const ctl = new AbortController();
    const p2 = t.post(body, 60_000, ctl.signal).catch((x: unknown) => x);
    while (srv.total() < 2) await new Promise((r) => setTimeout(r, 2));
    ctl.abort();
    const e2 = await p2;
    assert.equal((e2 as Error).name, 'AbortError');
  } finally {
    t.close();
    await srv.close();
  }
});

test('parseRetryAfter: seconds, HTTP date, junk', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('2', now), 2000);
  assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('token bucket: burst then refill at the rate', () => {
  const b = new TokenBucket(10, 2, 0);
  assert.equal(b.tryTake(0), true);
  assert.equal(b.tryTake(0), true);
  assert.equal(b.tryTake(0), false);
  assert.equal(b.nextTokenAt(0), 100);
  assert.equal(b.tryTake(99), false);
  assert.equal(b.tryTake(200), true);
});

test('signature: base58 round trip and the first signature of a wire transaction', () => {
  const bytes = new Uint8Array([0, 0, 1, 2, 255, 128]);
  assert.deepEqual(base58Decode(base58Encode(bytes)), bytes);
  const sig = new Uint8Array(64).map((_, i) => i + 1);
  const wire = new Uint8Array([1, ...sig, 9, 9, 9]);
  const b64 = Buffer.from(wire).toString('base64');
  assert.equal(signatureOfSendParams([b64, { encoding: 'base64' }]), base58Encode(sig));
  assert.equal(signatureOfSendParams([base58Encode(wire)]), base58Encode(sig));
  assert.equal(
    signatureOfSendParams([Buffer.from(new Uint8Array(70)).toString('base64'), { encoding: 'base64' }]),
    undefined,
  );
  assert.equal(signatureOfSendParams(['%%%']), undefined);
});
