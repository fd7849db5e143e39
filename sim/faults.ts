/**
 * Fault schedules: what happens to a simulated cluster, and when. A schedule
 * is generated from a seed, so a seed names a run; it is also plain data, so
 * a test can write one by hand.
 */
import { Rng } from './rng.js';

export type Fault =
  /** The agent process dies; with restartAfterMs, a new one starts (its node stays on the LAN). */
  | { readonly kind: 'crash'; readonly node: string; readonly restartAfterMs?: number }
  /** The node dies: agent gone and off the LAN (no carrier change seen by anyone). */
  | { readonly kind: 'node-down'; readonly node: string }
  /** SIGSTOP of the agent for a while. */
  | { readonly kind: 'hang'; readonly node: string; readonly ms: number }
  /** Carrier loss on the announcing NIC. */
  | { readonly kind: 'nic-down'; readonly node: string; readonly ms: number }
  /** These nodes go off the client's LAN, together, without a carrier change. */
  | { readonly kind: 'lan-cut'; readonly nodes: readonly string[]; readonly ms: number }
  | { readonly kind: 'api-partition'; readonly node: string; readonly mode: 'reset' | 'blackhole'; readonly ms: number }
  /** The apiserver is SIGSTOPped; what was sent meanwhile executes when it resumes. */
  | { readonly kind: 'api-pause'; readonly ms: number }
  /** The node's Lease watch stops delivering without a sound. */
  | { readonly kind: 'watch-stall'; readonly node: string }
  | { readonly kind: 'watch-slow'; readonly node: string; readonly extraMs: number; readonly ms: number }
  /** Graceful stop (SIGTERM, drain); with restartAfterMs the agent comes back. */
  | { readonly kind: 'sigterm'; readonly node: string; readonly restartAfterMs?: number }
  /**
   * A rolling update of the agent: SIGTERM while the node stays, so it restarts in place
   * (RESTART_GRACE_MS); the new agent starts restartAfterMs later, or never (the node's agent
   * never comes back: its Services must move once the grace is over).
   */
  | { readonly kind: 'restart'; readonly node: string; readonly restartAfterMs?: number };

/** The --restart-grace of the simulated agents. */
export const RESTART_GRACE_MS = 5000;

export interface TimedFault { readonly at: number; readonly fault: Fault }

export interface Schedule {
  readonly seed: number;
  readonly nodes: number;
  readonly services: number;
  /** Probability that one frame to one receiver is lost. */
  readonly loss: number;
  readonly latencyMs: readonly [number, number];
  readonly watchLagMs: readonly [number, number];
  readonly faults: readonly TimedFault[];
  /** Simulated time at which the run ends (after the faults healed and a settling time). */
  readonly endMs: number;
}

export const WARMUP_MS = 5000;
export const SETTLE_MS = 12_000;

export function nodeNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `node-${String(i).padStart(4, '0')}`);
}

/** How long a fault lasts (0 for permanent ones). */
export function faultDuration(f: Fault): number {
  switch (f.kind) {
    case 'crash': case 'sigterm': return f.restartAfterMs ?? 0;
    case 'restart': return f.restartAfterMs ?? RESTART_GRACE_MS;
    case 'node-down': case 'watch-stall': return 0;
    default: return f.ms;
  }
}

/**
 * A random schedule: 3 to 50 nodes (mostly small), 1 to 8 Services, one to
 * four faults after a warm-up, sometimes overlapping, and frame loss on some
 * runs. Durations span "shorter than the expiry" to "much longer".
 */
export function randomSchedule(seed: number, nodeRange: readonly [number, number] = [3, 50]): Schedule {
  const rng = new Rng(seed);
  const [lo, hi] = nodeRange;
  const r = rng.float();
  const n = r < 0.6 ? rng.int(lo, Math.min(hi, 10)) : r < 0.9 ? rng.int(Math.min(hi, 11), Math.min(hi, 30)) : rng.int(Math.min(hi, 31), hi);
  const nodes = nodeNames(n);
  const duration = (): number => rng.pick([200, 800, 1600, 3000, 8000, 20_000, 40_000]) * rng.between(0.7, 1.3);
  const faults: TimedFault[] = [];
  const count = rng.int(1, 4);
  let last = WARMUP_MS;
  for (let i = 0; i < count; i++) {
    const at = WARMUP_MS + rng.between(0, 15_000);
    const node = rng.pick(nodes);
    const kind = rng.pick(['crash', 'node-down', 'hang', 'nic-down', 'lan-cut', 'api-partition', 'api-pause', 'watch-stall', 'watch-slow', 'sigterm', 'restart', 'restart'] as const);
    let fault: Fault;
    switch (kind) {
      case 'crash': fault = rng.chance(0.5) ? { kind, node, restartAfterMs: duration() } : { kind, node }; break;
      case 'node-down': fault = { kind, node }; break;
      case 'hang': fault = { kind, node, ms: duration() }; break;
      case 'nic-down': fault = { kind, node, ms: duration() }; break;
      case 'lan-cut': fault = { kind, nodes: rng.sample(nodes, rng.int(1, Math.max(1, Math.floor(n / 2)))), ms: duration() }; break;
      case 'api-partition': fault = { kind, node, mode: rng.chance(0.5) ? 'reset' : 'blackhole', ms: duration() }; break;
      case 'api-pause': fault = { kind, ms: duration() }; break;
      case 'watch-stall': fault = { kind, node }; break;
      case 'watch-slow': fault = { kind, node, extraMs: rng.pick([100, 400, 1000, 3000]), ms: duration() }; break;
      case 'sigterm': fault = rng.chance(0.5) ? { kind, node, restartAfterMs: duration() } : { kind, node }; break;
      case 'restart': fault = rng.chance(0.8) ? { kind, node, restartAfterMs: rng.between(500, 3000) } : { kind, node }; break;
    }
    faults.push({ at, fault });
    last = Math.max(last, at + faultDuration(fault));
  }
  faults.sort((a, b) => a.at - b.at);
  return {
    seed, nodes: n, services: rng.int(1, 8),
    loss: rng.pick([0, 0, 0.05, 0.2]),
    latencyMs: [0.5, rng.pick([3, 10, 30])],
    watchLagMs: [0.5, rng.pick([2, 10, 50])],
    faults,
    endMs: last + SETTLE_MS,
  };
}

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'crash': return `crash ${f.node}${f.restartAfterMs === undefined ? '' : `, restart after ${f.restartAfterMs.toFixed(0)} ms`}`;
    case 'node-down': return `node-down ${f.node}`;
    case 'hang': return `hang ${f.node} for ${f.ms.toFixed(0)} ms`;
    case 'nic-down': return `nic-down ${f.node} for ${f.ms.toFixed(0)} ms`;
    case 'lan-cut': return `lan-cut ${f.nodes.join(',')} for ${f.ms.toFixed(0)} ms`;
    case 'api-partition': return `api-partition (${f.mode}) ${f.node} for ${f.ms.toFixed(0)} ms`;
    case 'api-pause': return `api-pause for ${f.ms.toFixed(0)} ms`;
    case 'watch-stall': return `watch-stall ${f.node}`;
    case 'watch-slow': return `watch-slow ${f.node} +${f.extraMs} ms for ${f.ms.toFixed(0)} ms`;
    case 'restart': return `restart in place ${f.node}${f.restartAfterMs === undefined ? ', never back' : `, back after ${f.restartAfterMs.toFixed(0)} ms`}`;
    case 'sigterm': return `sigterm ${f.node}${f.restartAfterMs === undefined ? '' : `, restart after ${f.restartAfterMs.toFixed(0)} ms`}`;
  }
}
