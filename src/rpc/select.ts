/**
 * Chooses the endpoint for the next attempt from the shared health table: no message round trip,
 * no allocation. Order: the lowest tier (Helius → Chainstack → public) among endpoints that are
 * alive, CLOSED, not resting after a 429, not throttled, not demoted for slot lag and not suspect
 * (a stalled attempt, nothing answered since) and not reported OPEN by another process (shared
 * health); weighted random among equals of that tier.
 * Demoted and suspect endpoints are used only when no other one is permitted. OPEN and HALF_OPEN endpoints are never chosen: their recovery is probed by the
 * endpoint's own prober, so a user's request is never the probe.
 */
import type { Random } from '../clock.ts';
import { STATE_CLOSED, type HealthTable } from './health.ts';

export interface SelectableEndpoint {
  tier: number;
  weight: number;
}

/**
 * Returns the index of the endpoint to try, or -1 when none is permitted now. `tried` is a
 * bitmask of endpoints already attempted by this call (pools hold at most 31 endpoints).
 */
export function selectEndpoint(
  endpoints: readonly SelectableEndpoint[],
  health: HealthTable,
  now: number,
  tried: number,
  random: Random,
): number {
  const pick = pass(endpoints, health, now, tried, random, false);
  return pick >= 0 ? pick : pass(endpoints, health, now, tried, random, true);
}

function usable(health: HealthTable, i: number, now: number, tried: number, allowDemoted: boolean): boolean {
  return (
    (tried & (1 << i)) === 0 &&
    health.alive(i) &&
    health.state(i) === STATE_CLOSED &&
    !health.sharedOpen(i) &&
    health.unavailableUntil(i) <= now &&
    (allowDemoted || (!health.demoted(i) && !health.suspect(i)))
  );
}

function pass(
  endpoints: readonly SelectableEndpoint[],
  health: HealthTable,
  now: number,
  tried: number,
  random: Random,
  allowDemoted: boolean,
): number {
  let bestTier = Infinity;
  let total = 0;
  let only = -1;
  let count = 0;
  for (let i = 0; i < endpoints.length; i++) {
    if (!usable(health, i, now, tried, allowDemoted)) continue;
    const e = endpoints[i]!;
    if (e.tier < bestTier) {
      bestTier = e.tier;
      total = e.weight;
      only = i;
      count = 1;
    } else if (e.tier === bestTier) {
      total += e.weight;
      count++;
    }
  }
  if (count <= 1) return only;
  let r = random() * total;
  let last = -1;
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i]!;
    if (e.tier !== bestTier || !usable(health, i, now, tried, allowDemoted)) continue;
    last = i;
    r -= e.weight;
    if (r < 0) return i;
  }
  return last;
}

/**
 * When nothing is selectable only because endpoints are resting or throttled, the earliest time
 * one of them (not yet tried, alive, CLOSED) becomes selectable; Infinity otherwise.
 */
export function earliestAvailable(
  endpoints: readonly SelectableEndpoint[],
  health: HealthTable,
  now: number,
  tried: number,
): number {
  let at = Infinity;
  for (let i = 0; i < endpoints.length; i++) {
    if ((tried & (1 << i)) !== 0 || !health.alive(i) || health.state(i) !== STATE_CLOSED || health.sharedOpen(i))
      continue;
    const u = health.unavailableUntil(i);
    if (u > now && u < at) at = u;
  }
  return at;
}

/**
 * Whether a call that fails on `current` still has somewhere to go: another endpoint not yet
 * tried, alive and CLOSED (resting or demoted ones count, as the call may still wait for or fall
 * back to them).
 */
export function hasFallback(
  endpoints: readonly SelectableEndpoint[],
  health: HealthTable,
  tried: number,
  current: number,
): boolean {
  for (let i = 0; i < endpoints.length; i++) {
    if (i === current || (tried & (1 << i)) !== 0) continue;
    if (health.alive(i) && health.state(i) === STATE_CLOSED) return true;
  }
  return false;
}

/**
 * The deadline of one attempt: the endpoint's own `timeoutMs`, but while another endpoint remains
 * to fail over to, at most half of the call's remaining time, so a hung endpoint cannot use up the
 * whole call. The last endpoint left gets everything that remains.
 */
export function attemptBudget(endpointTimeoutMs: number, remainingMs: number, fallback: boolean): number {
  const share = fallback ? Math.max(1, Math.floor(remainingMs / 2)) : remainingMs;
  return Math.min(endpointTimeoutMs, share);
}
