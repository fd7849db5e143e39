/** Maps API objects onto the L2 core's plain inputs. */
import type { HeartbeatFacts, LeaseFacts } from '../core/l2/agent-core.js';
import type { L2PolicySpec } from '../core/l2/l2-policy.js';
import type { EndpointFacts, L2NodeView, L2ServiceView } from '../core/l2/selection.js';
import type { Lease } from '../kube/lease-lock.js';
import type { Meta, ServiceObject } from '../kube/objects.js';

/** The label on every herald Lease: 'heartbeat' or 'service'. */
export const LEASE_KIND = 'herald.io/lease';
/** On a heartbeat Lease: the node's up links, comma-separated (selection reads them). */
export const UP_LINKS = 'herald.io/up-links';
/** "false" while the agent cannot judge others dead yet (AgentCore.ready), so nobody waits for it to claim. */
export const READY = 'herald.io/ready';
/** On a Service Lease: the Service's namespace/name (the Lease name alone is ambiguous). */
export const LEASE_SERVICE = 'herald.io/service';
const HEARTBEAT_PREFIX = 'herald-agent-';

export interface NodeObject {
  metadata: Meta;
  spec?: { unschedulable?: boolean };
}

export interface PolicyObject {
  metadata: Meta;
  spec?: Omit<L2PolicySpec, 'name'>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[] };
}

export interface EndpointSliceObject {
  metadata: Meta;
  endpoints?: { nodeName?: string; conditions?: { ready?: boolean } }[] | null;
}

export interface GatewayObject { metadata: Meta }

export function toL2Service(svc: ServiceObject, gatewayLabels?: Record<string, string>): L2ServiceView {
  return {
    namespace: svc.metadata.namespace ?? 'default',
    name: svc.metadata.name,
    labels: svc.metadata.labels ?? {},
    ownerReferences: (svc.metadata.ownerReferences ?? []).map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name })),
    ...(gatewayLabels ? { gatewayLabels } : {}),
    type: svc.spec?.type ?? 'ClusterIP',
    ...(svc.spec?.loadBalancerClass !== undefined ? { loadBalancerClass: svc.spec.loadBalancerClass } : {}),
    ...(svc.spec?.externalTrafficPolicy !== undefined ? { externalTrafficPolicy: svc.spec.externalTrafficPolicy } : {}),
    externalIPs: svc.spec?.externalIPs ?? [],
    ingressIPs: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
  };
}

export function toL2Node(node: NodeObject, upLinks: readonly string[]): L2NodeView {
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    unschedulable: node.spec?.unschedulable === true,
    upLinks,
  };
}

export function toPolicySpec(p: PolicyObject): L2PolicySpec {
  return { name: p.metadata.name, ...(p.spec ?? {}) };
}

/** Ready endpoints per Service, from all of its EndpointSlices. */
export function endpointFacts(slices: readonly EndpointSliceObject[]): Map<string, EndpointFacts> {
  const out = new Map<string, { readyNodes: Set<string>; readyWithoutNode: boolean }>();
  for (const slice of slices) {
    const svc = slice.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc) continue;
    const key = `${slice.metadata.namespace ?? 'default'}/${svc}`;
    let facts = out.get(key);
    if (!facts) out.set(key, (facts = { readyNodes: new Set(), readyWithoutNode: false }));
    for (const ep of slice.endpoints ?? []) {
      // An absent ready condition means ready (discovery.k8s.io/v1).
      if (ep.conditions?.ready === false) continue;
      if (ep.nodeName) facts.readyNodes.add(ep.nodeName);
      else facts.readyWithoutNode = true;
    }
  }
  return out;
}

/** The Gateway that generated a Service, by ownerReference or the gateway-name label. */
export function owningGateway(svc: ServiceObject): string | undefined {
  const owner = svc.metadata.ownerReferences?.find((o) => o.kind === 'Gateway' && o.apiVersion.startsWith('gateway.networking.k8s.io/'));
  return owner?.name ?? svc.metadata.labels?.['gateway.networking.k8s.io/gateway-name'];
}

/** What a herald Lease is about, from its kind label: a node's heartbeat or a Service. */
export function leaseSubject(lease: Lease): { kind: 'heartbeat'; node: string } | { kind: 'service'; service: string } | undefined {
  const meta = lease.metadata;
  const kind = meta?.labels?.[LEASE_KIND];
  const name = meta?.name ?? '';
  if (kind === 'heartbeat' && name.startsWith(HEARTBEAT_PREFIX)) return { kind, node: name.slice(HEARTBEAT_PREFIX.length) };
  const service = (meta?.annotations as Record<string, string> | undefined)?.[LEASE_SERVICE];
  if (kind === 'service' && service !== undefined) return { kind, service };
  return undefined;
}

export function leaseFacts(lease: Lease): LeaseFacts {
  return { holder: lease.spec?.holderIdentity ?? '', rv: lease.metadata?.resourceVersion ?? '' };
}

export function heartbeatFacts(lease: Lease): HeartbeatFacts {
  const annotations = (lease.metadata?.annotations as Record<string, string> | undefined) ?? {};
  const upLinks = annotations[UP_LINKS] ?? '';
  // Absent (an older agent): ready.
  return { ...leaseFacts(lease), upLinks: upLinks.split(',').filter((l) => l !== ''), ...(annotations[READY] === 'false' ? { ready: false } : {}) };
}
