/**
 * Reads a topic's durable signal log back into an in-process bus, for audit and backtests.
 *
 *   const bus = new SignalBus();
 *   bus.subscribe('trade_signal', (e) => backtest(e));
 *   const r = await replaySignals({ nats: { servers }, topic: 'trade_signal', from: new Date('2026-12-03T09:00Z'), into: bus });
 *
 * It reads what the stream holds from `from` (a stream sequence or a time) up to what was there
 * when the replay started, with a temporary consumer that acknowledges nothing and leaves no
 * trace. Each event is published into `into` with the bus's own next sequence (publishers'
 * sequences overlap and would be refused as stale); where it came from is kept in `replayed`.
 * `expiresAt` moves into `replayed` as well, so old signals are not all dropped as expired.
 */
import { AckPolicy, DeliverPolicy, type ConsumerInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { SignalBus } from '../bus/signal-bus.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log/index.ts';
import { integer } from '../validate.ts';
import { connectEngine, errMessage, type EngineConnection } from './connect.ts';
import { EngineError } from './errors.ts';
import { WIRE_REJECTS, checkSubjectPart, decodeSignal, type WireReject } from './wire.ts';

export interface ReplayOptions {
  nats: {
    servers: string | readonly string[];
    /** Connection name on the engine. Default 'palisade-replay'. */
    name?: string;
    subjectPrefix?: string;
    stream?: string;
    maxEventBytes?: number;
  };
  topic: string;
  /** A stream sequence (>= 1) or a time: the first stored signal at or after it is the first replayed. */
  from: number | Date;
  /** An in-process bus (one with `nats` would send the replay back to the engine). */
  into: SignalBus;
  /** Stop after this many events. Default: all. */
  limit?: number;
  logger?: Logger;
}

export interface ReplayResult {
  /** Events published into the bus. */
  replayed: number;
  /** Stream sequences of the first and last event read (null when none). */
  firstStreamSequence: number | null;
  lastStreamSequence: number | null;
  /** Stored messages that were not signals palisade can read, by reason. */
  skipped: Record<WireReject, number>;
  /** Events the bus refused (counted in its stats with the reason). */
  refused: number;
}

export interface ReplayedFrom {
  streamSequence: number;
  /** The sequence the publisher gave it (or the stream sequence when it had none). */
  sequence: number;
  publisher: string;
  storedAt: number;
  expiresAt?: number;
}

export async function replaySignals(options: ReplayOptions): Promise<ReplayResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('replay options', options, 'an object');
  const { nats, topic, from, into } = options;
  if (nats === null || typeof nats !== 'object') throw new ConfigError('nats', nats, 'an object with servers');
  checkSubjectPart('topic', topic);
  const prefix = nats.subjectPrefix ?? 'palisade.signal';
  checkSubjectPart('nats.subjectPrefix', prefix);
  const stream = nats.stream ?? 'PALISADE_SIGNALS';
  const maxBytes = integer('nats.maxEventBytes', nats.maxEventBytes ?? 65_536, 64);
  const limit = options.limit === undefined ? Infinity : integer('limit', options.limit, 1);
  let start: { deliver_policy: DeliverPolicy; opt_start_seq?: number; opt_start_time?: string };
  if (typeof from === 'number')
    start = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: integer('from', from, 1) };
  else if (from instanceof Date && Number.isFinite(from.getTime()))
    start = { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.toISOString() };
  else throw new ConfigError('from', from, 'a stream sequence (integer >= 1) or a valid Date');
  if (into === null || typeof into !== 'object' || typeof (into as { publish?: unknown }).publish !== 'function')
    throw new ConfigError('into', into, 'a SignalBus');
  if (into.getStats().engine !== undefined)
    throw new ConfigError(
      'into',
      'a bus with nats',
      'an in-process bus (a bus with nats would publish the replay back to the engine)',
    );
  if (into.getStats().closed) throw new EngineError('ENGINE_CLOSED', 'the bus to replay into is closed');

  const conn = await connectEngine({
    servers: nats.servers,
    name: nats.name ?? 'palisade-replay',
    logger: options.logger,
  });
  try {
    return await replayWith(conn, { stream, subject: `${prefix}.${topic}`, topic, start, into, limit, maxBytes });
  } finally {
    await conn.close();
  }
}

async function replayWith(
  conn: EngineConnection,
  r: {
    stream: string;
    subject: string;
    topic: string;
    start: object;
    into: SignalBus;
    limit: number;
    maxBytes: number;
  },
): Promise<ReplayResult> {
  let info: ConsumerInfo;
  try {
    info = await conn.jsm.consumers.add(r.stream, {
      ...r.start,
      ack_policy: AckPolicy.None,
      filter_subject: r.subject,
      inactive_threshold: nanos(30_000),
      mem_storage: true,
    });
  } catch (err) {
    throw new EngineError(
      'ENGINE_SETUP_FAILED',
      `cannot read stream ${r.stream} for ${r.subject}: ${errMessage(err)}`,
      { cause: err },
    );
  }
  const skipped = Object.fromEntries(WIRE_REJECTS.map((k) => [k, 0])) as Record<WireReject, number>;
  const result: ReplayResult = {
    replayed: 0,
    firstStreamSequence: null,
    lastStreamSequence: null,
    skipped,
    refused: 0,
  };
  // What the stream held for this topic when the replay began; later signals are live traffic, not the log.
  const total = Math.min(info.num_pending, r.limit);
  let read = 0;
  try {
    const consumer = await conn.js.consumers.get(r.stream, info.name);
    while (read < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(256, total - read), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        read++;
        result.firstStreamSequence ??= m.seq;
        result.lastStreamSequence = m.seq;
        const d = decodeSignal(r.topic, m.data, m.headers, r.maxBytes, m.seq, m.info.timestampNanos / 1e6);
        if (typeof d === 'string') {
          skipped[d]++;
          continue;
        }
        const { sequence, expiresAt, ...rest } = d.event;
        const replayed: ReplayedFrom = {
          streamSequence: m.seq,
          sequence,
          publisher: d.publisher,
          storedAt: m.info.timestampNanos / 1e6,
        };
        if (typeof expiresAt === 'number') replayed.expiresAt = expiresAt;
        // In chunks, each after the previous one is handled: a backtest's slow handler sets the pace instead of losing events.
        if (result.replayed % CHUNK === 0) await untilHandled(r.into, r.topic);
        if (r.into.publish(r.topic, { ...rest, replayed }, d.priority)) result.replayed++;
        else if (r.into.getStats().closed)
          throw new EngineError('ENGINE_CLOSED', 'the bus being replayed into was closed');
        else result.refused++;
        if (read >= total) break;
      }
      if (got === 0)
        throw new EngineError(
          'ENGINE_SETUP_FAILED',
          `replay of ${r.subject} stalled after ${read} of ${total} stored signals`,
        );
    }
  } finally {
    await conn.jsm.consumers.delete(r.stream, info.name).catch(() => {});
  }
  return result;
}

const CHUNK = 64;

/** Waits until the topic's queue and its subscribers' mailboxes are empty. */
async function untilHandled(bus: SignalBus, topic: string): Promise<void> {
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const st = bus.getStats();
    if (st.closed) return;
    let backlog = st.topics.find((t) => t.topic === topic)?.depth ?? 0;
    for (const s of st.subscribers) if (s.topic === topic) backlog += s.mailboxDepth;
    if (backlog === 0) return;
  }
}
