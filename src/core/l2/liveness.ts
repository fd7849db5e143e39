import type { CoordinationSettings } from './coordination-settings.js';

/** What one observer has seen of one node's heartbeat Lease. */
export interface HeartbeatObservation {
  /** spec.holderIdentity; '' means the agent shut down cleanly. */
  readonly holder: string;
  /**
   * When this observer last saw the Lease change (renewTime or
   * resourceVersion), by the observer's own monotonic clock, in ms. Clocks of
   * other nodes are never compared, so node clock skew does not matter.
   */
  readonly lastChangeSeenAtMs: number;
}

/**
 * Whether a node is live for this observer at `nowMs` (same clock as
 * lastChangeSeenAtMs). Silence counts only from `freshFromMs`, the moment
 * since which the observer's own view of the API is demonstrably current
 * (ApiView.freshFrom); without such a moment nobody is declared dead.
 */
export function isLive(o: HeartbeatObservation | undefined, nowMs: number, s: CoordinationSettings, freshFromMs: number | undefined): boolean {
  if (o === undefined || o.holder === '') return false;
  if (freshFromMs === undefined) return true;
  return nowMs - Math.max(o.lastChangeSeenAtMs, freshFromMs) < s.heartbeatExpiryMs;
}

/** The nodes live for this observer (see isLive). */
export function liveNodes(
  heartbeats: ReadonlyMap<string, HeartbeatObservation>, nowMs: number, s: CoordinationSettings, freshFromMs: number | undefined,
): Set<string> {
  const out = new Set<string>();
  for (const [node, o] of heartbeats) if (isLive(o, nowMs, s, freshFromMs)) out.add(node);
  return out;
}

/**
 * When the observer should next re-evaluate so that an expiry is noticed on
 * time without polling: the earliest moment a live node would turn dead.
 */
export function nextExpiryAtMs(
  heartbeats: ReadonlyMap<string, HeartbeatObservation>, nowMs: number, s: CoordinationSettings, freshFromMs: number | undefined,
): number | undefined {
  if (freshFromMs === undefined) return undefined;
  let next: number | undefined;
  for (const o of heartbeats.values()) {
    if (!isLive(o, nowMs, s, freshFromMs)) continue;
    const at = Math.max(o.lastChangeSeenAtMs, freshFromMs) + s.heartbeatExpiryMs;
    if (next === undefined || at < next) next = at;
  }
  return next;
}
