/**
 * Integers beyond 2^53 − 1 in a node's answer (a total supply in lamports, a large validator's
 * stake, `rentEpoch` = u64::MAX) lose digits in JSON.parse. A call with `integers: 'lossless'`
 * gets those back as bigint, read from the answer's text by kit's own parser (the one its HTTP
 * transport uses); every integer that fits stays a number, so a caller sees the same types as
 * before wherever nothing was at risk. Only answers with a run of 16 or more digits take the
 * slower path, and the parser is loaded on first use (endpoint workers that never need it never
 * load it).
 */

/** 2^53 has 16 digits: a shorter run of digits is always a safe integer. */
const LONG_DIGIT_RUN = /\d{16}/;

export function mayHoldUnsafeInteger(text: string): boolean {
  return LONG_DIGIT_RUN.test(text);
}

let parser: Promise<(json: string) => unknown> | undefined;

export type LosslessRead = { ok: true; result: unknown } | { ok: false; reason: string };

/**
 * The `result` member of a JSON-RPC answer, unsafe integers as bigint, all others as numbers.
 * Never throws: text the reader refuses (an integer of over 1000 digits, a `{"$n": …}` object
 * that is not a number) is a reason, which the endpoint reports as a bad response.
 */
export async function losslessResult(text: string): Promise<LosslessRead> {
  try {
    parser ??= import('@solana/rpc-spec-types').then((m) => m.parseJsonWithBigInts);
    const parse = await parser;
    const msg = parse(text) as { result?: unknown } | null;
    return { ok: true, result: mapBigInts(msg?.result, safeAsNumber) };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const MIN = BigInt(Number.MIN_SAFE_INTEGER);

export function isSafeBigInt(b: bigint): boolean {
  return b <= MAX && b >= MIN;
}

/**
 * A copy of `value` with every bigint in it (in arrays and plain objects, at any depth) replaced
 * by `leaf(b)`; byte arrays are kept as they are. Shared by the lossless reader (safe bigints back
 * to numbers) and the kit transport (kit's bigint params to JSON numbers).
 */
export function mapBigInts(value: unknown, leaf: (b: bigint) => unknown): unknown {
  if (typeof value === 'bigint') return leaf(value);
  if (Array.isArray(value)) return value.map((v) => mapBigInts(v, leaf));
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapBigInts(v, leaf);
    return out;
  }
  return value;
}

const safeAsNumber = (b: bigint): unknown => (isSafeBigInt(b) ? Number(b) : b);
