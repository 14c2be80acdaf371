/** N operations started at once; each one's latency, the failures by code, and the wall time. */
import { LatencyHistogram, type LatencySummary } from '../../src/stats/latency.ts';

export interface OpsResult {
  name: string;
  ops: number;
  ok: number;
  failed: Record<string, number>;
  durationMs: number;
  opsPerSec: number;
  latency: LatencySummary;
  /** Most operations that were started and not finished at one time. */
  maxConcurrent: number;
}

export async function concurrent(name: string, n: number, op: (i: number) => Promise<unknown>): Promise<OpsResult> {
  const hist = new LatencyHistogram();
  const failed: Record<string, number> = {};
  let ok = 0;
  let running = 0;
  let maxConcurrent = 0;
  const t0 = performance.now();
  const all: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    running++;
    if (running > maxConcurrent) maxConcurrent = running;
    all.push(
      op(i).then(
        () => {
          running--;
          ok++;
          hist.record(performance.now() - s);
        },
        (err: unknown) => {
          running--;
          const code = String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'error');
          failed[code] = (failed[code] ?? 0) + 1;
          hist.record(performance.now() - s);
        },
      ),
    );
  }
  await Promise.all(all);
  const durationMs = performance.now() - t0;
  return {
    name,
    ops: n,
    ok,
    failed,
    durationMs,
    opsPerSec: (n * 1000) / durationMs,
    latency: hist.summary(),
    maxConcurrent,
  };
}
