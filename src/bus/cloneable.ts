import { types } from 'node:util';

/**
 * Finds the first part of `value` that structured clone (postMessage to a worker) would reject,
 * as a path like `event.meta.callback`, or null when it can be sent. A walk over plain data is
 * far cheaper than a trial structuredClone, so publish can check events for worker
 * subscribers up front and refuse a bad one at the call instead of failing later in the router.
 */
export function findUncloneable(value: unknown, path = 'event'): string | null {
  if (typeof value === 'object' && value !== null && isPlainData(value, 0)) return null;
  return walk(value, path, null);
}

/** Nesting the fast check follows before leaving the answer to the full walk (which also handles cycles). */
const PLAIN_DEPTH = 4;

/**
 * The common case on the publish path, answered without building paths or a visited set:
 * plain objects and arrays of primitives, a few levels deep. False means "not sure": the full
 * walk decides (and names the offending part).
 */
function isPlainData(obj: object, depth: number): boolean {
  if (types.isProxy(obj)) return false;
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const v: unknown = obj[i];
      if (typeof v === 'object') {
        if (v !== null && (depth >= PLAIN_DEPTH || !isPlainData(v, depth + 1))) return false;
      } else if (typeof v === 'function' || typeof v === 'symbol') return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  // for-in also sees inherited enumerable keys; any doubt there only sends the event to the full walk.
  for (const key in obj) {
    const v = (obj as Record<string, unknown>)[key];
    if (typeof v === 'object') {
      if (v !== null && (depth >= PLAIN_DEPTH || !isPlainData(v, depth + 1))) return false;
    } else if (typeof v === 'function' || typeof v === 'symbol') return false;
  }
  return true;
}

function walk(value: unknown, path: string, seen: Set<object> | null): string | null {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return null;
    case 'function':
    case 'symbol':
      return `${path} (a ${typeof value})`;
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen === null) seen = new Set();
  if (seen.has(obj)) return null; // cycles are cloneable
  seen.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const bad = walk(obj[i], `${path}[${i}]`, seen);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (types.isPromise(obj) || obj instanceof WeakMap || obj instanceof WeakSet || types.isProxy(obj)) {
    return `${path} (a ${obj.constructor?.name ?? 'non-cloneable object'})`;
  }
  if (
    obj instanceof Date ||
    obj instanceof RegExp ||
    ArrayBuffer.isView(obj) ||
    obj instanceof ArrayBuffer ||
    obj instanceof SharedArrayBuffer ||
    types.isBoxedPrimitive(obj)
  ) {
    return null;
  }
  if (obj instanceof Map) {
    for (const [k, v] of obj) {
      const bad = walk(k, `${path}<key>`, seen) ?? walk(v, `${path}.get(…)`, seen);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (obj instanceof Set) {
    for (const v of obj) {
      const bad = walk(v, `${path}<item>`, seen);
      if (bad !== null) return bad;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null && !(obj instanceof Error)) {
    // A class instance clones as a plain object unless it holds something that cannot be
    // cloned (native handles, functions); a trial clone of just this part is the honest test.
    try {
      structuredClone(obj);
      return null;
    } catch (error) {
      const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `${path} (an instance of ${name}: ${(error as Error).message})`;
    }
  }
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const bad = walk((obj as Record<string, unknown>)[key], `${path}.${key}`, seen);
    if (bad !== null) return bad;
  }
  return null;
}
