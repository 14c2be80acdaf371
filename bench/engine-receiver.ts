/**
 * The receiving process of bench/engine.bench.ts: subscribes (palisade bus or a raw JetStream
 * consumer), records publish → handler latency from the `sentAt` wall-clock stamp in each event
 * (both processes read the same system clock), and prints one JSON summary line when it has
 * `count` events or `deadlineMs` passes.
 * argv: <bus|raw> <servers> <subjectPrefix> <stream> <topic> <count> <deadlineMs>
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignalBus } from '../src/bus/index.ts';
import { LatencyHistogram } from '../src/stats/latency.ts';

const [mode, servers, subjectPrefix, stream, topic, countArg, deadlineArg] = process.argv.slice(2) as string[];
const count = Number(countArg);
const hist = new LatencyHistogram();
const wallNow = (): number => performance.timeOrigin + performance.now();
let got = 0;
let finish: () => void;
const done = new Promise<void>((r) => (finish = r));
const note = (sentAt: number): void => {
  hist.record(wallNow() - sentAt);
  if (++got === count) finish();
};

let close: () => Promise<void>;
if (mode === 'bus') {
  const bus = new SignalBus({
    nats: { servers: servers!, name: 'bench-receiver', subjectPrefix, stream, maxAckPending: 10_000 },
  });
  await bus.ready();
  await bus.subscribe(topic!, (e) => note(e.sentAt as number)).ready;
  close = () => bus.close();
} else {
  const nc = await connect({ servers: servers! });
  const jsm = await jetstreamManager(nc);
  const ci = await jsm.consumers.add(stream!, {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: `${subjectPrefix}.${topic}`,
    max_ack_pending: 10_000,
    inactive_threshold: 30e9,
  });
  const c = await jetstream(nc).consumers.get(stream!, ci.name);
  const msgs = await c.consume({
    max_messages: 512,
    expires: 5000,
    callback: (m) => {
      const e = m.json<{ sentAt: number }>();
      m.ack();
      note(e.sentAt);
    },
  });
  close = async () => {
    await msgs.close();
    await nc.close();
  };
}
process.stdout.write('ready\n');
const timer = setTimeout(() => finish(), Number(deadlineArg));
await done;
clearTimeout(timer);
process.stdout.write(`${JSON.stringify({ got, ...hist.summary() })}\n`);
await close();
process.exit(0);
