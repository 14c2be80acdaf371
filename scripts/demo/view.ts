/**
 * The live view: on a TTY a small dashboard redrawn in place; otherwise (CI, pipes) one plain
 * line per refresh. Rates are computed from the difference between two snapshots.
 */
import type { Clock, TimerHandle } from '../../src/clock.ts';

export interface ViewSnapshot {
  atMs: number;
  elapsedMs: number;
  durationMs: number;
  phase: string;
  targetRate: number;
  published: { critical: number; normal: number; low: number };
  delivered: number;
  dropped: Record<string, number>;
  latency: { p50: number; p99: number; count: number };
  workerLatency: { p50: number; p99: number; count: number };
  endpoints: { name: string; state: string; alive: boolean; calls: number; failures: number; resting: boolean }[];
  subscribers: { name: string; kind: string; state: string; depth: number; delivered: number; restarts: number }[];
  restarts: number;
  quarantined: number;
  tx: { started: number; confirmed: number; failed: number; inFlight: number };
  rpc: { calls: number; failed: number };
  rssMb: number;
  heapMb: number;
  lastEvent: string;
}

const ESC = '\x1b[';

function rate(cur: number, prev: number, dtMs: number): string {
  if (dtMs <= 0) return '0';
  const r = ((cur - prev) * 1000) / dtMs;
  return r >= 10_000 ? `${(r / 1000).toFixed(1)}k` : r >= 100 ? r.toFixed(0) : r.toFixed(1);
}

function ms(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return x >= 100 ? `${x.toFixed(0)}ms` : x >= 1 ? `${x.toFixed(1)}ms` : `${(x * 1000).toFixed(0)}µs`;
}

function drops(d: Record<string, number>): string {
  const parts = Object.entries(d)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`);
  return parts.length ? parts.join(' ') : 'none';
}

function secs(msValue: number): string {
  return `${(msValue / 1000).toFixed(1)}s`;
}

/** The dashboard, as lines (TTY mode). */
export function renderFrame(prev: ViewSnapshot | null, cur: ViewSnapshot): string[] {
  const p = prev ?? cur;
  const dt = cur.atMs - p.atMs;
  const pub = cur.published;
  const pp = p.published;
  const lines = [
    `palisade demo  ${secs(cur.elapsedMs)} / ${secs(cur.durationMs)}  phase ${cur.phase.toUpperCase()}  target ${cur.targetRate.toFixed(0)} ev/s  rss ${cur.rssMb.toFixed(0)} MB heap ${cur.heapMb.toFixed(0)} MB`,
    `signals/s  critical ${rate(pub.critical, pp.critical, dt)}  normal ${rate(pub.normal, pp.normal, dt)}  low ${rate(pub.low, pp.low, dt)}  delivered ${rate(cur.delivered, p.delivered, dt)}`,
    `latency    inline p50 ${ms(cur.latency.p50)} p99 ${ms(cur.latency.p99)}   worker p50 ${ms(cur.workerLatency.p50)} p99 ${ms(cur.workerLatency.p99)}`,
    `providers  ${cur.endpoints.map((e) => `${e.name} ${e.alive ? e.state : 'DOWN'}${e.resting ? ' (429 rest)' : ''} ${rate(e.calls, p.endpoints.find((x) => x.name === e.name)?.calls ?? e.calls, dt)}/s`).join('  |  ')}`,
    `rpc        calls ${cur.rpc.calls} failed ${cur.rpc.failed}   tx started ${cur.tx.started} confirmed ${cur.tx.confirmed} failed ${cur.tx.failed} in flight ${cur.tx.inFlight}`,
    // Worker subscribers always; inline ones only when they have a backlog or trouble.
    `subscribers ${cur.subscribers
      .filter((s) => s.kind === 'worker' || s.depth > 0 || s.state !== 'running')
      .map(
        (s) =>
          `${s.name}[${s.kind === 'worker' ? 'w' : 'i'}] ${s.state} depth ${s.depth}${s.restarts ? ` restarts ${s.restarts}` : ''}`,
      )
      .join('  ')}`,
    `drops      ${drops(cur.dropped)}`,
    `restarts   ${cur.restarts}  quarantined ${cur.quarantined}   last: ${cur.lastEvent || '-'}`,
  ];
  return lines;
}

/** One plain line (non-TTY mode). */
export function renderLine(prev: ViewSnapshot | null, cur: ViewSnapshot): string {
  const p = prev ?? cur;
  const dt = cur.atMs - p.atMs;
  const pub = cur.published;
  const eps = cur.endpoints.map((e) => `${e.name}=${e.alive ? e.state : 'DOWN'}${e.resting ? '/429' : ''}`).join(',');
  const depth = cur.subscribers.reduce((a, s) => Math.max(a, s.depth), 0);
  const totalDrops = Object.values(cur.dropped).reduce((a, b) => a + b, 0);
  return (
    `[demo ${secs(cur.elapsedMs)}] ${cur.phase} pub/s c=${rate(pub.critical, p.published.critical, dt)} n=${rate(pub.normal, p.published.normal, dt)} l=${rate(pub.low, p.published.low, dt)}` +
    ` lat p50/p99 ${ms(cur.latency.p50)}/${ms(cur.latency.p99)} worker ${ms(cur.workerLatency.p50)}/${ms(cur.workerLatency.p99)}` +
    ` eps ${eps} maxdepth ${depth} drops ${totalDrops} restarts ${cur.restarts} tx ${cur.tx.confirmed}/${cur.tx.started} rss ${cur.rssMb.toFixed(0)}MB`
  );
}

export class LiveView {
  private timer: TimerHandle | null = null;
  private prev: ViewSnapshot | null = null;
  private drawn = 0;
  private lastLines: string[] = [];

  constructor(
    private readonly snapshot: () => ViewSnapshot,
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
    private readonly everyMs: number,
    private readonly clock: Clock,
    /** Terminal width: a wrapped line would break redrawing in place. */
    private readonly columns: () => number = () => 200,
  ) {}

  start(): void {
    // A first snapshot now, so the first frame already shows rates.
    this.prev = this.snapshot();
    const tick = (): void => {
      this.draw();
      this.timer = this.clock.setTimeout(tick, this.everyMs);
    };
    this.timer = this.clock.setTimeout(tick, this.everyMs);
  }

  /** A line printed above the dashboard (fault steps), kept in the scrollback. */
  note(line: string): void {
    if (this.tty && this.drawn > 0) {
      // Replace the dashboard by the note, then draw the dashboard again below it.
      this.write(`${ESC}${this.drawn}F${ESC}0J${line}\n${this.lastLines.map((l) => `${l}${ESC}K`).join('\n')}\n`);
    } else {
      this.write(`${line}\n`);
    }
  }

  draw(): void {
    const cur = this.snapshot();
    this.paint(this.prev, cur);
    this.prev = cur;
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private paint(prev: ViewSnapshot | null, cur: ViewSnapshot): void {
    if (this.tty) {
      const width = Math.max(20, this.columns() - 1);
      const lines = renderFrame(prev, cur).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
      const up = this.drawn > 0 ? `${ESC}${this.drawn}F${ESC}0J` : '';
      this.write(`${up + lines.map((l) => `${l}${ESC}K`).join('\n')}\n`);
      this.drawn = lines.length;
      this.lastLines = lines;
    } else {
      this.write(`${renderLine(prev, cur)}\n`);
    }
  }
}
