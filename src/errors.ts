/**
 * Every error palisade raises carries a stable `code` so callers branch on codes, not messages.
 */
export class PalisadeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid configuration or arguments at a public boundary. */
export class ConfigError extends PalisadeError {
  readonly key: string;
  readonly value: unknown;
  /** What the key accepts, e.g. "an integer >= 1". */
  readonly expected: string;
  /** `code` lets a component keep its own stable code (e.g. BREAKER_OPTION_INVALID). */
  constructor(key: string, value: unknown, expected: string, code = 'CONFIG_INVALID') {
    super(code, `invalid configuration ${key}=${safeShow(value)}: expected ${expected}`);
    this.key = key;
    this.value = value;
    this.expected = expected;
  }
}

/**
 * Builds an error without capturing a stack trace. Used for outcomes that are expected and
 * frequent on hot paths (an OPEN breaker rejecting, a full queue): a stack capture costs
 * microseconds, which matters when thousands of calls per second are refused during an outage.
 */
export function withoutStack<T extends Error>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function safeShow(value: unknown): string {
  try {
    // Numbers as JavaScript writes them: JSON would show NaN and Infinity as "null".
    const s =
      typeof value === 'string'
        ? JSON.stringify(value)
        : typeof value === 'number'
          ? String(value)
          : String(JSON.stringify(value) ?? String(value));
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(value);
  }
}
