/** Maps API objects onto the L2 core's plain inputs. */
import type { LeaseFacts, NodeLeaseFacts } from '../core/l2/agent-core.js';
import type { OwnNodeFacts } from '../core/l2/restart.js';
import type { L2PolicySpec } from '../core/l2/l2-policy.js';
import type { EndpointFacts, L2NodeView, L2ServiceView } from '../core/l2/selection.js';
import type { Lease } from '../kube/lease-lock.js';
import type { Meta, ServiceObject } from '../kube/objects.js';

/** The label on every herald Lease: 'node' or 'service'. */
export const LEASE_KIND = 'herald.io/lease';
/** On a node Lease: the node's up links, comma-separated (selection and the liveness rings read them). */
export const UP_LINKS = 'herald.io/up-links';
/** On a node Lease: link=MAC pairs, comma-separated, where liveness frames reach the node. */
export const LINK_MACS = 'herald.io/link-macs';
/** On a node Lease: links on which the node's monitors found it unreachable (written by them). */
export const UNREACHABLE = 'herald.io/unreachable';
/**
 * On a node Lease: its agent restarts in place until then (RFC 3339), written by the agent on
 * SIGTERM when its node stays; peers do not suspect the node meanwhile. Cleared ('') by the
 * new agent's first write.
 */
export const RESTARTING_UNTIL = 'herald.io/restarting-until';
/** On a Service Lease: the Service's namespace/name (the Lease name alone is ambiguous). */
export const LEASE_SERVICE = 'herald.io/service';
const NODE_LEASE_PREFIX = 'herald-agent-';

export interface NodeObject {
  metadata: Meta & { deletionTimestamp?: string };
  spec?: { unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Our Node as restartDecision needs it; undefined when the watch does not have it. */
export function ownNodeFacts(node: NodeObject | undefined): OwnNodeFacts | undefined {
  if (node === undefined) return undefined;
  return {
    unschedulable: node.spec?.unschedulable === true,
    ready: node.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    deleting: node.metadata.deletionTimestamp !== undefined,
    labels: node.metadata.labels ?? {},
  };
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

/** What a herald Lease is about, from its kind label: a node or a Service. */
export function leaseSubject(lease: Lease): { kind: 'node'; node: string } | { kind: 'service'; service: string } | undefined {
  const meta = lease.metadata;
  const kind = meta?.labels?.[LEASE_KIND];
  const name = meta?.name ?? '';
  if (kind === 'node' && name.startsWith(NODE_LEASE_PREFIX)) return { kind, node: name.slice(NODE_LEASE_PREFIX.length) };
  const service = (meta?.annotations as Record<string, string> | undefined)?.[LEASE_SERVICE];
  if (kind === 'service' && service !== undefined) return { kind, service };
  return undefined;
}

export function leaseFacts(lease: Lease): LeaseFacts {
  return { holder: lease.spec?.holderIdentity ?? '', rv: lease.metadata?.resourceVersion ?? '' };
}

const list = (text: string | undefined): string[] => (text ?? '').split(',').filter((l) => l !== '');

export function nodeLeaseFacts(lease: Lease): NodeLeaseFacts {
  const annotations = (lease.metadata?.annotations as Record<string, string> | undefined) ?? {};
  const macs: Record<string, string> = {};
  for (const pair of list(annotations[LINK_MACS])) {
    const at = pair.indexOf('=');
    if (at > 0) macs[pair.slice(0, at)] = pair.slice(at + 1).toLowerCase();
  }
  return { ...leaseFacts(lease), upLinks: list(annotations[UP_LINKS]), macs, unreachable: list(annotations[UNREACHABLE]) };
}

/**
 * A node Lease's restart deadline, as wall-clock ms since the epoch: undefined when the
 * annotation is absent or empty, 'malformed' when it is not an RFC 3339 date-time (written
 * by hand, say); the caller ignores it then, and says so.
 */
export function restartingUntil(lease: Lease): { readonly text: string; readonly wallMs: number | 'malformed' } | undefined {
  const text = (lease.metadata?.annotations as Record<string, string> | undefined)?.[RESTARTING_UNTIL];
  if (text === undefined || text === '') return undefined;
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
  const ms = rfc3339.test(text) ? Date.parse(text) : Number.NaN;
  return { text, wallMs: Number.isFinite(ms) ? ms : 'malformed' };
}
