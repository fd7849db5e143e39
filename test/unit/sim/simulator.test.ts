/**
 * The simulator's short seeded run (the long one is `npm run sim:check`), and
 * v2 stories (liveness on the LAN) on hand-written schedules: a holder cut
 * off the LAN is replaced within the dark bound; an apiserver pause moves
 * nothing; a minority cut off together takes nothing; steady state costs no
 * API traffic and a bounded number of liveness frames per node.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_COORDINATION } from '../../../src/core/l2/coordination-settings.js';
import { rankCandidates } from '../../../src/core/l2/rendezvous.js';
import { checkSeeds, describeSchedule } from '../../../sim/check.js';
import { SimClock } from '../../../sim/clock.js';
import { boundsFor, runSchedule, serviceAddress, type RunOptions, type RunResult } from '../../../sim/cluster.js';
import { nodeNames, randomSchedule, type Schedule, type TimedFault } from '../../../sim/faults.js';
import type { SimApi } from '../../../sim/sim-api.js';
import { serviceLeaseName } from '../../../sim/sim-agent.js';
import type { SimLan } from '../../../sim/sim-lan.js';

type World = Parameters<NonNullable<RunOptions['onStart']>>[0];

function schedule(faults: TimedFault[], endMs: number, over: Partial<Schedule> = {}): Schedule {
  return { seed: 7, nodes: 3, services: 6, loss: 0, latencyMs: [0.5, 3], watchLagMs: [0.5, 2], faults, endMs, ...over };
}

const serviceKeys = (s: Pick<Schedule, 'services'>): string[] => Array.from({ length: s.services }, (_, i) => `default/svc-${i}`);

/** Every Service Lease's holder, by Service. */
function holders(api: SimApi, s: Pick<Schedule, 'services'>): Map<string, string> {
  return new Map(serviceKeys(s).map((k) => [k, api.leases.get(serviceLeaseName(k))?.holder ?? '']));
}

/** Who the seeded run starts with as each Service's holder (its best-ranked node; one segment below 50 nodes). */
function seededHolders(s: Pick<Schedule, 'services' | 'nodes'>): Map<string, string> {
  const nodes = nodeNames(s.nodes);
  return new Map(serviceKeys(s).map((k) => [k, rankCandidates(k, nodes)[0] ?? '']));
}

/** Calls `fn` with the addresses whose answerers may have changed, after the checker's own listener. */
function onAnswerChange(lan: SimLan, fn: (addresses: readonly string[]) => void): void {
  const checker = lan.onChange;
  lan.onChange = (addrs) => {
    const list = [...addrs];
    checker(list);
    fn(list);
  };
}

const clientSide = (lan: SimLan, address: string): readonly string[] => lan.answerers(address).get(0) ?? [];

/** A failing run as text: the schedule, its violations, and the trace up to a little after the first one. */
function explain(r: RunResult): string {
  const replay = runSchedule(r.schedule, { seeded: true, trace: true });
  const first = replay.violations[0]?.at ?? Infinity;
  const lines = replay.trace.filter((l) => Number.parseFloat(l) <= first + 200);
  return [
    describeSchedule(r.schedule),
    ...replay.violations.map((v) => `  ${v.kind} at ${v.at.toFixed(0)} ms: ${v.detail}`),
    '  trace (last 60 lines to the first violation):',
    ...lines.slice(-60).map((l) => `    ${l}`),
  ].join('\n');
}

describe('simulator', () => {
  it('simulated time runs callbacks in time order, ties in insertion order, and never goes back', () => {
    const clock = new SimClock();
    const seen: string[] = [];
    clock.at(20, () => { seen.push('b'); clock.after(0, () => { seen.push('d'); }); });
    clock.at(10, () => { seen.push('a'); });
    clock.at(20, () => { seen.push('c'); });
    const t = clock.at(15, () => { seen.push('never'); });
    t.cancelled = true;
    clock.runUntil(100);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
    assert.equal(clock.now, 100);
  });

  it('is deterministic: a seed replays the same run, trace for trace', () => {
    const s = randomSchedule(42, [3, 8]);
    const one = runSchedule(s, { seeded: true, trace: true }).trace;
    const two = runSchedule(s, { seeded: true, trace: true }).trace;
    assert.ok(one.length > 10);
    assert.deepEqual(one, two);
  });

  it('a replay of a run prints a trace: faults, Lease writes, marks and who answers', () => {
    const s = schedule([{ at: 6000, fault: { kind: 'node-down', node: nodeNames(3)[0] ?? '' } }], 12_000);
    const trace = runSchedule(s, { seeded: true, trace: true }).trace;
    assert.ok(trace.some((l) => l.includes('FAULT node-down node-0000')));
    assert.ok(trace.some((l) => /marks node-0000 unreachable on eth0/.test(l)), 'a monitor marks the dead node');
    assert.ok(trace.some((l) => /writes claim default\/svc-\d/.test(l)), 'a successor claims');
    assert.ok(trace.some((l) => l.includes('answering 192.0.2.')));
    assert.ok(trace.every((l) => /^\s*\d+\.\d ms {2}/.test(l)), 'every line starts with its simulated time');
  });

  it('a short seeded run: 300 random fault schedules at 3 to 12 nodes keep every invariant', () => {
    const s = checkSeeds(1, 300, [3, 12]);
    const failures = s.failures.map((f) => `seed ${f.seed}: ${[...new Set(f.violations.map((v) => v.kind))].join(', ')}`);
    const detail = s.failures.length === 0 ? '' : `\n${explain(runSchedule(s.failures[0]!.schedule, { seeded: true }))}`;
    assert.deepEqual(failures, [], `replay with: node dist/sim/main.js replay --seed <seed> --nodes 3-12${detail}`);
    assert.equal(s.runs, 300);
    assert.ok(s.darkPeriodsMs.length > 100, 'faults did take addresses dark, and they came back');
  });

  it('a crash fails over within the dark bound at three nodes, with frame loss', () => {
    const crash = schedule([{ at: 6000, fault: { kind: 'node-down', node: nodeNames(3)[1] ?? '' } }], 20_000, { loss: 0.2 });
    const r = runSchedule(crash, { seeded: true });
    assert.deepEqual(r.violations, [], explain(r));
    const bound = boundsFor(DEFAULT_COORDINATION, crash).darkMs;
    const after = r.darkPeriodsMs.filter((d) => d > 100);
    assert.ok(after.length > 0, 'the crashed node held something');
    assert.ok(after.every((d) => d <= bound), `dark periods ${after.map((d) => d.toFixed(0)).join(', ')} ms within ${bound} ms`);
  });

  it('(a) a holder cut off the LAN (its API link up): its addresses are answered again on the client side within the dark bound, and its Leases moved', () => {
    for (const seed of [7, 8, 9, 10, 11]) {
      const s0 = schedule([], 30_000, { seed, nodes: 5, services: 4 });
      const start = seededHolders(s0);
      const holder = start.get('default/svc-0') ?? '';
      const held = [...start].filter(([, h]) => h === holder).map(([k]) => k);
      const cutAt = 6000;
      const s = { ...s0, faults: [{ at: cutAt, fault: { kind: 'lan-cut' as const, nodes: [holder], ms: 10_000 } }] };
      const bound = boundsFor(DEFAULT_COORDINATION, s).darkMs;
      const backAt = new Map<string, number>();
      let atHeal = new Map<string, string>();
      const addresses = held.map((k) => serviceAddress(Number(k.split('-').at(-1)), s.services));
      const r = runSchedule(s, {
        seeded: true,
        onStart: ({ clock, api, lan }: World) => {
          onAnswerChange(lan, (addrs) => {
            if (clock.now < cutAt) return;
            for (const a of addrs) {
              if (!backAt.has(a) && clientSide(lan, a).some((n) => n !== holder)) backAt.set(a, clock.now);
            }
          });
          clock.at(cutAt + 9999, () => { atHeal = holders(api, s); });
        },
      });
      assert.deepEqual(r.violations, [], explain(r));
      assert.ok(addresses.length > 0);
      for (const a of addresses) {
        const back = backAt.get(a);
        assert.ok(back !== undefined, `seed ${seed}: ${a} answered again`);
        assert.ok(back - cutAt <= bound, `seed ${seed}: ${a} answered again ${(back - cutAt).toFixed(0)} ms after the cut (bound ${bound} ms)`);
      }
      for (const k of held) {
        const now = atHeal.get(k) ?? '';
        assert.ok(now !== '' && now !== holder, `seed ${seed}: ${k} moved from ${holder} (now '${now}')`);
      }
    }
  });

  it('(b) an apiserver pause of 30 s, and nothing else: no Lease changes holder, and no address goes dark', () => {
    for (const seed of [7, 8, 9]) {
      const pauseAt = 6000;
      const s = schedule([{ at: pauseAt, fault: { kind: 'api-pause', ms: 30_000 } }], 50_000, { seed, nodes: 5 });
      let before = new Map<string, string>();
      let atResume = new Map<string, string>();
      const dark: string[] = [];
      const r = runSchedule(s, {
        seeded: true,
        onStart: ({ clock, api, lan }: World) => {
          clock.at(pauseAt - 1, () => { before = holders(api, s); });
          clock.at(pauseAt + 30_000 + 1, () => { atResume = holders(api, s); });
          onAnswerChange(lan, (addrs) => {
            if (clock.now < pauseAt - 1000) return;
            for (const a of addrs) if (clientSide(lan, a).length === 0) dark.push(`${a} at ${clock.now.toFixed(0)} ms`);
          });
        },
      });
      assert.deepEqual(r.violations, [], explain(r));
      assert.deepEqual(before, seededHolders(s), 'the seeded holders were in place');
      assert.deepEqual(atResume, before, `seed ${seed}: nothing moved during the pause`);
      assert.deepEqual(holders(r.api, s), before, `seed ${seed}: nor after it`);
      assert.deepEqual(dark, [], `seed ${seed}: no address went dark`);
    }
  });

  it('(c) two non-holders cut off the LAN together, out of five: they never take a Service', () => {
    for (const seed of [7, 8, 9, 10, 11]) {
      const s0 = schedule([], 40_000, { seed, nodes: 5, services: 2 });
      const start = seededHolders(s0);
      const idle = nodeNames(5).filter((n) => ![...start.values()].includes(n));
      assert.ok(idle.length >= 2, `seed ${seed}: two nodes hold nothing`);
      const cut = idle.slice(0, 2);
      const s = { ...s0, faults: [{ at: 6000, fault: { kind: 'lan-cut' as const, nodes: cut, ms: 20_000 } }] };
      const taken: string[] = [];
      const r = runSchedule(s, {
        seeded: true,
        onStart: ({ clock, api }: World) => {
          const watch = (): void => {
            for (const [k, h] of holders(api, s)) if (cut.includes(h)) taken.push(`${k} by ${h} at ${clock.now.toFixed(0)} ms`);
            clock.after(50, watch);
          };
          clock.at(0, watch);
        },
      });
      assert.deepEqual(r.violations.filter((v) => v.kind === 'moved'), [], explain(r));
      assert.deepEqual(r.violations, [], explain(r));
      assert.deepEqual(taken, [], `seed ${seed}: a Service Lease named a cut node`);
      for (const [k, h] of holders(r.api, s)) assert.ok(!cut.includes(h), `seed ${seed}: ${k} ends with ${h}`);
    }
  });

  it('(d) steady state at 30 nodes: from 2 s to 6 s no API write and no watch event, and the busiest node handles ≤ 200 liveness frames/s', () => {
    const s = schedule([], 6500, { nodes: 30, services: 10 });
    const from = 2000;
    const to = 6000;
    const measured = { writes: -1, events: -1, maxPerNodePerS: -1, busiest: '' };
    const r = runSchedule(s, {
      seeded: true,
      onStart: ({ clock, api, lan }: World) => {
        let at = { writes: 0, events: 0, perNode: new Map<string, number>() };
        clock.at(from, () => { at = { writes: api.counters.writes, events: api.counters.watchEvents, perNode: new Map(lan.livenessByNode) }; });
        clock.at(to, () => {
          measured.writes = api.counters.writes - at.writes;
          measured.events = api.counters.watchEvents - at.events;
          for (const [n, c] of lan.livenessByNode) {
            const perS = (c - (at.perNode.get(n) ?? 0)) / ((to - from) / 1000);
            if (perS > measured.maxPerNodePerS) { measured.maxPerNodePerS = perS; measured.busiest = n; }
          }
        });
      },
    });
    assert.deepEqual(r.violations, [], explain(r));
    assert.equal(measured.writes, 0, 'API writes');
    assert.equal(measured.events, 0, 'watch events');
    assert.ok(measured.maxPerNodePerS > 0, 'liveness frames flowed');
    assert.ok(measured.maxPerNodePerS <= 200, `${measured.busiest}: ${measured.maxPerNodePerS} liveness frames/s`);
  });
});
