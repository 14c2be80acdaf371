/**
 * The stress bench's parts (surge publisher, concurrent runner, bus accounting) and a small real
 * run of the bench and of the soak, so `npm run stress` / `npm run soak` cannot rot unnoticed.
 * Asserts counts and invariants only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../src/log/index.ts';
import type { SignalBusStats } from '../src/bus/index.ts';
import { accountSubscribers } from './support/bus-accounting.ts';
import { seededRandom } from '../src/random.ts';
import { concurrent } from '../scripts/stress/concurrent.ts';
import { runSurge } from '../scripts/stress/surge.ts';
import { runStress } from '../scripts/stress/bench.ts';
import { runSoak } from '../scripts/stress/soak.ts';
import { soakHtml, stressHtml } from '../scripts/stress/plots.ts';
import { table } from './support/table.ts';

describe('stress parts', () => {
  it('accountSubscribers: owed = accepted − drops after acceptance; unaccounted shows any gap', () => {
    const stats = {
      topics: [{ topic: 't', published: 100, dropped: 7, refused: 5 }],
      subscribers: [
        {
          id: 'a',
          topic: 't',
          kind: 'worker',
          delivered: 90,
          failed: 1,
          dropped: 5,
          mailboxDepth: 2,
          state: 'running',
          restarts: 1,
          quarantines: 0,
        },
        {
          id: 'b',
          topic: 't',
          kind: 'inline',
          delivered: 97,
          failed: 0,
          dropped: 0,
          mailboxDepth: 0,
          state: 'running',
          restarts: 0,
          quarantines: 0,
        },
      ],
    } as unknown as SignalBusStats;
    // 5 of the topic's 7 drops were refusals at publish (the publisher saw them): 2 happened after acceptance.
    const acc = accountSubscribers(stats, { t: 5 }, (id) => `sub-${id}`);
    assert.deepEqual(
      acc.map((a) => [a.name, a.owed, a.unaccounted]),
      [
        ['sub-a', 98, 0],
        ['sub-b', 98, 1],
      ],
    );
  });

  it('concurrent: starts every operation at once and counts failures by code', async () => {
    const r = await concurrent('x', 50, (i) =>
      i % 10 === 0
        ? Promise.reject(Object.assign(new Error('no'), { code: 'NOPE' }))
        : new Promise((res) => setTimeout(res, 5)),
    );
    assert.equal(r.ops, 50);
    assert.equal(r.ok, 45);
    assert.deepEqual(r.failed, { NOPE: 5 });
    assert.equal(r.maxConcurrent, 50);
    assert.equal(r.latency.count, 50);
  });

  it('runSurge: publishes by share and phase, counts refusals, and calls onTick with the phase', async () => {
    const seen = { orders: 0, ticks: 0 };
    const phases = new Set<string>();
    const r = await runSurge({
      bus: {
        publish: (topic) => {
          seen[topic as 'orders' | 'ticks']++;
          return topic === 'orders' || seen.ticks % 2 === 0;
        },
      },
      topics: [
        { topic: 'orders', priority: 'critical', share: 0.1 },
        { topic: 'ticks', priority: 'normal', share: 0.9 },
      ],
      baseRate: 1000,
      factor: 10,
      baseMs: 200,
      surgeMs: 200,
      coolMs: 200,
      random: seededRandom(1),
      onTick: (p) => void phases.add(p),
    });
    const o = r.byTopic['orders']!;
    const t = r.byTopic['ticks']!;
    assert.equal(o.attempted, seen.orders);
    assert.equal(o.refused, 0);
    assert.equal(t.attempted, t.accepted + t.refused);
    assert.ok(t.refused > 0);
    assert.deepEqual([...phases].sort(), ['base', 'cool', 'surge']);
    assert.ok(
      r.phases.surge.published > 5 * r.phases.base.published,
      `surge ${r.phases.surge.published} vs base ${r.phases.base.published}`,
    );
    assert.equal(r.errors, 0);
  });

  it('table: pads columns and right-aligns numbers', () => {
    const t = table(
      ['name', 'n'],
      [
        ['a', 1000],
        ['bb', 2],
      ],
    ).split('\n');
    assert.deepEqual(t, ['name      n', '----  -----', 'a     1,000', 'bb        2']);
  });
});

describe('stress bench and soak, small real runs', () => {
  it('runStress: concurrent pool calls and asks succeed, the surge with kills loses no critical signal and accounts for every event', {
    timeout: 120_000,
  }, async () => {
    const lines: string[] = [];
    const r = await runStress({
      workers: 4,
      ops: 200,
      askActors: 2,
      baseRate: 200,
      surgeFactor: 20,
      baseMs: 300,
      surgeMs: 800,
      coolMs: 400,
      killEveryMs: 200,
      seed: 5,
      drainMs: 30_000,
      logger: silentLogger,
      write: (l) => lines.push(l),
    });
    // 400 operations are too few for the bench's "1000+" check, which must say so; the rest must pass.
    assert.deepEqual(
      r.checks.filter((c) => !c.ok).map((c) => c.name),
      ['1000+ concurrent operations all succeed'],
      JSON.stringify(r.checks, null, 1),
    );
    assert.equal(r.ok, false);
    assert.equal(r.concurrentOps.length, 2);
    assert.ok(r.concurrentOps.every((o) => o.ok === 200));
    assert.ok(r.kills.injected >= 1, 'workers were killed during the run');
    assert.equal(r.kills.recovered, r.kills.injected);
    assert.ok(r.surge.byPriority.critical.accepted > 0);
    assert.ok(r.subscribers.every((s) => s.unaccounted === 0));
    assert.equal(r.runtime.liveWorkers > 0, true);
    assert.ok(lines.some((l) => l.startsWith('surge')));
    // The report's plots: memory over time, flow and drops over time, latency percentiles.
    assert.ok(r.timeline.length >= 4, 'sampled every 250 ms through the run');
    assert.ok(r.timeline.at(-1)!.published >= r.surge.byPriority.critical.accepted);
    const html = stressHtml(r);
    for (const heading of [
      'Memory over time',
      'Bus flow and drops over time',
      'Latency percentiles',
      'Drops by reason',
    ])
      assert.ok(html.includes(heading), heading);
    assert.equal((html.match(/<svg /g) ?? []).length >= 3, true);
    assert.ok(!/NaN|Infinity/.test(html), 'no NaN or Infinity in the charts');
  });

  it('runSoak: every event accounted for; the growth check refuses to judge a run too short to have a baseline', {
    timeout: 120_000,
  }, async () => {
    const r = await runSoak({
      events: 100_000,
      maxMs: 60_000,
      warmupShare: 0.2,
      goalPercent: 5,
      logger: silentLogger,
      write: () => {},
    });
    assert.equal(r.events, 100_000);
    assert.equal(r.stoppedBy, 'events');
    assert.ok(r.subscribers.every((s) => s.unaccounted === 0));
    assert.ok(r.subscribers.length === 5);
    const byName = Object.fromEntries(r.checks.map((c) => [c.name, c]));
    assert.equal(byName['every event accounted for']?.ok, true);
    assert.equal(byName['all events published']?.ok, true);
    const growth = r.checks.find((c) => c.name.startsWith('RSS growth'))!;
    if (r.durationMs < 12_000)
      assert.equal(growth.ok, false, 'a run of a few seconds has too few samples to judge growth');
    assert.ok(r.memory.series.length >= 2);
    const html = soakHtml(r);
    assert.ok(html.includes('Memory over events') && html.includes('<svg '));
    assert.ok(!/NaN|Infinity/.test(html));
  });
});
