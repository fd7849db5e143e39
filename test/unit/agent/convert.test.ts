import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointFacts, leaseFacts, leaseSubject, nodeLeaseFacts, owningGateway, toL2Service } from '../../../src/agent/convert.js';

test('endpoint facts: ready endpoints per node, absent ready means ready, synthetic backends noticed', () => {
  const facts = endpointFacts([
    { metadata: { name: 's1-a', namespace: 'ns', labels: { 'kubernetes.io/service-name': 's1' } },
      endpoints: [{ nodeName: 'n1', conditions: { ready: true } }, { nodeName: 'n2', conditions: { ready: false } }, { nodeName: 'n3', conditions: {} }] },
    { metadata: { name: 's1-b', namespace: 'ns', labels: { 'kubernetes.io/service-name': 's1' } }, endpoints: [{ nodeName: 'n4' }] },
    { metadata: { name: 'gw', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'gw' } }, endpoints: [{ conditions: { ready: true } }] },
    { metadata: { name: 'orphan', namespace: 'ns' }, endpoints: [{ nodeName: 'n9' }] },
    { metadata: { name: 'empty', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'empty' } }, endpoints: null },
  ]);
  assert.deepEqual([...(facts.get('ns/s1')?.readyNodes ?? [])].sort(), ['n1', 'n3', 'n4']);
  assert.equal(facts.get('ns/s1')?.readyWithoutNode, false);
  assert.equal(facts.get('ns/gw')?.readyWithoutNode, true);
  assert.equal(facts.get('ns/empty')?.readyNodes.size, 0);
  assert.equal(facts.size, 3);
});

test('a Gateway-generated Service is found by ownerReference or by label', () => {
  const owned = { metadata: { name: 'cilium-gateway-gw', ownerReferences: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'gw', uid: 'u' }] } };
  assert.equal(owningGateway(owned), 'gw');
  assert.equal(owningGateway({ metadata: { name: 's', labels: { 'gateway.networking.k8s.io/gateway-name': 'cd-arp-gw' } } }), 'cd-arp-gw');
  assert.equal(owningGateway({ metadata: { name: 's', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Gateway', name: 'x', uid: 'u' }] } }), undefined);
});

test('a Service view carries ingress and external IPs and the Gateway labels', () => {
  const view = toL2Service({
    metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' } },
    spec: { type: 'LoadBalancer', externalIPs: ['192.0.2.9'], externalTrafficPolicy: 'Local' },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }, { hostname: 'lb.example' }] } },
  }, { 'mdhlabs-arp': 'enable' });
  assert.deepEqual(view.ingressIPs, ['192.0.2.1']);
  assert.deepEqual(view.externalIPs, ['192.0.2.9']);
  assert.deepEqual(view.gatewayLabels, { 'mdhlabs-arp': 'enable' });
  assert.equal(view.externalTrafficPolicy, 'Local');
});

test('herald Leases: a node Lease names its node, up links, MACs and marks, a Service Lease its Service; anything else is nobody\'s', () => {
  const annotations = { 'herald.io/up-links': 'eth0,eth1', 'herald.io/link-macs': 'eth1=02:AA:00:00:00:01,bad', 'herald.io/unreachable': 'eth1' };
  const hb = { metadata: { name: 'herald-agent-node-a', resourceVersion: '7', labels: { 'herald.io/lease': 'node' }, annotations }, spec: { holderIdentity: 'node-a' } };
  assert.deepEqual(leaseSubject(hb), { kind: 'node', node: 'node-a' });
  assert.deepEqual(nodeLeaseFacts(hb), { holder: 'node-a', rv: '7', upLinks: ['eth0', 'eth1'], macs: { eth1: '02:aa:00:00:00:01' }, unreachable: ['eth1'] });
  assert.deepEqual(nodeLeaseFacts({ ...hb, metadata: { ...hb.metadata, annotations: {} }, spec: {} }), { holder: '', rv: '7', upLinks: [], macs: {}, unreachable: [] });
  const svc = { metadata: { name: 'cilium-l2announce-default-web', resourceVersion: '9', labels: { 'herald.io/lease': 'service' }, annotations: { 'herald.io/service': 'default/web' } }, spec: { holderIdentity: 'node-b' } };
  assert.deepEqual(leaseSubject(svc), { kind: 'service', service: 'default/web' });
  assert.deepEqual(leaseFacts(svc), { holder: 'node-b', rv: '9' });
  assert.equal(leaseSubject({ metadata: { name: 'other', labels: { 'herald.io/lease': 'service' } } }), undefined);
  assert.equal(leaseSubject({ metadata: { name: 'herald-agent-x' } }), undefined);
});
