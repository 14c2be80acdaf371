import { DevnetError } from '../errors.ts';

/** A control call to the cluster's thread got no answer within its deadline (its effect is unknown). */
export class DevnetControlTimeoutError extends DevnetError {
  readonly method: string;
  readonly timeoutMs: number;
  constructor(method: string, timeoutMs: number) {
    super(
      'DEVNET_CONTROL_TIMEOUT',
      `devnet control call ${method} got no answer within ${timeoutMs} ms (the cluster thread may be blocked; the call may still take effect)`,
    );
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/** The cluster's worker thread ended (crash, exit, terminate) before or while a call was made. */
export class DevnetWorkerExitedError extends DevnetError {
  readonly method: string;
  readonly exitCode: number | null;
  constructor(method: string, exitCode: number | null, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super(
      'DEVNET_WORKER_EXITED',
      `devnet control call ${method} failed: the cluster thread exited${exitCode === null ? '' : ` with code ${exitCode}`}${why}`,
      cause === undefined ? undefined : { cause },
    );
    this.method = method;
    this.exitCode = exitCode;
  }
}
