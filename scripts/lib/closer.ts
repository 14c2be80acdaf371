/** Things a script opened, closed newest first on every path, each within a deadline. */
import type { Logger } from '../../src/log/index.ts';
import { describeError } from '../../test/support/checks.ts';
import { withDeadline } from '../../test/support/wait.ts';

export class Closer {
  private readonly steps: { what: string; fn: () => unknown }[] = [];

  add(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  /** Runs every close step (newest first); a failing or slow step is logged and the rest still run. */
  async closeAll(logger: Logger, deadlineMs: number): Promise<void> {
    while (this.steps.length) {
      const s = this.steps.pop()!;
      try {
        await withDeadline(Promise.resolve().then(s.fn), deadlineMs, `closing ${s.what}`);
      } catch (err) {
        logger.error({ err: describeError(err) }, `closing ${s.what} failed`);
      }
    }
  }
}
