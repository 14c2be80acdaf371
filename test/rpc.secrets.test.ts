import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { createLogger, redactText, registerSecretUrl } from '../src/log/index.ts';
import { EndpointCircuitManager } from '../src/breaker/index.ts';
import { RpcCallError, RpcPoolError } from '../src/rpc/errors.ts';
import { refusedPort, startFixtureServer } from './fixtures/rpc/server.ts';
import { count, testPool, until } from './fixtures/rpc/helpers.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';

const QUERY_SECRET = 'QuerySecret0123456789abcdef';
const PATH_SECRET = 'PathSecret9876543210fedcba';

function capture(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function assertClean(what: string, text: string): void {
  assert.ok(!text.includes(QUERY_SECRET), `${what} leaks the query key: ${text.slice(0, 400)}`);
  assert.ok(!text.includes(PATH_SECRET), `${what} leaks the path key: ${text.slice(0, 400)}`);
}

test('API keys in endpoint URLs never reach logs, stats or errors', async () => {
  const a = await startFixtureServer({ path: `/?api-key=${QUERY_SECRET}` });
  const b = await startFixtureServer({ path: `/v2/${PATH_SECRET}/` });
  const dead = await refusedPort();
  const log = capture();
  const logger = createLogger({ level: 'trace', destination: log.stream });
  const endpointCircuits = new EndpointCircuitManager({
    defaults: { failureThreshold: 2, cooldownMs: 1000, jitterRatio: 0 },
    logger,
  });
  const t = await testPool(
    [
      { url: a.url },
      { url: b.url },
      { name: 'dead', url: `http://127.0.0.1:${dead}/${PATH_SECRET}?token=${QUERY_SECRET}` },
    ],
    {},
    { logger, endpointCircuits },
  );
  try {
    assert.ok(a.url.includes(QUERY_SECRET) && b.url.includes(PATH_SECRET), 'the fixture really uses keyed URLs');
    a.fault = { kind: 'http', status: 500, body: `upstream says: bad key for ${a.url}` };
    b.methodFaults.set('getBalance', { kind: 'rpc_error', code: -32602, message: `Invalid params for ${b.url}` });
    await t.pool.call('getVersion');
    const callerErr = await t.pool.call('getBalance', ['x']).catch((e: unknown) => e);
    b.fault = { kind: 'hang' };
    const p = t.pool.call('getVersion');
    await until(() => count(b, 'getVersion') >= 2, 'hung attempt');
    t.clock.advance(800);
    const poolErr = await p.catch((e: unknown) => e);
    assert.ok(poolErr instanceof RpcPoolError, String(poolErr));
    const errors = [callerErr, poolErr] as Error[];
    for (const e of errors) {
      assertClean('error message', e.message);
      assertClean('error stack', String(e.stack));
      assertClean('error JSON', JSON.stringify(e));
    }
    assert.equal(poolErr.attempts.length, 3);
    for (const at of poolErr.attempts) assertClean('attempt', JSON.stringify(at));
    assert.match(poolErr.attempts.map((x) => x.url).join(' '), /api-key=\*\*\*/);
    const stats = t.pool.getStats();
    assertClean('stats', JSON.stringify(stats));
    assert.match(stats.endpoints[0]!.url, /api-key=\*\*\*/);
    assert.match(stats.endpoints[1]!.url, /\/v2\/\*\*\*\//);
    assertClean('breaker states', JSON.stringify(endpointCircuits.states()));
    assertClean('breaker stats', JSON.stringify(endpointCircuits.getStats()));
    await t.close();
    const lines = log.text();
    assert.ok(lines.length > 0, 'something was logged');
    assert.match(lines, /rpc endpoint breaker changed state|circuit opened/);
    assertClean('logs', lines);
  } finally {
    await t.close();
    await a.close();
    await b.close();
  }
});

/** Secrets in every place a provider URL carries them, each echoed back every way providers do. */
const SECRETS = {
  apiToken: 'TokSecret4f3a2b1c0d9e8f7a',
  accessKey: 'AccSecret0a9b8c7d6e5f4a3b',
  clientSecret: 'CliSecret1b2c3d4e5f6a7b8c',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwYWxpc2FkZSJ9.SigSecret5d6e7f8a9b0c',
  pathKey: '3f9a8b7c-6d5e-4f3a-2b1c-0d9e8f7a6b5c',
  bareValue: 'BareSecret9c8b7a6f5e4d3c2b',
};
const ALL_SECRETS = Object.values(SECRETS);
/** Pieces that must not survive either (a JWT's signature alone is a credential's tail). */
const FRAGMENTS = [...ALL_SECRETS, 'SigSecret5d6e7f8a9b0c', 'eyJzdWIiOiJwYWxpc2FkZSJ9'];

function assertNoSecret(what: string, text: string): void {
  for (const s of FRAGMENTS) {
    assert.ok(
      !text.includes(s),
      `${what} leaks ${s}: ${text.slice(Math.max(0, text.indexOf(s) - 200), text.indexOf(s) + 80)}`,
    );
    assert.ok(!text.includes(encodeURIComponent(s)), `${what} leaks ${s} percent-encoded`);
  }
}

test('provider keys never leak: echoed paths, error.data, JSON-escaped URLs, api_token/access_key/client_secret/jwt', async () => {
  const echo = await startFixtureServer({ path: `/v1/${SECRETS.pathKey}/?api_token=${SECRETS.apiToken}` });
  const creds = await startFixtureServer({
    path: `/rpc?access_key=${SECRETS.accessKey}&client_secret=${SECRETS.clientSecret}&jwt=${SECRETS.jwt}&x=${SECRETS.bareValue}`,
  });
  const log = capture();
  const logger = createLogger({ level: 'trace', destination: log.stream });
  const endpointCircuits = new EndpointCircuitManager({
    defaults: { failureThreshold: 100, cooldownMs: 1000, jitterRatio: 0 },
    logger,
  });
  const t = await testPool(
    [
      { name: 'echo', url: echo.url },
      { name: 'creds', url: creds.url },
    ],
    {},
    { logger, endpointCircuits },
  );
  const outputs: [string, unknown][] = [];
  try {
    const escaped = JSON.stringify(creds.url).slice(1, -1).replaceAll('/', '\\/');
    assert.ok(escaped.includes('\\/'), 'the escaped form really differs');
    // 1. a framework's 404 echoing the request path, key and query included
    echo.methodFaults.set('getVersion', { kind: 'echo_path_404' });
    // 2. a JSON-RPC caller error whose message carries a JSON-escaped URL and whose data holds URLs
    creds.methodFaults.set('getVersion', {
      kind: 'rpc_error',
      code: -32602,
      message: `invalid params for ${escaped}`,
      data: {
        url: creds.url,
        escaped,
        nested: [{ deeper: { deepest: [[[[[[[[[[echo.url]]]]]]]]]] } }],
        token: SECRETS.jwt,
        path: `/v1/${SECRETS.pathKey}/`,
      },
    });
    const callerErr = await t.pool.call('getVersion').catch((e: unknown) => e);
    assert.ok(callerErr instanceof RpcCallError, String(callerErr));
    outputs.push(['caller error', callerErr]);
    // 3. endpoint failures whose bodies echo everything: the pool error lists every attempt
    echo.methodFaults.set('getSlot', {
      kind: 'http',
      status: 500,
      body: `upstream ${echo.url} said no; see ${escaped}`,
    });
    creds.methodFaults.set('getSlot', {
      kind: 'rpc_error',
      code: -32005,
      message: `behind: ${creds.url} / ${escaped} / Cannot POST /v1/${SECRETS.pathKey}/`,
    });
    const poolErr = await t.pool.call('getSlot').catch((e: unknown) => e);
    assert.ok(poolErr instanceof RpcPoolError, String(poolErr));
    outputs.push(['pool error', poolErr]);
    // 4. garbled bodies quoting the secrets are cut into error messages
    echo.methodFaults.set('getHealth', {
      kind: 'raw',
      body: `<html>${'x'.repeat(60)}${SECRETS.apiToken} ${escaped}</html>`,
    });
    creds.methodFaults.set('getHealth', { kind: 'raw', body: `oops ${SECRETS.bareValue}`, status: 403 });
    outputs.push(['garbled error', await t.pool.call('getHealth').catch((e: unknown) => e)]);

    for (const [what, e] of outputs) {
      const err = e as Error & { attempts?: unknown; data?: unknown };
      assertNoSecret(`${what} message`, err.message);
      assertNoSecret(`${what} stack`, String(err.stack));
      assertNoSecret(`${what} JSON`, JSON.stringify(err));
      assertNoSecret(`${what} attempts`, JSON.stringify(err.attempts) ?? '');
      assertNoSecret(`${what} data`, JSON.stringify(err.data) ?? '');
      assertNoSecret(`${what} inspect`, inspect(err, { depth: Infinity }));
    }
    assert.match(JSON.stringify((callerErr as RpcCallError).data), /\*\*\*/, 'data is redacted, not dropped');
    assertNoSecret('stats', JSON.stringify(t.pool.getStats()));
    assertNoSecret('endpoints', JSON.stringify(t.pool.getEndpoints()));
    assertNoSecret('breaker states', JSON.stringify(endpointCircuits.states()));
    assertNoSecret('breaker stats', JSON.stringify(endpointCircuits.getStats()));
    await t.close();
    const lines = log.text();
    assert.ok(lines.includes('rpc call failed on every endpoint'), 'the failures were logged');
    assertNoSecret('logs', lines);
  } finally {
    await t.close();
    await echo.close();
    await creds.close();
  }
});

test('redactText: secrets of configured URLs are masked in any text, in every encoding', () => {
  const url = `https://rpc.example.com/v1/${SECRETS.pathKey}?api_token=${SECRETS.apiToken}&jwt=${SECRETS.jwt}`;
  const release = registerSecretUrl(url);
  try {
    const texts = [
      url,
      JSON.stringify({ url }),
      JSON.stringify(url).replaceAll('/', '\\/'),
      `Cannot POST /v1/${SECRETS.pathKey}/`,
      `key=${encodeURIComponent(SECRETS.jwt)}`,
      `the token ${SECRETS.apiToken} is invalid`,
      `a url without scheme rpc.example.com/?access_key=${SECRETS.accessKey}`,
      `client_secret=${SECRETS.clientSecret}&x=1`,
    ];
    for (const text of texts) assertNoSecret(JSON.stringify(text), redactText(text));
    assert.equal(
      redactText('nothing secret here: getSlot at https://api.mainnet-beta.solana.com/'),
      'nothing secret here: getSlot at https://api.mainnet-beta.solana.com/',
    );
  } finally {
    release();
  }
  // Released: a text that merely contains the path key (no URL around it) is left as it is.
  assert.equal(redactText(`id ${SECRETS.pathKey}`), `id ${SECRETS.pathKey}`);
});

test('redactText: a registered key never survives, whatever text surrounds it and however it is encoded (property)', async () => {
  const keyChars = fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789-_'.split(''));
  const key = fc
    .tuple(
      fc.array(keyChars, { minLength: 14, maxLength: 48 }),
      fc.integer({ min: 0, max: 9 }),
      fc.constantFrom('a', 'Z', 'q'),
    )
    .map(([cs, d, l]) => `${l}${cs.join('')}${d}`);
  const place = fc.constantFrom('path', 'api-key', 'api_token', 'access_key', 'client_secret', 'jwt', 'x');
  const encode = fc.constantFrom<(s: string) => string>(
    (s) => s,
    (s) => encodeURIComponent(s),
    (s) => JSON.stringify(s).slice(1, -1),
    (s) => JSON.stringify({ url: `https://rpc.example.com/${s}/` }).replaceAll('/', '\\/'),
    (s) => `Cannot POST /${s}/`,
  );
  await assertProperty(
    'test/rpc.secrets.test.ts',
    fc.property(
      key,
      place,
      encode,
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      (k, where, enc, before, after) => {
        const url = where === 'path' ? `https://rpc.example.com/v1/${k}/` : `https://rpc.example.com/?${where}=${k}`;
        const release = registerSecretUrl(url);
        try {
          const out = redactText(`${before}${enc(k)}${after}`);
          return !out.includes(k) && !out.includes(encodeURIComponent(k));
        } finally {
          release();
        }
      },
    ),
    fuzzParams(300),
  );
});
