import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log/index.ts';
import { EndpointCircuitManager } from '../src/breaker/index.ts';
import { RpcPoolError } from '../src/rpc/errors.ts';
import { refusedPort, startFixtureServer } from './fixtures/rpc/server.ts';
import { count, testPool, until } from './fixtures/rpc/helpers.ts';

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
  const endpointCircuits = new EndpointCircuitManager({ defaults: { failureThreshold: 2, cooldownMs: 1000, jitterRatio: 0 }, logger });
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
