import { types } from 'node:util';

/**
 * Finds the first part of `value` that structured clone (postMessage to a worker) would reject,
 * as a path like `event.meta.callback`, or null when it can be sent. A walk over plain data is
 * far cheaper than a trial structuredClone, so publish can check events for worker
 * subscribers up front and refuse a bad one at the call instead of failing later in the router.
 */
export function findUncloneable(value: unknown, path = 'event'): string | null {
  try {
    if (typeof value === 'object' && value !== null && isPlainData(value, 0)) return null;
    return walk(value, path, null, 0);
  } catch (err) {
    // A getter or Proxy trap that throws: structured clone would throw the same way.
    let why: string;
    try {
      why = err instanceof Error ? err.message : String(err);
    } catch {
      why = 'an unprintable error';
    }
    return `${path} (reading it threw: ${why})`;
  }
}

/**
 * Nesting refused up front. Structured clone recurses too and throws a RangeError somewhere
 * past a few thousand levels (less in a worker's smaller stack); no trading signal is nested
 * anywhere near this deep.
 */
export const MAX_CLONE_DEPTH = 500;

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

function walk(value: unknown, path: string, seen: Set<object> | null, depth: number): string | null {
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
  if (depth >= MAX_CLONE_DEPTH)
    return `${path.length > 200 ? `${path.slice(0, 200)}…` : path} (nested deeper than ${MAX_CLONE_DEPTH} levels)`;
  const obj = value as object;
  if (seen === null) seen = new Set();
  if (seen.has(obj)) return null; // cycles are cloneable
  seen.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const bad = walk(obj[i], `${path}[${i}]`, seen, depth + 1);
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
      const bad = walk(k, `${path}<key>`, seen, depth + 1) ?? walk(v, `${path}.get(…)`, seen, depth + 1);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (obj instanceof Set) {
    for (const v of obj) {
      const bad = walk(v, `${path}<item>`, seen, depth + 1);
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
    if (!Object.hasOwn(obj, key)) continue;
    const bad = walk((obj as Record<string, unknown>)[key], `${path}.${key}`, seen, depth + 1);
    if (bad !== null) return bad;
  }
  return null;
}
