/**
 * Runs many seeded schedules and sums up what the invariant checker found.
 * A failing seed comes with the command that replays it with a full trace.
 */
import { randomSchedule, describeFault, type Schedule } from './faults.js';
import { runSchedule, type RunOptions } from './cluster.js';
import type { Gap, Violation } from './invariants.js';

export interface Failure {
  readonly seed: number;
  readonly schedule: Schedule;
  readonly violations: readonly Violation[];
}

export interface CheckSummary {
  runs: number;
  readonly failures: Failure[];
  readonly gaps: Record<string, number>;
  /** One example per gap kind. */
  readonly gapExamples: Record<string, Gap & { seed: number }>;
  readonly darkPeriodsMs: number[];
  readonly dualPeriodsMs: number[];
  readonly nodes: { min: number; max: number };
  simulatedMs: number;
}

export function checkSeeds(from: number, count: number, nodeRange: readonly [number, number], opts: RunOptions = {}): CheckSummary {
  const summary: CheckSummary = {
    runs: 0, failures: [], gaps: {}, gapExamples: {}, darkPeriodsMs: [], dualPeriodsMs: [],
    nodes: { min: Infinity, max: 0 }, simulatedMs: 0,
  };
  for (let seed = from; seed < from + count; seed++) {
    const schedule = randomSchedule(seed, nodeRange);
    const r = runSchedule(schedule, { seeded: true, ...opts });
    summary.runs++;
    summary.simulatedMs += schedule.endMs;
    summary.nodes.min = Math.min(summary.nodes.min, schedule.nodes);
    summary.nodes.max = Math.max(summary.nodes.max, schedule.nodes);
    if (r.violations.length > 0) summary.failures.push({ seed, schedule, violations: r.violations });
    for (const g of r.gaps) {
      summary.gaps[g.kind] = (summary.gaps[g.kind] ?? 0) + 1;
      summary.gapExamples[g.kind] ??= { ...g, seed };
    }
    // Only dark periods that follow a fault say something about failover.
    for (const d of r.darkPeriodsMs) if (d > 0) summary.darkPeriodsMs.push(d);
    summary.dualPeriodsMs.push(...r.dualPeriodsMs);
  }
  return summary;
}

export function describeSchedule(s: Schedule): string {
  return [
    `seed ${s.seed}: ${s.nodes} nodes, ${s.services} Services, frame loss ${s.loss}, API latency ≤ ${s.latencyMs[1]} ms, watch lag ≤ ${s.watchLagMs[1]} ms`,
    ...s.faults.map((f) => `  at ${f.at.toFixed(0)} ms: ${describeFault(f.fault)}`),
  ].join('\n');
}

export function replayCommand(seed: number): string {
  return `node dist/sim/main.js replay --seed ${seed}`;
}
