/**
 * The envelope: one message on its way through an actor (mailbox, then the in-flight window),
 * with what the runtime must remember about it, and the state of the ask waiting on it.
 */
import type { MailboxItem } from './mailbox.ts';

export interface AskState {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** Clock time the ask times out, 0 for none. */
  deadline: number;
  timeoutMs: number;
  t0: number;
  signal: AbortSignal | null;
  onAbort: (() => void) | null;
}

export interface Envelope extends MailboxItem {
  message: unknown;
  /** Sequence number within the current incarnation; 0 while in the mailbox. */
  seq: number;
  /** 1 on first delivery; +1 each time the worker crashed while executing it. */
  attempt: number;
  ask: AskState | null;
  /** An ask whose caller gave up (timeout, abort) after it was handed to the worker; it must never run again. */
  gaveUp: 'ask-timeout' | 'ask-aborted' | null;
  /** Withdrawn in the worker before it started (already dead-lettered); the worker skips it. */
  skipped: boolean;
  /** Longest the worker may spend on it once started before the actor counts as hung; 0: no limit. */
  runLimitMs: number;
}
