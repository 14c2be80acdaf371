/**
 * Small self-contained SVG charts for the reports (stress, soak, bench): no library, no script,
 * so a chart opens anywhere a browser or a Markdown viewer does.
 */

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const FONT = 'font-family="ui-monospace, Menlo, Consolas, monospace" font-size="11"';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function niceNumber(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e6) return `${+(x / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(x / 1e3).toFixed(0)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return `${+x.toFixed(1)}`;
  return `${+x.toPrecision(2)}`;
}

export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  width?: number;
  height?: number;
}

/** Lines over a shared x axis (e.g. seconds), y from 0 to the largest value. */
export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 260;
  const m = { l: 56, r: 12, t: 28, b: 40 };
  const all = o.series.flatMap((s) => s.points);
  const xMin = all.length ? Math.min(...all.map((p) => p[0])) : 0;
  const xMax = all.length ? Math.max(...all.map((p) => p[0])) : 1;
  const yMax = Math.max(1e-9, ...all.map((p) => p[1]));
  const sx = (x: number) => m.l + ((x - xMin) / Math.max(1e-9, xMax - xMin)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${m.l}" y="16" font-size="13" font-weight="bold">${escapeXml(o.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 4}" y="${sy(y) + 4}" text-anchor="end" fill="#555">${niceNumber(y)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const x = xMin + ((xMax - xMin) * i) / 5;
    parts.push(`<text x="${sx(x)}" y="${H - m.b + 14}" text-anchor="middle" fill="#555">${niceNumber(x)}</text>`);
  }
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle" fill="#333">${escapeXml(o.xLabel)}</text>`,
  );
  parts.push(
    `<text x="12" y="${(m.t + H - m.b) / 2}" transform="rotate(-90 12 ${(m.t + H - m.b) / 2})" text-anchor="middle" fill="#333">${escapeXml(o.yLabel)}</text>`,
  );
  o.series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length]!;
    if (s.points.length > 0) {
      const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    }
    const lx = W - m.r - 170;
    const ly = m.t + 4 + i * 14;
    parts.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${color}"/>`);
    parts.push(`<text x="${lx + 14}" y="${ly - 4}" fill="#333">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface Bar {
  label: string;
  value: number;
  /** Text after the bar (default: the value with `unit`). */
  note?: string;
  highlight?: boolean;
}

export interface BarChartOptions {
  title: string;
  bars: readonly Bar[];
  unit?: string;
  /** Log scale for values spanning orders of magnitude (latency percentiles, ns vs µs). */
  log?: boolean;
  width?: number;
}

/** Horizontal bars, one per row, labelled. */
export function barChart(o: BarChartOptions): string {
  const W = o.width ?? 720;
  const rowH = 20;
  const labelW = Math.min(320, 8 + 6.6 * Math.max(4, ...o.bars.map((b) => b.label.length)));
  const noteW = 230;
  const H = 30 + o.bars.length * rowH + 8;
  const positive = o.bars.map((b) => b.value).filter((v) => v > 0);
  const max = Math.max(1e-12, ...positive);
  const min = Math.min(max, ...positive);
  const scale = (v: number): number => {
    if (!(v > 0)) return 0;
    if (!o.log) return v / max;
    const lo = Math.log10(min) - 0.3;
    return (Math.log10(v) - lo) / Math.max(1e-9, Math.log10(max) - lo);
  };
  const barW = W - labelW - noteW - 16;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(
    `<text x="8" y="16" font-size="13" font-weight="bold">${escapeXml(o.title)}${o.log ? ' (log scale)' : ''}</text>`,
  );
  o.bars.forEach((b, i) => {
    const y = 28 + i * rowH;
    const w = Math.max(1, scale(b.value) * barW);
    parts.push(`<text x="${labelW}" y="${y + 13}" text-anchor="end" fill="#333">${escapeXml(b.label)}</text>`);
    parts.push(
      `<rect x="${labelW + 6}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${b.highlight ? '#d62728' : '#1f77b4'}"/>`,
    );
    const note = b.note ?? `${niceNumber(b.value)}${o.unit ?? ''}`;
    parts.push(`<text x="${labelW + 10 + w}" y="${y + 13}" fill="#333">${escapeXml(note)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** An HTML page holding the charts with headings and a short text, for reports. */
export function htmlReport(
  title: string,
  sections: readonly { heading: string; svg?: string; text?: string }[],
): string {
  const body = sections
    .map(
      (s) =>
        `<section><h2>${escapeXml(s.heading)}</h2>${s.text ? `<p>${escapeXml(s.text)}</p>` : ''}${s.svg ?? ''}</section>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}section{margin-bottom:28px}h2{font-size:16px}p{max-width:60em;color:#444}</style>
</head><body><h1>${escapeXml(title)}</h1>
${body}
</body></html>
`;
}
