/**
 * Worker subscriber on trade_signal: validates each critical trade signal and scores its rug
 * risk away from the trading thread, checks the topic's sequence order, and reports every
 * signal it handled on the demo's ack channel so the host can prove no critical signal was lost.
 * The demo crashes this actor on purpose; its mailbox lives on the host and survives.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { actorInfo } from '../context.ts';
import { ackChannelName, validateTradeSignal, type AckMessage, type TradeSignal } from './signals.ts';

let channel: BroadcastChannel | null = null;
const name = actorInfo()?.name ?? 'signal-validator';
let lastSequence = -1;
let handled = 0;

/** Called by the runtime before the first event of every incarnation, with the subscribe option `init`. */
export function init(data: { ackChannel?: string } | undefined): void {
  channel = new BroadcastChannel(data?.ackChannel ?? ackChannelName());
  // The channel must not keep a worker alive that the supervisor wants gone.
  (channel as unknown as { unref?: () => void }).unref?.();
}

type Delivered = TradeSignal & { topic: string; sequence: number };

export default function validate(event: Delivered): { ok: boolean; reason?: string; risk: number } {
  const inOrder = event.sequence > lastSequence;
  if (inOrder) lastSequence = event.sequence;
  const verdict = validateTradeSignal(event, Date.now());
  handled++;
  const ack: AckMessage = {
    subscriber: name,
    topic: event.topic,
    sequence: event.sequence,
    inOrder,
    valid: verdict.ok,
  };
  channel?.postMessage(ack);
  return verdict.ok ? { ok: true, risk: rugRisk(event) } : { ok: false, reason: verdict.reason, risk: 1 };
}

/** A deliberately CPU-bound score (the kind of work that must not run on the trading thread). */
function rugRisk(s: Delivered): number {
  let h = 2166136261;
  const key = `${s.token}:${s.slot}:${s.price}`;
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  }
  return (((h >>> 0) % 1000) / 1000) * (1 - s.confidence);
}

export function stats(): { handled: number; lastSequence: number } {
  return { handled, lastSequence };
}
