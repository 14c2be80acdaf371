// Configuration: defaults < JSON file < environment < overrides, validation, redaction, RPC pool order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../src/errors.ts';
import { getRpcPoolConfig, loadConfig, OPTIONS } from '../src/config/index.ts';

const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const HELIUS = `https://mainnet.helius-rpc.com/?api-key=${KEY}`;
const CHAINSTACK = `https://solana-mainnet.core.chainstack.com/${KEY}`;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    return e;
  }
  assert.fail('no ConfigError thrown');
}

function withTempDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-config-'));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults: every option takes its documented default with an empty environment', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.rpc.heliusUrl, undefined);
  assert.equal(c.rpc.chainstackUrl, undefined);
  assert.equal(c.rpc.publicUrl, 'https://api.mainnet-beta.solana.com');
  assert.deepEqual(c.breaker, { failureThreshold: 5, cooldownMs: 60000, jitterRatio: 0.1, halfOpenMaxCalls: 1 });
  assert.equal(c.bus.maxQueueSize, 10000);
  assert.equal(c.bus.maxSubscribers, 100);
  assert.equal(c.log.level, 'info');
  for (const spec of OPTIONS) {
    const [section, key] = spec.key.split('.') as [string, string];
    assert.deepEqual((c as unknown as Record<string, Record<string, unknown>>)[section]?.[key], spec.default, spec.key);
  }
});

test('environment variables override defaults and are parsed to their types', () => {
  const c = loadConfig({
    env: {
      PALISADE_BREAKER_COOLDOWN_MS: '1500',
      PALISADE_BREAKER_JITTER_RATIO: '0.25',
      PALISADE_LOG_LEVEL: 'debug',
      HELIUS_RPC_URL: HELIUS,
      PALISADE_BUS_MAX_QUEUE_SIZE: '',
    },
  });
  assert.equal(c.breaker.cooldownMs, 1500);
  assert.equal(c.breaker.jitterRatio, 0.25);
  assert.equal(c.log.level, 'debug');
  assert.equal(c.rpc.heliusUrl, HELIUS, 'the URL itself is kept intact for use');
  assert.equal(c.bus.maxQueueSize, 10000, 'an empty variable means unset');
});

test('a JSON file (nested shape) sits between defaults and the environment; overrides win over all', () => {
  withTempDir((dir) => {
    const file = join(dir, 'palisade.json');
    writeFileSync(
      file,
      JSON.stringify({ breaker: { failureThreshold: 7, cooldownMs: 9000 }, bus: { maxSubscribers: 3 } }),
    );
    const fromFile = loadConfig({ env: {}, file });
    assert.equal(fromFile.breaker.failureThreshold, 7);
    assert.equal(fromFile.breaker.cooldownMs, 9000);
    assert.equal(fromFile.bus.maxSubscribers, 3);

    const envWins = loadConfig({ env: { PALISADE_BREAKER_FAILURE_THRESHOLD: '2' }, file });
    assert.equal(envWins.breaker.failureThreshold, 2);
    assert.equal(envWins.breaker.cooldownMs, 9000);

    const viaEnvName = loadConfig({ env: { PALISADE_CONFIG: file } });
    assert.equal(viaEnvName.breaker.failureThreshold, 7, 'PALISADE_CONFIG names the file');

    const overridden = loadConfig({
      env: { PALISADE_BREAKER_FAILURE_THRESHOLD: '2' },
      file,
      overrides: { 'breaker.failureThreshold': 11 },
    });
    assert.equal(overridden.breaker.failureThreshold, 11);
  });
});

test('a missing or malformed JSON file is a ConfigError naming the file', () => {
  withTempDir((dir) => {
    const missing = join(dir, 'nope.json');
    const e1 = configError(() => loadConfig({ env: {}, file: missing }));
    assert.equal(e1.key, 'PALISADE_CONFIG');
    assert.match(e1.message, /nope\.json/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    assert.match(configError(() => loadConfig({ env: {}, file: bad })).message, /a JSON object/);
    const arr = join(dir, 'arr.json');
    writeFileSync(arr, '[1,2]');
    assert.match(configError(() => loadConfig({ env: {}, file: arr })).message, /not an object/);
  });
});

test('a bad value names its key, its variable and the value', () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [
      { PALISADE_BREAKER_FAILURE_THRESHOLD: 'abc' },
      'breaker.failureThreshold (PALISADE_BREAKER_FAILURE_THRESHOLD)',
      /="abc": expected an integer >= 1/,
    ],
    [
      { PALISADE_BREAKER_FAILURE_THRESHOLD: '2.5' },
      'breaker.failureThreshold (PALISADE_BREAKER_FAILURE_THRESHOLD)',
      /an integer/,
    ],
    [
      { PALISADE_BREAKER_FAILURE_THRESHOLD: '0' },
      'breaker.failureThreshold (PALISADE_BREAKER_FAILURE_THRESHOLD)',
      />= 1/,
    ],
    [{ PALISADE_BREAKER_JITTER_RATIO: '1.5' }, 'breaker.jitterRatio (PALISADE_BREAKER_JITTER_RATIO)', /\[0, 1\]/],
    [
      { PALISADE_RPC_TIMEOUT_MS: '2147483648' },
      'rpc.requestTimeoutMs (PALISADE_RPC_TIMEOUT_MS)',
      /an integer in \[1, 2147483647\]/,
    ],
    [{ PALISADE_LOG_LEVEL: 'loud' }, 'log.level (PALISADE_LOG_LEVEL)', /"loud"/],
    [{ SOLANA_RPC_URL: 'not a url' }, 'rpc.publicUrl (SOLANA_RPC_URL)', /an http\(s\) URL/],
  ];
  for (const [env, key, message] of cases) {
    const e = configError(() => loadConfig({ env }));
    assert.equal(e.key, key);
    assert.match(e.message, message);
    assert.ok(e.message.includes(key), e.message);
  }
});

test('a bad value in the JSON file is reported the same way', () => {
  withTempDir((dir) => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ breaker: { halfOpenMaxCalls: -1 } }));
    const e = configError(() => loadConfig({ env: {}, file }));
    assert.equal(e.key, 'breaker.halfOpenMaxCalls (PALISADE_BREAKER_HALF_OPEN_MAX_CALLS)');
    assert.equal(e.value, -1);
  });
});

test('a rejected URL is shown redacted in the error: the API key never reaches the message', () => {
  for (const bad of [
    `ftp://mainnet.helius-rpc.com/?api-key=${KEY}`, // parses, wrong scheme
    `mainnet.helius-rpc.com/?api-key=${KEY}`, // no scheme: the URL parser refuses it
    `http://[broken/?api-key=${KEY}`,
    `wss://solana-mainnet.core.chainstack.com/${KEY}`,
    `https//user:${KEY}@host/`,
  ]) {
    const e = configError(() => loadConfig({ env: { HELIUS_RPC_URL: bad } }));
    assert.ok(!e.message.includes(KEY), `key leaked: ${e.message}`);
    assert.ok(!String(e.value).includes(KEY), `key leaked in .value: ${String(e.value)}`);
    assert.match(e.message, /\*\*\*/);
  }
});

test('getRpcPoolConfig: Helius → Chainstack → public, leaving out unset ones', () => {
  const all = getRpcPoolConfig(
    loadConfig({
      env: { HELIUS_RPC_URL: HELIUS, CHAINSTACK_RPC_URL: CHAINSTACK, SOLANA_RPC_URL: 'https://rpc.example.org' },
    }),
  );
  assert.deepEqual(
    all.endpoints.map((e) => [e.name, e.url, e.tier]),
    [
      ['helius', HELIUS, 0],
      ['chainstack', CHAINSTACK, 1],
      ['public', 'https://rpc.example.org', 2],
    ],
  );
  const onlyChainstack = getRpcPoolConfig(loadConfig({ env: { CHAINSTACK_RPC_URL: CHAINSTACK } }));
  assert.deepEqual(
    onlyChainstack.endpoints.map((e) => e.name),
    ['chainstack', 'public'],
  );
  assert.equal(onlyChainstack.endpoints[1]!.url, 'https://api.mainnet-beta.solana.com');
  const none = getRpcPoolConfig(loadConfig({ env: {} }));
  assert.deepEqual(
    none.endpoints.map((e) => e.name),
    ['public'],
  );
  assert.equal(none.requestTimeoutMs, 2000);
  assert.equal(none.attemptTimeoutMs, 800);
  assert.equal(none.endpoints[0]!.rateLimitRps, undefined, 'no rate limit configured');
  const limited = getRpcPoolConfig(loadConfig({ env: { PALISADE_RPC_RATE_LIMIT_RPS: '25' } }));
  assert.equal(limited.endpoints[0]!.rateLimitRps, 25);
});
