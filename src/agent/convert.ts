/** Maps API objects onto the L2 core's plain inputs. */
import type { L2PolicySpec } from '../core/l2/l2-policy.js';
import type { EndpointFacts, L2NodeView, L2ServiceView } from '../core/l2/selection.js';
import type { Meta, ServiceObject } from '../kube/objects.js';

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
