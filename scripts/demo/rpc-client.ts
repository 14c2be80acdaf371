/**
 * The demo's view of the RPC pool as its users see it: every call the demo makes (background
 * reads, the chain watcher, web3.js inside the executor) goes through here, so "user-visible
 * failed calls" is counted in one place, by error code. Caller errors (the node's answer about
 * a bad request) are counted apart: they say nothing about availability.
 */
import type { RpcCallResult } from '../../src/rpc/pool.ts';
import { describeError } from '../../test/support/checks.ts';

export interface Callable {
  call(
    method: string,
    params?: unknown[],
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<RpcCallResult>;
}

export class CountingRpc {
  calls = 0;
  ok = 0;
  callerErrors = 0;
  readonly failed: Record<string, number> = {};
  lastFailure = '';

  constructor(
    private readonly inner: Callable,
    private readonly ws: () => string,
  ) {}

  get failedTotal(): number {
    let n = 0;
    for (const v of Object.values(this.failed)) n += v;
    return n;
  }

  call = async (
    method: string,
    params: unknown[] = [],
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): ReturnType<Callable['call']> => {
    this.calls++;
    try {
      const r = await this.inner.call(method, params, options);
      this.ok++;
      return r;
    } catch (err) {
      if ((err as { isCallerError?: unknown })?.isCallerError === true) this.callerErrors++;
      else {
        const code = String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'error');
        this.failed[code] = (this.failed[code] ?? 0) + 1;
        this.lastFailure = `${method}: ${describeError(err)}`;
      }
      throw err;
    }
  };

  /** For createSolanaConnection: the WebSocket URL of the first healthy endpoint. */
  wsEndpoint = (): string => this.ws();
}
