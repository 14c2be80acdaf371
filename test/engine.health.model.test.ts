/**
 * Model-based checks of shared endpoint health's boundaries (fast-check, test/support/fuzz.ts):
 * - any `shared` config either normalizes or throws a ConfigError naming a `shared…` key, and a
 *   password in a server URL never appears in the error;
 * - any bytes another writer puts under an endpoint's keys are applied only when they form a
 *   valid record, otherwise counted as invalid; the pool never crashes and keeps answering.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { ConfigError } from '../src/errors.ts';
import { endpointKeyId, normalizeSharedHealthConfig } from '../src/engine/shared-health.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';
import { testPool, until, type TestPool } from './fixtures/rpc/helpers.ts';
import { startFixtureServer, type FixtureServer } from './fixtures/rpc/server.ts';
import { natsUrlForTests } from './support/nats.ts';

const FILE = 'test/engine.health.model.test.ts';
const SECRET = 'pw9Secret7Value';

const anyValue = fc.oneof(
  fc.anything(),
  fc.constant(Number.NaN),
  fc.constant(Infinity),
  fc.constant(-1),
  fc.string(),
  fc.constant(`nats://u:${SECRET}@127.0.0.1:4222`),
  fc.constant(`http://u:${SECRET}@h:1`),
);
const configs = fc.oneof(
  anyValue,
  fc.record(
    {
      nats: fc.oneof(
        anyValue,
        fc.record({ servers: anyValue }, { requiredKeys: [] }),
        fc.record({ servers: fc.array(anyValue, { maxLength: 3 }), name: anyValue, connectTimeoutMs: anyValue }),
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      nats: fc.constant({ servers: 'nats://127.0.0.1:4222' }),
      bucket: anyValue,
      processId: anyValue,
      leaseMs: anyValue,
    },
    { requiredKeys: ['nats'] },
  ),
);

test('any shared config normalizes or is refused with a ConfigError on a shared key, never echoing a password', async () => {
  await assertProperty(
    FILE,
    fc.property(configs, (input) => {
      try {
        const c = normalizeSharedHealthConfig(input);
        assert.ok(c.servers.length > 0 && /^[-\w]{1,64}$/.test(c.bucket) && /^[-\w]{1,48}$/.test(c.processId));
        assert.ok(Number.isFinite(c.connectTimeoutMs) && c.connectTimeoutMs >= 1);
      } catch (err) {
        assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
        assert.match(err.key, /^shared/);
        assert.ok(!err.message.includes(SECRET), err.message);
      }
    }),
    fuzzParams(300),
  );
});

let nc: NatsConnection;
let kv: KV;
let t: TestPool;
let flaky: FixtureServer;
let good: FixtureServer;
let disposeNats: () => Promise<void>;

before(async () => {
  const n = await natsUrlForTests();
  disposeNats = n.dispose;
  flaky = await startFixtureServer();
  good = await startFixtureServer();
  const bucket = `health_model_${process.pid}`;
  t = await testPool(
    [
      { name: 'flaky', url: flaky.url, tier: 0 },
      { name: 'good', url: good.url, tier: 1 },
    ],
    { shared: { nats: { servers: n.url }, bucket, processId: 'model' } },
  );
  await t.pool.ready();
  nc = await connect({ servers: n.url });
  kv = await new Kvm(nc).open(bucket);
});
after(async () => {
  await nc.close();
  await t.close();
  await flaky.close();
  await good.close();
  await disposeNats();
});

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const records = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1100, maxLength: 1200 }),
  fc.anything().map(json),
  fc
    .record(
      {
        v: fc.oneof(fc.constant(1), fc.integer()),
        state: fc.oneof(fc.constantFrom('OPEN', 'CLOSED', 'HALF_OPEN'), fc.string()),
        until: fc.oneof(fc.double(), fc.integer()),
        by: fc.oneof(fc.string({ maxLength: 120 }), fc.integer()),
        at: fc.oneof(fc.double(), fc.integer()),
      },
      { requiredKeys: [] },
    )
    .map(json),
);

test("any bytes under an endpoint's keys: applied when valid, counted when not; the pool keeps answering", async () => {
  const id = endpointKeyId(flaky.url);
  const total = () => {
    const s = t.pool.getStats().shared!;
    return s.received + Object.values(s.invalid).reduce((a, b) => a + b, 0);
  };
  await assertProperty(
    FILE,
    fc.asyncProperty(fc.constantFrom('state', 'rest'), records, async (kind, value) => {
      const before = total();
      await kv.put(`ep.${id}.${kind}`, value);
      // Every record is either applied (received) or counted invalid: nothing is silently dropped.
      await until(() => total() === before + 1, 'the record to be applied or counted');
      // Reset to CLOSED (a valid record from another writer) so one case does not leak into the next.
      await kv.put(`ep.${id}.state`, json({ v: 1, state: 'CLOSED', until: 0, by: 'reset', at: 0 }));
      await until(() => total() === before + 2 && !t.pool.getStats().shared!.endpoints[0]!.sharedOpen, 'the reset');
      const r = await t.pool.call('getSlot');
      assert.ok(r.endpoint === 'flaky' || r.endpoint === 'good');
    }),
    fuzzParams(25),
  );
});
