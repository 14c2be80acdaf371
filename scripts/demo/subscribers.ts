/**
 * The demo's subscribers: signal-validator and risk-monitor as supervised worker actors
 * (actors/demo/), the trade executor and a sequence recorder per topic inline on the host thread,
 * and the channel the validator acks on.
 */
import { TOPICS, ackChannelName } from '../../actors/demo/signals.ts';
import { withDeadline } from '../../test/support/wait.ts';
import type { DemoContext, NamedSubscription } from './context.ts';
import { TradeExecutor } from './executor.ts';
import { AckCollector, Recorder } from './recorder.ts';
import type { DemoStack } from './stack.ts';
import type { DemoWallet } from './wallet.ts';
import { CHAIN_TOPIC, chainRecorder, type DemoEdge } from './edge.ts';

export const VALIDATOR = 'signal-validator';
export const RISK = 'risk-monitor';
/** The worker subscribers' heartbeat: short, so a hung risk-monitor is found within the run. */
export const HEARTBEAT_MS = 250;
const VALIDATOR_MODULE = new URL('../../actors/demo/signal-validator.ts', import.meta.url);
const RISK_MODULE = new URL('../../actors/demo/risk-monitor.ts', import.meta.url);

export interface DemoSubscribers {
  recorder: Recorder;
  acks: AckCollector;
  executor: TradeExecutor;
  /** Every subscription of the run, the pool's early ones first. */
  subs: NamedSubscription[];
  /** A subscriber's name from its bus id (the id itself when unknown). */
  nameOf(id: string): string;
}

export async function subscribeAll(
  ctx: DemoContext,
  stack: DemoStack,
  wallet: DemoWallet,
  edge?: DemoEdge,
): Promise<DemoSubscribers> {
  const { o, clock, logger, closer, say, t0 } = ctx;
  const { bus } = stack;
  const recorder = new Recorder();
  const acks = new AckCollector(`${ackChannelName()}:${t0}`);
  closer.add('ack channel', () => acks.close());
  const executor = new TradeExecutor(
    {
      txPerSec: o.txPerSec,
      maxInFlight: o.txInFlight,
      ...(wallet.maxTransfers !== undefined ? { maxTransfers: wallet.maxTransfers } : {}),
    },
    wallet.sender,
    clock,
    logger,
  );
  closer.add('executor', () => executor.drain(0));
  const subs: NamedSubscription[] = [...stack.early];
  const subscribe = (name: string, sub: NamedSubscription['sub']): void => void subs.push({ name, sub });
  say('subscribing: signal-validator and risk-monitor as worker actors; trade-executor and recorders inline ...');
  subscribe(
    VALIDATOR,
    bus.subscribe(
      TOPICS.trade,
      { module: VALIDATOR_MODULE },
      {
        name: VALIDATOR,
        heartbeatMs: HEARTBEAT_MS,
        mailboxSize: 16_384,
        init: { ackChannel: `${ackChannelName()}:${t0}` },
      },
    ),
  );
  subscribe('trade-executor', bus.subscribe(TOPICS.trade, executor.handle));
  subscribe('recorder:trade', bus.subscribe(TOPICS.trade, recorder.handlerFor(TOPICS.trade)));
  subscribe(
    RISK,
    bus.subscribe(TOPICS.price, { module: RISK_MODULE }, { name: RISK, heartbeatMs: HEARTBEAT_MS, mailboxSize: 4096 }),
  );
  subscribe('recorder:price', bus.subscribe(TOPICS.price, recorder.handlerFor(TOPICS.price)));
  subscribe('recorder:slot', bus.subscribe(TOPICS.slot, recorder.handlerFor(TOPICS.slot)));
  subscribe('recorder:metrics', bus.subscribe(TOPICS.metrics, recorder.handlerFor(TOPICS.metrics)));
  if (edge?.source) subscribe('recorder:chain', bus.subscribe(CHAIN_TOPIC, chainRecorder(edge)));
  await withDeadline(Promise.all(subs.map((s) => s.sub.ready)), 60_000, 'worker subscribers start-up');
  const idToName = new Map(subs.map((s) => [s.sub.id, s.name]));
  return { recorder, acks, executor, subs, nameOf: (id) => idToName.get(id) ?? id };
}
