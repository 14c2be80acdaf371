import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.ts';
import { normalizePoolConfig } from '../src/rpc/config.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { EndpointCircuitManager } from '../src/breaker/index.ts';

const SECRET = 'SECRETkey1234567890abcdef';

function rejects(input: unknown, key: RegExp): ConfigError {
  let caught: unknown;
  try {
    normalizePoolConfig(input);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'CONFIG_INVALID');
  assert.match(caught.key, key);
  assert.ok(!caught.message.includes(SECRET), `secret leaked: ${caught.message}`);
  return caught;
}

test('rpc config: empty or missing endpoint list is a ConfigError naming endpoints', () => {
  rejects({ endpoints: [] }, /^endpoints$/);
  rejects({}, /^endpoints$/);
  rejects(null, /config/);
});

test('rpc config: malformed URL names its key and never shows the key in it', () => {
  const e = rejects(
    { endpoints: [{ url: 'https://ok.example/' }, { url: `ftp://x.example/?api-key=${SECRET}` }] },
    /^endpoints\[1\]\.url$/,
  );
  assert.match(e.message, /api-key=\*\*\*/);
  rejects({ endpoints: [{ url: `not a url ${SECRET}` }] }, /^endpoints\[0\]\.url$/);
  rejects({ endpoints: [{ url: 42 }] }, /^endpoints\[0\]\.url$/);
  rejects({ endpoints: [{ url: 'http://a.example/', wsUrl: 'http://not-ws.example/' }] }, /^endpoints\[0\]\.wsUrl$/);
});

test('rpc config: bad numbers and unknown keys name the key', () => {
  rejects({ endpoints: [{ url: 'http://a.example/', weight: 0 }] }, /^endpoints\[0\]\.weight$/);
  rejects({ endpoints: [{ url: 'http://a.example/', weight: Number.NaN }] }, /^endpoints\[0\]\.weight$/);
  rejects({ endpoints: [{ url: 'http://a.example/', tier: 1.5 }] }, /^endpoints\[0\]\.tier$/);
  rejects({ endpoints: [{ url: 'http://a.example/', rateLimitRps: -1 }] }, /^endpoints\[0\]\.rateLimitRps$/);
  rejects({ endpoints: [{ url: 'http://a.example/', timeoutMs: '5' }] }, /^endpoints\[0\]\.timeoutMs$/);
  rejects({ endpoints: [{ url: 'http://a.example/', timeoutMS: 5 }] }, /^endpoints\[0\]\.timeoutMS$/);
  rejects({ endpoints: [{ url: 'http://a.example/' }], requestTimeoutMs: 0 }, /^requestTimeoutMs$/);
  rejects({ endpoints: [{ url: 'http://a.example/' }], healthIntervalMs: 1 }, /^healthIntervalMs$/);
  rejects(
    { endpoints: [{ url: 'http://a.example/' }], breaker: { failureThreshold: 0 } },
    /^breaker\.failureThreshold$/,
  );
  rejects({ endpoints: [{ url: 'http://a.example/' }], breaker: { treshold: 3 } }, /^breaker\.treshold$/);
  rejects({ endpoints: [{ url: 'http://a.example/' }], retries: 3 }, /^retries$/);
  rejects(
    {
      endpoints: [
        { url: 'http://a.example/', name: 'x' },
        { url: 'http://b.example/', name: 'x' },
      ],
    },
    /^endpoints\[1\]\.name$/,
  );
});

test('rpc config: defaults fill in (the seed passes only { url, weight })', () => {
  const c = normalizePoolConfig({
    endpoints: [{ url: 'https://invalid-endpoint.com', weight: 1 }, { url: `https://b.example/${SECRET}` }],
  });
  assert.equal(c.endpoints.length, 2);
  assert.equal(c.endpoints[0]!.name, 'invalid-endpoint.com');
  assert.equal(c.endpoints[0]!.tier, 0);
  assert.equal(c.endpoints[1]!.tier, 1);
  assert.equal(c.endpoints[0]!.wsUrl, 'wss://invalid-endpoint.com/');
  assert.equal(c.endpoints[1]!.redactedUrl, 'https://b.example/***');
  assert.equal(c.endpoints[0]!.timeoutMs, c.attemptTimeoutMs);
  assert.equal(c.requestTimeoutMs, 2000);
  assert.equal(c.breaker.failureThreshold, 5);
  assert.equal(c.hedgeAfterMs, undefined);
});

test('rpc pool: bad dependencies are a ConfigError naming them', () => {
  const config = { endpoints: [{ url: 'http://127.0.0.1:1/' }] };
  const key = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.key;
    }
    throw new Error('did not throw');
  };
  assert.equal(
    key(() => new RpcConnectionPool(config, { mode: 'actor' })),
    'supervisor',
  );
  assert.equal(
    key(() => new RpcConnectionPool(config, { mode: 'threads' as never })),
    'mode',
  );
  const fakeSupervisor = {
    spawn: () => {
      throw new Error('not reached');
    },
    stop: async () => undefined,
  };
  assert.equal(
    key(
      () =>
        new RpcConnectionPool(config, {
          supervisor: fakeSupervisor as never,
          endpointCircuits: new EndpointCircuitManager(),
        }),
    ),
    'endpointCircuits',
  );
  assert.equal(
    key(() => new RpcConnectionPool({ endpoints: [] })),
    'endpoints',
  );
});
