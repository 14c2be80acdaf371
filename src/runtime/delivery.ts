/**
 * Delivery: how envelopes reach an actor's worker. Into the shared-memory ring (records the
 * worker reads without a message; a sleeping worker gets one wake-up per burst), or by
 * postMessage, batched per tick, when there is no ring or the ring cannot carry the message.
 * Also sizes the in-flight window from the worker's measured service time. The cell decides
 * when to deliver and owns what the envelopes become; this module only moves them.
 */
import type { Worker } from 'node:worker_threads';
import type { Deque } from './deque.ts';
import { MessageNotCloneableError } from './errors.ts';
import type { Envelope } from './envelope.ts';
import type { Mailbox } from './mailbox.ts';
import * as P from './protocol.ts';
import { RingWriter, WRITE_FULL, WRITE_OK } from './ring.ts';

/**
 * Envelopes handed to a worker ahead of completion. Once handed over, an envelope's place is
 * fixed, so the window is what a critical message may have to wait behind. It adapts to the
 * measured service time: about WINDOW_TARGET_MS of work, between 1 and MAX_IN_FLIGHT envelopes
 * (fast handlers get deep pipelining, slow ones strict priority order).
 */
export const MAX_IN_FLIGHT = 4096;
const WINDOW_TARGET_MS = 2;
/** Records waiting for a sleeping worker that make the host wake it at once rather than at the end of the tick. */
const WAKE_BATCH = 256;
/** What send() did with an envelope. */
export const SENT = 0;
export const FULL = 1;
export const REFUSED = 2;

export class Delivery {
  /** Current in-flight limit; starts at 1 until the service time is known. */
  windowLimit = 1;
  /** The current incarnation's ring; null when the actor runs without one (ringBytes 0). */
  ring: RingWriter | null = null;
  /** Sequence number of the last envelope handed to the current incarnation. */
  seq = 0;
  /** Envelopes sent by postMessage although there is a ring (too large for it, or not encodable there); all incarnations. */
  sentOffRing = 0;
  private ringDirty = false;
  private sleepingRecords = 0;
  private wakeScheduled = false;
  private sampleBusy = 0;
  private sampleDone = 0;
  private serviceMs = -1;
  private ctrl: Int32Array = new Int32Array(P.C_SLOTS);
  private busyIn: Float64Array = new Float64Array(1);

  constructor(
    private readonly name: string,
    private readonly mailbox: Mailbox<Envelope>,
    private readonly window: Deque<Envelope>,
    private readonly currentWorker: () => Worker | null,
    /** An envelope that cannot cross to the worker: the cell dead-letters it ('not-cloneable'). */
    private readonly refuse: (env: Envelope, err: Error) => void,
  ) {}

  /** A new incarnation: its control block and ring; sequence numbers start again at 1. */
  reset(ctrl: Int32Array, busyIn: Float64Array, ringSab: SharedArrayBuffer | null): void {
    this.seq = 0;
    this.ctrl = ctrl;
    this.busyIn = busyIn;
    this.sampleBusy = 0;
    this.sampleDone = 0;
    this.ring = ringSab ? new RingWriter(ringSab, ctrl) : null;
    this.ringDirty = false;
    this.sleepingRecords = 0;
  }

  flushRing(w: Worker): void {
    while (this.window.length < this.windowLimit) {
      const env = this.mailbox.shift();
      if (env === undefined) break;
      if (this.send(w, env) === FULL) {
        this.mailbox.requeueFront([env]);
        break;
      }
    }
    this.publish(w);
  }

  /**
   * One envelope to the worker: into the ring; by message when the ring cannot encode it or it
   * would take more than half the ring (after publishing earlier records, so it cannot overtake
   * them: the worker orders by seq). Sending a large message by postMessage rather than
   * refusing it keeps what a caller may send the same with or without a ring (structured clone
   * has no size limit of its own); it costs one clone.
   */
  send(w: Worker, env: Envelope): number {
    const meta = (env.attempt << 1) | (env.ask !== null ? 1 : 0);
    const seq = this.seq + 1;
    let r: number;
    try {
      r = this.ring!.write(seq, meta, env.message);
    } catch (err) {
      // Reading the message threw (a getter, a revoked Proxy); the ring has undone the attempt.
      this.refuse(env, new MessageNotCloneableError(this.name, `reading it threw: ${describeError(err)}`));
      return REFUSED;
    }
    if (r === WRITE_OK) {
      this.ringDirty = true;
      this.seq = seq;
      env.seq = seq;
      this.window.push(env);
      return SENT;
    }
    if (r === WRITE_FULL) return FULL;
    if (this.ringDirty) {
      this.ringDirty = false;
      this.ring!.publish();
    }
    try {
      w.postMessage([P.H_DELIVER1, seq, meta, env.message]);
    } catch (err) {
      this.refuse(env, new MessageNotCloneableError(this.name, (err as Error).message));
      return REFUSED;
    }
    this.sentOffRing++;
    this.seq = seq;
    env.seq = seq;
    this.window.push(env);
    return SENT;
  }

  /**
   * Makes ring records visible and wakes the worker if it sleeps: at once when a batch is
   * waiting, otherwise at the end of this tick, so a burst of tells costs one wake-up message
   * rather than one per tell, and a lone ask still goes out in the same tick.
   */
  publish(w: Worker): void {
    if (!this.ringDirty) return;
    this.ringDirty = false;
    this.ring!.publish();
    if (Atomics.load(this.ctrl, P.C_SLEEPING) !== 1) return;
    if (++this.sleepingRecords >= WAKE_BATCH) this.wake(w);
    else if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      queueMicrotask(this.wakeLater);
    }
  }

  private readonly wakeLater = (): void => {
    this.wakeScheduled = false;
    const w = this.currentWorker();
    if (w !== null && Atomics.load(this.ctrl, P.C_SLEEPING) === 1) this.wake(w);
  };

  private wake(w: Worker): void {
    this.sleepingRecords = 0;
    if (Atomics.compareExchange(this.ctrl, P.C_SLEEPING, 1, 0) === 1) w.postMessage([P.H_WAKE]);
  }

  flushBatch(w: Worker): void {
    let room = this.windowLimit - this.window.length;
    if (room <= 0 || this.mailbox.size === 0) return;
    const first = this.seq + 1;
    if (room === 1 || this.mailbox.size === 1) {
      // One at a time; a message that cannot be cloned is refused and the next one takes its place.
      for (let env = this.mailbox.shift(); env !== undefined; env = this.mailbox.shift()) {
        env.seq = ++this.seq;
        this.window.push(env);
        try {
          w.postMessage([P.H_DELIVER1, env.seq, (env.attempt << 1) | (env.ask ? 1 : 0), env.message]);
          return;
        } catch (err) {
          this.window.pop();
          this.seq--;
          env.seq = 0;
          this.refuse(env, new MessageNotCloneableError(this.name, (err as Error).message));
        }
      }
      return;
    }
    const metas: number[] = [];
    const payloads: unknown[] = [];
    for (; room > 0; room--) {
      const env = this.mailbox.shift();
      if (env === undefined) break;
      env.seq = ++this.seq;
      this.window.push(env);
      metas.push((env.attempt << 1) | (env.ask ? 1 : 0));
      payloads.push(env.message);
    }
    try {
      w.postMessage([P.H_DELIVER, first, metas, payloads]);
    } catch {
      this.resendOneByOne(w, payloads.length);
    }
  }

  /** A batch failed to clone: send its envelopes one at a time so only the bad ones are refused. */
  private resendOneByOne(w: Worker, count: number): void {
    const batch: Envelope[] = [];
    for (let i = 0; i < count; i++) batch.unshift(this.window.pop()!);
    this.seq -= count;
    for (const env of batch) {
      env.seq = ++this.seq;
      try {
        w.postMessage([P.H_DELIVER1, env.seq, (env.attempt << 1) | (env.ask ? 1 : 0), env.message]);
        this.window.push(env);
      } catch (err) {
        this.seq--;
        env.seq = 0;
        this.refuse(env, new MessageNotCloneableError(this.name, (err as Error).message));
      }
    }
  }

  /** Sizes the in-flight window from the worker's busy time per finished message (EWMA). */
  resizeWindow(): void {
    const done = Atomics.load(this.ctrl, P.C_DONE);
    const dn = done - this.sampleDone;
    if (dn <= 0) return;
    const busy = this.busyIn[0]!;
    const per = (busy - this.sampleBusy) / dn;
    this.sampleBusy = busy;
    this.sampleDone = done;
    this.serviceMs = this.serviceMs < 0 ? per : this.serviceMs * 0.7 + per * 0.3;
    const w = this.serviceMs > 0 ? Math.ceil(WINDOW_TARGET_MS / this.serviceMs) : MAX_IN_FLIGHT;
    this.windowLimit = w < 1 ? 1 : Math.min(w, MAX_IN_FLIGHT);
  }
}

export function describeError(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    return 'an error that cannot be described';
  }
}

/** Functions and symbols can never cross a thread boundary: refuse them where the caller can see. */
export function checkCloneableShallow(actor: string, message: unknown): void {
  const t = typeof message;
  if (t === 'function' || t === 'symbol')
    throw new MessageNotCloneableError(actor, `a ${t} cannot be sent to a worker`);
}
