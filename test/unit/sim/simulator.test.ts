/**
 * The simulator's short seeded run (the long one is `npm run sim:check`), and
 * proof that its checker catches what it must: herald 0.1's clock-only rule
 * fails the defects of issue 8 here, and the current rule passes them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSeeds } from '../../../sim/check.js';
import { SimClock } from '../../../sim/clock.js';
import { runSchedule, type RunOptions } from '../../../sim/cluster.js';
import { nodeNames, randomSchedule, type Schedule, type TimedFault } from '../../../sim/faults.js';

const [a = '', b = '', c = ''] = nodeNames(3);

function schedule(faults: TimedFault[], endMs: number, over: Partial<Schedule> = {}): Schedule {
  return { seed: 7, nodes: 3, services: 6, loss: 0, latencyMs: [0.5, 3], watchLagMs: [0.5, 2], faults, endMs, ...over };
}

function kinds(s: Schedule, opts: RunOptions = {}): string[] {
  return [...new Set(runSchedule(s, { seeded: true, ...opts }).violations.map((v) => v.kind))].sort();
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

  it('a short seeded run: 300 random fault schedules at 3 to 12 nodes keep every invariant', () => {
    const s = checkSeeds(1, 300, [3, 12]);
    const failures = s.failures.map((f) => `seed ${f.seed}: ${f.violations.map((v) => `${v.kind}: ${v.detail}`).join('; ')}`);
    assert.deepEqual(failures, [], 'replay with: node dist/sim/main.js replay --seed <seed> --nodes 3-12');
    assert.equal(s.runs, 300);
    assert.ok(s.darkPeriodsMs.length > 100, 'faults did take addresses dark, and they came back');
  });

  it('defect 1: a 30 s apiserver pause moves Services under the clock rule, and nothing under the current rule', () => {
    const pause = schedule([{ at: 6000, fault: { kind: 'api-pause', ms: 30_000 } }], 50_000);
    assert.deepEqual(kinds(pause, { evidence: 'clock' }), ['moved']);
    assert.deepEqual(kinds(pause), []);
  });

  it('defect 2: a silently stalled watch on a survivor leaves a dead holder dark under the clock rule; the current rule restarts the watch and fails over', () => {
    const pairs = [a, b, c].flatMap((stalled) => [a, b, c].filter((dead) => dead !== stalled).map((dead) => schedule([
      { at: 6000, fault: { kind: 'watch-stall', node: stalled } },
      { at: 7000, fault: { kind: 'node-down', node: dead } },
    ], 40_000)));
    assert.ok(pairs.some((s) => kinds(s, { evidence: 'clock' }).includes('dark')), 'some survivor waits forever for the stalled one');
    for (const s of pairs) {
      const r = runSchedule(s, { seeded: true, trace: true });
      assert.deepEqual(r.violations, []);
      const stalled = s.faults[0]?.fault.kind === 'watch-stall' ? s.faults[0].fault.node : '';
      assert.ok(r.trace.some((l) => l.includes(`${stalled} restarts its Lease watch`)));
    }
  });

  it('a claim stalled in a paused apiserver that lands after its holder came back is given back without answering', () => {
    // b hangs, so its Services are claimed; the apiserver pauses just as the claims are sent; b resumes during the pause.
    const runs = Array.from({ length: 40 }, (_, i) => runSchedule(schedule([
      { at: 6000, fault: { kind: 'hang', node: b, ms: 10_000 } },
      { at: 6900 + i * 25, fault: { kind: 'api-pause', ms: 20_000 } },
    ], 45_000), { seeded: true }));
    for (const r of runs) assert.deepEqual(r.violations, []);
    assert.ok(runs.some((r) => r.gaps.some((g) => g.kind === 'late-claim-returned')), 'some pause caught a claim on its way');
  });

  it('the v1 gap is reported, not hidden: a holder cut off the LAN with its API up stays the holder (issue 9)', () => {
    const cut = schedule([{ at: 6000, fault: { kind: 'lan-cut', nodes: [b], ms: 10_000 } }], 30_000);
    const r = runSchedule(cut, { seeded: true });
    assert.deepEqual(r.violations, []);
    assert.ok(r.gaps.some((g) => g.kind === 'lan-cut-undetected'));
  });

  it('a crash fails over within the bound at three nodes, with frame loss', () => {
    const crash = schedule([{ at: 6000, fault: { kind: 'node-down', node: b } }], 20_000, { loss: 0.2 });
    const r = runSchedule(crash, { seeded: true });
    assert.deepEqual(r.violations, []);
    assert.ok(r.darkPeriodsMs.some((d) => d > 500), 'the crashed node held something');
  });
});
