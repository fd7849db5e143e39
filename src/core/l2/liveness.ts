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

/** What an observer's silence counts rest on (ApiView): from when, and proven up to when. */
export interface Evidence {
  /** Silence counts only from here (our renewals land promptly since); undefined: nobody is declared dead. */
  readonly freshFromMs: number | undefined;
  /**
   * When our watch last delivered a renewal of ours: everything committed
   * before is known. A node is dead only if at least half an expiry of its
   * silence lies before this, so a watch that stalls (and stops proving) is
   * never read as everybody else's silence. Infinity: trust the clock alone.
   */
  readonly provenAtMs: number;
}

/**
 * Whether a node is live for this observer at `nowMs` (same clock as
 * lastChangeSeenAtMs): live until a whole expiry of silence has passed since
 * max(its last change seen, the evidence floor), half of it proven by the watch.
 */
export function isLive(o: HeartbeatObservation | undefined, nowMs: number, s: CoordinationSettings, e: Evidence): boolean {
  if (o === undefined || o.holder === '') return false;
  if (e.freshFromMs === undefined) return true;
  const since = Math.max(o.lastChangeSeenAtMs, e.freshFromMs);
  return nowMs - since < s.heartbeatExpiryMs || e.provenAtMs - since < s.heartbeatExpiryMs / 2;
}

/** The nodes live for this observer (see isLive). */
export function liveNodes(
  heartbeats: ReadonlyMap<string, HeartbeatObservation>, nowMs: number, s: CoordinationSettings, e: Evidence,
): Set<string> {
  const out = new Set<string>();
  for (const [node, o] of heartbeats) if (isLive(o, nowMs, s, e)) out.add(node);
  return out;
}

/**
 * When the observer should next re-evaluate so that an expiry is noticed on
 * time without polling: the earliest future moment a live node's expiry
 * passes. (One whose expiry passed but whose silence is not yet proven turns
 * dead when the watch next delivers a renewal of ours, an observation.)
 */
export function nextExpiryAtMs(
  heartbeats: ReadonlyMap<string, HeartbeatObservation>, nowMs: number, s: CoordinationSettings, e: Evidence,
): number | undefined {
  if (e.freshFromMs === undefined) return undefined;
  let next: number | undefined;
  for (const o of heartbeats.values()) {
    if (!isLive(o, nowMs, s, e)) continue;
    const at = Math.max(o.lastChangeSeenAtMs, e.freshFromMs) + s.heartbeatExpiryMs;
    if (at > nowMs && (next === undefined || at < next)) next = at;
  }
  return next;
}
