/**
 * A check runner for the seed-named scripts, the demo and the stress bench: each check prints
 * `PASS name` or `FAIL name — why`, and the run ends with one `N passed, N failed` line, so a
 * person and CI read the same verdict.
 */

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Not applicable to this run (e.g. no funded key in --real mode): counted neither passed nor failed. */
  skipped?: boolean;
  /** Why it failed, or what was seen when it passed (shown in both cases when given). */
  detail?: string;
  /** How long the check ran, when the runner times its checks. */
  ms?: number;
}

export type Write = (line: string) => void;

export interface CheckRunnerOptions {
  /** Print how long each `run` took: `PASS name (12 ms) — detail`. Off by default. */
  timing?: boolean;
}

const stdoutWrite: Write = (line) => process.stdout.write(`${line}\n`);

export class CheckRunner {
  readonly results: CheckResult[] = [];
  private readonly write: Write;
  private readonly timing: boolean;

  constructor(write: Write = stdoutWrite, options: CheckRunnerOptions = {}) {
    this.write = write;
    this.timing = options.timing ?? false;
  }

  /** Records a check decided elsewhere. */
  record(name: string, ok: boolean, detail?: string, ms?: number): boolean {
    const r: CheckResult = { name, ok };
    if (detail !== undefined) r.detail = detail;
    if (ms !== undefined) r.ms = ms;
    return this.add(r);
  }

  /** Records a check that does not apply to this run, saying why. */
  skip(name: string, why: string): void {
    this.add({ name, ok: true, skipped: true, detail: why });
  }

  add(r: CheckResult): boolean {
    this.results.push(r);
    this.write(formatCheck(r));
    return r.ok;
  }

  /**
   * Runs one check: `fn` passes by returning (optionally a detail string) and fails by throwing.
   * A check that throws a non-assertion error fails with that error's message, never crashes the run.
   */
  async run(name: string, fn: () => unknown): Promise<boolean> {
    const t0 = performance.now();
    const elapsed = (): number | undefined => (this.timing ? performance.now() - t0 : undefined);
    try {
      const out = await fn();
      return this.record(name, true, typeof out === 'string' ? out : undefined, elapsed());
    } catch (err) {
      return this.record(name, false, describeError(err), elapsed());
    }
  }

  get passed(): number {
    return this.results.filter((r) => r.ok && !r.skipped).length;
  }

  get failed(): number {
    return this.results.filter((r) => !r.ok).length;
  }

  get skipped(): number {
    return this.results.filter((r) => r.skipped).length;
  }

  /** Prints the final `N passed, N failed` line and returns the process exit code it implies. */
  summary(): number {
    this.write(summaryLine(this.results));
    return exitCodeOf(this.results);
  }
}

export function summaryLine(results: readonly CheckResult[]): string {
  const passed = results.filter((r) => r.ok && !r.skipped).length;
  const failed = results.filter((r) => !r.ok).length;
  const skipped = results.filter((r) => r.skipped).length;
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

/** 0 when nothing failed and at least one check really passed. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  const failed = results.some((r) => !r.ok);
  const passed = results.some((r) => r.ok && !r.skipped);
  return !failed && passed ? 0 : 1;
}

export function formatCheck(r: CheckResult): string {
  const ms = r.ms === undefined ? '' : ` (${r.ms.toFixed(0)} ms)`;
  const detail = r.detail ? ` — ${r.detail}` : '';
  return `${r.skipped ? 'SKIP' : r.ok ? 'PASS' : 'FAIL'} ${r.name}${ms}${detail}`;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Throws with `message` unless `cond` holds (checks read as `ensure(x === 3, 'x was ' + x)`). */
export function ensure(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}
