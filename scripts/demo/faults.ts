/**
 * The demo's fault schedule and what it measures. Steps fire at fixed fractions of the run (so
 * a short test run and a long demo see the same story): kill the primary provider, rate-limit
 * the secondary (429 + Retry-After), crash a subscriber worker, hang another, clear, revive.
 *
 * Measured from the pool's and the supervisor's own stats, sampled every few ms:
 * - failover: provider killed → the last call the pool routed to it (after that, none were),
 *   and killed → its breaker leaving CLOSED;
 * - recovery: provider revived → its breaker CLOSED again and a call served by it;
 * - actor restarts: fault injected → crash detected → the new incarnation running.
 */
import type { Clock, TimerHandle } from '../../src/clock.ts';
import type { Logger } from '../../src/log/index.ts';
import { describeError } from '../../test/support/checks.ts';

import type { FaultKind as ActorFaultKind } from '../../src/runtime/index.ts';
export type { ActorFaultKind };

export type FaultStep =
  | { atMs: number; kind: 'kill-provider'; provider: string }
  | { atMs: number; kind: 'revive-provider'; provider: string }
  | { atMs: number; kind: 'rate-limit'; provider: string; retryAfterSec: number }
  | { atMs: number; kind: 'clear-provider'; provider: string }
  | { atMs: number; kind: 'crash-actor'; actor: string; crash: ActorFaultKind };

/** What the runner acts on (the local cluster and the supervisor, or the control server's client). */
export interface FaultTargets {
  killProvider(name: string): Promise<void>;
  reviveProvider(name: string): Promise<void>;
  /** May be async: the local cluster runs in its own thread behind a comlink proxy by default. */
  rateLimitProvider(name: string, retryAfterSec: number): void | Promise<void>;
  clearProvider(name: string): void | Promise<void>;
  /** False when the actor has no running worker at this moment. */
  killActor(name: string, kind: ActorFaultKind): boolean;
}

/** What the observers read. */
export interface Observed {
  endpoint(name: string): { state: string; calls: number; successes: number } | undefined;
  /** User-visible failed pool calls so far. */
  poolFailedCalls(): number;
  actor(
    name: string,
  ): { state: string; incarnation: number; lastCrashAt: number | null; lastCrashKind: string | null } | undefined;
}

export interface FaultPlan {
  primary: string;
  secondary: string;
  crashTarget: string;
  hangTarget: string;
}

/** The default story, at fractions of the run's duration. */
export function defaultSchedule(durationMs: number, p: FaultPlan): FaultStep[] {
  const at = (f: number): number => Math.round(durationMs * f);
  return [
    { atMs: at(0.15), kind: 'kill-provider', provider: p.primary },
    { atMs: at(0.3), kind: 'rate-limit', provider: p.secondary, retryAfterSec: 1 },
    { atMs: at(0.38), kind: 'crash-actor', actor: p.crashTarget, crash: 'uncaught' },
    { atMs: at(0.46), kind: 'crash-actor', actor: p.hangTarget, crash: 'hang' },
    { atMs: at(0.55), kind: 'clear-provider', provider: p.secondary },
    { atMs: at(0.6), kind: 'revive-provider', provider: p.primary },
    { atMs: at(0.72), kind: 'crash-actor', actor: p.crashTarget, crash: 'exit' },
  ];
}

export interface TimelineEntry {
  atMs: number;
  step: string;
  ok: boolean;
  detail?: string;
}

export interface ProviderOutage {
  provider: string;
  killedAtMs: number;
  /** Killed → the last call routed to it; null when none was routed after the kill. */
  lastRoutedAfterKillMs: number | null;
  /** Killed → its breaker left CLOSED (null: it never did, e.g. no call reached it). */
  breakerOpenMs: number | null;
  /** Calls routed to it after the kill (each failed over at once). */
  callsAfterKill: number;
  /** User-visible failed pool calls while it was down. */
  failedCallsDuringOutage: number;
  revivedAtMs: number | null;
  /** Revived → breaker CLOSED and a call served by it; null if not seen before the run ended. */
  recoveryMs: number | null;
}

export interface ActorRecovery {
  actor: string;
  crash: ActorFaultKind;
  injectedAtMs: number;
  /** Injected → the supervisor saw the crash (a hang is found by missed heartbeats). */
  detectedMs: number | null;
  /** Injected → the next incarnation running. */
  recoveredMs: number | null;
  incarnationBefore: number;
  incarnationAfter: number | null;
}

export interface FaultReport {
  timeline: TimelineEntry[];
  outages: ProviderOutage[];
  rateLimits: { provider: string; fromMs: number; toMs: number | null }[];
  actorRecoveries: ActorRecovery[];
}

const SAMPLE_MS = 5;
const KILL_RETRY_MS = 100;
const KILL_RETRIES = 30;

interface OpenOutage {
  o: ProviderOutage;
  t0: number;
  calls0: number;
  lastCalls: number;
  failed0: number;
  revivedT: number;
  successesAtRevive: number;
}

interface OpenRecovery {
  r: ActorRecovery;
  t0: number;
  wall0: number;
}

export class FaultRunner {
  private readonly timers: TimerHandle[] = [];
  private sampler: TimerHandle | null = null;
  private startT = 0;
  private stopped = false;
  private readonly timeline: TimelineEntry[] = [];
  private readonly outages = new Map<string, OpenOutage>();
  private readonly allOutages: ProviderOutage[] = [];
  private readonly rateLimits: FaultReport['rateLimits'] = [];
  private readonly recoveries: OpenRecovery[] = [];

  constructor(
    private readonly steps: readonly FaultStep[],
    private readonly targets: FaultTargets,
    private readonly observed: Observed,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onStep: (entry: TimelineEntry) => void = () => {},
  ) {}

  start(): void {
    this.startT = this.clock.now();
    for (const step of this.steps) this.timers.push(this.clock.setTimeout(() => void this.fire(step, 0), step.atMs));
    this.scheduleSample();
  }

  /** Cancels steps not yet fired; observations still open stay unfinished (null) in the report. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    if (this.sampler !== null) this.clock.clearTimeout(this.sampler);
    this.sampler = null;
    this.sample();
  }

  report(): FaultReport {
    return {
      timeline: this.timeline.slice(),
      outages: this.allOutages.map((o) => ({ ...o })),
      rateLimits: this.rateLimits.map((r) => ({ ...r })),
      actorRecoveries: this.recoveries.map((r) => ({ ...r.r })),
    };
  }

  /** Whether every actor fault injected so far has been recovered from. */
  get pendingRecoveries(): number {
    return this.recoveries.filter((r) => r.r.recoveredMs === null).length;
  }

  private elapsed(): number {
    return this.clock.now() - this.startT;
  }

  private log(step: string, ok: boolean, detail?: string): void {
    const entry: TimelineEntry = { atMs: this.elapsed(), step, ok, ...(detail ? { detail } : {}) };
    this.timeline.push(entry);
    this.onStep(entry);
    if (ok) this.logger.info({ step, detail }, 'demo fault step');
    else this.logger.warn({ step, detail }, 'demo fault step failed');
  }

  private async fire(step: FaultStep, attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      switch (step.kind) {
        case 'kill-provider': {
          const ep = this.observed.endpoint(step.provider);
          const now = this.elapsed();
          await this.targets.killProvider(step.provider);
          const o: ProviderOutage = {
            provider: step.provider,
            killedAtMs: now,
            lastRoutedAfterKillMs: null,
            breakerOpenMs: null,
            callsAfterKill: 0,
            failedCallsDuringOutage: 0,
            revivedAtMs: null,
            recoveryMs: null,
          };
          this.allOutages.push(o);
          this.outages.set(step.provider, {
            o,
            t0: this.clock.now(),
            calls0: ep?.calls ?? 0,
            lastCalls: ep?.calls ?? 0,
            failed0: this.observed.poolFailedCalls(),
            revivedT: 0,
            successesAtRevive: 0,
          });
          this.log(`kill provider ${step.provider}`, true, 'port closed, connections refused');
          return;
        }
        case 'revive-provider': {
          await this.targets.reviveProvider(step.provider);
          const open = this.outages.get(step.provider);
          if (open) {
            open.revivedT = this.clock.now();
            open.o.revivedAtMs = this.elapsed();
            open.o.failedCallsDuringOutage = this.observed.poolFailedCalls() - open.failed0;
            open.successesAtRevive = this.observed.endpoint(step.provider)?.successes ?? 0;
          }
          this.log(`revive provider ${step.provider}`, true);
          return;
        }
        case 'rate-limit':
          await this.targets.rateLimitProvider(step.provider, step.retryAfterSec);
          this.rateLimits.push({ provider: step.provider, fromMs: this.elapsed(), toMs: null });
          this.log(
            `rate-limit provider ${step.provider}`,
            true,
            `every request answered 429, Retry-After ${step.retryAfterSec}s`,
          );
          return;
        case 'clear-provider': {
          await this.targets.clearProvider(step.provider);
          const rl = this.rateLimits.find((r) => r.provider === step.provider && r.toMs === null);
          if (rl) rl.toMs = this.elapsed();
          this.log(`clear faults of provider ${step.provider}`, true);
          return;
        }
        case 'crash-actor': {
          const before = this.observed.actor(step.actor);
          if (!this.targets.killActor(step.actor, step.crash)) {
            if (attempt < KILL_RETRIES) {
              // Restarting or starting right now: try again shortly.
              this.timers.push(this.clock.setTimeout(() => void this.fire(step, attempt + 1), KILL_RETRY_MS));
              return;
            }
            this.log(
              `${step.crash} actor ${step.actor}`,
              false,
              `no running worker after ${KILL_RETRIES} tries (state ${before?.state ?? 'unknown'})`,
            );
            return;
          }
          this.recoveries.push({
            r: {
              actor: step.actor,
              crash: step.crash,
              injectedAtMs: this.elapsed(),
              detectedMs: null,
              recoveredMs: null,
              incarnationBefore: before?.incarnation ?? 0,
              incarnationAfter: null,
            },
            t0: this.clock.now(),
            wall0: Date.now(),
          });
          this.log(
            `${step.crash} actor ${step.actor}`,
            true,
            step.crash === 'hang' ? 'busy loop; heartbeats must find it' : 'worker killed',
          );
          return;
        }
      }
    } catch (err) {
      this.log(`${step.kind} ${'provider' in step ? step.provider : step.actor}`, false, describeError(err));
    }
  }

  private scheduleSample(): void {
    if (this.stopped) return;
    this.sampler = this.clock.setTimeout(() => {
      this.sample();
      this.scheduleSample();
    }, SAMPLE_MS);
  }

  private sample(): void {
    const now = this.clock.now();
    for (const open of this.outages.values()) {
      const o = open.o;
      const ep = this.observed.endpoint(o.provider);
      if (!ep) continue;
      if (open.revivedT === 0) {
        if (ep.calls > open.lastCalls) {
          o.callsAfterKill += ep.calls - open.lastCalls;
          open.lastCalls = ep.calls;
          o.lastRoutedAfterKillMs = now - open.t0;
        }
        if (o.breakerOpenMs === null && ep.state !== 'CLOSED') o.breakerOpenMs = now - open.t0;
        o.failedCallsDuringOutage = this.observed.poolFailedCalls() - open.failed0;
      } else if (o.recoveryMs === null && ep.state === 'CLOSED' && ep.successes > open.successesAtRevive) {
        o.recoveryMs = now - open.revivedT;
        this.log(
          `provider ${o.provider} recovered`,
          true,
          `breaker CLOSED and serving ${o.recoveryMs} ms after revive`,
        );
      }
    }
    for (const rec of this.recoveries) {
      const r = rec.r;
      if (r.recoveredMs !== null) continue;
      const a = this.observed.actor(r.actor);
      if (!a) continue;
      if (r.detectedMs === null && a.lastCrashAt !== null && a.lastCrashAt >= rec.wall0 - 1)
        r.detectedMs = Math.max(0, a.lastCrashAt - rec.wall0);
      if (a.incarnation > r.incarnationBefore && a.state === 'running') {
        r.recoveredMs = now - rec.t0;
        r.incarnationAfter = a.incarnation;
        if (r.detectedMs === null) r.detectedMs = r.recoveredMs;
        this.log(
          `actor ${r.actor} recovered`,
          true,
          `incarnation ${r.incarnationBefore} → ${a.incarnation} in ${r.recoveredMs} ms`,
        );
      }
    }
  }
}
