import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileL2Policy } from '../../../../src/core/l2/l2-policy.js';
import { planNode } from '../../../../src/core/l2/node-plan.js';
import { CandidateRanker } from '../../../../src/core/l2/rendezvous.js';
import { selectL2, type L2ServiceView } from '../../../../src/core/l2/selection.js';

const NODES: readonly string[] = ['n0', 'n1', 'n2', 'n3', 'n4'];
const SERVICES: readonly string[] = ['default/dns-a', 'default/dns-b', 'default/dns-c'];

/** Shared observations of a group of three Services on one address. */
interface World {
  readonly up: readonly string[];
  readonly live: ReadonlySet<string>;
  readonly paused: ReadonlySet<string>;
  readonly holders: readonly string[];
}

const subset = fc.subarray([...NODES]);
const worldArb: fc.Arbitrary<World> = fc.record({
  up: subset,
  live: subset.map((s) => new Set(s)),
  paused: subset.map((s) => new Set(s)),
  holders: fc.array(fc.constantFrom('', ...NODES, 'gone-node'), { minLength: SERVICES.length, maxLength: SERVICES.length }),
});

const services: L2ServiceView[] = SERVICES.map((k) => ({ namespace: 'default', name: k.slice('default/'.length), type: 'LoadBalancer', ingressIPs: ['192.0.2.53'] }));
const policy = compileL2Policy({ name: 'all', loadBalancerIPs: true, interfaces: ['^eth'] });

/** Every node plans from the same observations; claims and handovers are written; again, until nothing changes. */
function settle(w: World): { holders: Map<string, string>; steps: number } {
  const selection = selectL2({
    policies: [policy], services, endpoints: new Map(), poolRanges: [],
    nodes: NODES.map((name) => ({ name, labels: {}, upLinks: w.up.includes(name) ? ['eth0'] : [] })),
  });
  const holders = new Map(SERVICES.map((k, i) => [k, w.holders[i] ?? '']));
  for (let step = 0; step < 10; step++) {
    const writes = new Map<string, string[]>();
    for (const self of NODES) {
      if (!w.live.has(self)) continue;
      for (const p of planNode({
        self, selection, holders, live: w.live, paused: w.paused, apiReachable: true,
        conflicted: new Set(), previous: new Map(), ranker: new CandidateRanker(),
      })) {
        const { action, target } = p.decision;
        if ((action === 'claim' || action === 'handover') && target !== undefined) writes.set(p.service, [...(writes.get(p.service) ?? []), target]);
        if (action === 'release') writes.set(p.service, [...(writes.get(p.service) ?? []), '']);
      }
    }
    if (writes.size === 0) return { holders, steps: step };
    for (const [svc, targets] of writes) {
      // A holder handing over and a node claiming may both write (compare-and-swap keeps one): they must agree.
      assert.equal(new Set(targets).size, 1, `the writes for ${svc} agree: ${targets.join(', ')}`);
      holders.set(svc, targets[0] ?? '');
    }
  }
  assert.fail('did not settle in 10 rounds');
}

describe('address groups: properties (shared observations)', () => {
  it('whatever the holders were, the group settles on one node for every Service a live candidate can hold', () => {
    fc.assert(fc.property(worldArb, (w) => {
      // A node restarting in place is handed nothing meanwhile; the group comes together once it is back.
      const first = settle(w);
      const { holders, steps } = settle({ ...w, paused: new Set(), holders: SERVICES.map((k) => first.holders.get(k) ?? '') });
      const candidates = NODES.filter((n) => w.up.includes(n));
      const serving = [...holders.values()].filter((h) => h !== '' && w.live.has(h) && candidates.includes(h));
      assert.ok(new Set(serving).size <= 1, `one node answers for the shared address: ${[...holders].map(([k, v]) => `${k}=${v}`).join(' ')} (after ${steps} rounds)`);
    }), { numRuns: 1500 });
  });

  it('a live, unpaused candidate holding the group\'s first Service is never displaced', () => {
    fc.assert(fc.property(worldArb, (w) => {
      const first = w.holders[0] ?? '';
      fc.pre(first !== '' && w.live.has(first) && !w.paused.has(first) && w.up.includes(first));
      const { holders } = settle(w);
      assert.equal(holders.get(SERVICES[0] ?? ''), first);
    }), { numRuns: 1000 });
  });
});
