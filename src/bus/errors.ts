import { PalisadeError, safeShow } from '../errors.ts';

export type SignalBusErrorCode =
  | 'INVALID_TOPIC'
  | 'INVALID_EVENT'
  | 'INVALID_PRIORITY'
  | 'INVALID_HANDLER'
  | 'EVENT_NOT_CLONEABLE'
  | 'TOO_MANY_SUBSCRIBERS'
  | 'TOO_MANY_TOPICS'
  | 'TOPIC_IN_USE'
  | 'BUS_CLOSED'
  | 'NO_SUPERVISOR';

/** Bad input at the bus's boundary; thrown at the call, before anything is queued. */
export class SignalBusError extends PalisadeError {
  declare readonly code: SignalBusErrorCode;
  constructor(code: SignalBusErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function invalidTopic(topic: unknown): SignalBusError {
  return new SignalBusError(
    'INVALID_TOPIC',
    `topic must be a non-empty string of at most 256 characters, got ${describe(topic)}`,
  );
}

export function invalidEvent(reason: string): SignalBusError {
  return new SignalBusError('INVALID_EVENT', reason);
}

export function invalidPriority(priority: unknown): SignalBusError {
  return new SignalBusError(
    'INVALID_PRIORITY',
    `priority must be 'critical', 'normal' or 'low', got ${describe(priority)}`,
  );
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${safeShow(value)}`;
}
