import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { redactDeep, redactText } from './redact.ts';

export type { Logger } from 'pino';
export { redactUrl, redactText, redactDeep, registerSecretUrl } from './redact.ts';

export interface CreateLoggerOptions {
  name?: string;
  level?: LoggerOptions['level'];
  /** Where lines go; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * The one way palisade builds a logger. Components never create their own: they take one by
 * injection (defaulting to `silentLogger`). Every structured field and the message text are
 * passed through URL redaction, so an API key in a provider URL never reaches a log line.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const opts: LoggerOptions = {
    name: options.name ?? 'palisade',
    level: options.level ?? process.env['PALISADE_LOG_LEVEL'] ?? 'info',
    formatters: {
      log: (obj) => redactDeep(obj) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as unknown[];
        // pino makes an error's own message the line's `msg` when no message is given.
        const first = redacted[0];
        if (first instanceof Error && typeof redacted[1] !== 'string') redacted.splice(1, 0, redactText(first.message));
        method.apply(this, redacted as Parameters<typeof method>);
      },
    },
    serializers: {
      err: (e: unknown) => redactDeep(e),
    },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that writes nothing; the default for components built without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
