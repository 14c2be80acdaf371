/**
 * The stress and soak reports as HTML pages of SVG charts: memory over time, the bus's flow and
 * drops over time, latency percentiles, recoveries. Written next to each JSON report.
 */
import { barChart, htmlReport, lineChart } from '../lib/svg-plot.ts';
import type { LatencySummary } from '../../src/stats/latency.ts';
import type { StressReport, TimelineSample } from './bench.ts';
import type { SoakReport } from './soak.ts';

function percentileBars(rows: readonly { name: string; latency: LatencySummary }[]) {
  return rows.flatMap((r) =>
    (['p50', 'p90', 'p99', 'p999'] as const).map((p) => ({
      label: `${r.name} ${p}`,
      value: r.latency[p],
      note: `${r.latency[p].toFixed(2)} ms`,
    })),
  );
}

/** Per-interval rates from running totals. */
function rates(t: readonly TimelineSample[], key: 'published' | 'delivered' | 'dropped'): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < t.length; i++) {
    const dt = (t[i]!.atMs - t[i - 1]!.atMs) / 1000;
    if (dt > 0) out.push([t[i]!.atMs / 1000, (t[i]![key] - t[i - 1]![key]) / dt]);
  }
  return out;
}

export function stressHtml(r: StressReport): string {
  const t = r.timeline;
  const lat = [
    ...r.concurrentOps.map((o) => ({ name: o.name, latency: o.latency })),
    { name: 'bus inline', latency: r.surge.latency.inline },
    { name: 'bus worker', latency: r.surge.latency.worker },
    { name: 'kill recovery', latency: r.kills.recovery },
  ].filter((x) => x.latency.count > 0);
  const drops = Object.entries(r.surge.droppedByReason).filter(([, n]) => n > 0);
  return htmlReport(`palisade stress — ${r.startedAt}`, [
    {
      heading: 'Memory over time',
      text: `RSS ${r.memory.rssStartMb} → peak ${r.memory.rssPeakMb} → ${r.memory.rssEndMb} MB; heap ${r.memory.heapStartMb} → peak ${r.memory.heapPeakMb} MB.`,
      svg: lineChart({
        title: 'RSS and heap (MB)',
        xLabel: 'seconds since start',
        yLabel: 'MB',
        series: [
          { name: 'rss', points: t.map((s) => [s.atMs / 1000, s.rssMb] as const) },
          { name: 'heap used', points: t.map((s) => [s.atMs / 1000, s.heapMb] as const) },
        ],
      }),
    },
    {
      heading: 'Bus flow and drops over time',
      text: `Surge ×${r.options.surgeFactor}; every drop has a reason: ${drops.map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}.`,
      svg: lineChart({
        title: 'events per second',
        xLabel: 'seconds since start',
        yLabel: 'events/s',
        series: [
          { name: 'published', points: rates(t, 'published') },
          { name: 'delivered', points: rates(t, 'delivered') },
          { name: 'dropped', points: rates(t, 'dropped'), color: '#d62728' },
        ],
      }),
    },
    { heading: 'Latency percentiles', svg: barChart({ title: 'latency (ms)', bars: percentileBars(lat), log: true }) },
    {
      heading: 'Drops by reason',
      svg: drops.length
        ? barChart({ title: 'events dropped', bars: drops.map(([label, value]) => ({ label, value })) })
        : undefined,
      text: drops.length ? undefined : 'No drops.',
    },
  ]);
}

/** A growth the run was too short to measure is said so, not printed as NaN. */
const pct = (x: number): string => (Number.isFinite(x) ? `${x}%` : 'not measured (too few samples after warm-up)');

export function soakHtml(r: SoakReport): string {
  const s = r.memory.series;
  return htmlReport(`palisade soak — ${r.startedAt}`, [
    {
      heading: 'Memory over events',
      text: `${r.events.toLocaleString('en-US')} events at ${Math.round(r.eventsPerSec).toLocaleString('en-US')}/s; RSS floor growth ${pct(r.memory.rssGrowthPercent)}, heap floor growth ${pct(r.memory.heapGrowthPercent)} (goal < ${r.options.goalPercent}%).`,
      svg: lineChart({
        title: 'RSS and heap (MB) against events published',
        xLabel: 'events published (millions)',
        yLabel: 'MB',
        series: [
          { name: 'rss', points: s.map((x) => [x.events / 1e6, x.rssMb] as const) },
          { name: 'heap used', points: s.map((x) => [x.events / 1e6, x.heapMb] as const) },
        ],
      }),
    },
    {
      heading: 'Drops by reason',
      svg: Object.keys(r.droppedByReason).length
        ? barChart({
            title: 'events dropped',
            bars: Object.entries(r.droppedByReason).map(([label, value]) => ({ label, value })),
          })
        : undefined,
      text: Object.keys(r.droppedByReason).length ? undefined : 'No drops.',
    },
  ]);
}
