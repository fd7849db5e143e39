/** Timings of the agents' coordination (heartbeats and announcement bursts). */
export interface CoordinationSettings {
  /** How often each agent renews its herald-agent-<node> heartbeat Lease. */
  readonly heartbeatIntervalMs: number;
  /** A heartbeat unchanged this long (by the observer's clock) means the node is dead. */
  readonly heartbeatExpiryMs: number;
  /** Gratuitous ARP / unsolicited NA rounds sent when a node starts answering, the first at once. */
  readonly burstRounds: number;
  readonly burstIntervalMs: number;
}

/**
 * 500 ms / 1500 ms: a crashed holder is declared dead 1.5 s (plus one watch
 * delivery) after its last renewal, inside the 2 s failover target; three
 * renewals in a row must be missed, so one slow API round trip moves nothing.
 * The responder's default burst (src/l2/burst.ts) is taken from here.
 */
export const DEFAULT_COORDINATION: CoordinationSettings = {
  heartbeatIntervalMs: 500,
  heartbeatExpiryMs: 1500,
  burstRounds: 3,
  burstIntervalMs: 1000,
};

function positiveFinite(name: string, v: number): string | undefined {
  return Number.isFinite(v) && v > 0 ? undefined : `${name} must be a positive number of milliseconds (got ${v})`;
}

/** Every problem with the settings, as messages fit for the user; empty when valid. */
export function validateCoordinationSettings(s: CoordinationSettings): string[] {
  const errors: string[] = [];
  const interval = positiveFinite('heartbeat interval', s.heartbeatIntervalMs);
  const expiry = positiveFinite('heartbeat expiry', s.heartbeatExpiryMs);
  if (interval !== undefined) errors.push(interval);
  if (expiry !== undefined) errors.push(expiry);
  if (interval === undefined && expiry === undefined && s.heartbeatExpiryMs < 2 * s.heartbeatIntervalMs) {
    errors.push(
      `heartbeat expiry (${s.heartbeatExpiryMs} ms) must be at least twice the heartbeat interval (${s.heartbeatIntervalMs} ms), ` +
        'or one late renewal declares a healthy node dead and moves its Services',
    );
  }
  if (!Number.isInteger(s.burstRounds) || s.burstRounds < 1) {
    errors.push(`burst rounds must be a whole number ≥ 1 (got ${s.burstRounds}): without one announcement the LAN keeps the old MAC`);
  }
  if (!Number.isFinite(s.burstIntervalMs) || s.burstIntervalMs < 0) {
    errors.push(`burst interval must be ≥ 0 ms (got ${s.burstIntervalMs})`);
  } else if (s.burstRounds > 1 && s.burstIntervalMs === 0) {
    errors.push('burst interval must be > 0 ms when more than one round is sent, or the rounds go out together and are lost together');
  }
  return errors;
}

/**
 * Longest time from a holder's crash until its successor holds the Lease.
 * An observer restarts its expiry clock whenever it sees a renewal, so the
 * worst case is a crash just after a renewal: that renewal reaches observers
 * one watch delivery later, they declare the node dead `expiry` after that
 * (a timer at nextExpiryAtMs, no polling), and the claim costs one
 * compare-and-swap round trip. The heartbeat interval does not appear: it
 * only has to be short enough that a live node is never seen as expired
 * (validateCoordinationSettings enforces expiry ≥ 2 × interval).
 */
export function failoverBoundMs(s: CoordinationSettings, apiLatencyMs: number): number {
  return s.heartbeatExpiryMs + 2 * apiLatencyMs;
}

/**
 * How long two nodes may both answer when the old holder is cut off from the
 * API but still on the LAN. Until the successor claims (failoverBoundMs after
 * the partition) only the old holder answers; the successor's first
 * gratuitous frame silences it, and if frames are lost the last burst round
 * does, so the overlap lasts at most the burst. This assumes the old holder
 * hears at least one round; see docs/l2-announcements.md.
 */
export function dualAnswerBoundMs(s: CoordinationSettings): number {
  return (s.burstRounds - 1) * s.burstIntervalMs;
}
