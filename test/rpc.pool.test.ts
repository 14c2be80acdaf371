import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../src/breaker/index.ts';
import { RpcCallError, RpcPoolError } from '../src/rpc/errors.ts';
import type { FailureClass } from '../src/rpc/classify.ts';
import { refusedPort, startFixtureServer, type Fault, type FixtureServer } from './fixtures/rpc/server.ts';
import { count, testPool, tick, until } from './fixtures/rpc/helpers.ts';

async function servers(n: number): Promise<FixtureServer[]> {
  return Promise.all(Array.from({ length: n }, () => startFixtureServer()));
}

const FAILOVER_CASES: { name: string; fault: Fault | 'refused'; cls: FailureClass }[] = [
  { name: 'connection refused', fault: 'refused', cls: 'refused' },
  { name: 'connection reset', fault: { kind: 'reset' }, cls: 'reset' },
  { name: 'hung upstream (timeout)', fault: { kind: 'hang' }, cls: 'timeout' },
  { name: 'HTTP 500', fault: { kind: 'http', status: 500 }, cls: 'http_5xx' },
  { name: 'HTTP 503', fault: { kind: 'http', status: 503 }, cls: 'http_5xx' },
  { name: 'HTTP 429', fault: { kind: 'http', status: 429, retryAfter: '1' }, cls: 'http_429' },
  {
    name: 'JSON-RPC -32005 node behind',
    fault: { kind: 'rpc_error', code: -32005, message: 'Node is behind by 42 slots' },
    cls: 'node_behind',
  },
  {
    name: 'JSON-RPC -32016 min context slot',
    fault: { kind: 'rpc_error', code: -32016, message: 'Minimum context slot has not been reached' },
    cls: 'node_behind',
  },
  {
    name: 'JSON-RPC -32019',
    fault: { kind: 'rpc_error', code: -32019, message: 'long-term storage unreachable' },
    cls: 'node_behind',
  },
  { name: 'garbled body', fault: { kind: 'garbled' }, cls: 'bad_response' },
];

for (const c of FAILOVER_CASES) {
  test(`failover: ${c.name} moves the call to the next endpoint and counts against the failing one`, async () => {
    const [bad, good] = await servers(2);
    const badUrl = c.fault === 'refused' ? `http://127.0.0.1:${await refusedPort()}/` : bad!.url;
    if (c.fault !== 'refused') bad!.methodFaults.set('getVersion', c.fault);
    // Stall detection off: here a hung endpoint must keep being tried until its breaker opens.
    const t = await testPool(
      [
        { name: 'a', url: badUrl },
        { name: 'b', url: good!.url },
      ],
      { stallAfterMs: 0 },
    );
    try {
      const p = t.pool.call('getVersion', []);
      if (c.cls === 'timeout') {
        await until(() => count(bad!, 'getVersion') === 1, 'the hung request');
        t.clock.advance(800);
      }
      const r = await p;
      assert.equal(r.ok, true);
      assert.equal(r.endpoint, 'b');
      assert.equal(r.attempts, 2);
      assert.deepEqual(r.result, { 'solana-core': '1.18.0-fixture', 'feature-set': 1 });
      const a = t.pool.getStats().endpoints[0]!;
      assert.equal(a.failuresByClass[c.cls], 1, JSON.stringify(a.failuresByClass));
      assert.equal(t.pool.getStats().failovers, 1);
      if (c.cls === 'http_429') {
        // The 429 rests the endpoint: the next call does not even try it.
        assert.ok(a.rateLimitedUntil > t.clock.now());
        const r2 = await t.pool.call('getVersion', []);
        assert.equal(r2.attempts, 1);
        assert.equal(count(bad!, 'getVersion'), 1);
      } else {
        // A second failure reaches failureThreshold (2): the endpoint's breaker opens.
        const p2 = t.pool.call('getVersion', []);
        if (c.cls === 'timeout') {
          await until(() => count(bad!, 'getVersion') === 2, 'the second hung request');
          t.clock.advance(800);
        }
        await p2;
        assert.equal(t.pool.getStats().endpoints[0]!.state, 'OPEN');
        const before = c.fault === 'refused' ? 0 : count(bad!, 'getVersion');
        const r3 = await t.pool.call('getVersion', []);
        assert.equal(r3.attempts, 1, 'an OPEN endpoint is skipped without a request');
        if (c.fault !== 'refused') assert.equal(count(bad!, 'getVersion'), before);
      }
      assert.equal(t.pool.getStats().endpoints[1]!.failures, 0);
    } finally {
      await t.close();
      await bad!.close();
      await good!.close();
    }
  });
}

test('caller errors go back as they are: no retry elsewhere, no breaker touched', async () => {
  const [a, b] = await servers(2);
  const injected = new CircuitBreaker({ failureThreshold: 1 });
  const t = await testPool(
    [
      { name: 'a', url: a!.url },
      { name: 'b', url: b!.url },
    ],
    {},
    { circuitBreaker: injected },
  );
  try {
    for (const [code, message, data] of [
      [-32602, 'Invalid params: wrong size', undefined],
      [-32601, 'Method not found', undefined],
      [
        -32002,
        'Transaction simulation failed: Blockhash not found',
        { logs: ['Program log: x'], err: 'BlockhashNotFound' },
      ],
      [-32003, 'Transaction signature verification failure', undefined],
    ] as const) {
      a!.methodFaults.set('getBalance', { kind: 'rpc_error', code, message, data });
      for (let i = 0; i < 3; i++) {
        const e = await t.pool.call('getBalance', ['x']).catch((x: unknown) => x);
        assert.ok(e instanceof RpcCallError, String(e));
        assert.equal(e.rpcCode, code);
        assert.equal(e.isCallerError, true);
        assert.equal(e.message, message);
        assert.deepEqual(e.data, data);
        assert.equal(e.endpoint, 'a');
        assert.equal(e.attempts.length, 1);
      }
    }
    assert.equal(count(b!, 'getBalance'), 0, 'never retried on another endpoint');
    const st = t.pool.getStats();
    assert.equal(st.endpoints[0]!.state, 'CLOSED');
    assert.equal(st.endpoints[0]!.failures, 0);
    assert.equal(st.endpoints[0]!.callerErrors, 12);
    assert.equal(st.callerErrors, 12);
    assert.equal(st.failovers, 0);
    assert.equal(injected.getState(), 'CLOSED', 'the injected breaker does not count caller errors');
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('params that cannot be sent as JSON are a caller error; nothing is sent or counted', async () => {
  const [a] = await servers(1);
  const t = await testPool([{ name: 'a', url: a!.url }]);
  try {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const bad of [[10n], [cyclic]]) {
      const e = await t.pool.call('getBalance', bad).catch((x: unknown) => x);
      assert.ok(e instanceof RpcCallError, String(e));
      assert.equal(e.rpcCode, -32602);
      assert.equal(e.isCallerError, true);
    }
    assert.equal(count(a!, 'getBalance'), 0);
    const st = t.pool.getStats().endpoints[0]!;
    assert.equal(st.failures, 0);
    assert.equal(st.state, 'CLOSED');
    assert.equal((await t.pool.call('getVersion')).ok, true);
  } finally {
    await t.close();
    await a!.close();
  }
});

test('429 rests the endpoint for Retry-After, then it is used again', async () => {
  const [a, b] = await servers(2);
  a!.methodFaults.set('getVersion', { kind: 'http', status: 429, retryAfter: '2' });
  const t = await testPool([
    { name: 'a', url: a!.url },
    { name: 'b', url: b!.url },
  ]);
  try {
    const start = t.clock.now();
    assert.equal((await t.pool.call('getVersion')).endpoint, 'b');
    assert.equal(t.pool.getStats().endpoints[0]!.rateLimitedUntil, start + 2000);
    for (let i = 0; i < 3; i++) assert.equal((await t.pool.call('getVersion')).endpoint, 'b');
    assert.equal(count(a!, 'getVersion'), 1, 'resting: not tried');
    a!.methodFaults.clear();
    t.clock.advance(1999);
    assert.equal((await t.pool.call('getVersion')).endpoint, 'b');
    t.clock.advance(1);
    assert.equal((await t.pool.call('getVersion')).endpoint, 'a');
    assert.equal(t.pool.getStats().endpoints[0]!.rateLimitedUntil, 0);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('429 without Retry-After rests for a jittered backoff that grows', async () => {
  const [a, b] = await servers(2);
  a!.methodFaults.set('getVersion', { kind: 'http', status: 429 });
  // random 0 → the low end of the jitter: 50% of the base (1 s, then 2 s).
  const t = await testPool(
    [
      { name: 'a', url: a!.url },
      { name: 'b', url: b!.url },
    ],
    { breaker: { failureThreshold: 10, cooldownMs: 1000, jitterRatio: 0 } },
    { random: () => 0 },
  );
  try {
    const t0 = t.clock.now();
    await t.pool.call('getVersion');
    assert.equal(t.pool.getStats().endpoints[0]!.rateLimitedUntil, t0 + 500);
    t.clock.advance(500);
    await t.pool.call('getVersion');
    assert.equal(count(a!, 'getVersion'), 2);
    assert.equal(t.pool.getStats().endpoints[0]!.rateLimitedUntil, t0 + 500 + 1000);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('when every endpoint rests, the call waits for the first one inside its deadline', async () => {
  const [a] = await servers(1);
  a!.methodFaults.set('getVersion', { kind: 'http', status: 429, retryAfter: '1' });
  const t = await testPool([{ name: 'a', url: a!.url }], { requestTimeoutMs: 5000 });
  try {
    const e = await t.pool.call('getVersion').catch((x: unknown) => x);
    assert.ok(e instanceof RpcPoolError);
    assert.equal(e.code, 'RPC_POOL_EXHAUSTED');
    a!.methodFaults.clear();
    const p = t.pool.call('getVersion');
    await tick();
    assert.equal(count(a!, 'getVersion'), 1, 'still resting');
    t.clock.advance(1000);
    const r = await p;
    assert.equal(r.endpoint, 'a');
  } finally {
    await t.close();
    await a!.close();
  }
});

test('deadline: a hung upstream never holds the caller past requestTimeoutMs', async () => {
  const [a, b] = await servers(2);
  a!.methodFaults.set('getVersion', { kind: 'hang' });
  b!.methodFaults.set('getVersion', { kind: 'hang' });
  const t = await testPool(
    [
      { name: 'a', url: a!.url },
      { name: 'b', url: b!.url },
    ],
    { requestTimeoutMs: 1000, attemptTimeoutMs: 800 },
  );
  try {
    let settled = false;
    const p = t.pool.call('getVersion').finally(() => (settled = true));
    p.catch(() => undefined);
    await until(() => count(a!, 'getVersion') === 1, 'first attempt');
    t.clock.advance(800);
    await until(() => count(b!, 'getVersion') === 1, 'second attempt');
    t.clock.advance(199);
    await tick();
    assert.equal(settled, false);
    t.clock.advance(1);
    const e = await p.catch((x: unknown) => x);
    assert.ok(e instanceof RpcPoolError);
    assert.equal(e.code, 'RPC_DEADLINE_EXCEEDED');
    assert.deepEqual(
      e.attempts.map((x) => [x.endpoint, x.class]),
      [
        ['a', 'timeout'],
        ['b', 'timeout'],
      ],
    );
    assert.equal(e.isCallerError, false);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('deadline: an attempt leaves room to fail over (requestTimeoutMs below attemptTimeoutMs)', async () => {
  const [a, b] = await servers(2);
  a!.methodFaults.set('getVersion', { kind: 'hang' });
  // attemptTimeoutMs stays at its default (800) while the whole call may take only 200 ms.
  const t = await testPool(
    [
      { name: 'a', url: a!.url },
      { name: 'b', url: b!.url },
    ],
    { requestTimeoutMs: 200, attemptTimeoutMs: undefined, stallAfterMs: 0 },
  );
  try {
    let settled = false;
    const p = t.pool.call('getVersion').finally(() => (settled = true));
    p.catch(() => undefined);
    await until(() => count(a!, 'getVersion') === 1, 'the hung attempt');
    // Half the call's budget: the hung attempt ends while there is time left for b.
    t.clock.advance(100);
    await until(() => settled, 'the call to settle on the healthy endpoint', 3000);
    const r = await p;
    assert.equal(r.endpoint, 'b');
    assert.equal(r.attempts, 2);
    assert.equal(t.pool.getStats().endpoints[0]!.failuresByClass.timeout, 1);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('deadline: the last endpoint left gets the whole remaining budget', async () => {
  const [a] = await servers(1);
  a!.methodFaults.set('getVersion', { kind: 'latency', ms: 150 });
  const t = await testPool([{ name: 'a', url: a!.url }], {
    requestTimeoutMs: 200,
    attemptTimeoutMs: undefined,
    stallAfterMs: 0,
  });
  try {
    let settled = false;
    const p = t.pool.call('getVersion').finally(() => (settled = true));
    p.catch(() => undefined);
    await until(() => count(a!, 'getVersion') === 1, 'the attempt');
    t.clock.advance(150);
    // Nothing left to fail over to: the attempt may use all 200 ms, so 150 ms do not end it.
    await until(() => settled, 'the slow answer', 3000);
    assert.equal((await p).endpoint, 'a');
  } finally {
    await t.close();
    await a!.close();
  }
});

test('deadline: per-call timeoutMs caps the attempt', async () => {
  const [a] = await servers(1);
  a!.methodFaults.set('getVersion', { kind: 'hang' });
  const t = await testPool([{ name: 'a', url: a!.url }]);
  try {
    const p = t.pool.call('getVersion', [], { timeoutMs: 50 });
    await until(() => count(a!, 'getVersion') === 1, 'the attempt');
    t.clock.advance(50);
    const e = await p.catch((x: unknown) => x);
    assert.equal((e as RpcPoolError).code, 'RPC_DEADLINE_EXCEEDED');
  } finally {
    await t.close();
    await a!.close();
  }
});

test("the caller's AbortSignal ends the call at once, uncounted by any breaker", async () => {
  const [a, b] = await servers(2);
  a!.methodFaults.set('getVersion', { kind: 'hang' });
  const injected = new CircuitBreaker({ failureThreshold: 1 });
  const t = await testPool(
    [
      { name: 'a', url: a!.url },
      { name: 'b', url: b!.url },
    ],
    {},
    { circuitBreaker: injected },
  );
  try {
    const ctl = new AbortController();
    const p = t.pool.call('getVersion', [], { signal: ctl.signal });
    await until(() => count(a!, 'getVersion') === 1, 'the attempt');
    ctl.abort();
    const e = await p.catch((x: unknown) => x);
    assert.ok(e instanceof RpcPoolError);
    assert.equal(e.code, 'RPC_ABORTED');
    assert.equal(e.isCallerError, true);
    assert.equal(count(b!, 'getVersion'), 0, 'an abort is not failed over');
    assert.equal(injected.getState(), 'CLOSED');
    const st = t.pool.getStats().endpoints[0]!;
    assert.equal(st.failures, 0);
    assert.equal(st.aborted, 1);
    // Already aborted: no request at all.
    const e2 = await t.pool.call('getVersion', [], { signal: AbortSignal.abort() }).catch((x: unknown) => x);
    assert.equal((e2 as RpcPoolError).code, 'RPC_ABORTED');
    assert.equal(count(a!, 'getVersion') + count(b!, 'getVersion'), 1);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('every endpoint OPEN: the call fails fast, listing why each was passed over', async () => {
  const [a, b] = await servers(2);
  a!.fault = { kind: 'http', status: 503 };
  b!.fault = { kind: 'http', status: 503 };
  // failureThreshold 1: the first failed freshness probe opens each endpoint, before any user call.
  const t = await testPool(
    [
      { name: 'a', url: a!.url },
      { name: 'b', url: b!.url },
    ],
    { breaker: { failureThreshold: 1, cooldownMs: 60_000, jitterRatio: 0 } },
  );
  try {
    assert.deepEqual(
      t.pool.getStats().endpoints.map((e) => [e.state, e.probeFailures]),
      [
        ['OPEN', 1],
        ['OPEN', 1],
      ],
    );
    const before = a!.total() + b!.total();
    const e = await t.pool.call('getSlot').catch((x: unknown) => x);
    assert.ok(e instanceof RpcPoolError);
    assert.equal(e.code, 'RPC_POOL_EXHAUSTED');
    assert.deepEqual(
      e.attempts.map((x) => [x.endpoint, x.class, x.sent]),
      [
        ['a', 'circuit_open', false],
        ['b', 'circuit_open', false],
      ],
    );
    assert.match(e.message, /a=circuit_open, b=circuit_open/);
    assert.equal(a!.total() + b!.total(), before, 'no request made');
    assert.equal(t.pool.getStats().failed['RPC_POOL_EXHAUSTED'], 1);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('tier order first (Helius → Chainstack → public), weight among equals', async () => {
  const [h, c1, c2] = await servers(3);
  const seq = [0.1, 0.9, 0.1, 0.9, 0.5];
  let k = 0;
  const t = await testPool(
    [
      { name: 'public', url: h!.url, tier: 2 },
      { name: 'c1', url: c1!.url, tier: 1, weight: 1 },
      { name: 'c2', url: c2!.url, tier: 1, weight: 3 },
    ],
    {},
    { random: () => seq[k++ % seq.length]! },
  );
  try {
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await t.pool.call('getVersion')).endpoint);
    // random × total weight 4: 0.4 → c1 (weight 1), 3.6 → c2, 2.0 → c2
    assert.deepEqual(got, ['c1', 'c2', 'c1', 'c2', 'c2']);
    assert.equal(count(h!, 'getVersion'), 0, 'the public tier is only a fallback');
  } finally {
    await t.close();
    await h!.close();
    await c1!.close();
    await c2!.close();
  }
});

test('stats: per endpoint and pool totals', async () => {
  const [a, b] = await servers(2);
  a!.methodFaults.set('getVersion', { kind: 'http', status: 500 });
  const t = await testPool([
    { name: 'a', url: a!.url },
    { name: 'b', url: b!.url },
  ]);
  try {
    await t.pool.call('getVersion');
    await t.pool.call('getHealth');
    const s = t.pool.getStats();
    assert.equal(s.mode, 'inline');
    assert.equal(s.calls, 2);
    assert.equal(s.successes, 2);
    assert.equal(s.failovers, 1);
    assert.equal(s.latency.count, 2);
    const [ea, eb] = s.endpoints;
    assert.equal(ea!.name, 'a');
    assert.equal(ea!.url, a!.url);
    assert.equal(ea!.state, 'CLOSED');
    assert.equal(ea!.calls, 2);
    assert.equal(ea!.failures, 1);
    assert.equal(ea!.failuresByClass.http_5xx, 1);
    assert.equal(ea!.successes, 1);
    assert.equal(eb!.calls, 1);
    assert.ok(eb!.latency.p50 > 0 && eb!.latency.p99 >= eb!.latency.p50);
    assert.equal(ea!.rateLimitedUntil, 0);
    assert.equal(ea!.alive, true);
    for (const k of ['slot', 'lag', 'demoted', 'probes', 'inFlight', 'latencyEwmaMs'] as const) assert.ok(k in ea!, k);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('bus: rpc_call_completed and endpoint state changes are published at low priority', async () => {
  const [a, b] = await servers(2);
  a!.methodFaults.set('getVersion', { kind: 'http', status: 503 });
  const events: [string, Record<string, unknown>, string | undefined][] = [];
  const bus = {
    publish: (topic: string, e: Record<string, unknown>, p?: 'critical' | 'normal' | 'low') =>
      events.push([topic, e, p]),
  };
  const t = await testPool(
    [
      { name: 'a', url: a!.url },
      { name: 'b', url: b!.url },
    ],
    {},
    { bus },
  );
  try {
    await t.pool.call('getVersion');
    await t.pool.call('getVersion');
    const done = events.filter(([topic]) => topic === 'rpc_call_completed');
    assert.equal(done.length, 2);
    assert.deepEqual(
      { ...done[0]![1], latencyMs: 0 },
      { method: 'getVersion', ok: true, endpoint: 'b', latencyMs: 0, attempts: 2 },
    );
    assert.equal(done[0]![2], 'low');
    const changes = events
      .filter(([topic]) => topic === 'rpc_endpoint_state_changed')
      .map(([, e]) => [e['endpoint'], e['from'], e['to']]);
    assert.deepEqual(changes, [['a', 'CLOSED', 'OPEN']]);
  } finally {
    await t.close();
    await a!.close();
    await b!.close();
  }
});

test('a throwing bus never breaks a call', async () => {
  const [a] = await servers(1);
  const t = await testPool(
    [{ name: 'a', url: a!.url }],
    {},
    {
      bus: {
        publish: () => {
          throw new Error('bus down');
        },
      },
    },
  );
  try {
    assert.equal((await t.pool.call('getVersion')).ok, true);
  } finally {
    await t.close();
    await a!.close();
  }
});

test('close(): later calls reject with RPC_POOL_CLOSED; endpoints are marked down', async () => {
  const [a] = await servers(1);
  const t = await testPool([{ name: 'a', url: a!.url }]);
  await t.pool.call('getVersion');
  await t.close();
  const e = await t.pool.call('getVersion').catch((x: unknown) => x);
  assert.equal((e as RpcPoolError).code, 'RPC_POOL_CLOSED');
  assert.equal(t.pool.getStats().endpoints[0]!.alive, false);
  await a!.close();
});
