import { DEFAULT_COORDINATION } from '../core/l2/coordination-settings.js';

export interface BurstSettings {
  /** How many times the announcement is sent, the first immediately. */
  readonly rounds: number;
  /** Delay between rounds. */
  readonly intervalMs: number;
}

/**
 * Like MetalLB's burst: a few rounds over a few seconds, in case the first is
 * lost. Defined once, with the agent's other timings, so the failover bounds
 * computed there describe what the responder really sends.
 */
export const DEFAULT_BURST: BurstSettings = { rounds: DEFAULT_COORDINATION.burstRounds, intervalMs: DEFAULT_COORDINATION.burstIntervalMs };

/** Delays from the start of a burst at which each round is sent. */
export function burstDelays(b: BurstSettings): number[] {
  const rounds = Math.max(0, Math.floor(b.rounds));
  return Array.from({ length: rounds }, (_, i) => i * Math.max(0, b.intervalMs));
}
