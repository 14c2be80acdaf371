/**
 * Worker subscriber for the stress bench and the soak: a little real work per event (a hash of
 * its fields), an in-incarnation sequence-order check, and nothing kept per event, so its memory
 * stays flat however many events pass through.
 */
import { actorLog } from '../context.ts';

let handled = 0;
let lastSequence = -1;
let violations = 0;
let acc = 0;

export default function onEvent(e: { sequence: number; v?: number; token?: string }): void {
  if (e.sequence <= lastSequence) {
    violations++;
    if (violations === 1)
      actorLog('error', 'stress subscriber: event out of sequence order', { sequence: e.sequence, last: lastSequence });
  } else {
    lastSequence = e.sequence;
  }
  handled++;
  let h = (e.v ?? 0) | 0;
  const t = e.token ?? '';
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 16777619);
  acc ^= h;
}

export function stats(): { handled: number; violations: number; acc: number } {
  return { handled, violations, acc };
}
