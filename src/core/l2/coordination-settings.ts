/** Timings of the agents' coordination: LAN liveness (lan-liveness.ts) and announcement bursts. */
import { DEFAULT_LIVENESS, tickIntervalMs, type LivenessSettings } from './lan-liveness.js';

export interface CoordinationSettings extends LivenessSettings {
  /** Gratuitous ARP / unsolicited NA rounds sent when a node starts answering, the first at once. */
  readonly burstRounds: number;
  readonly burstIntervalMs: number;
}

/**
 * Hellos every 50 ms, a node unheard for 200 ms (four hellos) is suspected,
 * and a helper's probe waits 50 ms: a crashed holder is condemned at most
 * 400 ms after its last hello (failoverBoundMs), inside the 500 ms target.
 * 150 ms was tried: a healthy agent whose event loop stalled for about
 * 300 ms in the lab was condemned, so 200 ms it is. The responder's
 * default burst (src/l2/burst.ts) is taken from here.
 */
export const DEFAULT_COORDINATION: CoordinationSettings = {
  ...DEFAULT_LIVENESS,
  burstRounds: 3,
  burstIntervalMs: 1000,
};

function positiveFinite(name: string, v: number): string | undefined {
  return Number.isFinite(v) && v > 0 ? undefined : `${name} must be a positive number of milliseconds (got ${v})`;
}

/** Every problem with the settings, as messages fit for the user; empty when valid. */
export function validateCoordinationSettings(s: CoordinationSettings): string[] {
  const errors: string[] = [];
  const named: Array<[string, number]> = [
    ['hello interval', s.helloIntervalMs], ['suspect-after', s.suspectAfterMs], ['probe timeout', s.probeTimeoutMs],
    ['confirm timeout', s.confirmTimeoutMs], ['clear-after', s.clearAfterMs], ['LAN verdict lifetime', s.lanVerdictMs],
  ];
  for (const [name, v] of named) {
    const e = positiveFinite(name, v);
    if (e !== undefined) errors.push(e);
  }
  if (errors.length === 0) {
    if (s.suspectAfterMs < 3 * s.helloIntervalMs) {
      errors.push(
        `suspect-after (${s.suspectAfterMs} ms) must be at least three hello intervals (${s.helloIntervalMs} ms), ` +
          'or two lost hellos make a healthy node a suspect',
      );
    }
    if (s.confirmTimeoutMs < s.probeTimeoutMs + s.helloIntervalMs) {
      errors.push(
        `confirm timeout (${s.confirmTimeoutMs} ms) must be at least the probe timeout plus a hello interval (${s.probeTimeoutMs + s.helloIntervalMs} ms), ` +
          'or helpers answer after the suspecting node has stopped listening',
      );
    }
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
 * Longest time from a holder's crash (or cut) until its successor has
 * claimed, with three or more nodes on the link. The last hello may have left
 * just before the crash; the monitor's tick (every hello interval while
 * nothing is pending) notices the silence up to one interval after
 * suspectAfter; from then on ticks come every half interval; the helper's probe
 * times out at the helper's first tick after probeTimeout; the majority
 * answers within a LAN round trip, and the suspect then has one more probe
 * timeout, checked at a tick; the "down" broadcast reaches the successor at
 * once, and its claim is one compare-and-swap.
 */
export function failoverBoundMs(s: CoordinationSettings, apiLatencyMs: number): number {
  const tick = tickIntervalMs(s);
  return s.suspectAfterMs + s.helloIntervalMs + s.probeTimeoutMs + tick + s.probeTimeoutMs + tick + 2 * apiLatencyMs;
}

/**
 * How long two nodes may both answer when the old holder is cut off from the
 * API but still on the LAN: the old holder checks the Lease when it hears the
 * successor's first gratuitous frame (a read), and stops. If frames are lost
 * the last burst round does it, so the overlap lasts at most the burst.
 */
export function dualAnswerBoundMs(s: CoordinationSettings): number {
  return (s.burstRounds - 1) * s.burstIntervalMs;
}
