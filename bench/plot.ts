/**
 * Draws each results table's headline column (its second) as a bar chart beside the table, with
 * every row's ratio to palisade's row when the table has one: `npm run bench` calls it when it
 * assembles bench/RESULTS.md. The numbers are read back from the tables, so a chart can never
 * disagree with the table it sits beside.
 */
import { barChart } from '../scripts/lib/svg-plot.ts';

const TIME_UNITS: Record<string, number> = { ns: 1, µs: 1e3, us: 1e3, ms: 1e6, s: 1e9 };

/** A cell such as "161.4 ns", "1.31 µs", "8.49 M/s", "2.20 M msgs/s", "7.3 MB" → a number and its kind. */
export function parseCell(cell: string): { value: number; kind: 'time' | 'rate' | 'other'; unit: string } | undefined {
  const m = /^\s*\**([\d.,]+)\s*(ns|µs|us|ms|s|k|M|G)?\b\s*([^\s|]*)/u.exec(cell.replace(/\*\*/g, ''));
  if (!m) return undefined;
  const n = Number(m[1]!.replace(/,/g, ''));
  if (!Number.isFinite(n)) return undefined;
  const unit = m[2] ?? '';
  if (unit in TIME_UNITS && !/\/s/.test(m[3] ?? '')) return { value: n * TIME_UNITS[unit]!, kind: 'time', unit: 'ns' };
  const scale = unit === 'k' ? 1e3 : unit === 'M' ? 1e6 : unit === 'G' ? 1e9 : 1;
  if (/\/s/.test(cell)) return { value: n * scale, kind: 'rate', unit: '/s' };
  return { value: n * scale, kind: 'other', unit: (m[3] ?? '').trim() };
}

interface Table {
  heading: string;
  header: string[];
  rows: string[][];
  endLine: number;
}

function cells(line: string): string[] {
  return line
    .replace(/^\|/, '')
    .replace(/\|\s*$/, '')
    .split('|')
    .map((c) => c.trim());
}

export function findTables(markdown: string): Table[] {
  const lines = markdown.split('\n');
  const out: Table[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^#{2,4} /.test(l)) heading = l.replace(/^#+ /, '');
    if (!l.startsWith('|') || (!lines[i + 1]?.startsWith('|--') && !/^\|\s*:?-/.test(lines[i + 1] ?? ''))) continue;
    const header = cells(l);
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.startsWith('|'); j++) rows.push(cells(lines[j]!));
    out.push({ heading, header, rows, endLine: j - 1 });
    i = j - 1;
  }
  return out;
}

/**
 * Returns the section with an image link after each chartable table, and the SVGs to write
 * (file name → content). A table is chartable when at least two rows' second cells parse as the
 * same kind of number.
 */
export function chartSection(area: string, markdown: string): { markdown: string; charts: Map<string, string> } {
  const tables = findTables(markdown);
  const lines = markdown.split('\n');
  const charts = new Map<string, string>();
  const inserts: { after: number; text: string }[] = [];
  tables.forEach((t, k) => {
    const parsed = t.rows.map((r) => ({
      label: r[0]!.replace(/\*\*/g, ''),
      cell: r[1] ?? '',
      v: parseCell(r[1] ?? ''),
    }));
    const usable = parsed.filter((p) => p.v !== undefined);
    if (usable.length < 2) return;
    const kind = usable[0]!.v!.kind;
    const same = usable.filter((p) => p.v!.kind === kind);
    if (same.length < 2) return;
    const ours = same.find((p) => /^palisade/i.test(p.label));
    const values = same.map((p) => p.v!.value);
    const log = Math.max(...values) / Math.max(1e-12, Math.min(...values.filter((v) => v > 0))) > 30;
    const better = kind === 'time' ? 'lower is better' : kind === 'rate' ? 'higher is better' : '';
    const svg = barChart({
      title: `${t.heading || area}: ${t.header[1] ?? ''}${better ? ` — ${better}` : ''}`,
      log,
      bars: same.map((p) => ({
        label: p.label.length > 48 ? `${p.label.slice(0, 45)}…` : p.label,
        value: p.v!.value,
        highlight: /^palisade/i.test(p.label),
        note: ours && ours !== p ? `${p.cell} (${(p.v!.value / ours.v!.value).toFixed(2)}× palisade)` : p.cell,
      })),
    });
    const file = `${area}-${k + 1}.svg`;
    charts.set(file, svg);
    inserts.push({ after: t.endLine, text: `\n![${t.heading || area} — chart of the table above](results/${file})` });
  });
  for (const ins of inserts.reverse()) lines.splice(ins.after + 1, 0, ins.text);
  return { markdown: lines.join('\n'), charts };
}
