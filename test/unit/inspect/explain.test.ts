import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainService, UnknownServiceError, type Explanation } from '../../../src/inspect/explain.js';
import { renderExplanation } from '../../../src/inspect/render.js';
import { rankCandidates } from '../../../src/core/l2/rendezvous.js';
import { lbService, node, nodeLease, policy, pool, serviceLease, slice, snapshot } from './fixtures.js';

function nodeWhy(e: Explanation, address: string, n: string): string | null {
  const a = e.addresses.find((x) => x.address === address);
  assert.ok(a, `no address ${address} in ${JSON.stringify(e.addresses.map((x) => x.address))}`);
  const v = a.nodes.find((x) => x.name === n);
  assert.ok(v, `no node ${n}`);
  return v.why;
}

test('an announced Service: pool, condition, candidates in rendezvous order, the Lease holder, its interface, MAC, replies and last gratuitous burst', () => {
  const svc = lbService('web', { ips: ['192.0.2.240'], condition: { status: 'True', reason: 'satisfied', message: 'Assigned 192.0.2.240' } });
  const ranked = rankCandidates('default/web', ['node-a', 'node-b', 'node-c']);
  const holder = ranked[0] ?? '';
  const s = snapshot({
    services: [svc],
    leases: [nodeLease('node-a'), nodeLease('node-b'), nodeLease('node-c'), serviceLease('default/web', holder, '2026-11-27T04:55:00.000000Z', 2)],
    agentList: [[holder, { reachable: true, status: {
      node: holder,
      services: [{ service: 'default/web', holder, answering: true, addresses: [{ address: '192.0.2.240', interfaces: ['eth0'] }], action: 'hold', why: 'holding: best-ranked' }],
      macs: { eth0: '02:00:00:00:00:0f' },
      answers: [{ address: '192.0.2.240', interface: 'eth0', replies: 7, lastReplyAt: '2026-11-27T04:59:59.000Z', lastGratuitousAt: '2026-11-27T04:55:00.500Z', gratuitousSent: 3 }],
    } }]],
  });
  const e = explainService(s, 'default', 'web');
  assert.equal(e.taken, true);
  assert.match(e.classVerdict, /^taken: no loadBalancerClass/);
  assert.deepEqual(e.ipam.pools, [{ name: 'lan-pool', candidate: true, why: null, selected: true }]);
  assert.deepEqual(e.ipam.assigned, [{ address: '192.0.2.240', pool: 'lan-pool' }]);
  assert.equal(e.ipam.condition?.reason, 'satisfied');
  const [a] = e.addresses;
  assert.ok(a);
  assert.deepEqual(a.ranked, ranked);
  assert.deepEqual(a.policies, [{ name: 'l2', selects: true, why: null }]);
  assert.deepEqual(a.nodes.map((n) => [n.name, n.rank]), ['node-a', 'node-b', 'node-c'].map((n) => [n, ranked.indexOf(n) + 1]));
  assert.equal(a.holder, holder);
  assert.deepEqual(a.answers, [{ interface: 'eth0', mac: '02:00:00:00:00:0f', replies: 7, lastReplyAt: '2026-11-27T04:59:59.000Z', lastGratuitousAt: '2026-11-27T04:55:00.500Z' }]);
  assert.equal(e.lease?.holder, holder);
  assert.equal(e.lease.leaseTransitions, 2);
  assert.equal(e.lease.heldFor, '5m');
  assert.deepEqual(e.holderAgent, { node: holder, answering: true, why: 'holding: best-ranked', error: null });
  assert.deepEqual(e.summary, [`192.0.2.240: announced by ${holder} on eth0 (02:00:00:00:00:0f)`]);
  const text = renderExplanation(e);
  assert.match(text, new RegExp(`answered by ${holder}:\\n\\s+eth0 02:00:00:00:00:0f: 7 replies, last 2026-11-27T04:59:59.000Z; last gratuitous 2026-11-27T04:55:00.500Z`));
  assert.match(text, /#1 node-[abc] on eth0/);
});

test('the holder agent unreachable: the MAC comes from its node Lease, and the explanation says the agent could not be read', () => {
  const s = snapshot({
    services: [lbService('web', { ips: ['192.0.2.240'] })],
    leases: [nodeLease('node-a'), nodeLease('node-b'), nodeLease('node-c'), serviceLease('default/web', 'node-b')],
    agentList: [['node-b', { reachable: false, error: 'through the apiserver\'s node proxy (node-b:9964): 503' }]],
  });
  const e = explainService(s, 'default', 'web');
  assert.deepEqual(e.addresses[0]?.answers, [{ interface: 'eth0', mac: '02:00:00:00:00:0b', replies: null, lastReplyAt: null, lastGratuitousAt: null }]);
  assert.ok(e.summary.some((l) => /the holder's agent \(node-b\) could not be read: .*503/.test(l)), e.summary.join('\n'));
  assert.match(renderExplanation(e), /node-b: unreachable: .*503/);
});

test('every reason a node is not a candidate: excluded, cordoned, nodeSelector, interface regex, no agent, marked unreachable', () => {
  const s = snapshot({
    services: [lbService('web', { ips: ['192.0.2.240'] })],
    nodes: [
      node('node-a', { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }), node('node-b', {}, true),
      node('node-c', { role: 'control-plane' }), node('node-d'), node('node-e'), node('node-f'), node('node-g'),
    ],
    policies: [policy('l2', {
      serviceSelector: { matchLabels: { app: 'myapp' } }, nodeSelector: { matchExpressions: [{ key: 'role', operator: 'DoesNotExist' }] },
      interfaces: ['^eth[0-9]+'], loadBalancerIPs: true,
    })],
    leases: ['node-a', 'node-b', 'node-c', 'node-g'].map((n) => nodeLease(n)).concat([
      nodeLease('node-d', { links: ['bond0'] }), nodeLease('node-f', { unreachable: ['eth0'] }), nodeLease('node-e', { holder: '' }),
    ]),
  });
  const e = explainService(s, 'default', 'web');
  assert.match(nodeWhy(e, '192.0.2.240', 'node-a') ?? '', /excluded by node.kubernetes.io\/exclude-from-external-load-balancers/);
  assert.match(nodeWhy(e, '192.0.2.240', 'node-b') ?? '', /unschedulable/);
  assert.equal(nodeWhy(e, '192.0.2.240', 'node-c'), 'nodeSelector does not select this node');
  assert.equal(nodeWhy(e, '192.0.2.240', 'node-d'), 'no up link matches interfaces ^eth[0-9]+ (up: bond0)');
  assert.match(nodeWhy(e, '192.0.2.240', 'node-e') ?? '', /no herald agent runs there/);
  assert.match(nodeWhy(e, '192.0.2.240', 'node-f') ?? '', /no up link \(marked unreachable on eth0\)/);
  assert.equal(nodeWhy(e, '192.0.2.240', 'node-g'), null);
  assert.deepEqual(e.addresses[0]?.ranked, ['node-g']);
  assert.ok(e.summary.some((l) => /no holder yet; node-g is the best-ranked candidate/.test(l)), e.summary.join('\n'));
});

test('externalTrafficPolicy Local: only nodes with a ready endpoint are candidates; with none anywhere, nobody is', () => {
  const local = lbService('local', { ips: ['192.0.2.241'], externalTrafficPolicy: 'Local' });
  const some = explainService(snapshot({ services: [local], slices: [slice('default/local', ['node-b'])] }), 'default', 'local');
  assert.deepEqual(some.addresses[0]?.ranked, ['node-b']);
  assert.equal(nodeWhy(some, '192.0.2.241', 'node-a'), 'externalTrafficPolicy=Local and no ready endpoint on this node');
  const none = explainService(snapshot({ services: [local] }), 'default', 'local');
  assert.deepEqual(none.addresses[0]?.ranked, []);
  for (const n of ['node-a', 'node-b', 'node-c']) assert.equal(nodeWhy(none, '192.0.2.241', n), 'externalTrafficPolicy=Local and no ready endpoint on this node');
  assert.ok(none.summary.some((l) => /192\.0\.2\.241: not announced: no node is a candidate/.test(l)), none.summary.join('\n'));
});

test('policies that do not select: serviceSelector mismatch, address kind not announced, invalid policy', () => {
  const s = snapshot({
    services: [lbService('web', { ips: ['192.0.2.240'], externalIPs: ['192.0.2.242'] })],
    policies: [
      policy('other-app', { serviceSelector: { matchLabels: { app: 'other' } }, loadBalancerIPs: true, externalIPs: true }),
      policy('lb-only', { serviceSelector: { matchLabels: { app: 'myapp' } }, loadBalancerIPs: true }),
      policy('broken', { interfaces: ['(?=eth)'], loadBalancerIPs: true }),
    ],
  });
  const e = explainService(s, 'default', 'web');
  const lb = e.addresses.find((a) => a.address === '192.0.2.240');
  const ext = e.addresses.find((a) => a.address === '192.0.2.242');
  assert.deepEqual(lb?.policies.map((p) => [p.name, p.selects]), [['broken', false], ['lb-only', true], ['other-app', false]]);
  assert.match(lb.policies.find((p) => p.name === 'broken')?.why ?? '', /^invalid, selects nothing: .*error parsing regexp/);
  assert.equal(lb.policies.find((p) => p.name === 'other-app')?.why, 'serviceSelector does not match the Service');
  assert.equal(ext?.policies.find((p) => p.name === 'lb-only')?.why, 'does not announce external IPs (spec.externalIPs is not true)');
  assert.deepEqual(ext.ranked, []);
  assert.equal(nodeWhy(e, '192.0.2.242', 'node-a'), 'no policy selects this address');
});

test('a ClusterIP Service with an external IP outside every pool: herald takes the Service, and says why the address is not announced', () => {
  const s = snapshot({ services: [lbService('ext', { type: 'ClusterIP', externalIPs: ['192.0.2.77'] })] });
  const e = explainService(s, 'default', 'ext');
  assert.equal(e.taken, true);
  assert.match(e.classVerdict, /type ClusterIP: no address from the pools/);
  assert.equal(e.ipam.eligible, false);
  assert.deepEqual(e.addresses, []);
  assert.deepEqual(e.notAnnounced, [{ address: '192.0.2.77', reason: 'external IP 192.0.2.77 lies in no CiliumLoadBalancerIPPool, so it is not announced' }]);
  assert.deepEqual(e.summary, ['192.0.2.77: not announced: external IP 192.0.2.77 lies in no CiliumLoadBalancerIPPool, so it is not announced']);
  assert.match(renderExplanation(e), /192\.0\.2\.77: not announced: external IP 192\.0\.2\.77 lies in no CiliumLoadBalancerIPPool/);
});

test('a pending Service: no pool selects it, each pool says why, and the condition is shown', () => {
  const s = snapshot({
    services: [lbService('pending', { labels: { app: 'myapp', tier: 'db' }, condition: { status: 'False', reason: 'no_pool', message: 'There are no enabled CiliumLoadBalancerIPPools that match this service' } })],
    pools: [
      pool('web-only', '192.0.2.240', '192.0.2.250', { serviceSelector: { matchLabels: { tier: 'web' } } }),
      pool('off', '192.0.2.200', '192.0.2.210', { disabled: true }),
      pool('v6', '2001:db8::1', '2001:db8::9'),
    ],
  });
  const e = explainService(s, 'default', 'pending');
  assert.deepEqual(e.ipam.pools.map((p) => [p.name, p.candidate, p.why]), [
    ['off', false, 'disabled (spec.disabled: true)'],
    ['v6', false, 'has no IPv4 block'],
    ['web-only', false, 'serviceSelector does not match the Service'],
  ]);
  assert.equal(e.ipam.condition?.reason, 'no_pool');
  assert.deepEqual(e.summary, ['pending: no address assigned: There are no enabled CiliumLoadBalancerIPPools that match this service']);
});

test('a requested address outside a pool makes that pool no candidate', () => {
  const s = snapshot({ services: [lbService('pinned', { annotations: { 'lbipam.cilium.io/ips': '192.0.2.9' } })] });
  const e = explainService(s, 'default', 'pinned');
  assert.deepEqual(e.ipam.requested, ['192.0.2.9']);
  assert.equal(e.ipam.pools[0]?.why, 'holds none of the requested 192.0.2.9');
});

test('a class that is not herald\'s is ignored, and nothing else is claimed', () => {
  const s = snapshot({ services: [lbService('metallb', { loadBalancerClass: 'metallb.io/metallb', ips: ['192.0.2.245'] })] });
  const e = explainService(s, 'default', 'metallb');
  assert.equal(e.taken, false);
  assert.match(e.classVerdict, /ignored: loadBalancerClass "metallb.io\/metallb" is not herald's/);
  assert.equal(e.l2Skipped, 'loadBalancerClass "metallb.io/metallb" is not announced by herald');
  assert.deepEqual(e.summary, [e.classVerdict]);
});

test('a shared address: the sharing key, the other Service, and one address group ranked under one key', () => {
  const a = lbService('share-a', { ips: ['192.0.2.246'], annotations: { 'lbipam.cilium.io/sharing-key': 'k' }, ports: [80] });
  const b = lbService('share-b', { ips: ['192.0.2.246'], annotations: { 'lbipam.cilium.io/sharing-key': 'k' }, ports: [443] });
  const e = explainService(snapshot({ services: [a, b] }), 'default', 'share-b');
  assert.equal(e.ipam.sharingKey, 'k');
  assert.deepEqual(e.ipam.sharedWith, [{ service: 'default/share-a', addresses: ['192.0.2.246'], sharingKey: 'k' }]);
  assert.deepEqual(e.addressGroup, { members: ['default/share-a', 'default/share-b'], rankKey: 'default/share-a' });
  assert.deepEqual(e.addresses[0]?.ranked, rankCandidates('default/share-a', ['node-a', 'node-b', 'node-c']));
  assert.match(renderExplanation(e), /shares 192\.0\.2\.246 with default\/share-a \(key k\)/);
});

test('an unknown Service is an error of its own', () => {
  assert.throws(() => explainService(snapshot(), 'default', 'nope'), UnknownServiceError);
});

test('a Gateway\'s Service is selected by the Gateway\'s labels, as the agents merge them', () => {
  const svc = lbService('cilium-gateway-gw', { labels: { 'gateway.networking.k8s.io/gateway-name': 'gw' }, ips: ['192.0.2.243'] });
  const without = explainService(snapshot({ services: [svc] }), 'default', 'cilium-gateway-gw');
  assert.equal(without.addresses[0]?.policies[0]?.why, 'serviceSelector does not match the Service');
  const withGw = explainService(snapshot({ services: [svc], gateways: [{ metadata: { name: 'gw', namespace: 'default', labels: { app: 'myapp' } } }] }), 'default', 'cilium-gateway-gw');
  assert.equal(withGw.addresses[0]?.policies[0]?.selects, true);
  assert.equal(withGw.addresses[0].ranked.length, 3);
});

test('the agents line: who answered, who could not be read, where no agent runs, and --agents=none', () => {
  const services = [lbService('web', { ips: ['192.0.2.240'] })];
  const leases = [nodeLease('node-a'), nodeLease('node-b'), nodeLease('node-c', { holder: '' }), serviceLease('default/web', 'node-a')];
  const asked = explainService(snapshot({
    services, leases, agentAccess: 'direct',
    agentList: [['node-a', { reachable: true, status: {} }], ['node-b', { reachable: false, error: 'at 192.0.2.2:9964: connect ECONNREFUSED' }]],
  }), 'default', 'web');
  assert.deepEqual(asked.agents.map((a) => a.state), ['ok', 'unreachable', 'no agent']);
  const text = renderExplanation(asked);
  assert.match(text, /Agents: 1\/2 answered; no agent runs on node-c \(no node Lease names one\)\n {2}node-b: unreachable: at 192\.0\.2\.2:9964: connect ECONNREFUSED/);
  assert.match(text, /agent on node-a: not answering \(the agent does not plan this Service\)/);
  const none = explainService(snapshot({ services, leases }), 'default', 'web');
  assert.match(renderExplanation(none), /Agents: not asked \(--agents=none\)/);
  assert.equal(none.holderAgent?.error, 'not asked (--agents=none)');
});

test('a Lease that names a node which is no longer a candidate says so, and names the best-ranked one', () => {
  const s = snapshot({
    services: [lbService('web', { ips: ['192.0.2.240'] })],
    nodes: [node('node-a', {}, true), node('node-b'), node('node-c')],
    leases: [nodeLease('node-a'), nodeLease('node-b'), nodeLease('node-c'), serviceLease('default/web', 'node-a')],
  });
  const e = explainService(s, 'default', 'web');
  const best = rankCandidates('default/web', ['node-b', 'node-c'])[0] ?? '';
  assert.deepEqual(e.summary.slice(0, 1), [`192.0.2.240: the Lease names node-a, which is no candidate (node is unschedulable (cordoned or draining)); ${best} is the best-ranked one`]);
});
