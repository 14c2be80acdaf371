/**
 * A single-producer / single-consumer byte ring in a SharedArrayBuffer, host → worker, with a
 * compact codec for the small plain messages actors mostly get. It is how tells get past the
 * postMessage ceiling (~0.4M/s single, ~1.3M/s batched here): the host encodes straight into
 * shared memory and the worker decodes, with no message and no wake-up while the worker is busy.
 *
 * Positions are uint32 byte counters that wrap; `pos & mask` is the offset. The host publishes
 * TAIL with Atomics.store after writing a record (release), the worker reads TAIL with
 * Atomics.load before reading records (acquire) and publishes HEAD as it consumes.
 *
 * Record: [u32 length (bytes, multiple of 4)][u32 seq][u32 meta][value]; a length of PAD means
 * "skip to the start of the buffer".
 *
 * Values the codec carries: undefined, null, booleans, numbers (int32 or float64, -0 kept),
 * strings, dense arrays and plain objects of those, nested up to MAX_DEPTH. Keys of an object
 * shape are sent once per incarnation (shape id afterwards); the worker builds objects of a
 * shape with a generated literal constructor. A string field equal to the same field of the
 * previous object of that shape (a topic, a priority, a token) is sent as one byte (T_SAME):
 * both sides remember the last string per shape field. Anything else (Map, Date, typed arrays, class
 * instances, cycles, BigInt...) is reported as not encodable and goes by postMessage, where
 * structured clone handles it; order is kept because every envelope has a sequence number.
 * Known difference from structured clone: named (non-index) properties of arrays are dropped.
 */
import { C_RING_HEAD, C_RING_TAIL } from './protocol.ts';

export const PAD = 0xffffffff;
const HEADER = 12;
const MAX_DEPTH = 16;
/** Registered shapes per incarnation; objects beyond it are sent with their keys inline. */
const MAX_SHAPES = 4096;
const MAX_SHAPE_KEYS = 64;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT = 4;
const T_FLOAT = 5;
const T_STR8 = 6; // latin-1, one byte per char
const T_STR16 = 7; // UTF-16 code units, 2-byte aligned
const T_ARRAY = 8;
const T_SHAPE_DEF = 9; // u16 id, u8 n, n keys (strings), then values
const T_SHAPE = 10; // u16 id, then values
const T_DYN_OBJECT = 11; // u32 n, then n × (key string, value)
const T_SAME = 12; // in a shape field: the string this field had in the previous object of the shape

export const WRITE_OK = 1;
export const WRITE_FULL = 0;
export const WRITE_UNSUPPORTED = -1;
/**
 * The record would take more than half the ring. Such a record may never fit: positions only
 * move forward, and at an unlucky offset neither the space before the end nor the space after
 * wrapping is large enough. Anything up to half always fits once the ring drains, so the line
 * is drawn there; the caller sends the value by postMessage instead.
 */
export const WRITE_TOO_LARGE = -2;
const NO_SPACE = -1;
const UNSUPPORTED = -2;

export function ringCapacity(bytes: number): number {
  let cap = 1024;
  while (cap < bytes) cap *= 2;
  return cap;
}

export class RingWriter {
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private readonly cap: number;
  private readonly mask: number;
  private tail = 0;
  private headSeen = 0;
  private lim = 0;
  private readonly shapeIds = new Map<string, number>();
  private readonly shapeKeys: string[][] = [];
  /** 0: unknown to the worker, 1: defined in the record being written, 2: known. */
  private readonly shapeState: number[] = [];
  private readonly tentative: number[] = [];
  private lastShape = -1;
  private readonly shapeEncoders: ShapeEncoder[] = [];
  /** Per shape, the last string sent in each field (undefined: none the worker is sure to have). */
  private readonly lastStrings: (string | undefined)[][] = [];
  /** (cache, field) pairs set while encoding the current record; forgotten if the record is not written. */
  private readonly remembered: unknown[] = [];

  constructor(
    sab: SharedArrayBuffer,
    private readonly ctrl: Int32Array,
  ) {
    this.u8 = new Uint8Array(sab);
    this.dv = new DataView(sab);
    this.cap = sab.byteLength;
    this.mask = this.cap - 1;
  }

  /** Bytes the worker has not consumed yet. */
  get used(): number {
    this.headSeen = Atomics.load(this.ctrl, C_RING_HEAD) >>> 0;
    return (this.tail - this.headSeen) >>> 0;
  }

  /**
   * Encodes one envelope. WRITE_OK: written (visible after publish()); WRITE_FULL: no room now;
   * WRITE_UNSUPPORTED / WRITE_TOO_LARGE: the value must go by postMessage. A throw while reading
   * the value (a getter, a revoked Proxy) is passed on after undoing what the record would have
   * taught the reader, so the next records are encoded as if it had never been tried.
   */
  write(seq: number, meta: number, value: unknown): number {
    const r = this.writeOnce(seq, meta, value);
    if (r !== WRITE_FULL) return r;
    // The cached consumer position may be stale: look again before calling the ring full.
    const head = Atomics.load(this.ctrl, C_RING_HEAD) >>> 0;
    if (head === this.headSeen) return WRITE_FULL;
    this.headSeen = head;
    return this.writeOnce(seq, meta, value);
  }

  private writeOnce(seq: number, meta: number, value: unknown): number {
    const free = this.cap - ((this.tail - this.headSeen) >>> 0);
    if (free < HEADER + 16) return WRITE_FULL;
    let off = this.tail & this.mask;
    const toEnd = this.cap - off;
    const half = this.cap >>> 1;
    const room = Math.min(toEnd, free);
    let r = this.tryAt(off, room, seq, meta, value);
    if (r === NO_SPACE && room >= half) return WRITE_TOO_LARGE;
    if (r === NO_SPACE && toEnd < free) {
      // Does not fit before the end: pad, then try again from the start of the buffer.
      const freeAfterPad = free - toEnd;
      if (freeAfterPad < HEADER + 16) return WRITE_FULL;
      r = this.tryAt(0, freeAfterPad, seq, meta, value);
      if (r === NO_SPACE && freeAfterPad >= half) return WRITE_TOO_LARGE;
      if (r >= 0) {
        this.dv.setUint32(off, PAD, true);
        this.tail = (this.tail + toEnd) >>> 0;
        off = 0;
      }
    }
    if (r === UNSUPPORTED) return WRITE_UNSUPPORTED;
    if (r === NO_SPACE) return WRITE_FULL;
    const len = (r - off + 3) & ~3;
    this.dv.setUint32(off, len, true);
    this.tail = (this.tail + len) >>> 0;
    return WRITE_OK;
  }

  /** Makes written records visible to the worker. */
  publish(): void {
    Atomics.store(this.ctrl, C_RING_TAIL, this.tail | 0);
  }

  private tryAt(off: number, room: number, seq: number, meta: number, value: unknown): number {
    // No record may take more than half the ring (see WRITE_TOO_LARGE).
    this.lim = off + Math.min(room, this.cap >>> 1);
    if (off + HEADER > this.lim) return NO_SPACE;
    this.dv.setUint32(off + 4, seq, true);
    this.dv.setUint32(off + 8, meta, true);
    let end = UNSUPPORTED;
    try {
      end = this.enc(value, off + HEADER, 0);
    } finally {
      this.settle(end);
    }
    return end;
  }

  /** Commits what the record taught the reader (shapes, repeated strings) if it was written, else forgets it. */
  private settle(end: number): void {
    const t = this.tentative;
    if (t.length !== 0) {
      const state = end < 0 ? 0 : 2;
      for (let i = 0; i < t.length; i++) this.shapeState[t[i]!] = state;
      t.length = 0;
    }
    const r = this.remembered;
    if (r.length !== 0) {
      if (end < 0)
        for (let i = 0; i < r.length; i += 2) (r[i] as (string | undefined)[])[r[i + 1] as number] = undefined;
      r.length = 0;
    }
  }

  private enc(v: unknown, p: number, depth: number): number {
    const dv = this.dv;
    switch (typeof v) {
      case 'number':
        if ((v | 0) === v && !(v === 0 && 1 / v < 0)) {
          if (p + 5 > this.lim) return NO_SPACE;
          dv.setUint8(p, T_INT);
          dv.setInt32(p + 1, v, true);
          return p + 5;
        }
        if (p + 9 > this.lim) return NO_SPACE;
        dv.setUint8(p, T_FLOAT);
        dv.setFloat64(p + 1, v, true);
        return p + 9;
      case 'string':
        return this.encStr(v, p);
      case 'boolean':
        if (p + 1 > this.lim) return NO_SPACE;
        dv.setUint8(p, v ? T_TRUE : T_FALSE);
        return p + 1;
      case 'undefined':
        if (p + 1 > this.lim) return NO_SPACE;
        dv.setUint8(p, T_UNDEFINED);
        return p + 1;
      case 'object': {
        if (v === null) {
          if (p + 1 > this.lim) return NO_SPACE;
          dv.setUint8(p, T_NULL);
          return p + 1;
        }
        if (depth >= MAX_DEPTH) return UNSUPPORTED;
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto === Array.prototype) return this.encArray(v as unknown[], p, depth);
        if (proto === Object.prototype || proto === null) return this.encObject(v as Record<string, unknown>, p, depth);
        return UNSUPPORTED;
      }
      default:
        return UNSUPPORTED;
    }
  }

  private encStr(s: string, p: number): number {
    const n = s.length;
    if (p + 5 + n > this.lim) return NO_SPACE;
    const u8 = this.u8;
    const start = p + 5;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 255) return this.encStr16(s, p);
      u8[start + i] = c;
    }
    this.dv.setUint8(p, T_STR8);
    this.dv.setUint32(p + 1, n, true);
    return start + n;
  }

  private encStr16(s: string, p: number): number {
    const n = s.length;
    const start = (p + 5 + 1) & ~1;
    if (start + 2 * n > this.lim) return NO_SPACE;
    const dv = this.dv;
    dv.setUint8(p, T_STR16);
    dv.setUint32(p + 1, n, true);
    for (let i = 0; i < n; i++) dv.setUint16(start + 2 * i, s.charCodeAt(i), true);
    return start + 2 * n;
  }

  private encArray(a: unknown[], p: number, depth: number): number {
    const n = a.length;
    if (p + 5 > this.lim) return NO_SPACE;
    this.dv.setUint8(p, T_ARRAY);
    this.dv.setUint32(p + 1, n, true);
    p += 5;
    for (let i = 0; i < n; i++) {
      const x = a[i];
      if (x === undefined && !(i in a)) return UNSUPPORTED; // holes: structured clone keeps them
      p = this.enc(x, p, depth + 1);
      if (p < 0) return p;
    }
    return p;
  }

  private encObject(o: Record<string, unknown>, p: number, depth: number): number {
    const id = this.shapeOf(o);
    if (id === UNSUPPORTED) return UNSUPPORTED;
    if (id < 0) return this.encDynObject(o, p, depth);
    const keys = this.shapeKeys[id]!;
    const dv = this.dv;
    if (this.shapeState[id] === 2 || this.shapeState[id] === 1) {
      if (p + 3 > this.lim) return NO_SPACE;
      dv.setUint8(p, T_SHAPE);
      dv.setUint16(p + 1, id, true);
      p += 3;
    } else {
      if (p + 4 > this.lim) return NO_SPACE;
      dv.setUint8(p, T_SHAPE_DEF);
      dv.setUint16(p + 1, id, true);
      dv.setUint8(p + 3, keys.length);
      p += 4;
      for (const k of keys) {
        p = this.encStr(k, p);
        if (p < 0) return p;
      }
      this.shapeState[id] = 1;
      this.tentative.push(id);
    }
    return this.shapeEncoders[id]!(this, o, p, depth + 1, this.lastStrings[id]!);
  }

  /** Called by generated shape encoders. */
  encValue(v: unknown, p: number, depth: number): number {
    return this.enc(v, p, depth);
  }

  /** Called by generated shape encoders: a string field, sent as T_SAME when it repeats. */
  encField(v: string, p: number, last: (string | undefined)[], field: number): number {
    if (v === last[field]) {
      if (p + 1 > this.lim) return NO_SPACE;
      this.u8[p] = T_SAME;
      return p + 1;
    }
    const end = this.encStr(v, p);
    if (end >= 0) {
      last[field] = v;
      this.remembered.push(last, field);
    }
    return end;
  }

  private encDynObject(o: Record<string, unknown>, p: number, depth: number): number {
    const keys = Object.keys(o);
    if (p + 5 > this.lim) return NO_SPACE;
    this.dv.setUint8(p, T_DYN_OBJECT);
    this.dv.setUint32(p + 1, keys.length, true);
    p += 5;
    for (const k of keys) {
      if (k === '__proto__') return UNSUPPORTED;
      p = this.encStr(k, p);
      if (p < 0) return p;
      p = this.enc(o[k], p, depth + 1);
      if (p < 0) return p;
    }
    return p;
  }

  /** Shape id of a plain object; -1 when it should be sent with inline keys; UNSUPPORTED for `__proto__` keys. */
  private shapeOf(o: Record<string, unknown>): number {
    const last = this.lastShape;
    if (last >= 0) {
      const ks = this.shapeKeys[last]!;
      let i = 0;
      let same = true;
      for (const k in o) {
        if (i >= ks.length || ks[i] !== k) {
          same = false;
          break;
        }
        i++;
      }
      if (same && i === ks.length) return last;
    }
    const keys: string[] = [];
    for (const k in o) {
      if (k === '__proto__') return UNSUPPORTED;
      keys.push(k);
      if (keys.length > MAX_SHAPE_KEYS) return -1;
    }
    const sig = keys.join('\u0000');
    let id = this.shapeIds.get(sig);
    if (id === undefined) {
      if (this.shapeKeys.length >= MAX_SHAPES) return -1;
      id = this.shapeKeys.length;
      this.shapeIds.set(sig, id);
      this.shapeKeys.push(keys);
      this.shapeState.push(0);
      this.shapeEncoders.push(shapeEncoder(keys));
      this.lastStrings.push(new Array<string | undefined>(keys.length).fill(undefined));
    }
    this.lastShape = id;
    return id;
  }
}

export class RingReader {
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private readonly sab: SharedArrayBuffer;
  private readonly mask: number;
  private head = 0;
  private tailSeen = 0;
  private unpublished = 0;
  private p = 0;
  private readonly factories: ShapeFactory[] = [];
  private readonly shapeKeys: string[][] = [];
  private readonly lastStrings: (string | undefined)[][] = [];
  /** Seq and meta of the record read by the last successful peek(). */
  seq = 0;
  meta = 0;

  constructor(
    sab: SharedArrayBuffer,
    private readonly ctrl: Int32Array,
  ) {
    this.sab = sab;
    this.u8 = new Uint8Array(sab);
    this.dv = new DataView(sab);
    this.mask = sab.byteLength - 1;
  }

  /** True when a record is waiting; sets `seq` and `meta`. */
  peek(): boolean {
    if (this.head === this.tailSeen) {
      this.tailSeen = Atomics.load(this.ctrl, C_RING_TAIL) >>> 0;
      if (this.head === this.tailSeen) return false;
    }
    let off = this.head & this.mask;
    if (this.dv.getUint32(off, true) === PAD) {
      this.head = (this.head + (this.mask + 1 - off)) >>> 0;
      this.unpublished++;
      if (this.head === this.tailSeen) {
        this.tailSeen = Atomics.load(this.ctrl, C_RING_TAIL) >>> 0;
        if (this.head === this.tailSeen) return false;
      }
      off = 0;
    }
    this.seq = this.dv.getUint32(off + 4, true);
    this.meta = this.dv.getUint32(off + 8, true);
    return true;
  }

  /** Decodes the record found by peek() and consumes it. */
  take(): unknown {
    const off = this.head & this.mask;
    const len = this.dv.getUint32(off, true);
    this.p = off + HEADER;
    const v = this.val();
    this.head = (this.head + len) >>> 0;
    if (++this.unpublished >= 32) this.release();
    return v;
  }

  /** Publishes the consumed position so the host can reuse the space. */
  release(): void {
    if (this.unpublished === 0) return;
    this.unpublished = 0;
    Atomics.store(this.ctrl, C_RING_HEAD, this.head | 0);
  }

  /** True when nothing is waiting (re-reads TAIL). */
  isEmpty(): boolean {
    if (this.head !== this.tailSeen) return false;
    this.tailSeen = Atomics.load(this.ctrl, C_RING_TAIL) >>> 0;
    return this.head === this.tailSeen;
  }

  private val(): unknown {
    const dv = this.dv;
    const p = this.p;
    switch (dv.getUint8(p)) {
      case T_INT:
        this.p = p + 5;
        return dv.getInt32(p + 1, true);
      case T_FLOAT:
        this.p = p + 9;
        return dv.getFloat64(p + 1, true);
      case T_STR8:
        return this.str8();
      case T_SHAPE: {
        const id = dv.getUint16(p + 1, true);
        this.p = p + 3;
        return this.factories[id]!(this, this.lastStrings[id]!);
      }
      case T_SHAPE_DEF: {
        const id = dv.getUint16(p + 1, true);
        const n = dv.getUint8(p + 3);
        this.p = p + 4;
        const keys: string[] = [];
        for (let i = 0; i < n; i++) keys.push(this.val() as string);
        this.shapeKeys[id] = keys;
        this.factories[id] = shapeFactory(keys);
        this.lastStrings[id] = new Array<string | undefined>(n).fill(undefined);
        return this.factories[id]!(this, this.lastStrings[id]!);
      }
      case T_TRUE:
        this.p = p + 1;
        return true;
      case T_FALSE:
        this.p = p + 1;
        return false;
      case T_NULL:
        this.p = p + 1;
        return null;
      case T_UNDEFINED:
        this.p = p + 1;
        return undefined;
      case T_STR16: {
        const n = dv.getUint32(p + 1, true);
        const start = (p + 6) & ~1;
        this.p = start + 2 * n;
        let s = '';
        for (let i = 0; i < n; i += 4096)
          s += String.fromCharCode.apply(
            null,
            Array.from(new Uint16Array(this.sab, start + 2 * i, Math.min(4096, n - i))),
          );
        return s;
      }
      case T_ARRAY: {
        const n = dv.getUint32(p + 1, true);
        this.p = p + 5;
        const a = new Array<unknown>(n);
        for (let i = 0; i < n; i++) a[i] = this.val();
        return a;
      }
      case T_DYN_OBJECT: {
        const n = dv.getUint32(p + 1, true);
        this.p = p + 5;
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.val() as string;
          o[k] = this.val();
        }
        return o;
      }
      default:
        throw new Error(`palisade ring: bad tag ${dv.getUint8(p)} at ${p}`);
    }
  }

  /** Called by generated shape factories: one field value (T_SAME: the field's last string). */
  field(last: (string | undefined)[], i: number): unknown {
    const p = this.p;
    if (this.u8[p] === T_SAME) {
      this.p = p + 1;
      return last[i];
    }
    const v = this.val();
    if (typeof v === 'string') last[i] = v;
    return v;
  }

  private str8(): string {
    const p = this.p;
    const n = this.dv.getUint32(p + 1, true);
    const start = p + 5;
    this.p = start + n;
    const u8 = this.u8;
    if (n <= 16) {
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(u8[start + i]!);
      return s;
    }
    let s = '';
    for (let i = 0; i < n; i += 4096)
      s += String.fromCharCode.apply(
        null,
        u8.subarray(start + i, start + Math.min(n, i + 4096)) as unknown as number[],
      );
    return s;
  }
}

type ShapeEncoder = (
  w: RingWriter,
  o: Record<string, unknown>,
  p: number,
  depth: number,
  last: (string | undefined)[],
) => number;
type ShapeFactory = (r: RingReader, last: (string | undefined)[]) => unknown;

/** Encodes the values of one shape with named property loads (monomorphic, unlike o[keys[i]]). */
function shapeEncoder(keys: string[]): ShapeEncoder {
  const body = keys
    .map(
      (k, i) =>
        `v = o[${JSON.stringify(k)}]; p = typeof v === 'string' ? w.encField(v, p, last, ${i}) : w.encValue(v, p, d); if (p < 0) return p;`,
    )
    .join('\n');
  return new Function('w', 'o', 'p', 'd', 'last', `let v;\n${body}\nreturn p;`) as ShapeEncoder;
}

/** A constructor that builds objects of one shape as a literal, so they all share one hidden class. */
function shapeFactory(keys: string[]): ShapeFactory {
  const body = `return {${keys.map((k, i) => `${JSON.stringify(k)}: r.field(last, ${i})`).join(', ')}};`;
  return new Function('r', 'last', body) as ShapeFactory;
}
