/**
 * The generic actor host: the entry point of every actor worker. It loads the actor's module
 * (bundled to plain JS by the runtime), runs its optional `init(data)`, then serves envelopes
 * one at a time in sequence order, reporting each outcome to the host thread. It stays light on
 * purpose (no logger, no palisade host code): a warm spare must be cheap to keep and quick to
 * boot. Logging and error reporting go to the host, which owns the logger.
 */
import { parentPort } from 'node:worker_threads';
import * as P from '../src/runtime/protocol.ts';
import type { LoadRequest, FaultKind } from '../src/runtime/protocol.ts';
import type { RemoteErrorInfo } from '../src/runtime/errors.ts';
import { RingReader } from '../src/runtime/ring.ts';

const port = parentPort;
if (!port) throw new Error('actors/host.ts must run in a worker thread');

type Handler = (message: unknown) => unknown;

/** Yield to the event loop after this many synchronous handler calls, so pings, timers and sockets inside the actor keep running under load. */
const YIELD_EVERY = 2048;
/**
 * Going idle with fewer than this many finished messages unreported, the worker acknowledges
 * IDLE_ACK_MS later rather than at once: a trickle (one message per wake-up) then costs one
 * message per millisecond instead of one per message, and the host often accounts for them
 * first by reading the control block (C_SEEN). A larger backlog is acknowledged at once: the
 * host is likely waiting for that credit.
 */
const IDLE_ACK_BATCH = 16;
const IDLE_ACK_MS = 1;

let handler: Handler | null = null;
let ctrl: Int32Array = new Int32Array(P.C_SLOTS);
let busyOut: Float64Array = new Float64Array(1);
/** Asks the host withdrew before they started (see C_CANCEL_BYTE_OFFSET in the protocol). */
let cancel: Int32Array = new Int32Array(P.CANCEL_SLOTS);
/** Time spent with a message in hand (ms), published for the host's window sizing. */
let busyMs = 0;
let incarnation = 0;
let nextSeq = 1;
let busy = false;
/** Highest seq the host has been told about (by a reply, failure or ack). */
let reported = 0;
let done = 0;
let idleAckTimer: ReturnType<typeof setTimeout> | null = null;

// Envelopes that arrived by message, as batches: [firstSeq, metas, payloads, index].
interface Batch {
  first: number;
  metas: number[];
  payloads: unknown[];
  i: number;
}
const batches: Batch[] = [];
let batchHead = 0;
/** Envelopes written by the host into shared memory (null when the actor runs without a ring). */
let ring: RingReader | null = null;
// The envelope found by take().
let tSeq = 0;
let tMeta = 0;
let tPayload: unknown;

/** A module imported ahead of need by a warm spare (H_PRELOAD). */
let preloaded: { url: string; mod: Promise<Record<string, unknown>> } | null = null;
let dyingSent = false;

port.on('message', onMessage);
port.postMessage([P.W_READY]);

/**
 * Tell the host we are going down, so it can recover while this isolate is torn down (a few ms).
 * Runs after the last handler ran, so the control block is final. Not for an actor that handles
 * its own uncaught exceptions (it is not going down).
 */
process.on('uncaughtExceptionMonitor', (err: Error, origin: string) => {
  if (process.listenerCount('uncaughtException') > 0) return;
  const e = errorInfo(err);
  dying(
    'uncaught',
    `${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}: ${e.name}: ${e.message}`,
  );
});
process.on('exit', (code: number) => dying('exit', `worker exited with code ${code}`));
// The 'exit' event comes late in a worker's teardown; announcing from process.exit itself saves milliseconds of recovery.
const realExit = process.exit.bind(process);
process.exit = ((code?: number | string | null) => {
  dying('exit', `worker exited with code ${code ?? 0}`);
  return realExit(code as number | undefined);
}) as typeof process.exit;

function dying(kind: 'uncaught' | 'exit', detail: string): void {
  if (dyingSent || incarnation === 0) return;
  dyingSent = true;
  try {
    port!.postMessage([P.W_DYING, kind, detail]);
  } catch {
    // the port may already be closing; the host falls back to the worker's exit event
  }
}

function onMessage(m: unknown[]): void {
  switch (m[0]) {
    case P.H_DELIVER1:
      batches.push({ first: m[1] as number, metas: [m[2] as number], payloads: [m[3]], i: 0 });
      pump();
      return;
    case P.H_DELIVER:
      batches.push({ first: m[1] as number, metas: m[2] as number[], payloads: m[3] as unknown[], i: 0 });
      pump();
      return;
    case P.H_WAKE:
      pump();
      return;
    case P.H_PING:
      port!.postMessage([P.W_PONG, m[1]]);
      return;
    case P.H_LOAD:
      void load(m[1] as LoadRequest);
      return;
    case P.H_FAULT:
      fault(m[1] as FaultKind);
      return;
    case P.H_PRELOAD: {
      const url = m[1] as string;
      const mod = import(url) as Promise<Record<string, unknown>>;
      preloaded = { url, mod };
      mod.then(
        () => port!.postMessage([P.W_PRELOADED]),
        (err: unknown) => port!.postMessage([P.W_PRELOAD_FAILED, errorInfo(err)]),
      );
      return;
    }
  }
}

async function load(req: LoadRequest): Promise<void> {
  const t0 = performance.now();
  ctrl = new Int32Array(req.ctrl, 0, P.C_SLOTS);
  busyOut = new Float64Array(req.ctrl, P.C_BUSY_BYTE_OFFSET, 1);
  cancel = new Int32Array(req.ctrl, P.C_CANCEL_BYTE_OFFSET, P.CANCEL_SLOTS);
  ring = req.ring ? new RingReader(req.ring, ctrl) : null;
  incarnation = req.incarnation;
  (globalThis as { __palisadeActor?: unknown }).__palisadeActor = { name: req.name, incarnation: req.incarnation };
  let mod: Record<string, unknown>;
  try {
    mod =
      preloaded !== null && preloaded.url === req.url
        ? await preloaded.mod
        : ((await import(req.url)) as Record<string, unknown>);
  } catch (err) {
    const e = err as { code?: string };
    const reason =
      e?.code === 'ERR_MODULE_NOT_FOUND'
        ? 'module-not-found'
        : err instanceof SyntaxError
          ? 'syntax-error'
          : 'module-threw';
    port!.postMessage([P.W_LOAD_FAILED, incarnation, reason, errorInfo(err)]);
    return;
  }
  const h = mod[req.exportName];
  if (typeof h !== 'function') {
    const names = Object.keys(mod).join(', ') || '(none)';
    const detail =
      h === undefined
        ? `export "${req.exportName}" not found; exports: ${names}`
        : `export "${req.exportName}" is a ${typeof h}, not a function`;
    port!.postMessage([P.W_LOAD_FAILED, incarnation, 'missing-export', { name: 'Error', message: detail }]);
    return;
  }
  if (typeof mod['init'] === 'function') {
    try {
      await (mod['init'] as (d: unknown) => unknown)(req.init);
    } catch (err) {
      port!.postMessage([P.W_LOAD_FAILED, incarnation, 'init-failed', errorInfo(err)]);
      return;
    }
  }
  handler = h as Handler;
  port!.postMessage([P.W_LOADED, incarnation, performance.now() - t0]);
  pump();
}

/**
 * Finds the envelope with the next sequence number, from either source: batches that came by
 * message, or the ring. Each source is in order by itself; merging by seq keeps the host's order.
 */
function take(): boolean {
  while (batchHead < batches.length) {
    const b = batches[batchHead]!;
    if (b.i < b.payloads.length) {
      if (b.first + b.i !== nextSeq) break;
      const i = b.i++;
      tSeq = nextSeq;
      tMeta = b.metas[i]!;
      tPayload = b.payloads[i];
      b.payloads[i] = undefined;
      return true;
    }
    batches[batchHead++] = undefined as unknown as Batch;
    if (batchHead === batches.length) {
      batches.length = 0;
      batchHead = 0;
    }
  }
  const r = ring;
  if (r?.peek() && r.seq === nextSeq) {
    tSeq = nextSeq;
    tMeta = r.meta;
    tPayload = r.take();
    return true;
  }
  return false;
}

/**
 * Nothing to do: acknowledge, then tell the host to wake us by message. The ring is checked
 * again after the flag is set, so a record written just before cannot be missed (the host
 * checks the flag after publishing; one of the two sees the other).
 */
function goIdle(): boolean {
  ring?.release();
  const seen = Atomics.load(ctrl, P.C_SEEN);
  if (seen > reported) reported = seen;
  const want = Atomics.load(ctrl, P.C_WANT_ACK);
  if (done - reported >= IDLE_ACK_BATCH || ring === null || (want !== 0 && done >= want)) ackIfBehind();
  else if (done > reported && idleAckTimer === null) idleAckTimer = setTimeout(idleAck, IDLE_ACK_MS);
  if (ring === null) return false;
  if (ring.peek()) {
    // Published since take() looked: go on. Any other seq means the next one is on its way by message (which calls pump()).
    return ring.seq === nextSeq;
  }
  if (batchHead < batches.length) return false;
  Atomics.store(ctrl, P.C_SLEEPING, 1);
  if (ring.isEmpty()) return false;
  Atomics.compareExchange(ctrl, P.C_SLEEPING, 1, 0);
  return true;
}

function pump(): void {
  if (busy || handler === null) return;
  const h = handler;
  let n = 0;
  const t0 = performance.now();
  for (;;) {
    if (!take()) {
      if (goIdle()) continue;
      break;
    }
    const seq = tSeq;
    if (seq !== nextSeq) throw new Error(`palisade actor host: envelope ${seq} taken when ${nextSeq} was expected`);
    nextSeq = seq + 1;
    const isAsk = (tMeta & 1) === 1;
    const payload = tPayload;
    tPayload = undefined;
    // Claim the ask before running it; if the host withdrew it first (timed out, aborted), it never runs.
    if (isAsk && Atomics.exchange(cancel, seq & P.CANCEL_MASK, -seq) === seq) {
      finish(seq);
      continue;
    }
    // Plain store: the host reads it only after this thread is gone.
    ctrl[P.C_CURRENT] = seq;
    let r: unknown;
    try {
      r = h(payload);
    } catch (err) {
      failed(seq, err);
      continue;
    }
    if (r !== null && typeof r === 'object' && typeof readField(r, 'then') === 'function') {
      busy = true;
      const tAsync = performance.now();
      addBusy(tAsync - t0);
      try {
        (r as Promise<unknown>).then(
          (v) => {
            busy = false;
            addBusy(performance.now() - tAsync);
            succeeded(seq, isAsk, v);
            pump();
          },
          (err: unknown) => {
            busy = false;
            addBusy(performance.now() - tAsync);
            failed(seq, err);
            pump();
          },
        );
      } catch (err) {
        // A thenable whose then() throws: that message failed, the worker goes on.
        busy = false;
        failed(seq, err);
        continue;
      }
      return;
    }
    succeeded(seq, isAsk, r);
    if (++n >= YIELD_EVERY) {
      addBusy(performance.now() - t0);
      ring?.release();
      ackIfBehind();
      setImmediate(pump);
      return;
    }
  }
  addBusy(performance.now() - t0);
}

function addBusy(ms: number): void {
  busyMs += ms;
  busyOut[0] = busyMs;
}

function succeeded(seq: number, isAsk: boolean, value: unknown): void {
  if (isAsk) {
    // Every message to the host acknowledges; the ring space of what it acknowledges must be free by then.
    ring?.release();
    try {
      port!.postMessage([P.W_REPLY, seq, value]);
    } catch (err) {
      Atomics.add(ctrl, P.C_FAILS, 1);
      // Cloning may also run the reply's getters, which can throw anything (null included).
      port!.postMessage([
        P.W_FAILED,
        seq,
        {
          name: 'DataCloneError',
          message: `reply cannot be cloned: ${errorInfo(err).message}`,
          code: 'ACTOR_REPLY_NOT_CLONEABLE',
        },
      ]);
    }
    reported = seq;
  }
  finish(seq);
}

function failed(seq: number, err: unknown): void {
  ring?.release();
  // Counted before C_DONE passes this message: a host reading C_DONE then C_FAILS knows a report is on its way.
  Atomics.add(ctrl, P.C_FAILS, 1);
  try {
    port!.postMessage([P.W_FAILED, seq, errorInfo(err)]);
  } catch (postErr) {
    // errorInfo is strings only; should a clone still fail, the message must fail all the same.
    port!.postMessage([
      P.W_FAILED,
      seq,
      {
        name: 'Error',
        message: `the handler failed; its error could not be sent: ${safeString(readField(postErr, 'message'))}`,
      },
    ]);
  }
  reported = seq;
  finish(seq);
}

function finish(seq: number): void {
  done = seq;
  Atomics.store(ctrl, P.C_DONE, seq);
  const want = Atomics.load(ctrl, P.C_WANT_ACK);
  if (want !== 0 && seq >= want && seq > reported) {
    Atomics.store(ctrl, P.C_WANT_ACK, 0);
    ring?.release();
    port!.postMessage([P.W_ACK, seq]);
    reported = seq;
  }
}

function idleAck(): void {
  idleAckTimer = null;
  // What the host has already read from the control block needs no message.
  const seen = Atomics.load(ctrl, P.C_SEEN);
  if (seen > reported) reported = seen;
  ackIfBehind();
}

function ackIfBehind(): void {
  if (done > reported) {
    ring?.release();
    port!.postMessage([P.W_ACK, done]);
    reported = done;
    // This ack answers the host's request too (compare-exchange: the host may be asking anew).
    const want = Atomics.load(ctrl, P.C_WANT_ACK);
    if (want !== 0 && want <= done) Atomics.compareExchange(ctrl, P.C_WANT_ACK, want, 0);
  }
}

/**
 * What the host learns of a thrown value: strings only, so it always clones. A handler may throw
 * anything (a stack that is a number, a message that is a function, getters that throw, an
 * object String() cannot print); reporting it must not throw in turn, or the worker would die
 * of a failure that belongs to one message.
 */
function errorInfo(err: unknown): RemoteErrorInfo {
  let isError = false;
  try {
    isError = err instanceof Error;
  } catch {
    // a Proxy whose getPrototypeOf trap throws: reported as a non-Error
  }
  if (!isError) return { name: 'NonError', message: safeString(err) };
  const name = readField(err, 'name');
  const message = readField(err, 'message');
  const info: RemoteErrorInfo = {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : safeString(message),
  };
  const code = readField(err, 'code');
  if (typeof code === 'string') info.code = code;
  const stack = readField(err, 'stack');
  if (typeof stack === 'string' && stack.length > 0) info.stack = stack.split('\n').slice(0, 12).join('\n');
  return info;
}

function readField(o: unknown, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    try {
      return String(v);
    } catch {
      return `(a ${typeof v} that cannot be printed)`;
    }
  }
}

/** Crash on purpose, in each way a real actor can die (scripts/fault/inject.ts, tests). */
function fault(kind: FaultKind): void {
  switch (kind) {
    case 'uncaught':
      throw new Error('injected fault: uncaught exception');
    case 'async-uncaught':
      setTimeout(() => {
        throw new Error('injected fault: uncaught exception in a timer');
      }, 0);
      return;
    case 'unhandled-rejection':
      void Promise.reject(new Error('injected fault: unhandled rejection'));
      return;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: process.exit never returns
    case 'exit':
      process.exit(7);
    case 'oom': {
      const hog: unknown[] = [];
      for (;;) hog.push(new Array(1 << 16).fill(hog.length));
    }
    case 'hang':
      for (;;) {
        // spin until the host's heartbeat check terminates this worker
      }
    case 'terminate':
      return; // done by the host (worker.terminate())
  }
}
