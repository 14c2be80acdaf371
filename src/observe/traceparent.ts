/**
 * The W3C Trace Context `traceparent` header, read and written without the OpenTelemetry API, so
 * a worker can read the traceparent its envelope carries (actors/context.ts) without loading
 * @opentelemetry/api into every actor (a cold import costs ~100 ms of a worker's start-up).
 *
 *   00-<32 hex trace id>-<16 hex span id>-<2 hex flags>
 */

export interface TraceparentFields {
  traceId: string;
  spanId: string;
  /** Bit 0: sampled. */
  traceFlags: number;
}

/** Longest traceparent accepted: a future version may append fields, but never a page of them. */
const MAX_LENGTH = 256;
const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const FUTURE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * The fields of a well-formed traceparent, or null for anything else (wrong type, length or
 * grammar, version ff, an all-zero id): a garbage value is ignored, never thrown on.
 */
export function parseTraceparent(value: unknown): TraceparentFields | null {
  if (typeof value !== 'string' || value.length < 55 || value.length > MAX_LENGTH) return null;
  let traceId: string;
  let spanId: string;
  let flags: string;
  const m = VERSION_00.exec(value);
  if (m !== null) {
    traceId = m[1]!;
    spanId = m[2]!;
    flags = m[3]!;
  } else {
    // A later version: same first four fields, possibly more after a dash (the spec's forward rule).
    const f = FUTURE.exec(value);
    if (f === null || f[1] === '00' || f[1] === 'ff') return null;
    traceId = f[2]!;
    spanId = f[3]!;
    flags = f[4]!;
  }
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) };
}

export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
