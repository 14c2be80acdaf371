/**
 * Hostile input at the RPC pool's boundaries: what a caller passes (configuration, call options)
 * and what a provider sends back (sizes, ids, encodings, non-JSON, echoed secrets). For each: a
 * typed error or a counted failure, nothing half-done, no crash, bounded memory, no secret in
 * any output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../src/errors.ts';
import { RpcCallError, RpcPoolError } from '../src/rpc/errors.ts';
import { RpcConnectionPool, type CallBreaker } from '../src/rpc/pool.ts';
import { MAX_TIMER_MS } from '../src/validate.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { startFixtureServer, type FixtureServer } from './fixtures/rpc/server.ts';
import { testPool, until, type TestPool } from './fixtures/rpc/helpers.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';

async function twoHealthy(
  deps: { circuitBreaker?: CallBreaker } = {},
): Promise<{ t: TestPool; servers: FixtureServer[]; done(): Promise<void> }> {
  const servers = await Promise.all([startFixtureServer(), startFixtureServer()]);
  const t = await testPool(
    servers.map((s, i) => ({ name: `e${i}`, url: s.url })),
    {},
    deps,
  );
  return {
    t,
    servers,
    async done() {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/** A breaker injected around every call that only counts how often it was asked. */
function spyBreaker(): CallBreaker & { executed: number } {
  const spy = {
    executed: 0,
    execute<T>(_label: string, fn: () => Promise<T>): Promise<T> {
      spy.executed++;
      return fn();
    },
  };
  return spy;
}

function assertUntouched(t: TestPool, servers: FixtureServer[], spy: { executed: number }): void {
  const stats = t.pool.getStats();
  assert.equal(spy.executed, 0, 'the injected call breaker was not asked');
  assert.equal(stats.calls, 0, 'no call was counted');
  for (const e of stats.endpoints) {
    assert.equal(e.state, 'CLOSED', `${e.name} stays CLOSED`);
    assert.equal(e.calls, 0, `${e.name} got no attempt`);
    assert.equal(e.failures, 0, `${e.name} has no failure`);
  }
  for (const s of servers) assert.equal(s.counts.get('getVersion') ?? 0, 0, 'no request reached a provider');
}

const BAD_TIMEOUTS: unknown[] = [
  NaN,
  -1,
  -0.5,
  0,
  Infinity,
  -Infinity,
  2 ** 31,
  Number.MAX_VALUE,
  '100',
  null,
  true,
  10n,
];

test('call options: a bad timeoutMs is a typed error at the call and counts against no endpoint', async () => {
  const spy = spyBreaker();
  const h = await twoHealthy({ circuitBreaker: spy });
  try {
    for (const timeoutMs of BAD_TIMEOUTS) {
      // Six in a row used to open every healthy endpoint's breaker (each attempt timed out in ~1 ms).
      for (let i = 0; i < 6; i++) {
        const err = await h.t.pool.call('getVersion', [], { timeoutMs: timeoutMs as number }).catch((e: unknown) => e);
        assert.ok(err instanceof ConfigError, `timeoutMs=${String(timeoutMs)} gives ${String(err)}`);
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.equal(err.key, 'call.timeoutMs');
        assert.equal((err as ConfigError & { isCallerError?: boolean }).isCallerError, true);
      }
    }
    assertUntouched(h.t, h.servers, spy);
    // The pool still serves a good call afterwards, with the largest timeout a timer honours.
    const ok = await h.t.pool.call('getVersion', [], { timeoutMs: MAX_TIMER_MS });
    assert.equal(ok.ok, true);
  } finally {
    await h.done();
  }
});

test('call arguments: bad method, params, options and signal are typed errors; nothing is sent', async () => {
  const spy = spyBreaker();
  const h = await twoHealthy({ circuitBreaker: spy });
  try {
    const cases: [string, () => Promise<unknown>][] = [
      ['call.method', () => h.t.pool.call('', [])],
      ['call.method', () => h.t.pool.call(42 as unknown as string, [])],
      ['call.method', () => h.t.pool.call('x'.repeat(10_000), [])],
      ['call.params', () => h.t.pool.call('getVersion', 'x' as unknown as unknown[])],
      ['call.params', () => h.t.pool.call('getVersion', null as unknown as unknown[])],
      ['call.options', () => h.t.pool.call('getVersion', [], 7 as unknown as object)],
      ['call.options', () => h.t.pool.call('getVersion', [], [] as unknown as object)],
      ['call.signal', () => h.t.pool.call('getVersion', [], { signal: {} as AbortSignal })],
      ['call.timeOutMs', () => h.t.pool.call('getVersion', [], { timeOutMs: 5 } as object)],
    ];
    for (const [key, run] of cases) {
      const err = await run().catch((e: unknown) => e);
      assert.ok(err instanceof ConfigError, `${key}: ${String(err)}`);
      assert.equal(err.key, key);
    }
    assertUntouched(h.t, h.servers, spy);
  } finally {
    await h.done();
  }
});

test('call options: any value that is not a timer-safe timeout is refused before a request (property)', async () => {
  const spy = spyBreaker();
  const h = await twoHealthy({ circuitBreaker: spy });
  // undefined is the default (requestTimeoutMs), not a bad value.
  const valid = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 1 && v <= MAX_TIMER_MS;
  try {
    await assertProperty(
      'test/rpc.hostile.test.ts',
      fc.asyncProperty(
        fc
          .oneof(fc.double(), fc.integer(), fc.anything(), fc.constantFrom(NaN, Infinity, -Infinity, 2 ** 31, 0, -0))
          .filter((v) => v !== undefined && !valid(v)),
        async (timeoutMs) => {
          const err = await h.t.pool
            .call('getVersion', [], { timeoutMs: timeoutMs as number })
            .catch((e: unknown) => e);
          return err instanceof ConfigError && err.key === 'call.timeoutMs';
        },
      ),
      fuzzParams(200),
    );
    assertUntouched(h.t, h.servers, spy);
  } finally {
    await h.done();
  }
});

test('pool config: hostile values are ConfigErrors naming the key; nothing is started', () => {
  const url = 'http://127.0.0.1:1/';
  const cases: [string, Record<string, unknown>][] = [
    ['requestTimeoutMs', { requestTimeoutMs: NaN }],
    ['requestTimeoutMs', { requestTimeoutMs: -5 }],
    ['attemptTimeoutMs', { attemptTimeoutMs: Infinity }],
    ['maxResponseBytes', { maxResponseBytes: 0 }],
    ['maxResponseBytes', { maxResponseBytes: NaN }],
    ['maxResponseBytes', { maxResponseBytes: 2 ** 40 }],
    ['endpoints', { endpoints: 'http://x' }],
    ['endpoints[0].url', { endpoints: [{ url: 'ftp://x/' }] }],
    ['endpoints[0].weight', { endpoints: [{ url, weight: NaN }] }],
    ['bogus', { bogus: 1 }],
  ];
  for (const [key, patch] of cases) {
    assert.throws(
      () => new RpcConnectionPool({ endpoints: [{ url }], ...patch } as never, { mode: 'inline' }),
      (e: unknown) => e instanceof ConfigError && e.key === key,
      key,
    );
  }
});

/** A pool of [hostile, healthy]: every hostile answer must fail over to the healthy one. */
async function hostileThenHealthy(
  extra: Record<string, unknown> = {},
): Promise<{ t: TestPool; bad: FixtureServer; good: FixtureServer; done(): Promise<void> }> {
  const [bad, good] = await Promise.all([startFixtureServer(), startFixtureServer()]);
  const t = await testPool(
    [
      { name: 'bad', url: bad.url },
      { name: 'good', url: good.url },
    ],
    { stallAfterMs: 0, ...extra },
  );
  return {
    t,
    bad,
    good,
    async done() {
      await t.close();
      await bad.close();
      await good.close();
    },
  };
}

test('response size: a body over maxResponseBytes is bad_response, its socket is cut and nothing more is buffered', async () => {
  const h = await hostileThenHealthy({ maxResponseBytes: 1024 * 1024 });
  try {
    // 256 MiB streamed at the pace the client reads: only a bounded prefix may ever be read.
    h.bad.methodFaults.set('getVersion', { kind: 'stream', bytes: 256 * 1024 * 1024 });
    const r = await h.t.pool.call('getVersion');
    assert.equal(r.endpoint, 'good');
    const bad = h.t.pool.getStats().endpoints[0]!;
    assert.equal(bad.failuresByClass.bad_response, 1, JSON.stringify(bad.failuresByClass));
    assert.equal(bad.inFlight, 0);
    await until(() => h.bad.streamed.cut === 1, 'the server to see its stream cut');
    // The cap plus what loopback socket buffers hold; far from the 256 MiB offered.
    assert.ok(h.bad.streamed.bytes < 48 * 1024 * 1024, `the client kept reading: ${h.bad.streamed.bytes} bytes`);
    // A body under the cap still passes.
    h.bad.methodFaults.set('getVersion', { kind: 'stream', bytes: 512 * 1024 });
    h.good.methodFaults.set('getVersion', { kind: 'hang' });
    const big = h.t.pool.call('getVersion');
    const ok = await big;
    assert.equal(ok.endpoint, 'bad');
    assert.equal((ok.result as string).length, 512 * 1024);
  } finally {
    await h.done();
  }
});

test('response size: a declared Content-Length over the cap is refused before the body is read', async () => {
  const h = await hostileThenHealthy({ maxResponseBytes: 64 * 1024 });
  try {
    h.bad.methodFaults.set('getVersion', { kind: 'declared_length', contentLength: 2 ** 40 });
    const r = await h.t.pool.call('getVersion');
    assert.equal(r.endpoint, 'good');
    assert.equal(h.t.pool.getStats().endpoints[0]!.failuresByClass.bad_response, 1);
  } finally {
    await h.done();
  }
});

test('response ids: a reply for another request, or without an id, is bad_response and fails over', async () => {
  const h = await hostileThenHealthy({ breaker: { failureThreshold: 100, cooldownMs: 1000, jitterRatio: 0 } });
  try {
    const wrong: { id?: unknown; omit?: boolean }[] = [
      { id: 999_999 },
      { omit: true },
      { id: null },
      { id: 'x' },
      { id: { n: 1 } },
    ];
    for (const w of wrong) {
      h.bad.methodFaults.set('getVersion', { kind: 'wrong_id', ...w });
      const r = await h.t.pool.call('getVersion');
      assert.equal(r.endpoint, 'good', JSON.stringify(w));
      assert.deepEqual(r.result, { 'solana-core': '1.18.0-fixture', 'feature-set': 1 });
    }
    assert.equal(h.t.pool.getStats().endpoints[0]!.failuresByClass.bad_response, wrong.length);
    // Still served once it answers properly; an error reply with id null (JSON-RPC allows it when
    // the id could not be read) stays the caller's error.
    h.bad.results.set('getVersion', () => 'echoed');
    h.bad.methodFaults.delete('getVersion');
    const r = await h.t.pool.call('getVersion');
    assert.equal(r.endpoint, 'bad');
    h.bad.methodFaults.set('getBalance', {
      kind: 'raw',
      body: '{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Invalid param: WrongSize"}}',
    });
    const callerErr = await h.t.pool.call('getBalance', ['x']).catch((e: unknown) => e);
    assert.equal((callerErr as { code?: string }).code, 'RPC_CALL_ERROR');
  } finally {
    await h.done();
  }
});

test('response bodies: non-JSON, wrong shapes, odd encodings are bad_response; the call fails over, nothing crashes', async () => {
  const h = await hostileThenHealthy({ breaker: { failureThreshold: 100, cooldownMs: 1000, jitterRatio: 0 } });
  try {
    const bodies: (string | Buffer)[] = [
      '',
      'null',
      '[]',
      '"ok"',
      '42',
      '{"jsonrpc":"2.0"}',
      '\uFEFF{"jsonrpc":"2.0","id":1,"result":1}',
      '['.repeat(200_000),
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00]),
      '{"jsonrpc":"2.0","id":1,"error":{"code":"-32602","message":"x"}}',
      '<html><body>502</body></html>',
    ];
    for (const body of bodies) {
      h.bad.methodFaults.set('getVersion', { kind: 'raw', body });
      const r = await h.t.pool.call('getVersion');
      assert.equal(r.endpoint, 'good', `body ${JSON.stringify(String(body).slice(0, 40))}`);
    }
    assert.equal(h.t.pool.getStats().endpoints[0]!.failuresByClass.bad_response, bodies.length);
  } finally {
    await h.done();
  }
});

test('request size: a provider refusing the request as too large (HTTP 413) is a caller error; no breaker counts it', async () => {
  const h = await hostileThenHealthy();
  try {
    for (const s of [h.bad, h.good])
      s.methodFaults.set('getMultipleAccounts', { kind: 'http', status: 413, body: 'Payload Too Large' });
    const huge = ['x'.repeat(200_000)];
    // Five oversized requests in a row must not open the breakers (threshold 2) of healthy endpoints.
    for (let i = 0; i < 5; i++) {
      const err = await h.t.pool.call('getMultipleAccounts', [huge]).catch((e: unknown) => e);
      assert.ok(err instanceof RpcCallError, String(err));
      assert.equal(err.isCallerError, true);
      assert.match(err.message, /413|too large/i);
    }
    for (const e of h.t.pool.getStats().endpoints) {
      assert.equal(e.state, 'CLOSED', e.name);
      assert.equal(e.failures, 0, e.name);
    }
    assert.equal((await h.t.pool.call('getVersion')).ok, true);
  } finally {
    await h.done();
  }
});

test('provider text: a megabyte-long error message is cut to a bounded length in errors and attempts', async () => {
  const h = await hostileThenHealthy();
  try {
    h.bad.methodFaults.set('getBalance', { kind: 'rpc_error', code: -32602, message: 'y'.repeat(1024 * 1024) });
    const callerErr = await h.t.pool.call('getBalance', ['x']).catch((e: unknown) => e);
    assert.ok(callerErr instanceof RpcCallError);
    assert.ok(callerErr.message.length <= 2048, `message of ${callerErr.message.length} chars`);
    h.bad.methodFaults.set('getVersion', { kind: 'rpc_error', code: -32005, message: 'z'.repeat(1024 * 1024) });
    h.good.methodFaults.set('getVersion', { kind: 'http', status: 503, body: 'w'.repeat(1024 * 1024) });
    const poolErr = await h.t.pool.call('getVersion').catch((e: unknown) => e);
    assert.ok(poolErr instanceof RpcPoolError, String(poolErr));
    assert.ok(
      JSON.stringify(poolErr.attempts).length <= 8192,
      `attempts of ${JSON.stringify(poolErr.attempts).length} chars`,
    );
  } finally {
    await h.done();
  }
});

test('actor mode: the response cap and reply-id check apply inside the endpoint workers too', async () => {
  const [bad, good] = await Promise.all([startFixtureServer(), startFixtureServer()]);
  const sup = new Supervisor({});
  const pool = new RpcConnectionPool(
    {
      endpoints: [
        { name: 'bad', url: bad.url },
        { name: 'good', url: good.url },
      ],
      maxResponseBytes: 4096,
      breaker: { failureThreshold: 100 },
    },
    { supervisor: sup },
  );
  try {
    await pool.ready();
    bad.methodFaults.set('getVersion', { kind: 'stream', bytes: 1024 * 1024 });
    assert.equal((await pool.call('getVersion')).endpoint, 'good');
    bad.methodFaults.set('getVersion', { kind: 'wrong_id', id: 424242 });
    assert.equal((await pool.call('getVersion')).endpoint, 'good');
    assert.equal(pool.getStats().endpoints[0]!.failuresByClass.bad_response, 2);
  } finally {
    await pool.close();
    await sup.shutdown({ drainMs: 100 });
    await bad.close();
    await good.close();
  }
});
