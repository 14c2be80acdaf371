import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { BroadcastChannel } from 'node:worker_threads';
import { SpanKind, SpanStatusCode, context, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { SignalBus } from '../src/bus/index.ts';
import { ConfigError } from '../src/errors.ts';
import { RpcPoolError } from '../src/rpc/errors.ts';
import { contextFromTraceparent, formatTraceparent, parseTraceparent, withTraceparent } from '../src/observe/trace.ts';
import { eventTraceparent } from '../actors/context.ts';
import { settle } from './fixtures/bus/helpers.ts';
import { refusedPort, startFixtureServer, type FixtureServer } from './fixtures/rpc/server.ts';
import { testPool, until } from './fixtures/rpc/helpers.ts';

const SECRET = 'k3yS3cretValue0123456789';
const TRACE_ECHO = new URL('./fixtures/bus/trace-echo.ts', import.meta.url);

/** Counts context lookups, so a test can show a bus with tracing off does none. */
class CountingContextManager implements ContextManager {
  lookups = 0;
  constructor(private readonly inner: ContextManager) {}
  active(): Context {
    this.lookups++;
    return this.inner.active();
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.inner.with(ctx, fn, thisArg, ...args);
  }
  bind<T>(ctx: Context, target: T): T {
    return this.inner.bind(ctx, target);
  }
  enable(): this {
    this.inner.enable();
    return this;
  }
  disable(): this {
    this.inner.disable();
    return this;
  }
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new CountingContextManager(new AsyncLocalStorageContextManager()).enable();
const tracer = provider.getTracer('test');

before(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager);
});
after(() => {
  trace.disable();
  context.disable();
});
beforeEach(() => exporter.reset());

const opened: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(
    opened
      .splice(0)
      .reverse()
      .map((close) => close().catch(() => {})),
  );
});

async function server(): Promise<FixtureServer> {
  const s = await startFixtureServer();
  opened.push(() => s.close());
  return s;
}

function bus(options: ConstructorParameters<typeof SignalBus>[0] = {}): SignalBus {
  const b = new SignalBus(options);
  opened.push(() => b.close());
  return b;
}

function spans(name?: string): ReadableSpan[] {
  const all = exporter.getFinishedSpans();
  return name === undefined ? all : all.filter((s) => s.name === name);
}

function one(name: string, where: (s: ReadableSpan) => boolean = () => true): ReadableSpan {
  const found = spans(name).filter(where);
  assert.equal(
    found.length,
    1,
    `one finished span ${name}; got ${found.length} of [${spans()
      .map((s) => s.name)
      .join(', ')}]`,
  );
  return found[0]!;
}

function parentOf(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId;
}

/** Nothing a span exports may hold a URL or the key in it: names, attributes, events, status. */
function assertNoSecrets(): void {
  const texts: string[] = [];
  for (const s of spans()) {
    texts.push(s.name, s.status.message ?? '');
    for (const v of Object.values(s.attributes)) texts.push(String(v));
    for (const e of s.events) for (const v of Object.values(e.attributes ?? {})) texts.push(String(v));
  }
  for (const t of texts) {
    assert.ok(!t.includes('://'), `a URL in a span: ${t}`);
    assert.ok(!t.includes(SECRET), `the key in a span: ${t}`);
  }
}

test('a pool call is one CLIENT span under the caller, each attempt an event: a refused endpoint, then the failover', async () => {
  const good = await server();
  const t = await testPool([
    { name: 'a', url: `http://127.0.0.1:${await refusedPort()}/?api-key=${SECRET}` },
    { name: 'b', url: `${good.url}?api-key=${SECRET}` },
  ]);
  opened.push(() => t.close());
  const r = await tracer.startActiveSpan('caller', async (caller) => {
    try {
      return await t.pool.call('getVersion', []);
    } finally {
      caller.end();
    }
  });
  assert.equal(r.endpoint, 'b');
  assert.equal(r.attempts, 2);
  const call = one('rpc getVersion');
  const caller = one('caller');
  assert.equal(call.kind, SpanKind.CLIENT);
  assert.equal(parentOf(call), caller.spanContext().spanId, 'a child of the active context');
  assert.equal(call.spanContext().traceId, caller.spanContext().traceId);
  assert.equal(call.attributes['rpc.system'], 'jsonrpc');
  assert.equal(call.attributes['rpc.method'], 'getVersion');
  assert.equal(call.attributes['palisade.rpc.endpoint'], 'b', 'the endpoint that answered');
  assert.equal(call.attributes['palisade.rpc.attempts'], 2);
  assert.equal(call.status.code, SpanStatusCode.UNSET);
  const events = call.events.map((e) => ({
    name: e.name,
    endpoint: e.attributes?.['palisade.rpc.endpoint'],
    outcome: e.attributes?.['palisade.rpc.outcome'],
  }));
  assert.deepEqual(events, [
    { name: 'attempt', endpoint: 'a', outcome: 'refused' },
    { name: 'attempt', endpoint: 'b', outcome: 'ok' },
  ]);
  for (const e of call.events) assert.equal(typeof e.attributes?.['palisade.rpc.latency_ms'], 'number');
  assertNoSecrets();
});

test('a pool call that fails everywhere ends with an error status carrying the code, not the message', async () => {
  const t = await testPool([
    { name: 'a', url: `http://user:${SECRET}@127.0.0.1:${await refusedPort()}/` },
    { name: 'b', url: `http://127.0.0.1:${await refusedPort()}/${SECRET}` },
  ]);
  opened.push(() => t.close());
  await assert.rejects(
    t.pool.call('getSlot', []),
    (err: unknown) => err instanceof RpcPoolError && err.code === 'RPC_POOL_EXHAUSTED',
  );
  const call = one('rpc getSlot');
  assert.equal(call.status.code, SpanStatusCode.ERROR);
  assert.equal(call.status.message, 'RPC_POOL_EXHAUSTED');
  assert.equal(call.attributes['error.type'], 'RPC_POOL_EXHAUSTED');
  assert.deepEqual(
    call.events.map((e) => e.attributes?.['palisade.rpc.outcome']),
    ['refused', 'refused'],
  );
  assert.equal(call.parentSpanContext, undefined, 'no active span: a root span');
  assertNoSecrets();
});

test('hostile method names: a non-string, a URL, a huge or an empty method get an error span that does not echo them', async () => {
  const good = await server();
  const t = await testPool([{ name: 'b', url: good.url }]);
  opened.push(() => t.close());
  await assert.rejects(t.pool.call(42 as unknown as string, []));
  const s = one('rpc (invalid method)');
  assert.equal(s.status.code, SpanStatusCode.ERROR);
  for (const m of [`https://evil.example/?api-key=${SECRET}`, 'x'.repeat(100_000), '', 'get Slot\n'])
    await t.pool.call(m, []).catch(() => undefined);
  assert.equal(spans('rpc (invalid method)').length, 5, 'what is not a method name is not echoed');
  assert.equal(spans().length, 5);
  assertNoSecrets();
});

test('an inline delivery is a CONSUMER span under the publisher, and a pool call its handler makes nests under it', async () => {
  const good = await server();
  const t = await testPool([{ name: 'b', url: good.url }]);
  opened.push(() => t.close());
  const b = bus({ tracing: true });
  let handled = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  b.subscribe('trade_signal', async () => {
    await t.pool.call('getSlot', []);
    await gate;
    handled++;
  });
  tracer.startActiveSpan('signal', (s) => {
    assert.equal(b.publish('trade_signal', { token: 'BONK' }, 'critical'), true);
    s.end();
  });
  await until(() => spans('rpc getSlot').length === 1, 'the pool call');
  await settle();
  assert.equal(spans('deliver trade_signal').length, 0, "an async handler's span stays open until it settles");
  release();
  await until(() => handled === 1 && spans('deliver trade_signal').length === 1, 'the handler and its span');
  const signal = one('signal');
  const deliver = one('deliver trade_signal');
  const call = one('rpc getSlot');
  assert.equal(deliver.kind, SpanKind.CONSUMER);
  assert.equal(parentOf(deliver), signal.spanContext().spanId);
  assert.equal(parentOf(call), deliver.spanContext().spanId, 'the pool call runs in the delivery span');
  assert.equal(new Set([signal, deliver, call].map((s) => s.spanContext().traceId)).size, 1, 'one trace');
  assert.equal(deliver.attributes['messaging.destination.name'], 'trade_signal');
  assert.equal(deliver.attributes['palisade.bus.subscriber_kind'], 'inline');
  assert.equal(deliver.attributes['palisade.bus.sequence'], 1);
});

test('each delivery takes its parent from its own publish, not from whoever queued the router turn', async () => {
  const b = bus({ tracing: true });
  const seen: string[] = [];
  b.subscribe('t', (e: { n: string }) => void seen.push(e.n));
  tracer.startActiveSpan('first', (s) => {
    b.publish('t', { n: 'a' });
    s.end();
  });
  b.publish('t', { n: 'b' }); // same tick, outside any span
  await settle();
  assert.deepEqual(seen, ['a', 'b']);
  const [da, db] = spans('deliver t').sort(
    (x, y) => (x.attributes['palisade.bus.sequence'] as number) - (y.attributes['palisade.bus.sequence'] as number),
  );
  assert.equal(parentOf(da!), one('first').spanContext().spanId);
  assert.equal(db!.parentSpanContext, undefined, 'published outside any span: a trace of its own');
  assert.notEqual(db!.spanContext().traceId, da!.spanContext().traceId);
});

test('a failing inline handler ends its span with an error status, without the error message', async () => {
  const b = bus({ tracing: true });
  b.subscribe('t', () => {
    throw new Error(`upstream https://rpc.example/?api-key=${SECRET} said no`);
  });
  b.subscribe('t', async () => {
    throw Object.assign(new Error('nope'), { code: 'EXECUTOR_REFUSED' });
  });
  b.publish('t', { x: 1 });
  await until(() => spans('deliver t').length === 2, 'both delivery spans');
  const statuses = spans('deliver t')
    .map((s) => [s.status.code, s.status.message])
    .sort();
  assert.deepEqual(statuses, [
    [SpanStatusCode.ERROR, 'EXECUTOR_REFUSED'],
    [SpanStatusCode.ERROR, 'Error'],
  ]);
  assert.equal(b.getStats().failed, 2, 'still counted as failures');
  assertNoSecrets();
});

test('a worker delivery carries its span across the thread; the span ends when the worker reports; a worker that publishes again continues the trace', {
  timeout: 60_000,
}, async () => {
  const name = `trace-echo-${process.pid}-${Date.now()}`;
  const channel = new BroadcastChannel(name);
  opened.push(async () => channel.close());
  const reports: { sequence: number; traceparent: string | null }[] = [];
  channel.onmessage = (ev: unknown) => {
    const d = (ev as { data: { sequence?: number; traceparent?: string | null } }).data;
    if (typeof d.sequence === 'number') reports.push(d as { sequence: number; traceparent: string | null });
  };
  const b = bus({ tracing: true });
  const sub = b.subscribe('signal', { module: TRACE_ECHO }, { name: 'validator', init: { channel: name } });
  await sub.ready;
  const next: string[] = [];
  b.subscribe('validated', (e: { token: string }) => void next.push(e.token));

  tracer.startActiveSpan('signal', (s) => {
    b.publish('signal', { token: 'WIF', hold: true }, 'critical');
    s.end();
  });
  await until(() => reports.length === 1, 'the worker to report what it received', 20_000);
  const signal = one('signal');
  const tp = parseTraceparent(reports[0]!.traceparent);
  assert.ok(tp, `the worker got a well-formed traceparent: ${reports[0]!.traceparent}`);
  assert.equal(tp.traceId, signal.spanContext().traceId, "the publisher's trace");
  assert.equal(spans('deliver signal').length, 0, 'the host-side span stays open while the worker holds the event');

  channel.postMessage({ release: 1 });
  await until(() => spans('deliver signal').length === 1, "the delivery span to end on the worker's outcome", 20_000);
  const deliver = one('deliver signal');
  assert.equal(deliver.kind, SpanKind.CONSUMER);
  assert.equal(deliver.attributes['palisade.bus.subscriber_kind'], 'worker');
  assert.equal(deliver.attributes['palisade.actor.name'], 'validator');
  assert.equal(parentOf(deliver), signal.spanContext().spanId, 'linked to the publish context');
  assert.equal(tp.spanId, deliver.spanContext().spanId, 'the envelope carried the delivery span itself');
  assert.equal(deliver.status.code, SpanStatusCode.UNSET);

  // What the worker handled is published again by the host with the worker's traceparent.
  withTraceparent(reports[0]!.traceparent, () => b.publish('validated', { token: 'WIF' }));
  await until(() => next.length === 1 && spans('deliver validated').length === 1, 'the second hop');
  const hop = one('deliver validated');
  assert.equal(hop.spanContext().traceId, signal.spanContext().traceId, 'the same trace, across the worker');
  assert.equal(parentOf(hop), deliver.spanContext().spanId);
  assert.equal(b.getStats().droppedEvents, 0);

  // A handler that throws in the worker: the host-side span ends with the error's code.
  b.publish('signal', { token: 'BOME', fail: true });
  await until(() => spans('deliver signal').length === 2, "the failed delivery's span", 20_000);
  const failed = spans('deliver signal').find((s) => s !== deliver)!;
  assert.equal(failed.status.code, SpanStatusCode.ERROR);
  assert.equal(
    failed.status.message,
    'ACTOR_HANDLER_FAILED',
    "the runtime's stable code; the worker's message (with its URL) stays out",
  );
  assert.equal(failed.parentSpanContext, undefined, 'published outside any span');
  assert.equal(b.getStats().failed, 1);
  assertNoSecrets();
});

test('a worker delivery cut short by close ends its span as an error, not never', { timeout: 60_000 }, async () => {
  const name = `trace-echo-close-${process.pid}-${Date.now()}`;
  const channel = new BroadcastChannel(name);
  opened.push(async () => channel.close());
  let reported = 0;
  channel.onmessage = () => void reported++;
  const b = bus({ tracing: true });
  const sub = b.subscribe('t', { module: TRACE_ECHO }, { init: { channel: name } });
  await sub.ready;
  tracer.startActiveSpan('signal', (s) => {
    b.publish('t', { hold: true });
    s.end();
  });
  await until(() => reported === 1, 'the worker to hold the event', 20_000);
  await b.close({ timeoutMs: 0 });
  const d = one('deliver t');
  assert.equal(d.status.code, SpanStatusCode.ERROR);
  assert.match(String(d.status.message), /^(dead-letter: |stopped)/);
  assert.equal(b.getStats().droppedEvents, 1, 'and the bus counted the drop');
});

test('a traceparent field in a published event is the parent when no span is active; a garbage one is ignored', async () => {
  const b = bus({ tracing: true });
  let got = 0;
  b.subscribe('t', () => void got++);
  const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
  const remote = formatTraceparent(tid, '00f067aa0ba902b7', 1);
  const garbage: unknown[] = [
    'garbage',
    `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    `ff-${tid}-00f067aa0ba902b7-01`,
    `00-${tid.toUpperCase()}-00f067aa0ba902b7-01`,
    `00-${tid}-00f067aa0ba902b7-01${'x'.repeat(1_000_000)}`,
    42,
    Number.NaN,
    null,
    { traceId: tid },
    ['00', tid],
  ];
  b.publish('t', { traceparent: remote });
  for (const g of garbage) b.publish('t', { traceparent: g });
  // A proxy that throws when asked for a traceparent it does not have: tracing does not ask it.
  const trap = new Proxy({ token: 'X' } as Record<string, unknown>, {
    get: (target, key) => {
      if (key === 'traceparent') throw new Error('trap');
      return target[key as string];
    },
  });
  assert.equal(b.publish('t', trap), true);
  await until(() => got === 2 + garbage.length && spans('deliver t').length === got, 'every delivery');
  const [first, ...rest] = spans('deliver t').sort(
    (x, y) => (x.attributes['palisade.bus.sequence'] as number) - (y.attributes['palisade.bus.sequence'] as number),
  );
  assert.equal(first!.spanContext().traceId, tid);
  assert.equal(parentOf(first!), '00f067aa0ba902b7');
  for (const s of rest) assert.equal(s.parentSpanContext, undefined, 'garbage: a root span');
  assert.equal(b.getStats().failed, 0);
});

test('garbage traceparents reach a worker without harm: it reads null', { timeout: 60_000 }, async () => {
  const name = `trace-echo-garbage-${process.pid}-${Date.now()}`;
  const channel = new BroadcastChannel(name);
  opened.push(async () => channel.close());
  const reports: { sequence: number; traceparent: string | null }[] = [];
  channel.onmessage = (ev: unknown) =>
    void reports.push((ev as { data: { sequence: number; traceparent: string | null } }).data);
  // Tracing off: the bus passes the publisher's field through as it is.
  const b = bus();
  const sub = b.subscribe('t', { module: TRACE_ECHO }, { init: { channel: name } });
  await sub.ready;
  for (const g of [
    'nope',
    '00-zz-yy-01',
    12345,
    { nested: true },
    `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-${'c'.repeat(500)}`,
  ])
    b.publish('t', { traceparent: g });
  await until(() => reports.length === 5, 'the worker to report every event', 20_000);
  assert.deepEqual(
    reports.map((r) => r.traceparent),
    [null, null, null, null, null],
  );
  await until(() => b.getStats().delivered === 5, 'every outcome');
  assert.equal(b.getStats().failed, 0);
  assert.equal(spans().length, 0);
});

test('with tracing off the bus records nothing and publish and dispatch do no context work', async () => {
  const off = bus();
  let got = 0;
  off.subscribe('t', () => void got++);
  off.subscribe('t', async () => undefined);
  const before = contextManager.lookups;
  for (let i = 0; i < 100; i++) off.publish('t', { i });
  await settle();
  assert.equal(got, 100);
  assert.equal(contextManager.lookups - before, 0, 'no context lookup');
  assert.equal(spans().length, 0, 'no span');

  // The same traffic on a bus with tracing on does look the context up (so the count above can see it).
  const on = bus({ tracing: true });
  on.subscribe('t', () => undefined);
  const before2 = contextManager.lookups;
  for (let i = 0; i < 100; i++) on.publish('t', { i });
  await settle();
  assert.ok(contextManager.lookups - before2 >= 100);
  assert.equal(spans('deliver t').length, 100);
});

test('tracing is a boolean option', () => {
  for (const bad of ['yes', 1, null, {}])
    assert.throws(() => new SignalBus({ tracing: bad as unknown as boolean }), ConfigError);
});

test('traceparent parsing and formatting round-trip; malformed values are null', () => {
  const tp = formatTraceparent('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 1);
  assert.equal(tp, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  assert.deepEqual(parseTraceparent(tp), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: 1,
  });
  // A later version may append fields; version 00 may not.
  assert.ok(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'));
  assert.equal(parseTraceparent(`${tp}-extra`), null);
  for (const bad of [
    undefined,
    '',
    tp.slice(0, 54),
    `${tp} `,
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    Symbol('x'),
    1n,
    Infinity,
  ]) {
    assert.equal(parseTraceparent(bad), null, String(typeof bad === 'symbol' ? 'symbol' : bad));
    assert.equal(eventTraceparent({ traceparent: bad }), null);
  }
  for (const notAnEvent of [null, undefined, 'x', 3, () => tp]) assert.equal(eventTraceparent(notAnEvent), null);
  assert.equal(eventTraceparent({ traceparent: tp }), tp);
  const root = context.active();
  assert.equal(contextFromTraceparent('garbage', root), root, 'garbage leaves the context as it was');
  assert.equal(trace.getSpanContext(contextFromTraceparent(tp))?.isRemote, true);
});
