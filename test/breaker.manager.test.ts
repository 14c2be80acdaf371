// CircuitBreakerManager (keyed registry, protect) and EndpointCircuitManager (per-endpoint isolation, redaction).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ManualClock } from '../src/clock.ts';
import { createLogger } from '../src/log/index.ts';
import { loadConfig } from '../src/config/index.ts';
import {
  BreakerOptionError,
  CircuitBreakerManager,
  CircuitOpenError,
  EndpointCircuitManager,
  type StateChange,
} from '../src/breaker/index.ts';

const KEY = 'e3b0c44298fc1c149afbf4c8996fb924';
const HELIUS = `https://mainnet.helius-rpc.com/?api-key=${KEY}`;
const CHAINSTACK = `https://solana-mainnet.core.chainstack.com/${KEY}`;
const PUBLIC = 'https://api.mainnet-beta.solana.com';
const down = (): Promise<never> => Promise.reject(new Error(`connect ECONNREFUSED ${HELIUS}`));

test('get(key) shares defaults, applies per-key overrides, and returns one breaker per key', async () => {
  const clock = new ManualClock();
  const m = new CircuitBreakerManager({
    defaults: { failureThreshold: 3, cooldownMs: 500 },
    overrides: { fragile: { failureThreshold: 1 } },
    clock,
  });
  assert.equal(m.get('a'), m.get('a'));
  assert.notEqual(m.get('a'), m.get('b'));
  assert.equal(m.get('a').name, 'a');
  await assert.rejects(m.execute('fragile', down));
  assert.equal(m.get('fragile').getState(), 'OPEN');
  for (let i = 0; i < 2; i++) await assert.rejects(m.execute('a', down));
  assert.equal(m.get('a').getState(), 'CLOSED');
  await assert.rejects(m.execute('a', down));
  assert.equal(m.get('a').getState(), 'OPEN');
  assert.deepEqual(m.states(), { a: 'OPEN', b: 'CLOSED', fragile: 'OPEN' });
  const stats = m.getStats();
  assert.equal(stats.count, 3);
  assert.equal(stats.open, 2);
  assert.equal(stats.breakers['a']?.failures, 3);
  assert.equal(m.has('zzz'), false);
});

test('a whole loadConfig() result can configure the manager (its breaker section are the defaults)', async () => {
  const config = loadConfig({ env: { PALISADE_BREAKER_FAILURE_THRESHOLD: '2' } });
  const m = new CircuitBreakerManager(config);
  for (let i = 0; i < 2; i++) await assert.rejects(m.execute('k', down));
  assert.equal(m.get('k').getState(), 'OPEN');
});

test('bad manager options are refused up front, naming the option', () => {
  assert.throws(
    () => new CircuitBreakerManager({ defaults: { failureThreshold: 0 } }),
    (e: unknown) => e instanceof BreakerOptionError && e.option === 'failureThreshold',
  );
  assert.throws(() => new CircuitBreakerManager({ overrides: { x: { cooldownMs: -1 } } }), /cooldownMs/);
  assert.throws(() => new CircuitBreakerManager({ defaults: { bogus: 1 } as never }), /defaults\.bogus/);
  assert.throws(() => new CircuitBreakerManager({ defaults: { name: 'x' } as never }), /defaults\.name/);
  assert.throws(() => new CircuitBreakerManager({ nonsense: true } as never), /nonsense=true: expected a known option/);
  assert.throws(() => new CircuitBreakerManager().get(''), TypeError);
});

test('protect(rpcPool) keeps call(method, params, options) and uses the breaker rpc_<method>', async () => {
  const calls: unknown[][] = [];
  let failing = true;
  const pool = {
    async call(method: string, params?: unknown, options?: unknown) {
      calls.push([method, params, options]);
      if (failing && method === 'getSlot') throw new Error('endpoint down');
      return { ok: true, method };
    },
  };
  const m = new CircuitBreakerManager({
    defaults: { failureThreshold: 2, cooldownMs: 60_000 },
    clock: new ManualClock(),
  });
  const protectedPool = m.protect(pool);
  assert.equal(protectedPool.pool, pool);
  assert.deepEqual(await protectedPool.call('getVersion', [], { commitment: 'confirmed' }), {
    ok: true,
    method: 'getVersion',
  });
  assert.deepEqual(calls[0], ['getVersion', [], { commitment: 'confirmed' }], 'arguments pass through untouched');
  for (let i = 0; i < 2; i++) await assert.rejects(protectedPool.call('getSlot', []), /endpoint down/);
  assert.deepEqual(m.states(), { rpc_getVersion: 'CLOSED', rpc_getSlot: 'OPEN' });
  failing = false;
  const before = calls.length;
  await assert.rejects(protectedPool.call('getSlot', []), CircuitOpenError);
  assert.equal(calls.length, before, 'an OPEN breaker does not reach the pool');
  assert.deepEqual(
    await protectedPool.call('getVersion', []),
    { ok: true, method: 'getVersion' },
    'other methods are isolated',
  );
});

test('protect(): with a timeout configured, the breaker signal reaches the pool as options.signal', async () => {
  const clock = new ManualClock();
  const seen: AbortSignal[] = [];
  const pool = {
    call(_method: string, _params?: unknown, options?: { signal?: AbortSignal; extra?: number }) {
      seen.push(options!.signal!);
      assert.equal(options?.extra, 1);
      return new Promise((_, reject) =>
        options!.signal!.addEventListener('abort', () => reject(options!.signal!.reason)),
      );
    },
  };
  const m = new CircuitBreakerManager({ overrides: { rpc_getSlot: { timeoutMs: 50 } }, clock });
  const pending = m.protect(pool).call('getSlot', [], { extra: 1 });
  clock.advance(50);
  await assert.rejects(pending, (e: unknown) => (e as { code?: string }).code === 'TIMEOUT');
  assert.equal(seen[0]?.aborted, true);
});

test('protect() refuses something without call()', () => {
  assert.throws(() => new CircuitBreakerManager().protect({} as never), TypeError);
});

test('the manager hears every transition of every breaker, present and future', async () => {
  const m = new CircuitBreakerManager({ defaults: { failureThreshold: 1 }, clock: new ManualClock() });
  const heard: StateChange[] = [];
  m.get('early');
  m.onStateChange((c) => heard.push(c));
  await assert.rejects(m.execute('early', down));
  await assert.rejects(m.execute('late', down));
  assert.deepEqual(
    heard.map((c) => [c.breaker, c.to]),
    [
      ['early', 'OPEN'],
      ['late', 'OPEN'],
    ],
  );
});

test('endpoints are isolated: one endpoint failing never changes another', async () => {
  const em = new EndpointCircuitManager({
    defaults: { failureThreshold: 5, cooldownMs: 60_000 },
    clock: new ManualClock(),
  });
  await em.executeOnEndpoint({ url: CHAINSTACK }, async () => 'ok');
  for (let i = 0; i < 5; i++) await assert.rejects(em.executeOnEndpoint({ url: HELIUS }, down));
  assert.equal(em.getBreaker(HELIUS).getState(), 'OPEN');
  assert.equal(em.getBreaker(CHAINSTACK).getState(), 'CLOSED');
  assert.equal(em.getBreaker(PUBLIC).getState(), 'CLOSED');
  assert.equal(await em.executeOnEndpoint(PUBLIC, async () => 'public ok'), 'public ok');
  await assert.rejects(
    em.executeOnEndpoint({ url: HELIUS }, async () => 'x'),
    CircuitOpenError,
  );
  assert.equal(em.getBreaker(CHAINSTACK).getStats().failures, 0);
  assert.equal(em.getBreaker(CHAINSTACK).getStats().calls, 1);
});

test('endpoint keys never leak: names, states, stats, errors and log lines carry the redacted URL', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const em = new EndpointCircuitManager({ defaults: { failureThreshold: 1 }, clock: new ManualClock(), logger });
  await assert.rejects(em.executeOnEndpoint({ url: HELIUS }, down));
  await assert.rejects(em.executeOnEndpoint({ url: CHAINSTACK }, down));
  const err = await em.executeOnEndpoint({ url: HELIUS }, async () => 1).catch((e: unknown) => e);
  assert.ok(err instanceof CircuitOpenError);

  const surfaces = [
    JSON.stringify(em.states()),
    JSON.stringify(em.getStats()),
    em.getBreaker(HELIUS).name,
    err.message,
    err.breaker,
    String(err.stack),
    lines.join(''),
  ];
  for (const text of surfaces) assert.ok(!text.includes(KEY), `API key leaked in: ${text.slice(0, 200)}`);
  assert.equal(em.getBreaker(HELIUS).name, 'endpoint_https://mainnet.helius-rpc.com/?api-key=***');
  assert.equal(em.getBreaker(CHAINSTACK).name, 'endpoint_https://solana-mainnet.core.chainstack.com/***');
  assert.ok(
    lines.some((l) => l.includes('circuit opened')),
    'transitions were logged',
  );
  assert.match(JSON.stringify(em.getStats()), /ECONNREFUSED https:\/\/mainnet\.helius-rpc\.com\/\?api-key=\*\*\*/);
});

test('two URLs that redact to the same text still get distinct names', () => {
  const em = new EndpointCircuitManager();
  const a = em.getBreaker('https://rpc.example/?api-key=first');
  const b = em.getBreaker('https://rpc.example/?api-key=second');
  assert.notEqual(a, b);
  assert.equal(a.name, 'endpoint_https://rpc.example/?api-key=***');
  assert.equal(b.name, 'endpoint_https://rpc.example/?api-key=***#2');
  assert.deepEqual(Object.keys(em.states()).length, 2);
});

test('a bad endpoint is a TypeError that does not echo a key', async () => {
  const em = new EndpointCircuitManager();
  await assert.rejects(
    em.executeOnEndpoint({} as never, async () => 1),
    TypeError,
  );
  await assert.rejects(
    em.executeOnEndpoint(null as never, async () => 1),
    TypeError,
  );
  assert.throws(() => em.getBreaker(''), TypeError);
});

test('a throwing manager listener does not silence the others and is counted by the breaker', async () => {
  const m = new CircuitBreakerManager({ defaults: { failureThreshold: 1 }, clock: new ManualClock() });
  const heard: string[] = [];
  m.onStateChange(() => {
    throw new Error('listener bug');
  });
  m.onStateChange((c) => heard.push(c.to));
  await assert.rejects(m.execute('k', down));
  assert.deepEqual(heard, ['OPEN']);
  assert.equal(m.get('k').getStats().listenerErrors, 1);
});
