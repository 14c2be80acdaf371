// Option validation and the breaker's error types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, PalisadeError } from '../src/errors.ts';
import {
  BreakerOptionError,
  BulkheadFullError,
  CircuitBreaker,
  CircuitOpenError,
  TimeoutError,
} from '../src/breaker/index.ts';
import { bulkheadFullError, circuitOpenError, timeoutError } from '../src/breaker/errors.ts';

function optionError(options: unknown): BreakerOptionError {
  try {
    new CircuitBreaker(options as never);
  } catch (e) {
    assert.ok(e instanceof BreakerOptionError, `expected BreakerOptionError, got ${String(e)}`);
    assert.ok(e instanceof ConfigError && e instanceof PalisadeError);
    assert.equal(e.code, 'BREAKER_OPTION_INVALID');
    assert.equal(e.key, e.option);
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(options)}`);
}

test('unknown options are refused by name', () => {
  const e = optionError({ failureThreshhold: 3 });
  assert.equal(e.option, 'failureThreshhold');
  assert.match(e.message, /^CircuitBreaker: invalid configuration failureThreshhold=3: expected a known option/);
});

test('invalid values are refused, naming the option and the value', () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ failureThreshold: 0 }, 'failureThreshold', /failureThreshold=0: expected an integer >= 1/],
    [{ failureThreshold: 2.5 }, 'failureThreshold', /2\.5/],
    [{ failureThreshold: '5' }, 'failureThreshold', /"5"/],
    [{ cooldownMs: -1 }, 'cooldownMs', /\[0, 2147483647\]/],
    [
      { cooldownMs: Infinity },
      'cooldownMs',
      /cooldownMs=Infinity: expected a number of milliseconds in \[0, 2147483647\]$/,
    ],
    [{ cooldownMs: 2 ** 31 }, 'cooldownMs', /2147483648/],
    [{ resetTimeoutMs: 'soon' }, 'resetTimeoutMs', /milliseconds/],
    [{ cooldownMs: 100, resetTimeoutMs: 200 }, 'resetTimeoutMs', /alias/],
    [{ jitterRatio: 1.5 }, 'jitterRatio', /\[0, 1\]/],
    [{ halfOpenMaxCalls: 0 }, 'halfOpenMaxCalls', /integer/],
    [{ backoffMultiplier: 0.5 }, 'backoffMultiplier', />= 1/],
    [{ cooldownMs: 1000, maxCooldownMs: 500 }, 'maxCooldownMs', /\[1000, 2147483647\]/],
    [{ maxConcurrent: 0 }, 'maxConcurrent', /integer >= 1/],
    [{ maxQueue: 5 }, 'maxQueue', /without maxConcurrent/],
    [{ maxConcurrent: 2, maxQueue: -1 }, 'maxQueue', /integer >= 0/],
    [{ timeoutMs: 0 }, 'timeoutMs', /\[1, 2147483647\], or Infinity for no limit/],
    [{ timeoutMs: -5 }, 'timeoutMs', /\[1, /],
    [{ timeoutMs: 2 ** 31 }, 'timeoutMs', /2147483648/],
    [{ isFailure: true }, 'isFailure', /function/],
    [{ failureRateThreshold: 50 }, 'failureRateThreshold', /\(0, 1\]/],
    [{ failureRateThreshold: 0 }, 'failureRateThreshold', /\(0, 1\]/],
    [{ windowSize: 10 }, 'windowSize', /without failureRateThreshold/],
    [{ failureRateThreshold: 0.5, windowSize: 10, minimumCalls: 20 }, 'minimumCalls', /\[1, 10\]/],
    [{ latencySampleEvery: 0 }, 'latencySampleEvery', /integer/],
    [{ clock: { now: () => 1 } }, 'clock', /Clock/],
    [{ now: 5 }, 'now', /function/],
    [{ random: 0.5 }, 'random', /function/],
    [{ logger: console.log }, 'logger', /logger/],
    [{ name: '' }, 'name', /non-empty string/],
  ];
  for (const [options, option, message] of cases) {
    const e = optionError(options);
    assert.equal(e.option, option, JSON.stringify(options));
    assert.match(e.message, message, JSON.stringify(options));
  }
  assert.equal(optionError(null).option, 'options');
  assert.equal(optionError([1]).option, 'options');
});

test('valid options are accepted; undefined means "use the default"; Infinity is a valid limit', () => {
  const b = new CircuitBreaker({
    name: 'ok',
    failureThreshold: undefined,
    maxConcurrent: Infinity,
    resetTimeoutMs: 100,
    cooldownMs: 100,
  });
  assert.equal(b.name, 'ok');
  assert.equal(b.timeoutMs, undefined);
  assert.equal(new CircuitBreaker({ maxConcurrent: 4, maxQueue: Infinity }).getState(), 'CLOSED');
  assert.equal(new CircuitBreaker().name, 'breaker');
});

test('the refusal errors: typed, coded, instanceof their class and PalisadeError, no stack frames', () => {
  const open = circuitOpenError('b', 'OPEN', 1234.2);
  const full = bulkheadFullError('b', 2, 3);
  const slow = timeoutError('b', 100, 'rpc_getSlot');
  for (const [e, cls, code] of [
    [open, CircuitOpenError, 'CIRCUIT_OPEN'],
    [full, BulkheadFullError, 'BULKHEAD_FULL'],
    [slow, TimeoutError, 'TIMEOUT'],
  ] as const) {
    assert.ok(e instanceof cls);
    assert.ok(e instanceof PalisadeError);
    assert.ok(e instanceof Error);
    assert.equal(e.code, code);
    assert.equal(e.name, cls.name);
    assert.equal(e.stack, `${cls.name}: ${e.message}`, 'the stack is only the header line');
    assert.equal(String(e), `${cls.name}: ${e.message}`);
  }
  assert.equal(open.message, 'circuit "b" is OPEN; retry after 1235 ms');
  assert.equal(circuitOpenError('b', 'HALF_OPEN', 0).message, 'circuit "b" is HALF_OPEN and its probe slots are taken');
  assert.equal(slow.message, 'call rpc_getSlot through "b" timed out after 100 ms');
  assert.equal(full.message, 'bulkhead of "b" is full (2 running, 3 queued)');
});

test('the constructors build the same errors (for callers who want to raise them)', () => {
  const e = new CircuitOpenError('b', 'OPEN', 10);
  assert.equal(e.code, 'CIRCUIT_OPEN');
  assert.equal(e.retryAfterMs, 10);
  assert.equal(e.message, 'circuit "b" is OPEN; retry after 10 ms');
  assert.equal(new TimeoutError('b', 5).label, undefined);
  assert.equal(new BulkheadFullError('b', 1, 0).maxQueue, 0);
});
