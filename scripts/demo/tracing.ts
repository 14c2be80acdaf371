/**
 * `npm start -- --trace`: an in-process OpenTelemetry SDK for the run (the SDK packages are
 * devDependencies; palisade itself only uses @opentelemetry/api), and at the end one complete
 * trace printed as a tree: a trade signal, its delivery to the validator worker and to the
 * executor, the transfer's send and its confirmation, each pool call with its attempts (a trace
 * with a failover in it when the run had one).
 *
 * Only traces that start at a trade signal are recorded, and only the first MAX_TRACES of them:
 * the run's other deliveries and background reads get the API's non-recording spans.
 */
import { context, trace, type Attributes, type Context, type SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { TOPICS } from '../../actors/demo/signals.ts';
import { inSpan } from '../../src/observe/trace.ts';
import type { Priority, Publisher } from './generator.ts';

const MAX_TRACES = 300;
const ROOT_PREFIX = 'signal ';

export interface DemoTracing {
  /** Every finished span of the recorded traces. */
  spans(): ReadableSpan[];
  /** A trace with every hop (else the largest), as an indented tree. */
  format(): string;
}

/** Registers the SDK (a global provider and an AsyncLocalStorage context manager) for the rest of the process. */
export async function startDemoTracing(maxTraces = MAX_TRACES): Promise<DemoTracing> {
  const { BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SamplingDecision, SimpleSpanProcessor } =
    await import('@opentelemetry/sdk-trace-base');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  let roots = 0;
  const signalsOnly = {
    shouldSample: (_ctx: Context, _traceId: string, name: string, _kind: SpanKind, _attributes: Attributes) => ({
      decision:
        name.startsWith(ROOT_PREFIX) && roots++ < maxTraces
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD,
    }),
    toString: () => 'trade signals only',
  };
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: signalsOnly }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return {
    spans: () => exporter.getFinishedSpans(),
    format: () => formatBestTrace(exporter.getFinishedSpans()),
  };
}

/** The bus, with each trade signal published inside a root span of its own (`signal trade_signal`). */
export function tracedPublisher(bus: Publisher): Publisher {
  return {
    publish(topic: string, event: object, priority?: Priority): boolean {
      if (topic !== TOPICS.trade) return bus.publish(topic, event, priority);
      return inSpan(`${ROOT_PREFIX}${topic}`, () => bus.publish(topic, event, priority), {
        'palisade.signal.token': String((event as { token?: unknown }).token),
      });
    },
  };
}

/** The hops a complete trade trace has. */
function hops(spans: ReadableSpan[]): { validator: boolean; executor: boolean; send: boolean; confirmation: boolean } {
  return {
    validator: spans.some(
      (s) => s.name.startsWith('deliver ') && s.attributes['palisade.bus.subscriber_kind'] === 'worker',
    ),
    executor: spans.some((s) => s.name.startsWith('execute ')),
    // The landing path sends from its own endpoints inside a 'send' span and confirms by status checks.
    send: spans.some((s) => s.name === 'rpc sendTransaction' || s.name === 'send'),
    confirmation: spans.some((s) => s.name === 'confirmation' || s.name === 'rpc getSignatureStatuses'),
  };
}

export function formatBestTrace(all: ReadableSpan[]): string {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const s of all) {
    const id = s.spanContext().traceId;
    const list = byTrace.get(id);
    if (list === undefined) byTrace.set(id, [s]);
    else list.push(s);
  }
  if (byTrace.size === 0) return 'trace: no trade signal was traced';
  // The first complete trace, one with a failover in it (an RPC span with several attempts) if any; else the largest.
  let best: ReadableSpan[] = [];
  let bestScore = -1;
  for (const list of byTrace.values()) {
    const h = hops(list);
    const complete =
      h.validator && h.executor && h.send && h.confirmation && list.some((s) => s.name.startsWith(ROOT_PREFIX));
    const failover = list.some((s) => s.name.startsWith('rpc ') && s.events.length > 1);
    const score = complete ? (failover ? 3 : 2) : 0;
    if (score > bestScore || (score === bestScore && score === 0 && list.length > best.length)) {
      best = list;
      bestScore = score;
    }
    if (score === 3) break;
  }
  const h = hops(best);
  const missing = Object.entries(h)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  const root = best.find((s) => s.parentSpanContext === undefined) ?? best[0]!;
  const t0 = ms(root.startTime);
  const children = new Map<string, ReadableSpan[]>();
  for (const s of best) {
    const p = s.parentSpanContext?.spanId ?? '';
    const list = children.get(p);
    if (list === undefined) children.set(p, [s]);
    else list.push(s);
  }
  for (const list of children.values()) list.sort((a, b) => ms(a.startTime) - ms(b.startTime));
  const lines = [
    `trace ${root.spanContext().traceId}: ${best.length} spans of ${byTrace.size} traced trade signals` +
      (missing.length === 0
        ? ' (signal → validator → executor → send → confirmation)'
        : ` (incomplete: no ${missing.join(', ')})`),
  ];
  const walk = (s: ReadableSpan, prefix: string, last: boolean, top: boolean): void => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    lines.push(
      `${prefix}${branch}${describe(s)}  +${(ms(s.startTime) - t0).toFixed(0)} ms, ${ms(s.duration).toFixed(1)} ms`,
    );
    const inner = top ? prefix : prefix + (last ? '   ' : '│  ');
    for (const e of s.events) {
      const a = e.attributes ?? {};
      lines.push(
        `${inner}   · ${e.name} ${a['palisade.rpc.endpoint']} ${a['palisade.rpc.outcome']} ${Number(a['palisade.rpc.latency_ms']).toFixed(1)} ms${a['rpc.method'] ? ` (${a['rpc.method']})` : ''}`,
      );
    }
    const kids = children.get(s.spanContext().spanId) ?? [];
    kids.forEach((k, i) => {
      walk(k, inner, i === kids.length - 1, false);
    });
  };
  walk(root, '  ', true, true);
  return lines.join('\n');
}

function describe(s: ReadableSpan): string {
  const a = s.attributes;
  const tags: string[] = [];
  if (a['palisade.actor.name']) tags.push(`worker ${a['palisade.actor.name']}`);
  else if (a['palisade.bus.subscriber']) tags.push(`inline ${a['palisade.bus.subscriber']}`);
  if (a['palisade.rpc.endpoint']) tags.push(`via ${a['palisade.rpc.endpoint']}`);
  if (a['error.type']) tags.push(`ERROR ${a['error.type']}`);
  return tags.length > 0 ? `${s.name} [${tags.join(', ')}]` : s.name;
}

function ms(t: readonly [number, number]): number {
  return t[0] * 1e3 + t[1] / 1e6;
}
