import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, getRpcPoolConfig } from '../src/config/index.ts';
import { normalizePoolConfig } from '../src/rpc/index.ts';
import { CircuitBreakerManager } from '../src/breaker/index.ts';
import { SignalBus } from '../src/bus/index.ts';
import { Supervisor } from '../src/runtime/index.ts';

// Every documented option must reach the component that uses it: each config section is
// spread into its component's constructor, and the values set through the environment show up.
const env = {
  PALISADE_BREAKER_FAILURE_THRESHOLD: '7',
  PALISADE_BREAKER_COOLDOWN_MS: '1234',
  PALISADE_BREAKER_JITTER_RATIO: '0',
  PALISADE_BUS_MAX_QUEUE_SIZE: '3',
  PALISADE_MAX_RESTARTS: '2',
  PALISADE_RESTART_WINDOW_MS: '5000',
  HELIUS_RPC_URL: 'http://127.0.0.1:1/?api-key=SECRET',
};

test('rpc and breaker options reach the pool and its endpoint breakers', () => {
  const config = loadConfig({ env });
  const pool = normalizePoolConfig(getRpcPoolConfig(config));
  assert.deepEqual(
    pool.endpoints.map((e) => e.name),
    ['helius', 'public'],
  );
  assert.equal(pool.breaker.failureThreshold, 7);
  assert.equal(pool.breaker.cooldownMs, 1234);
  assert.equal(pool.breaker.jitterRatio, 0);
  const manager = new CircuitBreakerManager(config);
  assert.equal(manager.get('rpc_getSlot').getStats().state, 'CLOSED');
});

test('bus options reach the SignalBus (queue bound from the environment)', async () => {
  const config = loadConfig({ env });
  const bus = new SignalBus({ ...config.bus });
  assert.equal(bus.publish('t', { n: 1 }), true);
  assert.equal(bus.publish('t', { n: 2 }), true);
  assert.equal(bus.publish('t', { n: 3 }), true);
  assert.equal(bus.publish('t', { n: 4 }), false, 'the fourth event overflows maxQueueSize=3');
  await bus.close();
});

test('runtime options reach the Supervisor (restart intensity from the environment)', { timeout: 30_000 }, async () => {
  const config = loadConfig({ env });
  const sup = new Supervisor({ ...config.runtime, restartBackoff: { initialMs: 0, maxMs: 0 }, heartbeatMs: 0 });
  try {
    const ref = sup.spawn({
      name: 'crasher',
      module: new URL('./fixtures/actors/echo.ts', import.meta.url),
      maxAttempts: 1,
    });
    await ref.ready;
    // PALISADE_MAX_RESTARTS=2: one crash per ask (maxAttempts 1); two are restarted, the third quarantines.
    for (let i = 0; i < 3; i++) {
      await assert.rejects(ref.ask({ op: 'crash', kind: 'exit' }, { timeoutMs: 10_000 }));
    }
    const stats = sup.getStats();
    assert.equal(stats.restarts, 2);
    assert.equal(ref.state, 'quarantined');
  } finally {
    await sup.shutdown({ drainMs: 0 });
  }
});
