/**
 * The one message protocol across the host/worker boundary, imported by both sides
 * (src/runtime on the host, actors/host.ts in the worker). Messages are small arrays whose
 * first element is the type: arrays clone faster than objects and keep the hot path lean.
 *
 * Host → worker
 *   [H_LOAD, LoadRequest]                      load the actor module, run init, then serve
 *   [H_DELIVER, firstSeq, metas[], payloads[]] consecutive envelopes, seq = firstSeq + i
 *   [H_DELIVER1, seq, meta, payload]           one envelope (the common low-load case)
 *   [H_WAKE]                                   records are waiting in the ring
 *   [H_PING, n]                                heartbeat; the worker answers [W_PONG, n]
 *   [H_FAULT, kind]                            fault injection (scripts/fault/inject.ts, tests)
 *   [H_PRELOAD, url]                           spare: import the module now, serve a later H_LOAD of it at once
 *
 * Worker → host (every one of them also acknowledges all envelopes before its seq)
 *   [W_READY]                                  the host script is loaded (warm spare ready)
 *   [W_LOADED, incarnation, loadMs]              loadMs: module import + init inside the worker
 *   [W_LOAD_FAILED, incarnation, reason, RemoteErrorInfo]
 *   [W_REPLY, seq, value]                      an ask's handler returned
 *   [W_FAILED, seq, RemoteErrorInfo]           the handler threw or rejected (tell or ask)
 *   [W_ACK, seq]                               everything up to seq is done
 *   [W_PONG, n]
 *   [W_LOG, level, message, fields]            actor-side logging, written by the host logger
 *   [W_DYING, kind, detail]                    the worker is going down (uncaught error or process.exit):
 *                                              its control block is final, recovery can start before teardown
 *   [W_PRELOADED] / [W_PRELOAD_FAILED, info]   answer to H_PRELOAD
 *
 * meta = attempt << 1 | isAsk. The incarnation is carried by the load request and the control
 * block: every incarnation has its own worker, port and control block, so nothing an older
 * incarnation sends can be mistaken for the current one's.
 */
export const H_LOAD = 1;
export const H_DELIVER = 2;
export const H_DELIVER1 = 3;
export const H_WAKE = 4;
export const H_PING = 5;
export const H_FAULT = 6;
export const H_PRELOAD = 7;

export const W_READY = 10;
export const W_LOADED = 11;
export const W_LOAD_FAILED = 12;
export const W_REPLY = 13;
export const W_FAILED = 14;
export const W_ACK = 15;
export const W_PONG = 16;
export const W_LOG = 17;
export const W_DYING = 18;
export const W_PRELOADED = 19;
export const W_PRELOAD_FAILED = 20;

/**
 * Control block: an Int32Array over a SharedArrayBuffer, one per incarnation. The worker
 * publishes what it is doing without sending a message, so after a crash the host knows
 * exactly which message was executing and which were done.
 */
export const C_CURRENT = 0; // seq the handler is executing now (0: none yet)
export const C_DONE = 1; // highest seq whose handler has finished (returned, threw or settled)
export const C_SLEEPING = 2; // 1: the worker found nothing to do and waits for a message
export const C_WANT_ACK = 3; // >0: the host wants an ack once C_DONE reaches this seq
export const C_RING_HEAD = 4; // ring read position (bytes, uint32 wrapping), written by the worker
export const C_RING_TAIL = 5; // ring write position, written by the host
export const C_FAILS = 6; // failure reports (W_FAILED) the worker has posted; bumped before C_DONE moves past the message
export const C_SEEN = 7; // highest seq the host has already accounted for by reading C_DONE (saves the worker an ack)
export const C_SLOTS = 8;
/**
 * After the Int32 slots, one Float64: milliseconds the worker has spent with a message in hand
 * (handler running or awaited). Host divides by messages done to size its in-flight window.
 */
export const C_BUSY_BYTE_OFFSET = C_SLOTS * 4;
/**
 * After the busy time, the cancellation slots (Int32): an ask the caller gave up on while it was
 * already handed to the worker is withdrawn there, so the worker never starts it. Slot
 * `seq & CANCEL_MASK` holds `seq` once the host cancelled that envelope, or `-seq` once the worker
 * claimed it to run; both sides swap atomically, so exactly one of them wins. Envelopes handed
 * over at once never exceed CANCEL_SLOTS (the host's in-flight window is at most that), so a
 * slot is never needed by two of them.
 */
export const CANCEL_SLOTS = 4096;
export const CANCEL_MASK = CANCEL_SLOTS - 1;
export const C_CANCEL_BYTE_OFFSET = C_BUSY_BYTE_OFFSET + 8;
export const CTRL_BYTES = C_CANCEL_BYTE_OFFSET + CANCEL_SLOTS * 4;

export interface LoadRequest {
  url: string;
  exportName: string;
  init: unknown;
  ctrl: SharedArrayBuffer;
  ring: SharedArrayBuffer | null;
  name: string;
  incarnation: number;
}

export type FaultKind = 'uncaught' | 'async-uncaught' | 'unhandled-rejection' | 'exit' | 'terminate' | 'oom' | 'hang';
export const FAULT_KINDS: readonly FaultKind[] = [
  'uncaught',
  'async-uncaught',
  'unhandled-rejection',
  'exit',
  'terminate',
  'oom',
  'hang',
];

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
