/**
 * The wire format as a model: whatever bytes and headers arrive, decoding returns an event or a
 * counted reason and never throws; what palisade encodes decodes to the same fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { headers } from '@nats-io/transport-node';
import { WIRE_REJECTS, decodeSignal, eventJson, wireHeaders, msgIdFor } from '../src/engine/wire.ts';
import { assertProperty, fuzzParams } from './support/fuzz.ts';

const FILE = 'test/engine.model.test.ts';

test('decoding arbitrary bytes and headers never throws: an event with a valid priority, or one of the counted reasons', async () => {
  const headerValue = fc.oneof(
    fc.constantFrom('critical', 'normal', 'low', '', 'CRITICAL', 'urgent'),
    fc.string({ maxLength: 300 }),
  );
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.json({ maxDepth: 3 }).map((j) => new TextEncoder().encode(j)),
    fc
      .record(
        { sequence: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)), x: fc.string() },
        { requiredKeys: [] },
      )
      .map((o) => new TextEncoder().encode(JSON.stringify(o))),
  );
  await assertProperty(
    FILE,
    fc.property(body, fc.option(headerValue), fc.option(headerValue), (data, prio, publisher) => {
      const h = headers();
      if (prio !== null && prio.length > 0 && !/[\r\n:]/.test(prio)) h.set('Palisade-Priority', prio);
      if (publisher !== null && publisher.length > 0 && !/[\r\n:]/.test(publisher))
        h.set('Palisade-Publisher', publisher);
      const d = decodeSignal('t', data, h, 256, 17, 1000);
      if (typeof d === 'string') {
        assert.ok((WIRE_REJECTS as readonly string[]).includes(d));
        return;
      }
      assert.ok(['critical', 'normal', 'low'].includes(d.priority));
      assert.equal(d.event.topic, 't');
      assert.ok(Number.isSafeInteger(d.event.sequence) && d.event.sequence >= 0);
      assert.ok(Number.isFinite(d.event.timestamp));
    }),
    fuzzParams(300),
  );
});

test('what palisade encodes decodes to the same fields, priority and publisher', async () => {
  const event = fc.record({
    token: fc.string({ maxLength: 20 }),
    confidence: fc.double({ noNaN: true, noDefaultInfinity: true }),
    sequence: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    timestamp: fc.integer({ min: 0, max: 4e12 }),
    tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  });
  await assertProperty(
    FILE,
    fc.property(
      event,
      fc.constantFrom('critical', 'normal', 'low') as fc.Arbitrary<'critical' | 'normal' | 'low'>,
      (e, priority) => {
        const json = eventJson('t', e, 65_536);
        const h = wireHeaders(priority, 'feed', msgIdFor('feed', 't', e.sequence));
        const d = decodeSignal('t', new TextEncoder().encode(json), h, 65_536, 1, 0);
        assert.notEqual(typeof d, 'string');
        if (typeof d === 'string') return;
        assert.equal(d.priority, priority);
        assert.equal(d.publisher, 'feed');
        assert.equal(d.sequenced, true);
        assert.deepEqual({ ...d.event }, { ...JSON.parse(json), topic: 't', priority });
      },
    ),
    fuzzParams(200),
  );
});
