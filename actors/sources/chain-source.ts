/**
 * A chain source actor: a resilient logs subscription on one address (or the slot stream) in its
 * own worker, numbering what it sees. The host drains it with the cursor of what it has published;
 * events up to the cursor are dropped here, the rest returned in order. Module state is the
 * actor's state: after a crash a fresh incarnation starts its subscription from the cursor of the
 * first drain it gets, backfilling the gap, so the host's sequence continues without a hole or a
 * repeat.
 */
import { actorInfo, actorLog } from '../context.ts';
import type { Logger } from '../../src/log/index.ts';
import { RpcConnectionPool } from '../../src/rpc/pool.ts';
import { ResilientSubscriptions } from '../../src/solana/subscriptions.ts';
import type {
  DrainReply,
  DrainRequest,
  SourceCursor,
  SourceEvent,
  SourceInit,
} from '../../src/solana/source-protocol.ts';

let config: SourceInit | undefined;
let pool: RpcConnectionPool | undefined;
let subs: ResilientSubscriptions | undefined;
const pending: SourceEvent[] = [];
/** Events held for a host that stopped draining; past it the oldest go (a sequence gap the host counts). */
const MAX_PENDING = 100_000;
let droppedUndrained = 0;
let nextSeq = 1;
/** The newest slot numbered (the slot stream only moves forward). */
let lastSlot = -1;

export function init(data: SourceInit): void {
  config = data;
}

function start(cursor: SourceCursor): void {
  const cfg = config!;
  nextSeq = cursor.seq + 1;
  lastSlot = cursor.slot;
  pool = new RpcConnectionPool({ endpoints: cfg.endpoints, attemptTimeoutMs: 500, requestTimeoutMs: 2000 });
  subs = new ResilientSubscriptions(pool, {
    watchdogMs: cfg.watchdogMs,
    // The subscription code logs through these four methods only; they go to the host's logger.
    logger: {
      debug: () => undefined,
      info: (o: Record<string, unknown>, m: string) => actorLog('info', m, o),
      warn: (o: Record<string, unknown>, m: string) => actorLog('warn', m, o),
      error: (o: Record<string, unknown>, m: string) => actorLog('error', m, o),
    } as unknown as Logger,
  });
  if (cfg.kind === 'slot') {
    subs.slot((e) => {
      if (e.slot <= lastSlot) return;
      lastSlot = e.slot;
      hold({ seq: nextSeq++, slot: e.slot, parent: e.parent, root: e.root });
    });
  } else {
    const resumeFrom = cursor.seq > 0 ? { slot: cursor.slot, signatures: cursor.signatures } : undefined;
    subs.logs(
      cfg.address!,
      (e) => {
        hold({
          seq: nextSeq++,
          slot: e.slot,
          signature: e.signature,
          err: e.err,
          logs: e.logs,
          backfilled: e.backfilled,
        });
        if (e.slot > lastSlot) lastSlot = e.slot;
      },
      { commitment: cfg.commitment, ...(resumeFrom ? { resumeFrom } : {}) },
    );
  }
  actorLog('info', 'chain source started', {
    kind: cfg.kind,
    resumeAfterSeq: cursor.seq,
    slot: cursor.slot,
    incarnation: actorInfo()?.incarnation,
  });
}

function hold(e: SourceEvent): void {
  pending.push(e);
  if (pending.length > MAX_PENDING) {
    pending.shift();
    if (++droppedUndrained === 1)
      actorLog('error', 'chain source: the host stopped draining; dropping the oldest events', { max: MAX_PENDING });
  }
}

export default function handle(msg: DrainRequest): DrainReply {
  if (!config) throw new Error('chain source: init was not called');
  if (msg === null || typeof msg !== 'object' || msg.op !== 'drain')
    throw new Error('chain source: expected { op: "drain", cursor, max }');
  if (!subs) start(msg.cursor);
  // Published already: drop. (After a lost reply the host's cursor is behind: the events are sent again.)
  while (pending.length > 0 && pending[0]!.seq <= msg.cursor.seq) pending.shift();
  const events = pending.slice(0, Math.max(1, msg.max));
  return {
    incarnation: actorInfo()?.incarnation ?? 0,
    events,
    backlog: pending.length - events.length,
    subscription: { ...(subs!.getStats() as unknown as Record<string, unknown>), droppedUndrained },
  };
}
