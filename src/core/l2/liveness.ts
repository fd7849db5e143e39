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

/** Whether a node is live for this observer at `nowMs` (same clock as lastChangeSeenAtMs). */
export function isLive(o: HeartbeatObservation | undefined, nowMs: number, s: CoordinationSettings): boolean {
  if (o === undefined || o.holder === '') return false;
  return nowMs - o.lastChangeSeenAtMs < s.heartbeatExpiryMs;
}

/** The nodes live for this observer, including itself when its own heartbeat is seen renewing. */
export function liveNodes(heartbeats: ReadonlyMap<string, HeartbeatObservation>, nowMs: number, s: CoordinationSettings): Set<string> {
  const out = new Set<string>();
  for (const [node, o] of heartbeats) if (isLive(o, nowMs, s)) out.add(node);
  return out;
}

/**
 * When the observer should next re-evaluate so that an expiry is noticed on
 * time without polling: the earliest moment a live node would turn dead.
 */
export function nextExpiryAtMs(heartbeats: ReadonlyMap<string, HeartbeatObservation>, nowMs: number, s: CoordinationSettings): number | undefined {
  let next: number | undefined;
  for (const o of heartbeats.values()) {
    if (!isLive(o, nowMs, s)) continue;
    const at = o.lastChangeSeenAtMs + s.heartbeatExpiryMs;
    if (next === undefined || at < next) next = at;
  }
  return next;
}
