import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileL2Policy } from '../../../../src/core/l2/l2-policy.js';
import { planNode, type NodePlanInput } from '../../../../src/core/l2/node-plan.js';
import { CandidateRanker, rankCandidates } from '../../../../src/core/l2/rendezvous.js';
import { selectL2, type L2NodeView, type L2ServiceView } from '../../../../src/core/l2/selection.js';

const nodes: L2NodeView[] = ['a', 'b', 'c'].map((name) => ({ name, labels: {}, upLinks: ['eth0'] }));
const services: L2ServiceView[] = Array.from({ length: 30 }, (_, i) => ({
  namespace: 'default', name: `s${i}`, type: 'LoadBalancer', ingressIPs: [`192.0.2.${i + 1}`],
}));
const selection = selectL2({
  policies: [compileL2Policy({ name: 'all', loadBalancerIPs: true, interfaces: ['^eth'] })],
  services, nodes, endpoints: new Map(), poolRanges: [],
});

function plan(self: string, over: Partial<NodePlanInput> = {}): ReturnType<typeof planNode> {
  return planNode({
    self, selection, holders: new Map(), live: new Set(['a', 'b', 'c']), apiReachable: true,
    conflicted: new Set(), previous: new Map(), ranker: new CandidateRanker(), ...over,
  });
}

describe('planNode', () => {
  it('with no holders, each Service is claimed by exactly its best-ranked node', () => {
    const claims = new Map<string, string>();
    for (const self of ['a', 'b', 'c']) {
      for (const p of plan(self)) {
        if (p.decision.action !== 'claim') continue;
        assert.equal(claims.has(p.service), false);
        claims.set(p.service, self);
      }
    }
    assert.equal(claims.size, 30);
    for (const [svc, node] of claims) assert.equal(rankCandidates(svc, ['a', 'b', 'c'])[0], node);
    // Spread: every node got some.
    assert.equal(new Set(claims.values()).size, 3);
  });

  it('the holder answers its addresses on its links; others answer nothing', () => {
    const holders = new Map(services.map((s) => [`default/${s.name}`, 'b']));
    for (const p of plan('b', { holders })) {
      assert.equal(p.decision.answer, true);
      assert.equal(p.answer.length, 1);
      assert.deepEqual(p.answer[0]?.interfaces, ['eth0']);
    }
    for (const p of plan('a', { holders })) assert.equal(p.answer.length, 0);
  });

  it('a holder of a Service that is gone keeps answering its previous addresses while it releases', () => {
    const holders = new Map([['default/gone', 'a']]);
    const previous = new Map([['default/gone', [{ service: 'default/gone', address: '192.0.2.99', interfaces: ['eth0'] }]]]);
    const p = plan('a', { holders, previous }).find((x) => x.service === 'default/gone');
    assert.equal(p?.decision.action, 'release');
    assert.deepEqual(p.answer.map((a) => a.address), ['192.0.2.99']);
    assert.match(p.decision.reason, /the Service is gone/);
  });
});

describe('CandidateRanker', () => {
  it('returns the same order as rankCandidates and re-ranks on change', () => {
    const r = new CandidateRanker();
    const first = r.rank('x/y', ['a', 'b', 'c']);
    assert.deepEqual(first, rankCandidates('x/y', ['a', 'b', 'c']));
    assert.equal(r.rank('x/y', ['a', 'b', 'c']), first);
    assert.deepEqual(r.rank('x/y', ['a', 'b']), rankCandidates('x/y', ['a', 'b']));
    r.retain(new Set());
    assert.deepEqual(r.rank('x/y', ['a']), ['a']);
  });
});
