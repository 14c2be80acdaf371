/**
 * Per-actor counts: what an actor accepted, processed, failed and dead-lettered (by reason), its
 * crashes (by kind) and restarts, and its recovery and load times; read out as ActorStats.
 */
import { LatencyHistogram } from '../stats/latency.ts';
import type { CrashKind } from './errors.ts';
import type { ActorState, ActorStats, CrashInfo, DeadLetterReason } from './types.ts';

export class ActorCounters {
  accepted = 0;
  processed = 0;
  failed = 0;
  restarts = 0;
  crashes = 0;
  deadLetters = 0;
  /** Replies that arrived after their ask had timed out or been aborted. */
  lateReplies = 0;
  lastCrash: CrashInfo | null = null;
  /** Crash detected → the new incarnation finished its first message (or was ready with nothing to do), ms. */
  readonly recoveryLatency = new LatencyHistogram();
  /** Module import + init inside the worker, per incarnation, ms. */
  readonly loadLatency = new LatencyHistogram();
  private readonly crashesByKind: Partial<Record<CrashKind, number>> = {};
  private readonly deadLettersByReason: Partial<Record<DeadLetterReason, number>> = {};

  countCrash(info: CrashInfo): void {
    this.crashes++;
    this.crashesByKind[info.kind] = (this.crashesByKind[info.kind] ?? 0) + 1;
    this.lastCrash = info;
  }

  countDeadLetter(reason: DeadLetterReason): void {
    this.deadLetters++;
    this.deadLettersByReason[reason] = (this.deadLettersByReason[reason] ?? 0) + 1;
  }

  snapshot(
    name: string,
    state: ActorState,
    incarnation: number,
    mailboxDepth: number,
    inFlight: number,
    askLatency: LatencyHistogram,
    heartbeats: { sent: number; answered: number },
    sentOffRing: number,
  ): ActorStats {
    return {
      name,
      state,
      incarnation,
      mailboxDepth,
      inFlight,
      accepted: this.accepted,
      processed: this.processed,
      failed: this.failed,
      restarts: this.restarts,
      crashes: this.crashes,
      crashesByKind: { ...this.crashesByKind },
      deadLetters: this.deadLetters,
      deadLettersByReason: { ...this.deadLettersByReason },
      lastCrash: this.lastCrash,
      lateReplies: this.lateReplies,
      sentOffRing,
      heartbeats,
      ask: askLatency.summary(),
      recovery: this.recoveryLatency.summary(),
      load: this.loadLatency.summary(),
    };
  }
}
