/**
 * The signal wire format on NATS JetStream, readable and writable by any NATS client:
 *
 *   subject  `${subjectPrefix}.${topic}`
 *   body     the event as UTF-8 JSON (an object; `sequence` and `timestamp` as the bus has them)
 *   headers  Palisade-Priority: critical | normal | low   (absent: normal)
 *            Palisade-Publisher: who published it; ordering and echo suppression key on it
 *            Nats-Msg-Id: `${publisher}:${topic}:${sequence}` (JetStream drops a repeat in its duplicate window)
 *
 * Decoding never throws: a message palisade cannot use comes back as a reason to count.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { headers as makeHeaders } from '@nats-io/transport-node';
import type { Priority } from '../bus/types.ts';
import { safeShow } from '../errors.ts';
import { EngineError } from './errors.ts';

export const PRIORITY_HEADER = 'Palisade-Priority';
export const PUBLISHER_HEADER = 'Palisade-Publisher';
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** Why a message from the engine was not delivered (besides a handler's outcome). */
export const WIRE_REJECTS = ['NOT_JSON', 'NOT_AN_OBJECT', 'TOO_LARGE', 'BAD_HEADER', 'BAD_SEQUENCE'] as const;
export type WireReject = (typeof WIRE_REJECTS)[number];

const TOKEN = /^[^\s.*>]+$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Whether `s` is one or more dot-separated NATS subject tokens without wildcards or spaces. */
export function isSubjectSafe(s: unknown): boolean {
  if (typeof s !== 'string' || s.length === 0 || s.length > 256) return false;
  for (const token of s.split('.')) if (!TOKEN.test(token)) return false;
  return true;
}

export function checkSubjectPart(key: string, value: unknown): string {
  if (!isSubjectSafe(value)) {
    throw new EngineError(
      'INVALID_SUBJECT',
      `${key} ${safeShow(value)} cannot be part of a NATS subject: use dot-separated tokens without spaces, '*' or '>' (at most 256 characters)`,
    );
  }
  return value as string;
}

export function subjectFor(prefix: string, topic: string): string {
  return `${prefix}.${topic}`;
}

export function msgIdFor(publisher: string, topic: string, sequence: number): string {
  return `${publisher}:${topic}:${sequence}`;
}

/**
 * The event's JSON, checked before anything is queued: it must serialise and fit `maxBytes`.
 * Throws EVENT_NOT_SENDABLE otherwise.
 */
export function eventJson(topic: string, event: object, maxBytes: number): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(event);
  } catch (err) {
    throw new EngineError(
      'EVENT_NOT_SENDABLE',
      `an event on ${topic} cannot be sent to the engine: it is not JSON-serialisable (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
  if (json === undefined || json[0] !== '{')
    throw new EngineError(
      'EVENT_NOT_SENDABLE',
      `an event on ${topic} does not serialise to a JSON object (a toJSON method?)`,
    );
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new EngineError(
      'EVENT_NOT_SENDABLE',
      `an event on ${topic} is ${bytes} bytes as JSON, over the ${maxBytes}-byte bound (nats.maxEventBytes, less room for the bus's fields)`,
    );
  }
  return json;
}

export function wireHeaders(priority: Priority, publisher: string, msgId: string): MsgHdrs {
  const h = makeHeaders();
  if (priority !== 'normal') h.set(PRIORITY_HEADER, priority);
  h.set(PUBLISHER_HEADER, publisher);
  h.set(MSG_ID_HEADER, msgId);
  return h;
}

export interface DecodedSignal {
  /** The event as a handler sees it (the body plus `topic`, `sequence`, `timestamp`, `priority`). */
  event: Record<string, unknown> & { topic: string; sequence: number; timestamp: number; priority: Priority };
  priority: Priority;
  /** Palisade-Publisher, or '' for a publisher that sent none. */
  publisher: string;
  /** Whether the body carried its own sequence (otherwise the stream sequence stands in, and there is nothing to order by). */
  sequenced: boolean;
}

/**
 * Turns a message into an event or the reason it cannot be one. `streamSeq` and `storedAt`
 * fill `sequence` and `timestamp` when the body has none.
 */
export function decodeSignal(
  topic: string,
  data: Uint8Array,
  hdrs: MsgHdrs | undefined,
  maxBytes: number,
  streamSeq: number,
  storedAt: number,
): DecodedSignal | WireReject {
  if (data.byteLength > maxBytes) return 'TOO_LARGE';
  let priority: Priority = 'normal';
  let publisher = '';
  if (hdrs !== undefined) {
    const p = hdrs.get(PRIORITY_HEADER);
    if (p !== '') {
      if (p !== 'critical' && p !== 'normal' && p !== 'low') return 'BAD_HEADER';
      priority = p;
    }
    publisher = hdrs.get(PUBLISHER_HEADER);
    if (publisher.length > 256) return 'BAD_HEADER';
  }
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(data));
  } catch {
    return 'NOT_JSON';
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'NOT_AN_OBJECT';
  const b = body as Record<string, unknown>;
  const s = b['sequence'];
  let sequenced = false;
  let sequence = streamSeq;
  if (s !== undefined) {
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) return 'BAD_SEQUENCE';
    sequence = s;
    sequenced = true;
  }
  const ts = b['timestamp'];
  const timestamp = typeof ts === 'number' && Number.isFinite(ts) ? ts : storedAt;
  const event = { ...b, topic, sequence, timestamp, priority };
  return { event, priority, publisher, sequenced };
}
