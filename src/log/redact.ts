/**
 * Provider URLs carry API keys (Helius: `?api-key=…`, Chainstack: a key as a path segment,
 * others: `token=`, basic-auth user info). Anything that may reach a log line, a stats object or
 * an error message goes through these functions first.
 */
const SECRET_PARAM = /^(api[-_]?key|apikey|key|token|access[-_]?token|auth|secret|password|x-api-key)$/i;
const REDACTED = '***';

/** A path segment that looks like a credential rather than a route: long and high-entropy. */
function looksLikeKey(segment: string): boolean {
  if (segment.length < 16) return false;
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return false;
  const hasDigit = /[0-9]/.test(segment);
  const hasAlpha = /[A-Za-z]/.test(segment);
  return hasDigit && hasAlpha;
}

/**
 * Redacts one URL string. A string the URL parser refuses (a missing scheme, a typo in a
 * configured URL) still gets its secret parameters, user info and key-like path segments masked:
 * a bad value is exactly what ends up echoed in an error message.
 */
export function redactUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return redactLoose(input);
  }
  if (url.username) url.username = REDACTED;
  if (url.password) url.password = REDACTED;
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) url.searchParams.set(name, REDACTED);
  }
  url.pathname = url.pathname
    .split('/')
    .map((seg) => (looksLikeKey(seg) ? REDACTED : seg))
    .join('/');
  // URLSearchParams percent-encodes '*'; keep the marker readable.
  return url.toString().replace(/%2A%2A%2A/g, REDACTED);
}

const LOOSE_PARAM = /([?&;])(api[-_]?key|apikey|key|token|access[-_]?token|auth|secret|password|x-api-key)=[^&#\s]*/gi;
const LOOSE_USERINFO = /[^/@\s]+@/;

function redactLoose(input: string): string {
  return input
    .replace(LOOSE_PARAM, `$1$2=${REDACTED}`)
    .replace(LOOSE_USERINFO, `${REDACTED}@`)
    .split('/')
    .map((seg) => {
      const [path = '', ...rest] = seg.split('?');
      return looksLikeKey(path) ? [REDACTED, ...rest].join('?') : seg;
    })
    .join('/');
}

const URL_IN_TEXT = /\b(?:https?|wss?|nats|tls):\/\/[^\s"'<>`]+/gi;

/** Redacts every URL found inside free text (error messages, log messages); NATS server URLs (nats://, tls://) carry credentials too. */
export function redactText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (m) => redactUrl(m));
}

/** Deep-copies plain data, redacting URLs in every string. Errors become plain objects. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: redactText(value.message) };
    if (value.stack) out['stack'] = redactText(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, depth + 1);
  return out;
}
