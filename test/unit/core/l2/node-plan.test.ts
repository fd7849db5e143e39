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

describe('planNode: Services sharing an address are announced by one node', () => {
  // Ranked under their own keys these two go to different nodes of a, b, c (checked below),
  // which is what Cilium does (cilium/cilium#48419): two MACs for one address.
  const shared: L2ServiceView[] = [
    { namespace: 'default', name: 'dns-t', type: 'LoadBalancer', ingressIPs: ['192.0.2.53'] },
    { namespace: 'default', name: 'dns-u', type: 'LoadBalancer', ingressIPs: ['192.0.2.53'] },
  ];
  const sel = selectL2({
    policies: [compileL2Policy({ name: 'all', loadBalancerIPs: true, interfaces: ['^eth'] })],
    services: shared, nodes, endpoints: new Map(), poolRanges: [],
  });
  const planFor = (self: string, over: Partial<NodePlanInput> = {}): ReturnType<typeof planNode> => plan(self, { selection: sel, ...over });
  const decision = (self: string, svc: string, over: Partial<NodePlanInput> = {}): ReturnType<typeof planNode>[number]['decision'] => {
    const p = planFor(self, over).find((x) => x.service === `default/${svc}`);
    assert.ok(p, `${self} plans ${svc}`);
    return p.decision;
  };

  it('(the two would split if ranked apart)', () => {
    assert.notEqual(rankCandidates('default/dns-t', ['a', 'b', 'c'])[0], rankCandidates('default/dns-u', ['a', 'b', 'c'])[0]);
  });

  it('with no holders, one node claims both', () => {
    const claims = ['a', 'b', 'c'].flatMap((self) => planFor(self).filter((p) => p.decision.action === 'claim').map((p) => `${p.service}@${self}`));
    assert.equal(claims.length, 2, claims.join(', '));
    const best = rankCandidates('default/dns-t', ['a', 'b', 'c'])[0];
    assert.deepEqual(claims.sort(), [`default/dns-t@${best}`, `default/dns-u@${best}`]);
  });

  it('a new Service on a held address is claimed by the holder of the other, not by its own best node', () => {
    const udpBest = rankCandidates('default/dns-u', ['a', 'b', 'c'])[0] ?? '';
    const holder = ['a', 'b', 'c'].find((n) => n !== udpBest) ?? '';
    const holders = new Map([['default/dns-t', holder]]);
    assert.equal(decision(holder, 'dns-u', { holders }).action, 'claim');
    const other = decision(udpBest, 'dns-u', { holders });
    assert.equal(other.action, 'none');
    assert.equal(other.waitingFor, holder);
    assert.match(other.reason, /holds default\/dns-t on a shared address/);
  });

  it('a split (from before, or another tool) converges: the later Service is handed to the earlier one\'s holder', () => {
    const holders = new Map([['default/dns-t', 'a'], ['default/dns-u', 'b']]);
    const b = decision('b', 'dns-u', { holders });
    assert.equal(b.action, 'handover');
    assert.equal(b.target, 'a');
    assert.equal(decision('a', 'dns-t', { holders }).action, 'none', 'the earlier Service stays put');
  });

  it('the group holder is not followed when it is dead, paused or not a candidate', () => {
    const best = rankCandidates('default/dns-t', ['a', 'b', 'c'])[0] ?? '';
    const holderNotBest = ['a', 'b', 'c'].find((n) => n !== best) ?? '';
    const holders = new Map([['default/dns-t', holderNotBest]]);
    const live = new Set(['a', 'b', 'c'].filter((n) => n !== holderNotBest));
    // tcp's holder is gone: both Services go to the same best live node.
    const rankLive = rankCandidates('default/dns-t', [...live])[0] ?? '';
    assert.equal(decision(rankLive, 'dns-t', { holders, live }).action, 'claim');
    assert.equal(decision(rankLive, 'dns-u', { holders, live }).action, 'claim');
    const paused = new Set([holderNotBest]);
    assert.notEqual(decision(holderNotBest, 'dns-u', { holders, paused }).action, 'claim', 'a paused node is not handed new Services');
  });

  it('once a claim\'s patience has run out, the ranking takes over again', () => {
    const ranked = rankCandidates('default/dns-t', ['a', 'b', 'c']);
    const holder = ranked[2] ?? '';
    const holders = new Map([['default/dns-t', holder]]);
    const passOver = new Map([['default/dns-u', 1]]);
    assert.equal(decision(ranked[1] ?? '', 'dns-u', { holders, passOver }).action, 'claim');
  });
});
