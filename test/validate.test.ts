// Every timer-fed option of every component, walked with the same hostile values. Node's timers
// hold at most 2^31−1 ms: a larger delay (or Infinity) fires after about 1 ms, so each option
// must refuse it with a ConfigError naming the key — or, where the key documents it, take
// Infinity as "no limit" and then set no timer at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, PalisadeError } from '../src/errors.ts';
import { MAX_TIMER_MS, timeoutMs } from '../src/validate.ts';
import { BreakerOptionError, CircuitBreaker, CircuitBreakerManager } from '../src/breaker/index.ts';
import { SignalBus } from '../src/bus/index.ts';
import { Supervisor, type ActorRef } from '../src/runtime/index.ts';
import { normalizePoolConfig } from '../src/rpc/config.ts';
import { loadConfig } from '../src/config/index.ts';
import { parseFault } from '../src/devnet/faults.ts';
import { DevnetError } from '../src/devnet/errors.ts';
import { startLocalCluster } from '../src/devnet/index.ts';
import { startLocalClusterInWorker } from '../src/devnet/remote/index.ts';
import { OffThreadSigner } from '../src/signing/index.ts';
import { ECHO } from './fixtures/actors/support.ts';

/** The values every timer-fed option is tried with. */
const HOSTILE: readonly unknown[] = [NaN, -1, 0, 2 ** 31, Infinity, '5'];

interface TimerOption {
  /** What the error names (a substring of its key). */
  key: string;
  /** Tries the value; throws (or rejects) when refused. Resolves to a cleanup when accepted. */
  tryValue: (v: unknown) => unknown;
  /** Whether 0 is a valid setting (0 = "off" or "do not wait"). */
  zero: boolean;
  /** Whether Infinity is a valid setting ("no limit"). */
  infinity: boolean;
  /** Whether a numeric string is a valid setting (configuration read from the environment). */
  numericString?: boolean;
  /** The error class refusals come as. Default ConfigError. */
  error?: new (
    ...args: never[]
  ) => Error;
}

const manual = { now: () => 0, setTimeout: () => 0 as never, clearTimeout: () => {} };
const pool = (extra: Record<string, unknown>) =>
  normalizePoolConfig({ endpoints: [{ url: 'http://127.0.0.1:1' }], ...extra });

function expectedOutcome(o: TimerOption, v: unknown): 'accept' | 'refuse' {
  if (typeof v === 'number' && v >= 10 && v <= MAX_TIMER_MS) return 'accept';
  if (v === 0) return o.zero ? 'accept' : 'refuse';
  if (v === Infinity) return o.infinity ? 'accept' : 'refuse';
  if (v === '5') return o.numericString ? 'accept' : 'refuse';
  if (typeof v === 'string') return 'refuse';
  return 'refuse';
}

async function check(o: TimerOption, v: unknown): Promise<void> {
  const want = expectedOutcome(o, v);
  const shown = `${o.key}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`;
  let outcome: unknown;
  try {
    outcome = await o.tryValue(v);
  } catch (err) {
    assert.equal(want, 'refuse', `${shown} was refused: ${String(err)}`);
    const cls = o.error ?? ConfigError;
    assert.ok(err instanceof cls, `${shown}: expected ${cls.name}, got ${String(err)}`);
    assert.ok(err instanceof PalisadeError, `${shown}: not a PalisadeError`);
    assert.ok(
      (err as Error).message.includes(o.key.split('.').pop()!),
      `${shown}: the message names the key: ${(err as Error).message}`,
    );
    if (err instanceof ConfigError) assert.ok(err.key.includes(o.key.split('.').pop()!), `${shown}: key ${err.key}`);
    return;
  }
  if (typeof outcome === 'function') await (outcome as () => unknown)();
  assert.equal(want, 'accept', `${shown} was accepted`);
}

const BREAKER: TimerOption[] = [
  {
    key: 'timeoutMs',
    zero: false,
    infinity: true,
    error: BreakerOptionError,
    tryValue: (v) => new CircuitBreaker({ timeoutMs: v as number }),
  },
  {
    key: 'cooldownMs',
    zero: true,
    infinity: false,
    error: BreakerOptionError,
    tryValue: (v) => new CircuitBreaker({ cooldownMs: v as number }),
  },
  {
    key: 'resetTimeoutMs',
    zero: true,
    infinity: false,
    error: BreakerOptionError,
    tryValue: (v) => new CircuitBreaker({ resetTimeoutMs: v as number }),
  },
  {
    key: 'maxCooldownMs',
    zero: true,
    infinity: false,
    error: BreakerOptionError,
    tryValue: (v) => new CircuitBreaker({ cooldownMs: 0, maxCooldownMs: v as number }),
  },
  {
    key: 'timeoutMs',
    zero: false,
    infinity: true,
    error: BreakerOptionError,
    tryValue: (v) => new CircuitBreakerManager({ defaults: { timeoutMs: v as number } }),
  },
  {
    key: 'cooldownMs',
    zero: true,
    infinity: false,
    error: BreakerOptionError,
    tryValue: (v) => new CircuitBreakerManager({ overrides: { k: { cooldownMs: v as number } } }),
  },
];

const BUS: TimerOption[] = [
  {
    key: 'reorderWindowMs',
    zero: true,
    infinity: false,
    tryValue: (v) => new SignalBus({ reorderWindowMs: v as number }),
  },
  {
    key: 'closeTimeoutMs',
    zero: true,
    infinity: false,
    tryValue: (v) => new SignalBus({ closeTimeoutMs: v as number }),
  },
  {
    key: 'timeoutMs',
    zero: true,
    infinity: false,
    tryValue: async (v) => {
      const bus = new SignalBus();
      try {
        await bus.close({ timeoutMs: v as number });
      } finally {
        await bus.close({ timeoutMs: 0 });
      }
    },
  },
];

const POOL: TimerOption[] = [
  { key: 'requestTimeoutMs', zero: false, infinity: false, tryValue: (v) => pool({ requestTimeoutMs: v }) },
  { key: 'attemptTimeoutMs', zero: false, infinity: false, tryValue: (v) => pool({ attemptTimeoutMs: v }) },
  {
    key: 'endpoints[0].timeoutMs',
    zero: false,
    infinity: false,
    tryValue: (v) => normalizePoolConfig({ endpoints: [{ url: 'http://127.0.0.1:1', timeoutMs: v }] }),
  },
  { key: 'healthIntervalMs', zero: false, infinity: false, tryValue: (v) => pool({ healthIntervalMs: v }) },
  { key: 'hedgeAfterMs', zero: false, infinity: false, tryValue: (v) => pool({ hedgeAfterMs: v }) },
  { key: 'stallAfterMs', zero: true, infinity: false, tryValue: (v) => pool({ stallAfterMs: v }) },
  { key: 'breaker.cooldownMs', zero: true, infinity: false, tryValue: (v) => pool({ breaker: { cooldownMs: v } }) },
];

// Configuration comes from the environment as text, so a numeric string is a valid spelling.
const CONFIG: TimerOption[] = [
  'rpc.requestTimeoutMs',
  'rpc.attemptTimeoutMs',
  'rpc.healthIntervalMs',
  'breaker.cooldownMs',
  'bus.reorderWindowMs',
  'runtime.withinMs',
].map((key) => ({
  key,
  zero: key === 'breaker.cooldownMs' || key === 'bus.reorderWindowMs',
  infinity: false,
  numericString: key !== 'rpc.healthIntervalMs', // its minimum is 10
  tryValue: (v: unknown) => loadConfig({ env: {}, overrides: { [key]: v } }),
}));

const DEVNET: TimerOption[] = [
  {
    key: 'ms',
    zero: true,
    infinity: false,
    error: DevnetError,
    tryValue: (v) => parseFault({ kind: 'latency', ms: v }),
  },
  {
    key: 'jitterMs',
    zero: true,
    infinity: false,
    error: DevnetError,
    tryValue: (v) => parseFault({ kind: 'latency', ms: 1, jitterMs: v }),
  },
];

for (const [area, options] of [
  ['breaker', BREAKER],
  ['bus', BUS],
  ['rpc pool config', POOL],
  ['loadConfig', CONFIG],
  ['devnet faults', DEVNET],
] as const) {
  describe(`${area}: timer-fed options`, () => {
    for (const o of options) {
      test(`${o.key} refuses NaN, negatives, 2^31 and non-numbers${o.zero ? '' : ', 0'}${o.infinity ? '; takes Infinity as no limit' : ', Infinity'}`, async () => {
        for (const v of HOSTILE) await check(o, v);
        // An ordinary value and the largest delay a timer honours are accepted.
        await check(o, 1000);
        await check(o, MAX_TIMER_MS);
        // The same limit holds for the text form the environment gives.
        if (o.numericString !== undefined) await check(o, String(2 ** 31));
      });
    }
  });
}

test('devnet: slotMs of the local cluster refuses the same values before binding a port', async () => {
  for (const v of [NaN, -1, 0, 2 ** 31, Infinity, '5']) {
    await assert.rejects(
      startLocalCluster({ slotMs: v as number }),
      (e: unknown) => e instanceof ConfigError && e.key.includes('slotMs'),
      String(v),
    );
  }
});

test('devnet in a worker: callTimeoutMs, startTimeoutMs and closeTimeoutMs refuse the same values before spawning it', async () => {
  for (const key of ['callTimeoutMs', 'startTimeoutMs', 'closeTimeoutMs'] as const) {
    for (const v of [NaN, -1, 0, 2 ** 31, Infinity, '5']) {
      await assert.rejects(
        startLocalClusterInWorker({ [key]: v as number }),
        (e: unknown) => e instanceof ConfigError && e.key === `devnet.${key}`,
        `${key}=${String(v)}`,
      );
    }
  }
});

test('signer: taskTimeoutMs and idleTimeout refuse 2^31 and Infinity before starting a thread', () => {
  for (const key of ['taskTimeoutMs', 'idleTimeout'] as const) {
    for (const v of [NaN, -1, 2 ** 31, Infinity, '5']) {
      assert.throws(
        () => new OffThreadSigner({ [key]: v as number }),
        (e: unknown) => e instanceof ConfigError && e.key === key,
        `${key}=${String(v)}`,
      );
    }
  }
});

describe('runtime: timer-fed options', () => {
  const supervisorOptions: TimerOption[] = [
    { key: 'heartbeatMs', zero: true, infinity: false, tryValue: (v) => new Supervisor({ heartbeatMs: v as number }) },
    { key: 'askTimeoutMs', zero: true, infinity: true, tryValue: (v) => new Supervisor({ askTimeoutMs: v as number }) },
    {
      key: 'initialMs',
      zero: true,
      infinity: false,
      tryValue: (v) => new Supervisor({ restartBackoff: { initialMs: v as number } }),
    },
    {
      key: 'maxMs',
      zero: true,
      infinity: false,
      tryValue: (v) => new Supervisor({ restartBackoff: { maxMs: v as number } }),
    },
  ];
  // Only refusals are tried here: an accepted Supervisor bundles its host (see the spawn tests below).
  for (const o of supervisorOptions) {
    test(`Supervisor ${o.key} refuses every hostile value it does not document`, () => {
      for (const v of HOSTILE) {
        if (expectedOutcome(o, v) === 'accept') continue;
        assert.throws(
          () => o.tryValue(v),
          (e: unknown) => e instanceof ConfigError && e.key.includes(o.key),
          `${o.key}=${String(v)}`,
        );
      }
    });
  }

  test('Supervisor deadLetterLimit: a huge ring is a ConfigError, not a RangeError from the allocation', () => {
    for (const v of [2 ** 32, 2 ** 53, Infinity, NaN, -1]) {
      assert.throws(
        () => new Supervisor({ deadLetterLimit: v }),
        (e: unknown) => e instanceof ConfigError && e.key === 'deadLetterLimit',
        String(v),
      );
    }
  });

  let sup: Supervisor;
  let echo: ActorRef;
  before(async () => {
    sup = new Supervisor({ heartbeatMs: 0, clock: manual as never });
    echo = sup.spawn({ name: 'echo', module: ECHO });
    await echo.ready;
  });
  after(() => sup.shutdown({ drainMs: 0 }));

  test('spawn: heartbeatMs and startTimeoutMs refuse hostile values; startTimeoutMs takes 0 and Infinity as no limit', async () => {
    let n = 0;
    const options: TimerOption[] = [
      {
        key: 'heartbeatMs',
        zero: true,
        infinity: false,
        tryValue: (v) => sup.spawn({ name: `a${++n}`, module: ECHO, heartbeatMs: v as number }),
      },
      {
        key: 'startTimeoutMs',
        zero: true,
        infinity: true,
        tryValue: (v) => sup.spawn({ name: `a${++n}`, module: ECHO, startTimeoutMs: v as number }),
      },
    ];
    for (const o of options) {
      for (const v of HOSTILE) {
        if (expectedOutcome(o, v) === 'accept') {
          const ref = o.tryValue(v) as ActorRef;
          await ref.ready;
          await ref.stop();
        } else {
          assert.throws(
            () => o.tryValue(v),
            (e: unknown) => e instanceof ConfigError && e.key === o.key,
            `${o.key}=${String(v)}`,
          );
        }
      }
    }
  });

  test('ask: timeoutMs refuses hostile values at the call; 0 and Infinity mean no deadline', async () => {
    for (const v of HOSTILE) {
      if (v === 0 || v === Infinity) {
        assert.equal(await echo.ask({ op: 'echo', v: 7 }, { timeoutMs: v }), 7);
      } else {
        await assert.rejects(
          echo.ask({ op: 'echo', v: 1 }, { timeoutMs: v as number }),
          (e: unknown) => e instanceof ConfigError && e.key === 'timeoutMs',
          String(v),
        );
      }
    }
  });

  test('shutdown: drainMs refuses hostile values', async () => {
    for (const v of [NaN, -1, 2 ** 31, Infinity, '5']) {
      assert.throws(
        () => sup.shutdown({ drainMs: v as number }),
        (e: unknown) => e instanceof ConfigError && e.key === 'drainMs',
        String(v),
      );
    }
    // A refused shutdown changed nothing: the supervisor still serves.
    assert.equal(await echo.ask({ op: 'echo', v: 3 }), 3);
  });
});

test('validate.timeoutMs: the shared rule', () => {
  assert.equal(timeoutMs('k', MAX_TIMER_MS), MAX_TIMER_MS);
  assert.throws(() => timeoutMs('k', MAX_TIMER_MS + 1), /invalid configuration k=2147483648/);
  assert.equal(timeoutMs('k', Infinity, { infinity: true }), Infinity);
  assert.throws(() => timeoutMs('k', Infinity), ConfigError);
  assert.equal(timeoutMs('k', 0, { min: 0 }), 0);
  assert.throws(() => timeoutMs('k', 0), ConfigError);
});
