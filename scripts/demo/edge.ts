/**
 * The demo's Solana edge: transfers land through the landing path (blockhash cache, the send
 * class with its own breakers and rate limits, the same bytes re-broadcast until landed or
 * provably expired), and a chain source actor — a resilient logs subscription on the wallet —
 * publishes the wallet's own transfers into the bus beside the generator.
 */
import { BlockhashCache } from '../../src/solana/blockhash-cache.ts';
import { ChainSource } from '../../src/solana/chain-source.ts';
import { TransactionLander } from '../../src/solana/land.ts';
import { SendEndpoints } from '../../src/solana/send-endpoints.ts';
import { withDeadline } from '../../test/support/wait.ts';
import type { DemoContext } from './context.ts';
import type { DemoReport } from './report.ts';
import type { DemoStack } from './stack.ts';
import type { DemoWallet } from './wallet.ts';

export const CHAIN_SOURCE = 'chain-source';
export const CHAIN_TOPIC = 'chain_logs';

export interface DemoEdge {
  landing: { lander: TransactionLander; blockhashes: BlockhashCache };
  sends: SendEndpoints;
  source: ChainSource | null;
  /** What the inline recorder on CHAIN_TOPIC saw. */
  chainEvents: { received: number; outOfSequence: number; last: number };
}

/** The landing path over the stack's pool; closed with the run. */
export function openLanding(ctx: DemoContext, stack: DemoStack): DemoEdge {
  const { clock, logger, closer } = ctx;
  const sends = new SendEndpoints({ endpoints: stack.endpoints, clock, logger });
  closer.add('send endpoints', () => sends.close());
  const blockhashes = new BlockhashCache(stack.rpc, { clock, logger });
  closer.add('blockhash cache', () => blockhashes.close());
  const lander = new TransactionLander(stack.rpc, sends, { clock, logger });
  closer.add('transaction lander', () => lander.close());
  return {
    landing: { lander, blockhashes },
    sends,
    source: null,
    chainEvents: { received: 0, outOfSequence: 0, last: 0 },
  };
}

/** The chain source on the wallet's address (none without a wallet); subscribe to CHAIN_TOPIC, then start it. */
export function prepareChainSource(ctx: DemoContext, stack: DemoStack, edge: DemoEdge, wallet: DemoWallet): void {
  if (!wallet.sender) return;
  edge.source = new ChainSource(stack.supervisor, stack.bus, {
    name: CHAIN_SOURCE,
    topic: CHAIN_TOPIC,
    kind: 'logs',
    address: wallet.sender.payer.publicKey.toBase58(),
    endpoints: stack.endpoints,
    watchdogMs: 1000,
    clock: ctx.clock,
    logger: ctx.logger,
  });
}

/** The inline handler that checks the source's sequence as the bus delivers it. */
export function chainRecorder(edge: DemoEdge): (e: { sequence: number }) => void {
  const c = edge.chainEvents;
  return (e) => {
    c.received++;
    if (e.sequence !== c.last + 1) c.outOfSequence++;
    c.last = e.sequence;
  };
}

export async function startChainSource(ctx: DemoContext, edge: DemoEdge): Promise<void> {
  const src = edge.source;
  if (!src) return;
  ctx.closer.add('chain source', () => src.stop());
  await withDeadline(src.start(), 60_000, 'the chain source actor start-up');
  ctx.say(`chain source: a resilient logs subscription on the wallet in a supervised actor → topic ${CHAIN_TOPIC}`);
}

/** The source's refusals by the bus, for the report's accounting (the bus counts them too). */
export function chainRefusals(edge: DemoEdge): Record<string, number> {
  return edge.source ? { [CHAIN_TOPIC]: edge.source.getStats().refusedByBus } : {};
}

export function edgeReport(edge: DemoEdge): NonNullable<DemoReport['edge']> {
  const l = edge.landing.lander.getStats();
  const source = edge.source?.getStats();
  const sub = source?.subscription as
    | {
        failovers?: Record<string, number>;
        resubscriptions?: number;
        backfilled?: { logs?: number };
        duplicatesDropped?: number;
      }
    | undefined;
  return {
    landing: {
      results: l.results,
      broadcasts: l.broadcasts,
      timeToLand: { p50: l.timeToLandMs.p50, p99: l.timeToLandMs.p99, count: l.timeToLandMs.count },
      sends: edge.sends
        .getStats()
        .map((e) => ({ name: e.name, state: e.state, accepted: e.accepted, failures: e.failures, skipped: e.skipped })),
      blockhashRefreshFailures: edge.landing.blockhashes.getStats().refreshFailures,
    },
    chainSource: source
      ? {
          published: source.published,
          received: edge.chainEvents.received,
          outOfSequence: edge.chainEvents.outOfSequence,
          sequenceBreaks: source.sequenceBreaks,
          resumes: source.resumes,
          failovers: Object.values(sub?.failovers ?? {}).reduce((a, b) => a + b, 0),
          resubscriptions: sub?.resubscriptions ?? 0,
          backfilled: sub?.backfilled?.logs ?? 0,
          duplicatesDropped: sub?.duplicatesDropped ?? 0,
        }
      : null,
  };
}
