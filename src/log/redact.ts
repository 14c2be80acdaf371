/**
 * Provider URLs carry API keys (Helius: `?api-key=…`, Chainstack: a key as a path segment,
 * others: `api_token=`, `access_key=`, `jwt=`, basic-auth user info). Anything that may reach a
 * log line, a stats object or an error message goes through these functions first.
 *
 * Two layers:
 * - By shape, in any URL found in text (also JSON-escaped, `https:\/\/…`): user info, values of
 *   query parameters whose name says secret (`key`, `token`, `secret`, `auth`, `jwt`, …) or whose
 *   value looks like a key, and key-like path segments.
 * - By value: the secret parts of every configured URL are registered (`registerSecretUrl`, done
 *   by the RPC pool) and masked wherever they appear in any text, raw, percent-encoded or
 *   JSON-escaped; a provider's 404 page echoing the path (`Cannot POST /<key>/`) or an error
 *   quoting the key alone is caught this way.
 */
const REDACTED = '***';
/** A query parameter whose name contains one of these carries a credential. */
const SECRET_NAME = /key|token|secret|passw|auth|jwt|sig|credential|session|bearer/i;
/** Registered secrets shorter than this are masked inside URLs only: a short value would garble ordinary text. */
const MIN_REGISTERED_LENGTH = 8;

/** A value that looks like a credential rather than a route or a flag: long, with letters and digits. */
function looksLikeKey(value: string): boolean {
  if (value.length < 16) return false;
  if (!/^[A-Za-z0-9_.~+=-]+$/.test(value)) return false;
  return /[0-9]/.test(value) && /[A-Za-z]/.test(value);
}

// ---- registered secrets (by value) ----

const registered = new Map<string, number>();
let registeredPattern: RegExp | undefined;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The forms a secret takes in text: raw, percent-encoded, percent-decoded, JSON-escaped. */
function formsOf(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  try {
    forms.add(decodeURIComponent(secret));
  } catch {
    // not percent-encoded
  }
  return [...forms].filter((f) => f.length >= MIN_REGISTERED_LENGTH);
}

/** The parts of a URL that are credentials: user info, secret-named or key-like query values, key-like path segments. */
export function secretPartsOf(input: string): string[] {
  const parts: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(input);
  } catch {
    try {
      url = new URL(`http://${input}`);
    } catch {
      return parts;
    }
  }
  if (url.username) parts.push(url.username);
  if (url.password) parts.push(url.password);
  for (const [name, value] of url.searchParams) {
    if (value && (SECRET_NAME.test(name) || looksLikeKey(value))) parts.push(value);
  }
  for (const seg of url.pathname.split('/')) {
    const decoded = safeDecode(seg);
    if (looksLikeKey(decoded)) parts.push(decoded);
  }
  // A JWT's pieces are credentials on their own (a truncated echo may show only some).
  for (const p of [...parts])
    if (p.includes('.')) for (const piece of p.split('.')) if (piece.length >= 12) parts.push(piece);
  return parts;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function rebuildPattern(): void {
  const all = [...registered.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  registeredPattern = all.length > 0 ? new RegExp(all.join('|'), 'g') : undefined;
}

/**
 * Masks the secret parts of `url` in every text redacted from now on, until the returned release
 * function is called (as often as registered: each registration counts).
 */
export function registerSecretUrl(url: string): () => void {
  const forms = secretPartsOf(url).flatMap(formsOf);
  for (const f of forms) registered.set(f, (registered.get(f) ?? 0) + 1);
  if (forms.length > 0) rebuildPattern();
  let released = false;
  return () => {
    if (released || forms.length === 0) return;
    released = true;
    for (const f of forms) {
      const n = (registered.get(f) ?? 1) - 1;
      if (n <= 0) registered.delete(f);
      else registered.set(f, n);
    }
    rebuildPattern();
  };
}

function maskRegistered(text: string): string {
  if (!registeredPattern) return text;
  registeredPattern.lastIndex = 0;
  return text.replace(registeredPattern, REDACTED);
}

// ---- by shape ----

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
    return maskRegistered(redactLoose(input));
  }
  if (url.username) url.username = REDACTED;
  if (url.password) url.password = REDACTED;
  for (const [name, value] of [...url.searchParams]) {
    if (SECRET_NAME.test(name) || looksLikeKey(value)) url.searchParams.set(name, REDACTED);
  }
  url.pathname = url.pathname
    .split('/')
    .map((seg) => (looksLikeKey(safeDecode(seg)) ? REDACTED : seg))
    .join('/');
  // URLSearchParams percent-encodes '*'; keep the marker readable.
  return maskRegistered(url.toString().replace(/%2A%2A%2A/g, REDACTED));
}

/** `?name=value` / `&name=value` with a secret-looking name, anywhere (also `\u0026`-escaped). */
const LOOSE_PARAM =
  /(^|\s|[?&;]|\\u0026)([\w.-]*(?:key|token|secret|passw|auth|jwt|sig|credential|session|bearer)[\w.-]*)=[^&#\s"'\\<>]*/gi;
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

const URL_IN_TEXT = /\b(?:https?|wss?|nats|tls):\/\/[^\s"'<>`\\]+/gi;
/** A URL inside JSON text with its slashes escaped: `https:\/\/host\/path?api-key=…`. */
const ESCAPED_URL_IN_TEXT = /\b(?:https?|wss?|nats|tls):\\\/\\\/[^\s"'<>`]+/gi;

/** Redacts every secret found inside free text (error messages, log messages, provider bodies); NATS server URLs (nats://, tls://) carry credentials too. */
export function redactText(text: string): string {
  let out = maskRegistered(text);
  if (out.includes(':\\/\\/'))
    out = out.replace(ESCAPED_URL_IN_TEXT, (m) => redactUrl(m.replaceAll('\\/', '/')).replaceAll('/', '\\/'));
  if (out.includes('://')) out = out.replace(URL_IN_TEXT, (m) => redactUrl(m));
  if (out.includes('=')) out = out.replace(LOOSE_PARAM, `$1$2=${REDACTED}`);
  return out;
}

/** Nesting deeper than this is replaced by a marker rather than copied unredacted. */
const MAX_DEPTH = 8;
const TOO_DEEP = '[redacted: nested too deep]';

/** Deep-copies plain data, redacting secrets in every string. Errors become plain objects. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return TOO_DEEP;
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
