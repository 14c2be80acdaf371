/**
 * Traces through @opentelemetry/api only: without an SDK registered every span here is the API's
 * no-op, so palisade costs its users nothing unless they install one (README: "Traces").
 *
 * What is traced: each pool call (`rpc <method>`, kind CLIENT, one event per attempt) and, on a
 * bus created with `tracing: true`, each delivery of an event to a subscriber (`deliver <topic>`,
 * kind CONSUMER, child of the context the event was published in). A worker subscriber's event
 * carries its delivery span as a W3C `traceparent` field across the thread.
 *
 * No attribute holds a URL or a key: endpoints are named, and any text that could hold a URL is
 * redacted first.
 */
import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { redactText } from '../log/redact.ts';
import { formatTraceparent, parseTraceparent } from './traceparent.ts';

export { formatTraceparent, parseTraceparent, type TraceparentFields } from './traceparent.ts';

export const TRACER_NAME = 'palisade';
/** The event field a worker subscriber's event carries its delivery span in. */
export const TRACEPARENT_FIELD = 'traceparent';
/** Span names and attribute values taken from callers' strings are cut to this length. */
const MAX_TEXT = 128;
const MAX_CACHED_NAMES = 1024;

let currentProvider: TracerProvider | null = null;
let currentTracer: Tracer | null = null;

/**
 * The 'palisade' tracer of whichever provider is registered now. Cached per provider: the API's
 * proxy tracer would keep delegating to the first SDK it saw even after another is registered.
 */
export function palisadeTracer(): Tracer {
  const global = trace.getTracerProvider();
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  if (provider !== currentProvider || currentTracer === null) {
    currentProvider = provider;
    currentTracer = provider.getTracer(TRACER_NAME);
  }
  return currentTracer;
}

/**
 * Runs `fn` inside a new active span (a child of the active context) and ends the span when `fn`
 * returns, or when its promise settles; a throw or rejection sets the error status.
 */
export function inSpan<T>(name: string, fn: (span: Span) => T, attributes?: Attributes): T {
  const span = palisadeTracer().startSpan(clip(name), attributes ? { attributes } : {});
  let result: T;
  try {
    result = context.with(trace.setSpan(context.active(), span), fn, undefined, span);
  } catch (err) {
    endWithError(span, err);
    throw err;
  }
  if (isThenable(result)) {
    result.then(
      () => span.end(),
      (err: unknown) => endWithError(span, err),
    );
  } else span.end();
  return result;
}

/** The W3C traceparent of a recording span; null when nothing records it (no SDK, not sampled). */
export function traceparentOf(span: Span): string | null {
  if (!span.isRecording()) return null;
  const sc = span.spanContext();
  return formatTraceparent(sc.traceId, sc.spanId, sc.traceFlags);
}

/**
 * `base` with the remote span a traceparent names as its parent; `base` itself when the value is
 * not a well-formed traceparent (garbage is ignored).
 */
export function contextFromTraceparent(value: unknown, base: Context = ROOT_CONTEXT): Context {
  const f = parseTraceparent(value);
  if (f === null) return base;
  return trace.setSpanContext(base, {
    traceId: f.traceId,
    spanId: f.spanId,
    traceFlags: f.traceFlags & 1,
    isRemote: true,
  });
}

/** Runs `fn` with the span a traceparent names as the active parent (e.g. to publish again what a worker handled). */
export function withTraceparent<T>(value: unknown, fn: () => T): T {
  return context.with(contextFromTraceparent(value, context.active()), fn);
}

// ---- the RPC pool ----

/** What a JSON-RPC method name looks like; anything else is not echoed into a span. */
const METHOD_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

/** Starts the span of one pool call, a child of the caller's active context. */
export function startRpcSpan(method: unknown): Span {
  const m = typeof method === 'string' && METHOD_NAME.test(method) ? method : '(invalid method)';
  return palisadeTracer().startSpan(`rpc ${m}`, {
    kind: SpanKind.CLIENT,
    attributes: { 'rpc.system': 'jsonrpc', 'rpc.service': 'solana', 'rpc.method': m },
  });
}

/**
 * One attempt of a pool call as an event of its span: the endpoint's name, 'ok' or the failure
 * class, the latency. `method` when the attempt asked something else (a status check before a re-send).
 */
export function recordRpcAttempt(
  span: Span,
  endpoint: string,
  outcome: string,
  latencyMs: number,
  method?: string,
): void {
  if (!span.isRecording()) return;
  const attrs: Attributes = {
    'palisade.rpc.endpoint': clip(redactText(endpoint)),
    'palisade.rpc.outcome': outcome,
    'palisade.rpc.latency_ms': latencyMs,
  };
  if (method !== undefined) attrs['rpc.method'] = method;
  span.addEvent('attempt', attrs);
}

/** Ends a pool call's span with what the call settled as: a result, or an error (its stable code only). */
export function settleRpcSpan<R extends { endpoint: string; attempts: number }>(
  span: Span,
  call: Promise<R>,
): Promise<R> {
  if (!span.isRecording()) return call;
  return call.then(
    (r) => {
      span.setAttributes({
        'palisade.rpc.endpoint': clip(redactText(r.endpoint)),
        'palisade.rpc.attempts': r.attempts,
      });
      span.end();
      return r;
    },
    (err: unknown) => {
      const e = err as { endpoint?: unknown; attempts?: unknown; rpcCode?: unknown };
      if (typeof e?.endpoint === 'string') span.setAttribute('palisade.rpc.endpoint', clip(redactText(e.endpoint)));
      if (Array.isArray(e?.attempts)) span.setAttribute('palisade.rpc.attempts', e.attempts.length);
      if (typeof e?.rpcCode === 'number') span.setAttribute('rpc.jsonrpc.error_code', e.rpcCode);
      endWithError(span, err);
      throw err;
    },
  );
}

// ---- the signal bus ----

/**
 * A bus's tracing, present only on a bus created with `tracing: true`: the router and the
 * subscribers test for it once (`ctx.tracing !== null`) and otherwise do no context work.
 */
export class BusTracing {
  /** The publisher's context per delivered event; garbage-collected with the event. */
  private readonly parents = new WeakMap<object, Context>();
  /** Span names by topic (bounded: a bus with more topics builds the rest per delivery). */
  private readonly names = new Map<string, string>();

  /**
   * Remembers the context `delivered` (the bus's plain copy of a published event) was published
   * in: the publisher's active span, else a well-formed `traceparent` field of the event (one
   * that crossed a process or a worker), else none (each delivery then starts a trace of its own).
   */
  notePublish(delivered: object): void {
    const active = context.active();
    if (trace.getSpan(active) !== undefined) {
      this.parents.set(delivered, active);
      return;
    }
    // Read from the copy: a getter or proxy of the caller's object is not run a second time.
    const tp = (delivered as { traceparent?: unknown }).traceparent;
    if (tp !== undefined) {
      const remote = contextFromTraceparent(tp, active);
      if (remote !== active) this.parents.set(delivered, remote);
    }
  }

  /**
   * Starts the span of one delivery. Its parent is the context the event was published in,
   * never the router's: dispatch runs in whatever context queued the router's turn.
   */
  startDelivery(event: object, topic: string, subscriber: string, kind: 'inline' | 'worker', actor?: string): Span {
    const parent = this.parents.get(event) ?? ROOT_CONTEXT;
    let name = this.names.get(topic);
    if (name === undefined) {
      name = `deliver ${clip(redactText(topic))}`;
      if (this.names.size < MAX_CACHED_NAMES) this.names.set(topic, name);
    }
    const span = palisadeTracer().startSpan(name, { kind: SpanKind.CONSUMER }, parent);
    // Attributes only for a span that records: a sampled-out delivery allocates none.
    if (span.isRecording()) {
      const attributes: Attributes = {
        'messaging.system': 'palisade',
        'messaging.operation.type': 'process',
        'messaging.destination.name': clip(redactText(topic)),
        'palisade.bus.subscriber': clip(redactText(subscriber)),
        'palisade.bus.subscriber_kind': kind,
      };
      if (actor !== undefined) attributes['palisade.actor.name'] = clip(actor);
      const seq = (event as { sequence?: unknown }).sequence;
      if (typeof seq === 'number') attributes['palisade.bus.sequence'] = seq;
      span.setAttributes(attributes);
    }
    return span;
  }

  /** Calls an inline handler inside its delivery span's context (so what it calls nests under it). */
  run(span: Span, event: object, handler: (event: object) => unknown): unknown {
    const parent = this.parents.get(event) ?? ROOT_CONTEXT;
    return context.with(trace.setSpan(parent, span), handler, undefined, event);
  }

  /**
   * What a worker subscriber hands the runtime: a copy of the event carrying its delivery span
   * in a `traceparent` field, or the event itself when nothing records the span.
   */
  workerMessage(event: object, span: Span): object {
    const tp = traceparentOf(span);
    return tp === null ? event : { ...event, [TRACEPARENT_FIELD]: tp };
  }

  /** Ends a delivery span: ok, or failed with the error's code or name, or a drop reason. */
  endDelivery(span: Span, ok: boolean, error?: unknown): void {
    if (ok) span.end();
    else endWithError(span, error);
  }
}

function endWithError(span: Span, err: unknown): void {
  if (span.isRecording()) {
    // The error's stable code or name only: messages may quote a provider's answer or a URL.
    const type = errorType(err);
    span.setAttribute('error.type', type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  }
  span.end();
}

function errorType(err: unknown): string {
  if (typeof err === 'string') return clip(redactText(err));
  if (err !== null && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return clip(redactText(code));
    const name = (err as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return clip(redactText(name));
  }
  return 'Error';
}

function clip(s: string): string {
  return s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT)}…`;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
