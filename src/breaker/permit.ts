/**
 * A slot granted by the breaker's synchronous admission (`tryAcquire`/`acquire`) for a call the
 * caller performs itself. It settles once; later settlements are no-ops that return false.
 */
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { BreakerPermit } from './types.ts';

export class Permit implements BreakerPermit {
  private settled = false;

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly epoch: number,
    private readonly t0: number,
    readonly probe: boolean,
    private readonly slotted: boolean,
    private readonly label: string | undefined,
  ) {}

  onSuccess(latencyMs?: number): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.breaker.settleSuccess(this.epoch, latencyMs ?? this.breaker.elapsedSince(this.t0));
    if (this.slotted) this.breaker.freePermitSlot();
    return true;
  }

  onFailure(err: unknown, latencyMs?: number): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.breaker.settleFailure(err, this.epoch, latencyMs ?? this.breaker.elapsedSince(this.t0), this.label, true);
    if (this.slotted) this.breaker.freePermitSlot();
    return true;
  }

  release(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.breaker.settleReleased(this.epoch);
    if (this.slotted) this.breaker.freePermitSlot();
    return true;
  }
}
