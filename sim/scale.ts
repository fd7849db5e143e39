/**
 * Costs as the cluster grows: the same simulated agents at N nodes with S
 * Services, starting from agreement, first in steady state (API writes and
 * watch events per second, LAN frames per node per second), then through a
 * series of node failures (each node cut off the LAN and its agent killed),
 * measuring for every address the failed node answered how long it stayed
 * dark on the client's side.
 */
import { DEFAULT_COORDINATION } from '../src/core/l2/coordination-settings.js';
import { nodeNames, type TimedFault } from './faults.js';
import { runSchedule } from './cluster.js';
import { Rng } from './rng.js';

export interface ScaleRow {
  readonly nodes: number;
  readonly services: number;
  readonly apiWritesPerS: number;
  readonly watchEventsPerS: number;
  readonly lanFramesPerNodePerS: number;
  /** The busiest node's liveness frames, sent plus received, per second. */
  readonly maxLivenessPerNodePerS: number;
  /** Per failure (from the first fault to the end): API writes, watch events, and the busiest node's liveness frames in its busiest second. */
  readonly perFailure: { readonly writes: number; readonly watchEvents: number; readonly busiestSecondFrames: number };
  /** Dark time of each address a failed node answered, ms, sorted. */
  readonly failoverMs: readonly number[];
  /** Addresses that were never answered again before the run ended. */
  readonly neverRecovered: number;
  readonly wallMs: number;
  readonly heapMiB: number;
}

export interface ScaleOptions {
  readonly seed?: number;
  readonly steadyFromMs?: number;
  readonly steadyToMs?: number;
  readonly crashes?: number;
  readonly crashEveryMs?: number;
}

export function measureScale(nodes: number, services: number, o: ScaleOptions = {}): ScaleRow {
  const started = performance.now();
  const seed = o.seed ?? 1;
  const from = o.steadyFromMs ?? 2500;
  const to = o.steadyToMs ?? 6500;
  const crashes = o.crashes ?? 3;
  const every = o.crashEveryMs ?? 4000;
  const names = nodeNames(nodes);
  const rng = new Rng(seed);
  const victims = rng.sample(names, Math.min(crashes, nodes - 1));
  const faults: TimedFault[] = victims.map((node, i) => ({ at: to + 500 + i * every + rng.between(0, 500), fault: { kind: 'node-down', node } }));
  const endMs = to + 500 + victims.length * every + 3000;
  const mark = { writes: 0, events: 0, frames: 0 };
  let perNodeAtFrom = new Map<string, number>();
  let maxPerNode = 0;
  const faultPhase = { writes: 0, events: 0, busiest: 0 };
  const failover: number[] = [];
  const pending = new Map<string, number>();
  let heap = 0;
  runSchedule({ seed, nodes, services, loss: 0, latencyMs: [0.5, 3], watchLagMs: [0.5, 5], faults, endMs }, {
    seeded: true, check: false, settings: DEFAULT_COORDINATION,
    onStart: ({ clock, api, lan }) => {
      const frames = (): number => lan.counters.framesSent + lan.counters.framesReceived + lan.counters.livenessSent + lan.counters.livenessReceived;
      clock.at(from, () => {
        mark.writes = api.counters.writes; mark.events = api.counters.watchEvents; mark.frames = frames();
        perNodeAtFrom = new Map(lan.livenessByNode);
      });
      clock.at(to, () => {
        mark.writes = api.counters.writes - mark.writes;
        mark.events = api.counters.watchEvents - mark.events;
        mark.frames = frames() - mark.frames;
        heap = process.memoryUsage().heapUsed / 2 ** 20;
        for (const [n, c] of lan.livenessByNode) maxPerNode = Math.max(maxPerNode, c - (perNodeAtFrom.get(n) ?? 0));
      });
      const firstFault = faults[0]?.at ?? endMs;
      clock.at(firstFault - 1, () => { faultPhase.writes = api.counters.writes; faultPhase.events = api.counters.watchEvents; });
      clock.at(endMs - 1, () => { faultPhase.writes = api.counters.writes - faultPhase.writes; faultPhase.events = api.counters.watchEvents - faultPhase.events; });
      // Every second of the fault phase, the busiest node's liveness frames in that second.
      let last = new Map<string, number>();
      for (let t = firstFault - 1; t < endMs; t += 1000) {
        clock.at(t, () => {
          const now = new Map(lan.livenessByNode);
          if (t > firstFault) for (const [n, c] of now) faultPhase.busiest = Math.max(faultPhase.busiest, c - (last.get(n) ?? 0));
          last = now;
        });
      }
      for (const f of faults) {
        // Just before the fault: what the victim answers now goes dark.
        clock.at(f.at - 0.001, () => {
          if (f.fault.kind !== 'node-down') return;
          for (const a of lan.answers(f.fault.node)) pending.set(a, f.at);
        });
      }
      lan.onChange = (addrs) => {
        for (const a of addrs) {
          const since = pending.get(a);
          if (since === undefined || clock.now <= since) continue;
          if ((lan.answerers(a).get(0) ?? []).length > 0) {
            failover.push(clock.now - since);
            pending.delete(a);
          }
        }
      };
    },
  });
  const seconds = (to - from) / 1000;
  return {
    nodes, services,
    apiWritesPerS: mark.writes / seconds,
    watchEventsPerS: mark.events / seconds,
    lanFramesPerNodePerS: mark.frames / seconds / nodes,
    maxLivenessPerNodePerS: maxPerNode / seconds,
    perFailure: { writes: faultPhase.writes / Math.max(1, victims.length), watchEvents: faultPhase.events / Math.max(1, victims.length), busiestSecondFrames: faultPhase.busiest },
    failoverMs: failover.sort((a, b) => a - b),
    neverRecovered: pending.size,
    wallMs: performance.now() - started,
    heapMiB: heap,
  };
}
