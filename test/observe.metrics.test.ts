// Prometheus metrics read at scrape time from real components: a breaker registry, a pool over
// local fixture endpoints, a bus with subscribers and a supervisor with a crashing actor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { CircuitBreakerManager } from '../src/breaker/index.ts';
import { SignalBus } from '../src/bus/index.ts';
import { ConfigError } from '../src/errors.ts';
import { registerPalisadeMetrics } from '../src/observe/prometheus.ts';
import { Supervisor } from '../src/runtime/index.ts';
import { startFixtureServer, refusedPort } from './fixtures/rpc/server.ts';
import { testPool } from './fixtures/rpc/helpers.ts';
import { ECHO, until } from './fixtures/actors/support.ts';

/** Parses the text exposition into `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function value(m: Map<string, number>, name: string, labels: Record<string, string>): number | undefined {
  const key = `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
  return m.get(key);
}

test('metrics: breaker, pool, bus and runtime families carry the components’ own numbers', async () => {
  const registry = new Registry();
  const good = await startFixtureServer();
  const deadUrl = `http://127.0.0.1:${await refusedPort()}/`;
  const t = await testPool([
    { name: 'dead', url: deadUrl },
    { name: 'good', url: good.url },
  ]);
  const breakers = new CircuitBreakerManager({ defaults: { failureThreshold: 1, cooldownMs: 60_000, jitterRatio: 0 } });
  const bus = new SignalBus();
  const sup = new Supervisor({ heartbeatMs: 0 });
  try {
    // The pool: three calls; the dead endpoint fails until its breaker (threshold 2) opens.
    for (let i = 0; i < 3; i++) assert.equal((await t.pool.call('getVersion', [])).ok, true);
    // A breaker opened by one failure.
    await assert.rejects(breakers.execute('feed', () => Promise.reject(new Error('down'))));
    // The bus: 3 critical + 2 low on a subscribed topic, 4 normal on a topic nobody reads.
    const seen: unknown[] = [];
    bus.subscribe('trades', (e) => void seen.push(e));
    for (let i = 0; i < 3; i++) bus.publish('trades', { i }, 'critical');
    for (let i = 0; i < 2; i++) bus.publish('trades', { i }, 'low');
    for (let i = 0; i < 4; i++) bus.publish('nobody', { i });
    await until(() => seen.length === 5, 'bus delivery');
    await until(() => bus.getStats().topics.every((x) => x.depth === 0), 'topics drained');
    // The runtime: an actor that crashes once and is restarted.
    const ref = sup.spawn({ name: 'scorer', module: ECHO, maxAttempts: 1 });
    await ref.ask({ op: 'echo', v: 1 });
    await assert.rejects(ref.ask({ op: 'crash', kind: 'exit' }));
    await until(() => sup.getStats().restarts >= 1, 'restart');

    const reg = await registerPalisadeMetrics({ registry, pool: t.pool, bus, supervisor: sup, breakers: [breakers] });
    assert.equal(reg.names.length, 10);
    const m = parse(await registry.metrics());

    assert.equal(value(m, 'palisade_breaker_state', { breaker: 'feed' }), 2);
    assert.equal(value(m, 'palisade_breaker_transitions_total', { breaker: 'feed', to: 'OPEN' }), 1);
    assert.equal(value(m, 'palisade_breaker_state', { breaker: 'endpoint:dead' }), 2);
    assert.equal(value(m, 'palisade_breaker_state', { breaker: 'endpoint:good' }), 0);
    assert.equal(value(m, 'palisade_breaker_transitions_total', { breaker: 'endpoint:dead', to: 'OPEN' }), 1);

    const ps = t.pool.getStats();
    const goodStats = ps.endpoints.find((e) => e.name === 'good')!;
    assert.equal(
      value(m, 'palisade_rpc_requests_total', { endpoint: 'good', outcome: 'success' }),
      goodStats.successes,
    );
    const deadStats = ps.endpoints.find((e) => e.name === 'dead')!;
    assert.ok(deadStats.failuresByClass.refused >= 1);
    assert.equal(
      value(m, 'palisade_rpc_requests_total', { endpoint: 'dead', outcome: 'refused' }),
      deadStats.failuresByClass.refused,
    );
    assert.equal(
      value(m, 'palisade_rpc_request_duration_seconds_count', { endpoint: 'good' }),
      goodStats.latency.count,
    );
    const inf = value(m, 'palisade_rpc_request_duration_seconds_bucket', { endpoint: 'good', le: '+Inf' });
    const tenS = value(m, 'palisade_rpc_request_duration_seconds_bucket', { endpoint: 'good', le: '10' });
    assert.equal(inf, goodStats.latency.count);
    assert.equal(tenS, goodStats.latency.count, 'loopback attempts all finish well under 10 s');

    assert.equal(value(m, 'palisade_bus_published_total', { topic: 'trades', priority: 'critical' }), 3);
    assert.equal(value(m, 'palisade_bus_published_total', { topic: 'trades', priority: 'low' }), 2);
    assert.equal(value(m, 'palisade_bus_published_total', { topic: 'nobody', priority: 'normal' }), 4);
    assert.equal(value(m, 'palisade_bus_dropped_total', { topic: 'nobody', reason: 'NO_SUBSCRIBERS' }), 4);
    assert.equal(value(m, 'palisade_bus_queue_depth', { topic: 'trades' }), 0);

    assert.equal(value(m, 'palisade_actor_restarts_total', { actor: 'scorer', kind: 'exit' }), 1);
    await until(() => sup.getStats().actors[0]!.state === 'running', 'running again');
    const m2 = parse(await registry.metrics());
    assert.equal(value(m2, 'palisade_actor_state', { actor: 'scorer' }), 1);
    assert.equal(value(m2, 'palisade_mailbox_depth', { actor: 'scorer' }), 0);

    reg.unregister();
    assert.equal((await registry.metrics()).trim(), '');
  } finally {
    await bus.close();
    await sup.shutdown({ drainMs: 0 });
    await t.close();
    await good.close();
  }
});

test('metrics: topic and actor labels are capped, the rest summed under _other', async () => {
  const registry = new Registry();
  const bus = new SignalBus();
  try {
    for (let i = 0; i < 20; i++) for (let k = 0; k <= i; k++) bus.publish(`t${i}`, { k });
    await registerPalisadeMetrics({ registry, bus, maxTopics: 5 });
    const text = await registry.metrics();
    const topics = new Set([...text.matchAll(/palisade_bus_published_total\{topic="([^"]+)"/g)].map((x) => x[1]));
    assert.deepEqual([...topics].sort(), ['_other', 't15', 't16', 't17', 't18', 't19']);
    const m = parse(text);
    // t0..t14 published 1+2+…+15 = 120 normal events between them.
    assert.equal(value(m, 'palisade_bus_published_total', { topic: '_other', priority: 'normal' }), 120);
  } finally {
    await bus.close();
  }
});

test('metrics: hostile options are typed errors and register nothing', async () => {
  const registry = new Registry();
  await assert.rejects(registerPalisadeMetrics({ registry, maxTopics: Number.NaN }), ConfigError);
  await assert.rejects(registerPalisadeMetrics({ registry, maxActors: 1e9 }), ConfigError);
  await assert.rejects(registerPalisadeMetrics({ registry, bus: {} as never }), ConfigError);
  await assert.rejects(registerPalisadeMetrics({ registry: {} as never }), ConfigError);
  await assert.rejects(registerPalisadeMetrics(null as never), ConfigError);
  await assert.rejects(registerPalisadeMetrics({ registry, breakers: [{}] as never }), ConfigError);
  assert.equal((await registry.metrics()).trim(), '');
  // Registering the same families twice in one registry is refused and leaves the first intact.
  const bus = new SignalBus();
  try {
    await registerPalisadeMetrics({ registry, bus });
    await assert.rejects(registerPalisadeMetrics({ registry, bus }));
    assert.match(await registry.metrics(), /palisade_bus_queue_depth/);
  } finally {
    await bus.close();
  }
});

test('metrics: a scrape reads each source once, and nothing runs between scrapes', async () => {
  const registry = new Registry();
  let reads = 0;
  const bus = new SignalBus();
  try {
    const counted = {
      getStats: () => {
        reads++;
        return bus.getStats();
      },
    };
    await registerPalisadeMetrics({ registry, bus: counted });
    assert.equal(reads, 0);
    await registry.metrics();
    assert.equal(reads, 1, 'three bus families share one getStats() per scrape');
    await new Promise((r) => setImmediate(r));
    await registry.metrics();
    assert.equal(reads, 2);
  } finally {
    await bus.close();
  }
});

test('the Grafana dashboard in the repository queries only families the collectors export', async () => {
  const { readFileSync } = await import('node:fs');
  const dash = JSON.parse(
    readFileSync(new URL('../docs/grafana/palisade-dashboard.json', import.meta.url), 'utf8'),
  ) as {
    panels: { targets: { expr: string }[] }[];
  };
  const registry = new Registry();
  const bus = new SignalBus();
  const sup = new Supervisor({ heartbeatMs: 0 });
  const breakers = new CircuitBreakerManager();
  const good = await startFixtureServer();
  const t = await testPool([{ name: 'good', url: good.url }]);
  try {
    const reg = await registerPalisadeMetrics({ registry, bus, supervisor: sup, pool: t.pool, breakers: [breakers] });
    const exported = new Set(reg.names.flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]));
    const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((x) => x.expr.match(/palisade_[a-z_]+/g) ?? [])));
    assert.ok(used.size >= 10);
    for (const name of used) assert.ok(exported.has(name), `${name} is exported`);
  } finally {
    await bus.close();
    await sup.shutdown({ drainMs: 0 });
    await t.close();
    await good.close();
  }
});
