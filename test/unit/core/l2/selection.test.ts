import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileL2Policy, type L2PolicySpec } from '../../../../src/core/l2/l2-policy.js';
import {
  EXCLUDE_LABEL,
  poolRanges,
  selectL2,
  type EndpointFacts,
  type L2NodeView,
  type L2ServiceView,
  type SelectionInput,
} from '../../../../src/core/l2/selection.js';

const worker = (name: string, upLinks: string[] = ['eth0'], labels: Record<string, string> = {}): L2NodeView => ({ name, labels, upLinks });
const nodes: L2NodeView[] = [
  worker('cp', ['eth0'], { 'node-role.kubernetes.io/control-plane': '' }),
  worker('w1', ['eth0', 'eno1', 'lxc123']),
  worker('w2', ['eno1']),
];
const svc = (over: Partial<L2ServiceView> = {}): L2ServiceView => ({
  namespace: 'default', name: 'app1', labels: { app: 'myapp' }, type: 'LoadBalancer', ingressIPs: ['192.0.2.10'], ...over,
});
const seed001: L2PolicySpec = {
  name: 'l2announce-policy',
  serviceSelector: { matchLabels: { app: 'myapp' } },
  nodeSelector: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] },
  interfaces: ['^eth[0-9]+'],
  externalIPs: true,
  loadBalancerIPs: true,
};
const pools = poolRanges([{ name: 'default-pool', creationTimestamp: '2026-01-01T00:00:00Z', blocks: [{ cidr: '192.0.2.0/24' }, { cidr: '2001:db8::/64' }] }]);

function run(over: Partial<SelectionInput> & { specs?: L2PolicySpec[] } = {}): ReturnType<typeof selectL2> {
  return selectL2({
    policies: (over.specs ?? [seed001]).map(compileL2Policy),
    services: over.services ?? [svc()],
    nodes: over.nodes ?? nodes,
    endpoints: over.endpoints ?? new Map(),
    poolRanges: over.poolRanges ?? pools,
    ...(over.options === undefined ? {} : { options: over.options }),
  });
}

describe('selectL2', () => {
  it('seed 001: workers with a matching eth link are candidates, on those links', () => {
    const sel = run();
    const s = sel.services.get('default/app1')!;
    assert.deepEqual(s.candidates, ['w1']);
    assert.deepEqual(sel.assignmentsFor('w1'), [{ service: 'default/app1', address: '192.0.2.10', interfaces: ['eth0'] }]);
    assert.deepEqual(sel.assignmentsFor('cp'), []);
    assert.match(s.whyNot('cp') ?? '', /nodeSelector of l2announce-policy/);
    assert.equal(s.whyNot('w2'), 'no up link matches ^eth[0-9]+');
    assert.equal(s.whyNot('w1'), undefined);
  });

  it('unanchored patterns match inside names; no list means every up link', () => {
    const sel = run({ specs: [{ ...seed001, interfaces: ['no1'] }, { name: 'all', loadBalancerIPs: true, nodeSelector: { matchLabels: { none: 'x' } } }] });
    assert.deepEqual(sel.services.get('default/app1')!.candidates, ['w1', 'w2']);
    assert.deepEqual(sel.assignmentsFor('w1')[0]?.interfaces, ['eno1']);
    const all = run({ specs: [{ name: 'all', loadBalancerIPs: true }] });
    assert.deepEqual(all.assignmentsFor('w1')[0]?.interfaces, ['eno1', 'eth0', 'lxc123']);
    assert.deepEqual(all.services.get('default/app1')!.candidates, ['cp', 'w1', 'w2']);
  });

  it('unions the links of several matching policies per address', () => {
    const sel = run({ specs: [seed001, { ...seed001, name: 'second', interfaces: ['^eno'] }] });
    assert.deepEqual(sel.assignmentsFor('w1')[0]?.interfaces, ['eno1', 'eth0']);
    assert.deepEqual(sel.services.get('default/app1')!.candidates, ['w1', 'w2']);
  });

  it('a broken policy selects nothing and does not disturb others', () => {
    const sel = run({ specs: [{ ...seed001, name: 'broken', interfaces: ['('] }, { ...seed001, interfaces: ['^eno'] }] });
    assert.deepEqual(sel.services.get('default/app1')!.candidates, ['w1', 'w2']);
    assert.deepEqual(sel.assignmentsFor('w1')[0]?.interfaces, ['eno1']);
  });

  it('takes part only with loadBalancerClass unset or announced', () => {
    const sel = run({
      services: [
        svc({ name: 'a', loadBalancerClass: 'io.cilium/l2-announcer' }),
        svc({ name: 'b', loadBalancerClass: 'example.com/other' }),
        svc({ name: 'c', loadBalancerClass: '' }),
      ],
    });
    assert.deepEqual(sel.services.get('default/a')!.candidates, ['w1']);
    assert.deepEqual(sel.services.get('default/b')!.candidates, []);
    assert.match(sel.services.get('default/b')!.skipped ?? '', /example.com\/other/);
    assert.deepEqual(sel.services.get('default/c')!.candidates, ['w1']);
  });

  it('announces ingress IPs only of LoadBalancer Services and only with loadBalancerIPs', () => {
    const notLb = run({ services: [svc({ type: 'ClusterIP' })] }).services.get('default/app1')!;
    assert.deepEqual(notLb.addresses, []);
    assert.equal(notLb.whyNot('w1'), 'the Service has no address to announce');
    const noLbIps = run({ specs: [{ ...seed001, loadBalancerIPs: false }] }).services.get('default/app1')!;
    assert.deepEqual(noLbIps.candidates, []);
    assert.match(noLbIps.whyNot('w1') ?? '', /announces its kind of address/);
  });

  it('announces external IPs on any Service type, only when inside a pool by default', () => {
    const service = svc({ type: 'ClusterIP', externalIPs: ['192.0.2.20', '198.51.100.1', '2001:DB8::5', 'nonsense'] });
    const sel = run({ services: [service] });
    const s = sel.services.get('default/app1')!;
    assert.deepEqual(s.addresses.map((a) => [a.address, a.source]), [['192.0.2.20', 'externalIP'], ['2001:db8::5', 'externalIP']]);
    assert.deepEqual(s.rejected.map((r) => r.address), ['198.51.100.1', 'nonsense']);
    assert.match(s.rejected[0]!.reason, /lies in no CiliumLoadBalancerIPPool/);
    const open = run({ services: [service], options: { loadBalancerClasses: [], externalIPsMustBeInPool: false } });
    assert.deepEqual(open.services.get('default/app1')!.addresses.map((a) => a.address), ['192.0.2.20', '198.51.100.1', '2001:db8::5']);
    const noExt = run({ services: [service], specs: [{ ...seed001, externalIPs: false }] });
    assert.deepEqual(noExt.services.get('default/app1')!.candidates, []);
  });

  it('merges an address present in both lists', () => {
    const s = run({ services: [svc({ externalIPs: ['192.0.2.10'] })] }).services.get('default/app1')!;
    assert.equal(s.addresses.length, 1);
    assert.equal(s.addresses[0]!.source, 'loadBalancerIP');
  });

  it('never picks excluded or unschedulable nodes', () => {
    const sel = run({
      specs: [{ name: 'all', loadBalancerIPs: true }],
      nodes: [worker('x', ['eth0'], { [EXCLUDE_LABEL]: 'false' }), { ...worker('y'), unschedulable: true }, worker('z')],
    });
    const s = sel.services.get('default/app1')!;
    assert.deepEqual(s.candidates, ['z']);
    assert.equal(s.whyNot('x'), `excluded by ${EXCLUDE_LABEL}`);
    assert.match(s.whyNot('y') ?? '', /unschedulable/);
  });

  it('externalTrafficPolicy=Local: only nodes with a ready local endpoint', () => {
    const all: L2PolicySpec = { name: 'all', loadBalancerIPs: true };
    const local = svc({ externalTrafficPolicy: 'Local' });
    const facts = (readyNodes: string[], readyWithoutNode = false): Map<string, EndpointFacts> =>
      new Map([['default/app1', { readyNodes: new Set(readyNodes), readyWithoutNode }]]);
    const s = run({ specs: [all], services: [local], endpoints: facts(['w2']) }).services.get('default/app1')!;
    assert.deepEqual(s.candidates, ['w2']);
    assert.match(s.whyNot('w1') ?? '', /externalTrafficPolicy=Local/);
    assert.deepEqual(run({ specs: [all], services: [local] }).services.get('default/app1')!.candidates, []);
    // A synthetic backend without a node makes it behave as Cluster.
    assert.deepEqual(run({ specs: [all], services: [local], endpoints: facts([], true) }).services.get('default/app1')!.candidates, ['cp', 'w1', 'w2']);
  });

  it('serviceSelector sees pseudo-labels that real labels cannot fake', () => {
    const byName: L2PolicySpec = { name: 'by-name', loadBalancerIPs: true, serviceSelector: { matchLabels: { 'io.kubernetes.service.name': 'app1' } } };
    const sel = run({ specs: [byName], services: [svc(), svc({ name: 'other', labels: { 'io.kubernetes.service.name': 'app1' } })] });
    assert.deepEqual(sel.services.get('default/app1')!.candidates, ['cp', 'w1', 'w2']);
    assert.deepEqual(sel.services.get('default/other')!.candidates, []);
    assert.equal(sel.services.get('default/other')!.whyNot('w1'), 'no CiliumL2AnnouncementPolicy selects this Service');
  });

  it('seed 004: a Gateway-generated Service is matched with the Gateway labels', () => {
    const policy: L2PolicySpec = { name: 'mdhlabs', loadBalancerIPs: true, serviceSelector: { matchLabels: { 'mdhlabs-arp': 'enable' } }, interfaces: ['ens18'] };
    const generated = svc({
      namespace: 'prod', name: 'cilium-gateway-cd-arp-gw', labels: { 'gateway.networking.k8s.io/gateway-name': 'cd-arp-gw' },
      gatewayLabels: { app: 'cd-arp', 'mdhlabs-arp': 'enable' },
    });
    const sel = run({ specs: [policy], services: [generated], nodes: [worker('kube2', ['ens18'])] });
    assert.deepEqual(sel.services.get('prod/cilium-gateway-cd-arp-gw')!.candidates, ['kube2']);
  });

  it('handles 1,000 Services × 3 policies × 100 nodes quickly', () => {
    const many = Array.from({ length: 1000 }, (_, i) => svc({ name: `s${i}`, labels: { app: i % 2 === 0 ? 'myapp' : 'other' }, ingressIPs: [`192.0.2.${i % 250}`] }));
    const hundred = Array.from({ length: 100 }, (_, i) => worker(`n${i}`, ['eth0', 'eno1', `lxc${i}`, `veth${i}`], { zone: `z${i % 3}` }));
    const specs: L2PolicySpec[] = [seed001, { ...seed001, name: 'p2', interfaces: ['^eno'] }, { name: 'p3', loadBalancerIPs: true, nodeSelector: { matchLabels: { zone: 'z1' } } }];
    const start = performance.now();
    const sel = run({ specs, services: many, nodes: hundred });
    const ms = performance.now() - start;
    assert.equal(sel.services.get('default/s0')!.candidates.length, 100);
    assert.equal(sel.services.get('default/s1')!.candidates.length, 33);
    // Generous: the machine is shared; locally this takes well under a second.
    assert.ok(ms < 5000, `took ${ms} ms`);
  });
});
