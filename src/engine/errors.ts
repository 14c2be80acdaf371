import { PalisadeError } from '../errors.ts';

export type EngineErrorCode =
  /** The first connection to the engine failed (later outages are reconnected, not thrown). */
  | 'ENGINE_UNREACHABLE'
  /** The server is older than palisade needs, or than a feature needs (the message names both versions). */
  | 'ENGINE_TOO_OLD'
  /** The server runs without JetStream (`nats-server -js`). */
  | 'ENGINE_NO_JETSTREAM'
  /** The engine connection or the bus using it is closed. */
  | 'ENGINE_CLOSED'
  /** A stream or consumer exists with settings palisade cannot use. */
  | 'ENGINE_SETUP_FAILED'
  /** Something the engine link does not carry (e.g. worker subscribers). */
  | 'ENGINE_UNSUPPORTED'
  /** A topic that cannot be part of a NATS subject (spaces, `*`, `>`, empty tokens). */
  | 'INVALID_SUBJECT'
  /** An event that cannot go on the wire: not JSON-serialisable, or larger than the bound. */
  | 'EVENT_NOT_SENDABLE';

/** A failure at palisade's boundary with the NATS JetStream engine. */
export class EngineError extends PalisadeError {
  declare readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
