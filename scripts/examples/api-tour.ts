/**
 * The README's API examples, runnable: npx tsx scripts/examples/api-tour.ts
 * (test/readme.test.ts runs it and checks what it prints).
 */
import {
  CircuitBreaker,
  CircuitBreakerManager,
  CircuitOpenError,
  Supervisor,
  SignalBus,
  RpcConnectionPool,
  createSolanaConnection,
  createLogger,
  ManualClock,
} from '../../src/index.ts';
import { startLocalCluster } from '../../src/devnet/index.ts'; // palisade/devnet

// --- breaker
const clock = new ManualClock();
const breaker = new CircuitBreaker({ name: 'helius', failureThreshold: 3, cooldownMs: 1000, clock });
breaker.onStateChange(({ from, to, reason }) => console.log(`breaker ${from} -> ${to} (${reason})`));
for (let i = 0; i < 3; i++)
  await breaker
    .execute(async () => {
      throw new Error('down');
    })
    .catch(() => {});
try {
  await breaker.execute(async () => 'never called');
} catch (e) {
  if (e instanceof CircuitOpenError) console.log('refused', e.code, 'retry after', e.retryAfterMs, 'ms');
}
clock.advance(1100); // cooldown (+ up to 10% jitter) elapsed
console.log(breaker.getState()); // HALF_OPEN, without waiting for a call
console.log(await breaker.execute((_signal) => Promise.resolve('ok')), breaker.getState());

// --- local cluster + pool + web3.js
const logger = createLogger({ level: 'warn' });
const cluster = await startLocalCluster({ slotMs: 50 });
const supervisor = new Supervisor({ logger });
const pool = new RpcConnectionPool(
  { endpoints: cluster.endpoints.map((e, i) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl, tier: i })) },
  { supervisor, logger }, // actor mode: one endpoint actor per provider
);
const { result, endpoint, latencyMs, attempts } = await pool.call('getSlot', []);
console.log('slot', result, 'from', endpoint, latencyMs.toFixed(2), 'ms', attempts, 'attempt(s)');
await cluster.faults.kill('helius-local');
console.log('after kill:', (await pool.call('getVersion', [])).endpoint);

const breakers = new CircuitBreakerManager({ defaults: { failureThreshold: 20, cooldownMs: 5000 } });
const protectedPool = breakers.protect(pool); // same call(method, params, options)
console.log((await protectedPool.call('getHealth', [])).result);
const connection = createSolanaConnection(pool, 'confirmed'); // an unchanged web3.js Connection
console.log('web3 version', (await connection.getVersion())['solana-core']);

// --- actors and the bus
const scorer = supervisor.spawn({
  name: 'scorer',
  module: new URL('../../actors/examples/scorer.ts', import.meta.url),
});
await scorer.ready;
console.log(await scorer.ask({ token: 'BONK', confidence: 0.9 }, { timeoutMs: 1000 }));

const bus = new SignalBus({ maxQueueSize: 10_000, supervisor, logger });
bus.subscribe('trade_signal', (s) => console.log('inline got', s.token, 'seq', s.sequence, s.priority));
const worker = bus.subscribe('trade_signal', { module: new URL('../../actors/examples/scorer.ts', import.meta.url) });
await worker.ready;
console.log(bus.publish('trade_signal', { token: 'WIF', action: 'BUY', confidence: 0.8 }, 'critical'));
await new Promise((r) => setTimeout(r, 100));
const stats = bus.getStats();
console.log('published', stats.published, 'delivered', stats.delivered, 'dropped', stats.droppedEvents);

await bus.close();
connection.close();
await pool.close();
await supervisor.shutdown({ drainMs: 1000 });
await cluster.close();
