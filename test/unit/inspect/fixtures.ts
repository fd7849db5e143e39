/** A small cluster as plain API objects, for the explain and status models. */
import type { EndpointSliceObject, NodeObject, PolicyObject } from '../../../src/agent/convert.js';
import type { Lease } from '../../../src/kube/lease-lock.js';
import type { PoolObject, ServiceObject } from '../../../src/kube/objects.js';
import type { AgentReport, ClusterSnapshot } from '../../../src/inspect/snapshot.js';

export const NOW = Date.parse('2026-11-27T05:00:00Z');

export function node(name: string, labels: Record<string, string> = {}, unschedulable = false): NodeObject {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: { unschedulable } };
}

export function nodeLease(node: string, o: { links?: string[]; macs?: Record<string, string>; unreachable?: string[]; holder?: string } = {}): Lease {
  const links = o.links ?? ['eth0'];
  // node-a's eth0 is 02:00:00:00:00:0a, its second link 02:00:00:00:01:0a.
  const macs = o.macs ?? Object.fromEntries(links.map((l, i) => [l, `02:00:00:00:0${i}:0${node.slice(-1)}`]));
  return {
    metadata: {
      name: `herald-agent-${node}`, namespace: 'kube-system', labels: { 'herald.io/lease': 'node' },
      annotations: {
        'herald.io/up-links': links.join(','),
        'herald.io/link-macs': Object.entries(macs).map(([l, m]) => `${l}=${m}`).join(','),
        'herald.io/unreachable': (o.unreachable ?? []).join(','),
      },
    },
    spec: { holderIdentity: o.holder ?? node },
  };
}

export function serviceLease(service: string, holder: string, acquireTime = '2026-11-27T04:55:00.000000Z', transitions = 0): Lease {
  const [ns = '', name = ''] = service.split('/');
  return {
    metadata: { name: `cilium-l2announce-${ns}-${name}`, namespace: 'kube-system', labels: { 'herald.io/lease': 'service' }, annotations: { 'herald.io/service': service } },
    spec: { holderIdentity: holder, acquireTime, renewTime: acquireTime, leaseTransitions: transitions, leaseDurationSeconds: 15 },
  };
}

export function lbService(name: string, o: {
  namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ips?: string[]; type?: string;
  loadBalancerClass?: string; externalIPs?: string[]; externalTrafficPolicy?: string; condition?: { status: string; reason: string; message: string };
  ports?: number[];
} = {}): ServiceObject {
  return {
    metadata: { name, namespace: o.namespace ?? 'default', labels: o.labels ?? { app: 'myapp' }, annotations: o.annotations ?? {}, creationTimestamp: '2026-11-27T04:00:00Z' },
    spec: {
      type: o.type ?? 'LoadBalancer',
      ...(o.loadBalancerClass === undefined ? {} : { loadBalancerClass: o.loadBalancerClass }),
      ...(o.externalIPs === undefined ? {} : { externalIPs: o.externalIPs }),
      ...(o.externalTrafficPolicy === undefined ? {} : { externalTrafficPolicy: o.externalTrafficPolicy }),
      ports: (o.ports ?? [80]).map((port) => ({ port, protocol: 'TCP' })),
      selector: { app: name },
    },
    status: {
      loadBalancer: { ingress: (o.ips ?? []).map((ip) => ({ ip })) },
      ...(o.condition === undefined ? {} : { conditions: [{ type: 'cilium.io/IPAMRequestSatisfied', ...o.condition }] }),
    },
  };
}

export function pool(name: string, start: string, stop: string, o: { serviceSelector?: PoolObject['spec'] extends infer S ? S extends { serviceSelector?: infer T } ? T : never : never; disabled?: boolean } = {}): PoolObject {
  return { metadata: { name, creationTimestamp: '2026-11-27T03:00:00Z' }, spec: { blocks: [{ start, stop }], ...o } };
}

export function policy(name: string, spec: PolicyObject['spec']): PolicyObject {
  return { metadata: { name, resourceVersion: '1' }, ...(spec === undefined ? {} : { spec }) };
}

export function slice(service: string, nodes: string[]): EndpointSliceObject {
  const [ns = '', name = ''] = service.split('/');
  return { metadata: { name: `${name}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': name } }, endpoints: nodes.map((n) => ({ nodeName: n, conditions: { ready: true } })) };
}

export function snapshot(o: Partial<ClusterSnapshot> & { agentList?: [string, AgentReport][] } = {}): ClusterSnapshot {
  return {
    services: o.services ?? [],
    pools: o.pools ?? [pool('lan-pool', '192.0.2.240', '192.0.2.250')],
    policies: o.policies ?? [policy('l2', {
      serviceSelector: { matchLabels: { app: 'myapp' } }, interfaces: ['^eth[0-9]+'], loadBalancerIPs: true, externalIPs: true,
    })],
    nodes: o.nodes ?? [node('node-a'), node('node-b'), node('node-c')],
    slices: o.slices ?? [],
    gateways: o.gateways ?? [],
    leases: o.leases ?? [nodeLease('node-a'), nodeLease('node-b'), nodeLease('node-c')],
    leaseNamespace: 'kube-system',
    agents: o.agents ?? new Map(o.agentList ?? []),
    ...(o.agentAccess === undefined ? {} : { agentAccess: o.agentAccess }),
    options: o.options ?? { loadBalancerClasses: ['io.cilium/l2-announcer'], externalIPsMustBeInPool: true },
    now: o.now ?? NOW,
  };
}

/**
 * 100 Services (long names unless `shortNames`, some dual-stack) on 30 nodes. With `problems`:
 * prod/…-7 pending, …-13 without a holder, …-42 an external IP in no pool,
 * worker-29's agent unreachable and worker-28 marked unreachable on eth0
 * (the Services they hold, …-28/58/88 and …-29/59/89, are problems too).
 */
export function hundredServices(problems = false, shortNames = false): ClusterSnapshot {
  const nodes = Array.from({ length: 30 }, (_, i) => `worker-${String(i).padStart(2, '0')}`);
  const services = Array.from({ length: 100 }, (_, i) => {
    const name = shortNames ? `svc-${i}` : `service-with-a-rather-long-name-${i}`;
    const namespace = shortNames ? 'prod' : i % 3 === 0 ? 'a-namespace-name-that-is-long' : 'prod';
    if (problems && i === 7) return lbService(name, { namespace, condition: { status: 'False', reason: 'pool_exhausted', message: 'every pool selecting it is full' } });
    if (problems && i === 42) return lbService(name, { namespace, type: 'ClusterIP', externalIPs: ['198.51.100.7'] });
    return lbService(name, {
      namespace,
      ips: i % 10 === 0 ? [`192.0.2.${i + 100}`, `2001:db8:1234:5678::${i.toString(16)}`] : [`192.0.2.${i + 100}`],
    });
  });
  return snapshot({
    services,
    pools: [pool('v4', '192.0.2.100', '192.0.2.250'), pool('v6', '2001:db8:1234:5678::', '2001:db8:1234:5678::ffff')],
    nodes: nodes.map((n) => node(n)),
    leases: [
      ...nodes.map((n) => nodeLease(n, problems && n === 'worker-28' ? { unreachable: ['eth0'] } : {})),
      ...services.flatMap((svc, i) => (problems && (i === 7 || i === 13 || i === 42) ? []
        : [serviceLease(`${svc.metadata.namespace ?? ''}/${svc.metadata.name}`, nodes[i % nodes.length] ?? '')])),
    ],
    agentList: problems ? [['worker-29', { reachable: false, error: 'connect ECONNREFUSED 10.0.0.29:9964' }]] : [],
  });
}
