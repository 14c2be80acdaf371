// The logger and redaction: lines are captured through a destination stream and searched for keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, redactDeep, redactText, redactUrl, silentLogger } from '../src/log/index.ts';

const KEY = 'Zk3p9QwErTy7UiOp1AsDfGh2';

function capture(level = 'trace') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ name: 'test', level, destination });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

function assertNoKey(lines: string[]): void {
  for (const line of lines) assert.ok(!line.includes(KEY), `key leaked: ${line}`);
}

test('keys in query parameters are redacted in messages, fields and format arguments', () => {
  const { logger, lines, parsed } = capture();
  const url = `https://mainnet.helius-rpc.com/?api-key=${KEY}&commitment=confirmed`;
  logger.info({ endpoint: url }, `calling ${url}`);
  logger.warn('retrying %s', url);
  logger.info({ list: [url, { deeper: { url } }] }, 'nested');
  assertNoKey(lines);
  const [first, second, third] = parsed();
  assert.equal(first!['endpoint'], 'https://mainnet.helius-rpc.com/?api-key=***&commitment=confirmed');
  assert.equal(first!['msg'], 'calling https://mainnet.helius-rpc.com/?api-key=***&commitment=confirmed');
  assert.match(String(second!['msg']), /retrying https:\/\/mainnet\.helius-rpc\.com\/\?api-key=\*\*\*/);
  assert.deepEqual(third!['list'], [
    'https://mainnet.helius-rpc.com/?api-key=***&commitment=confirmed',
    { deeper: { url: 'https://mainnet.helius-rpc.com/?api-key=***&commitment=confirmed' } },
  ]);
});

test('key-like path segments (Chainstack style) and user-info are redacted; ordinary paths are kept', () => {
  const { logger, lines, parsed } = capture();
  logger.info({ url: `https://solana-mainnet.core.chainstack.com/${KEY}` }, 'path key');
  logger.info({ url: `https://user:${KEY}@rpc.example.com/v1/mainnet` }, 'user info');
  logger.info({ url: 'https://api.mainnet-beta.solana.com/v1/getHealth' }, 'plain');
  assertNoKey(lines);
  const [a, b, c] = parsed();
  assert.equal(a!['url'], 'https://solana-mainnet.core.chainstack.com/***');
  assert.equal(b!['url'], 'https://***:***@rpc.example.com/v1/mainnet');
  assert.equal(c!['url'], 'https://api.mainnet-beta.solana.com/v1/getHealth', 'short, word-like segments are not keys');
});

test('keys inside error messages and stacks are redacted, whether the error is logged alone or as err', () => {
  const { logger, lines, parsed } = capture();
  const err = new Error(`request to https://rpc.example.com/?token=${KEY} failed`);
  logger.error(err);
  logger.error({ err }, 'with context');
  logger.error(err, 'explicit message for %s', `wss://rpc.example.com/?api_key=${KEY}`);
  assertNoKey(lines);
  const [alone, asField, explicit] = parsed();
  assert.equal(alone!['msg'], 'request to https://rpc.example.com/?token=*** failed');
  assert.equal(
    (alone!['err'] as Record<string, unknown>)['message'],
    'request to https://rpc.example.com/?token=*** failed',
  );
  assert.match(String((asField!['err'] as Record<string, unknown>)['stack']), /token=\*\*\*/);
  assert.equal(explicit!['msg'], 'explicit message for wss://rpc.example.com/?api_key=***');
});

test('errors with extra properties carrying URLs are redacted too', () => {
  const { logger, lines } = capture();
  const err = Object.assign(new Error('boom'), {
    endpoint: `https://rpc.example.com/?apikey=${KEY}`,
    cause: { url: `https://x.example/${KEY}` },
  });
  logger.error({ err }, 'extra fields');
  assertNoKey(lines);
  assert.match(lines[0]!, /apikey=\*\*\*/);
});

test('level and name are honoured; silentLogger writes nothing', () => {
  const { logger, lines, parsed } = capture('warn');
  logger.info('dropped');
  logger.warn('kept');
  assert.equal(lines.length, 1);
  assert.equal(parsed()[0]!['name'], 'test');
  assert.equal(silentLogger.isLevelEnabled('fatal'), false);
});

test('redactUrl / redactText / redactDeep directly', () => {
  assert.equal(
    redactUrl(`https://h.example/?x=1&api-key=${KEY}&token=t2`),
    'https://h.example/?x=1&api-key=***&token=***',
  );
  assert.equal(redactUrl('https://h.example/a/b?x=1'), 'https://h.example/a/b?x=1', 'nothing secret, nothing changed');
  assert.equal(
    redactUrl(`h.example/?api-key=${KEY}`),
    'h.example/?api-key=***',
    'unparsable input still loses its key',
  );
  assert.equal(redactText('no urls here'), 'no urls here');
  assert.equal(
    redactText(`a https://h.example/?key=${KEY} and wss://w.example/${KEY}/ws b`),
    'a https://h.example/?key=*** and wss://w.example/***/ws b',
  );
  const deep = redactDeep({
    a: [`https://h.example/?secret=${KEY}`],
    n: 1,
    d: new Date(0),
    e: new Error(`https://h.example/?auth=${KEY}`),
  });
  assert.ok(!JSON.stringify(deep).includes(KEY));
  assert.equal((deep as { n: number }).n, 1);
  assert.ok((deep as { d: unknown }).d instanceof Date);
});
