import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { endpointFacts, owningGateway, toL2Node, toL2Service, toPolicySpec, type EndpointSliceObject, type NodeObject, type PolicyObject } from '../../../src/agent/convert.js';
import {
  slimEndpointSlice, slimGateway, slimLease, slimNode, slimPolicy, slimPool, slimService,
} from '../../../src/agent/slim.js';
import { compileL2Policy } from '../../../src/core/l2/l2-policy.js';
import { conditionsPatch } from '../../../src/kube/conditions.js';
import type { PoolObject, ServiceObject } from '../../../src/kube/objects.js';
import { objectKey } from '../../../src/kube/reflector.js';
import { toPoolSpec } from '../../../src/operator/convert.js';

// Objects as a kube-apiserver returns them (trimmed only where repetitive).

const managedFields = [
  { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', time: '2026-11-26T10:00:00Z', fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app': {} } } } },
  { manager: 'herald-operator', operation: 'Apply', apiVersion: 'v1', time: '2026-11-26T10:00:01Z', fieldsType: 'FieldsV1', subresource: 'status',
    fieldsV1: { 'f:status': { 'f:loadBalancer': { 'f:ingress': {} } } } },
];

const service = {
  kind: 'Service', apiVersion: 'v1',
  metadata: {
    name: 'web', namespace: 'prod', uid: '4a0c1e7e-1111-4d3c-9a43-0c6f0e3f1a01', resourceVersion: '48213', creationTimestamp: '2026-11-26T10:00:00Z',
    labels: { app: 'web', tier: 'frontend', 'app.kubernetes.io/part-of': 'shop' },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"labels":{"app":"web"},"name":"web","namespace":"prod"},"spec":{"type":"LoadBalancer"}}\n',
      'lbipam.cilium.io/ips': '192.0.2.10,2001:db8::10',
      'lbipam.cilium.io/sharing-key': 'shop',
    },
    managedFields,
  },
  spec: {
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 31234 }],
    selector: { app: 'web' }, clusterIP: '198.51.100.23', clusterIPs: ['198.51.100.23', '2001:db8:ffff::17'],
    type: 'LoadBalancer', sessionAffinity: 'None', externalIPs: ['203.0.113.5'], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000,
    ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack', allocateLoadBalancerNodePorts: true, internalTrafficPolicy: 'Cluster',
    loadBalancerClass: 'io.cilium/l2-announcer',
  },
  status: {
    loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }, { ip: '2001:db8::10', ipMode: 'VIP' }, { hostname: 'lb.example.invalid' }] },
    conditions: [{ type: 'cilium.io/IPAMRequestSatisfied', status: 'True', reason: 'satisfied', message: '', lastTransitionTime: '2026-11-26T10:00:01Z' }],
  },
};

const gatewayService = {
  kind: 'Service', apiVersion: 'v1',
  metadata: {
    name: 'cilium-gateway-gw', namespace: 'prod', uid: 'b2', resourceVersion: '7',
    labels: { 'gateway.networking.k8s.io/gateway-name': 'gw', 'io.cilium.gateway/owning-gateway': 'gw' },
    ownerReferences: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'gw', uid: 'g1', controller: true, blockOwnerDeletion: true }],
    managedFields,
  },
  spec: { type: 'LoadBalancer', ports: [{ port: 443, protocol: 'TCP' }], externalTrafficPolicy: 'Cluster' },
  status: { loadBalancer: {} },
};

const node = {
  kind: 'Node', apiVersion: 'v1',
  metadata: {
    name: 'worker-1', uid: 'n1', resourceVersion: '99120', creationTimestamp: '2026-11-01T00:00:00Z',
    labels: {
      'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': 'worker-1',
      'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'rack-3', 'node.kubernetes.io/exclude-from-external-load-balancers': '',
    },
    annotations: {
      'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
      'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
    },
    managedFields,
  },
  spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] },
  status: {
    capacity: { cpu: '8', memory: '32778564Ki', pods: '110' },
    allocatable: { cpu: '8', memory: '32676164Ki', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2026-11-26T10:00:00Z', lastTransitionTime: '2026-11-01T00:00:00Z' }],
    addresses: [{ type: 'InternalIP', address: '192.0.2.21' }, { type: 'Hostname', address: 'worker-1' }],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: { machineID: 'abc', systemUUID: 'def', bootID: 'ghi', kernelVersion: '6.1.0', osImage: 'Debian GNU/Linux 12', containerRuntimeVersion: 'containerd://1.7.0', kubeletVersion: 'v1.36.3', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' },
    images: [{ names: ['registry.example.invalid/app@sha256:0123', 'registry.example.invalid/app:v1'], sizeBytes: 123456789 }],
  },
};

const slice = (name: string, svc: string, endpoints: unknown[]): object => ({
  kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1',
  metadata: {
    name, generateName: `${svc}-`, namespace: 'prod', uid: `u-${name}`, resourceVersion: '512',
    labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': svc, app: svc },
    annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-11-26T10:00:00Z' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc, uid: 'x', controller: true, blockOwnerDeletion: true }],
    managedFields,
  },
  addressType: 'IPv4',
  endpoints,
  ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
});

const endpoint = (ip: string, nodeName: string | undefined, ready: boolean | undefined): object => ({
  addresses: [ip],
  conditions: { ...(ready === undefined ? {} : { ready }), serving: true, terminating: false },
  ...(nodeName === undefined ? {} : { nodeName }),
  targetRef: { kind: 'Pod', namespace: 'prod', name: `web-${ip}`, uid: 'p' },
  zone: 'rack-3',
});

const slices = [
  slice('web-abcde', 'web', [endpoint('10.244.1.5', 'worker-1', true), endpoint('10.244.2.5', 'worker-2', false), endpoint('10.244.3.5', 'worker-3', undefined)]),
  slice('web-fghij', 'web', [endpoint('10.244.4.5', 'worker-4', true)]),
  slice('ext-aaaaa', 'ext', [endpoint('192.0.2.99', undefined, true)]),
  { ...slice('empty-bbbbb', 'empty', []), endpoints: null },
];

const policy = {
  apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy',
  metadata: {
    name: 'lan', uid: 'p1', resourceVersion: '300', generation: 2, creationTimestamp: '2026-11-26T09:00:00Z',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' }, managedFields,
  },
  spec: {
    nodeSelector: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] },
    serviceSelector: { matchLabels: { tier: 'frontend' } },
    interfaces: ['^eth[0-9]+', 'bond0'], externalIPs: true, loadBalancerIPs: true,
  },
  status: {
    conditions: [
      { type: 'io.cilium/bad-node-selector', status: 'False', reason: '', message: '', lastTransitionTime: '2026-11-26T09:00:00Z', observedGeneration: 2 },
      { type: 'io.cilium/bad-service-selector', status: 'True', reason: 'error', message: 'old', lastTransitionTime: '2026-11-26T09:00:00Z' },
    ],
  },
};

const pool = {
  apiVersion: 'cilium.io/v2', kind: 'CiliumLoadBalancerIPPool',
  metadata: { name: 'lan-pool', uid: 'pl1', resourceVersion: '301', creationTimestamp: '2026-11-26T09:00:00Z', generation: 1, managedFields },
  spec: {
    blocks: [{ cidr: '192.0.2.0/24' }, { start: '198.51.100.10', stop: '198.51.100.20' }],
    serviceSelector: { matchLabels: { tier: 'frontend' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
    disabled: false, allowFirstLastIPs: 'No',
  },
  status: { conditions: [{ type: 'cilium.io/IPsExhausted', status: 'False', reason: '', message: '', lastTransitionTime: '2026-11-26T09:00:00Z' }] },
};

const lease = {
  apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
  metadata: {
    name: 'cilium-l2announce-prod-web', namespace: 'kube-system', uid: 'l1', resourceVersion: '777', creationTimestamp: '2026-11-26T10:00:00Z',
    labels: { 'herald.io/lease': 'service' },
    annotations: { 'herald.io/service': 'prod/web', 'example.com/other-writer': 'kept on write-back' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'kube-system', uid: 'ns' }],
    managedFields,
  },
  spec: { holderIdentity: 'worker-1', leaseDurationSeconds: 15, acquireTime: '2026-11-26T10:00:00.000000Z', renewTime: '2026-11-26T10:00:00.000000Z', leaseTransitions: 3 },
};

const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway',
  metadata: { name: 'gw', namespace: 'prod', uid: 'g1', resourceVersion: '55', labels: { 'mdhlabs-arp': 'enable' }, annotations: { a: 'b' }, managedFields },
  spec: { gatewayClassName: 'cilium', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS' }] },
  status: { addresses: [{ type: 'IPAddress', value: '192.0.2.10' }] },
};

const slimmers: readonly ((raw: unknown) => { metadata?: object })[] = [
  slimService, slimNode, slimEndpointSlice, slimPolicy, slimPool, slimLease, slimGateway,
];

function identityOf(o: unknown): unknown {
  const m = (o as { metadata: Record<string, unknown> }).metadata;
  return { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
}

test('every slim function keeps what the reflector needs and drops managedFields', () => {
  for (const [f, raw] of [[slimService, service], [slimService, gatewayService], [slimNode, node], [slimEndpointSlice, slices[0]],
    [slimPolicy, policy], [slimPool, pool], [slimLease, lease], [slimGateway, gateway]] as const) {
    const slim = f(raw);
    assert.deepEqual(identityOf(slim), identityOf(raw), f.name);
    assert.equal(objectKey(slim), objectKey(raw as { metadata: object }), f.name);
    assert.equal('managedFields' in (slim.metadata ?? {}), false, f.name);
    assert.ok(JSON.stringify(slim).length < JSON.stringify(raw).length, `${f.name} keeps less`);
  }
});

test('Service: the L2 view, the owning Gateway and the uid for Events are unchanged; no annotation is kept', () => {
  const gatewayLabels = { 'mdhlabs-arp': 'enable' };
  for (const raw of [service, gatewayService]) {
    const slim = slimService(raw);
    assert.deepEqual(toL2Service(slim), toL2Service(raw as ServiceObject));
    assert.deepEqual(toL2Service(slim, gatewayLabels), toL2Service(raw as ServiceObject, gatewayLabels));
    assert.equal(owningGateway(slim), owningGateway(raw as ServiceObject));
    assert.equal(slim.metadata.uid, raw.metadata.uid);
    assert.equal(slim.metadata.annotations, undefined);
  }
  assert.equal(owningGateway(slimService(gatewayService)), 'gw');
  const slim = slimService(service);
  assert.deepEqual(slim.status, { loadBalancer: { ingress: [{ ip: '192.0.2.10' }, { ip: '2001:db8::10' }] } });
  assert.deepEqual(slim.spec, { type: 'LoadBalancer', loadBalancerClass: 'io.cilium/l2-announcer', externalTrafficPolicy: 'Local', externalIPs: ['203.0.113.5'] });
});

test('Node: the L2 view is unchanged; annotations and status but the Ready condition are dropped', () => {
  const slim = slimNode(node);
  assert.deepEqual(toL2Node(slim, ['eth0']), toL2Node(node as NodeObject, ['eth0']));
  assert.equal(toL2Node(slim, []).unschedulable, true);
  assert.ok(Object.keys(slim).every((k) => ['metadata', 'spec', 'status'].includes(k)), Object.keys(slim).join());
  assert.ok((slim.status?.conditions ?? []).every((c) => c.type === 'Ready' && Object.keys(c).join() === 'type,status'), JSON.stringify(slim.status));
  assert.equal(slim.metadata.annotations, undefined);
  assert.deepEqual(slimNode({ metadata: { name: 'n' }, spec: {} }).spec, {});
});

test('EndpointSlice: the endpoint facts are unchanged; only the service-name label, node names and readiness are kept', () => {
  const slim = slices.map(slimEndpointSlice);
  assert.deepEqual(endpointFacts(slim), endpointFacts(slices as EndpointSliceObject[]));
  assert.deepEqual(slim[0], {
    metadata: { name: 'web-abcde', namespace: 'prod', uid: 'u-web-abcde', resourceVersion: '512', labels: { 'kubernetes.io/service-name': 'web' } },
    endpoints: [{ nodeName: 'worker-1', conditions: { ready: true } }, { nodeName: 'worker-2', conditions: { ready: false } }, { nodeName: 'worker-3', conditions: {} }],
  });
  assert.equal(slim[3]?.endpoints, undefined);
});

test('Policy: the compiled policy and the status patch are unchanged', () => {
  const slim = slimPolicy(policy);
  assert.deepEqual(toPolicySpec(slim), toPolicySpec(policy as PolicyObject));
  const wanted = compileL2Policy(toPolicySpec(slim)).conditions;
  const now = '2026-11-26T11:00:00Z';
  assert.deepEqual(conditionsPatch(slim.status?.conditions, wanted, now), conditionsPatch(policy.status.conditions, wanted, now));
  assert.ok(conditionsPatch(slim.status?.conditions, wanted, now) !== undefined);
  assert.equal(slim.metadata.annotations, undefined);
});

test('Pool: the pool spec is unchanged; status is dropped', () => {
  const slim = slimPool(pool);
  assert.deepEqual(toPoolSpec(slim), toPoolSpec(pool as PoolObject));
  assert.equal(slim.status, undefined);
});

test('Lease: all metadata but managedFields is kept, since the agent writes the cached Lease back', () => {
  const slim = slimLease(lease);
  const { managedFields: _m, ...metadata } = lease.metadata;
  assert.deepEqual(slim, { ...lease, metadata });
});

test('Gateway: only identity and labels', () => {
  assert.deepEqual(slimGateway(gateway), { metadata: { name: 'gw', namespace: 'prod', uid: 'g1', resourceVersion: '55', labels: { 'mdhlabs-arp': 'enable' } } });
});

test('slim functions never throw, whatever JSON arrives, and keep a string name', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    for (const f of slimmers) {
      const slim = f(v);
      assert.equal(typeof (slim.metadata as { name?: unknown } | undefined)?.name, 'string');
    }
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.record({ metadata: fc.jsonValue(), spec: fc.jsonValue(), status: fc.jsonValue(), endpoints: fc.jsonValue() }), (v) => {
    for (const f of slimmers) f(v);
  }), { numRuns: 500 });
});

test('Node: restartDecision reads the Ready condition and deletionTimestamp; a node without them decides to hand over', async () => {
  const { ownNodeFacts } = await import('../../../src/agent/convert.js');
  const full = { metadata: { name: 'n', deletionTimestamp: '2026-01-01T00:00:00Z', labels: { a: 'b' } }, spec: { unschedulable: true },
    status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True', reason: 'KubeletReady' }], images: [{ names: ['x'] }] } };
  assert.deepEqual(ownNodeFacts(slimNode(full)), { unschedulable: true, ready: 'True', deleting: true, labels: { a: 'b' } });
  assert.deepEqual(ownNodeFacts(slimNode({ metadata: { name: 'n' } })), { unschedulable: false, ready: undefined, deleting: false, labels: {} });
  assert.equal(ownNodeFacts(undefined), undefined);
});

test('node Lease: the restart deadline is RFC 3339 or ignored as malformed, never a crash', async () => {
  const { restartingUntil } = await import('../../../src/agent/convert.js');
  const lease = (v: string | undefined): Parameters<typeof restartingUntil>[0] => ({ metadata: { name: 'herald-agent-n', ...(v === undefined ? {} : { annotations: { 'herald.io/restarting-until': v } }) } });
  assert.equal(restartingUntil(lease(undefined)), undefined);
  assert.equal(restartingUntil(lease('')), undefined);
  assert.deepEqual(restartingUntil(lease('2026-05-01T10:00:00.250Z')), { text: '2026-05-01T10:00:00.250Z', wallMs: Date.UTC(2026, 4, 1, 10, 0, 0, 250) });
  assert.deepEqual(restartingUntil(lease('2026-05-01T12:00:00+02:00')), { text: '2026-05-01T12:00:00+02:00', wallMs: Date.UTC(2026, 4, 1, 10) });
  for (const bad of ['tomorrow', '1714557600', '2026-05-01', '2026-13-01T00:00:00Z', '2026-05-01T10:00:00']) assert.equal(restartingUntil(lease(bad))?.wallMs, 'malformed', bad);
});
