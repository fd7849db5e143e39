import type { Labels } from '../label-selector.js';
import { formatIp, parseIp, type IpFamily, type IpRange } from '../ipam/address.js';
import { compilePool } from '../ipam/compiled-pool.js';
import { DEFAULT_LOAD_BALANCER_CLASSES, serviceKey, type PoolSpec, type ServiceKey } from '../ipam/types.js';
import type { CompiledL2Policy } from './l2-policy.js';
import { selectorLabels, type ServiceIdentity } from './service-labels.js';

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** The fields of a v1 Service that L2 selection reads. */
export interface L2ServiceView extends ServiceIdentity {
  readonly type: string;
  readonly loadBalancerClass?: string;
  readonly externalTrafficPolicy?: string;
  /** spec.externalIPs. */
  readonly externalIPs?: readonly string[];
  /** status.loadBalancer.ingress[].ip (entries without ip left out). */
  readonly ingressIPs?: readonly string[];
}

export interface L2NodeView {
  readonly name: string;
  readonly labels: Labels;
  /** spec.unschedulable: a cordoned/drained node hands its Services over. */
  readonly unschedulable?: boolean;
  /** Names of the links that are up on that node, as its agent publishes them. */
  readonly upLinks: readonly string[];
}

/** EndpointSlice facts for one Service. A Service without an entry has no ready endpoint. */
export interface EndpointFacts {
  /** Nodes with at least one ready endpoint of the Service. */
  readonly readyNodes: ReadonlySet<string>;
  /** Some ready endpoint has no nodeName (synthetic backends, e.g. Gateway API). */
  readonly readyWithoutNode: boolean;
}

export interface SelectionOptions {
  /** loadBalancerClass values announced besides "unset". */
  readonly loadBalancerClasses: readonly string[];
  /**
   * Announce a spec.externalIPs address only when it lies in some pool, so a
   * Service author cannot make a node answer for, say, the LAN's gateway.
   * false = Cilium's behaviour (announce any external IP).
   */
  readonly externalIPsMustBeInPool: boolean;
}

export const DEFAULT_SELECTION_OPTIONS: SelectionOptions = {
  loadBalancerClasses: DEFAULT_LOAD_BALANCER_CLASSES,
  externalIPsMustBeInPool: true,
};

export interface SelectionInput {
  readonly policies: readonly CompiledL2Policy[];
  readonly services: readonly L2ServiceView[];
  readonly nodes: readonly L2NodeView[];
  /** Keyed by "namespace/name". */
  readonly endpoints: ReadonlyMap<ServiceKey, EndpointFacts>;
  /** Address ranges of all pools (see poolRanges); only read for the external-IP check. */
  readonly poolRanges: readonly IpRange[];
  readonly options?: SelectionOptions;
}

export type AddressSource = 'loadBalancerIP' | 'externalIP';

export interface AddressCandidacy {
  /** Canonical text (RFC 5952 for IPv6). */
  readonly address: string;
  readonly family: IpFamily;
  /** loadBalancerIP when the address is in both lists. */
  readonly source: AddressSource;
  /** Candidate node → the links (sorted) it answers on. */
  readonly nodes: ReadonlyMap<string, readonly string[]>;
}

export interface RejectedAddress {
  readonly address: string;
  readonly reason: string;
}

export interface ServiceCandidacy {
  readonly key: ServiceKey;
  /** Set when the Service takes no part in L2 announcements at all. */
  readonly skipped: string | undefined;
  readonly addresses: readonly AddressCandidacy[];
  /** Addresses that will not be announced, with why (for logs and Events). */
  readonly rejected: readonly RejectedAddress[];
  /** Nodes that are candidates for at least one address, sorted by name. */
  readonly candidates: readonly string[];
  /** Why a node is not a candidate (undefined when it is one). Computed on demand. */
  whyNot(node: string): string | undefined;
}

export interface NodeAssignment {
  readonly service: ServiceKey;
  readonly address: string;
  readonly interfaces: readonly string[];
}

export interface L2Selection {
  readonly services: ReadonlyMap<ServiceKey, ServiceCandidacy>;
  /** Every (service, address, links) the node is a candidate for. */
  assignmentsFor(node: string): NodeAssignment[];
}

/** Every address the pools cover (whole blocks, disabled pools included: they are still the admin's). */
export function poolRanges(pools: readonly PoolSpec[]): IpRange[] {
  return pools.flatMap((p) => compilePool(p).blocks.map((b) => b.range));
}

function inRanges(family: IpFamily, value: bigint, ranges: readonly IpRange[]): boolean {
  return ranges.some((r) => r.family === family && r.start <= value && value <= r.end);
}

/** Why a node can announce nothing, whatever the Service; undefined when it may. */
export function nodeExclusion(node: L2NodeView): string | undefined {
  if (Object.hasOwn(node.labels, EXCLUDE_LABEL)) return `excluded by ${EXCLUDE_LABEL}`;
  if (node.unschedulable === true) return 'node is unschedulable (cordoned or draining)';
  return undefined;
}

function skipReason(svc: L2ServiceView, classes: ReadonlySet<string>): string | undefined {
  const cls = svc.loadBalancerClass;
  if (cls !== undefined && cls !== '' && !classes.has(cls)) return `loadBalancerClass "${cls}" is not announced by herald`;
  return undefined;
}

interface WantedAddress {
  readonly address: string;
  readonly family: IpFamily;
  readonly source: AddressSource;
}

function wantedAddresses(svc: L2ServiceView, ranges: readonly IpRange[], options: SelectionOptions): { wanted: WantedAddress[]; rejected: RejectedAddress[] } {
  const wanted: WantedAddress[] = [];
  const rejected: RejectedAddress[] = [];
  const seen = new Set<string>();
  const add = (text: string, source: AddressSource): void => {
    const parsed = parseIp(text.trim());
    if (!parsed.ok) {
      rejected.push({ address: text, reason: parsed.error });
      return;
    }
    const { family, value } = parsed.value;
    const address = formatIp(family, value);
    if (seen.has(address)) return;
    if (source === 'externalIP' && options.externalIPsMustBeInPool && !inRanges(family, value, ranges)) {
      rejected.push({ address, reason: `external IP ${address} lies in no CiliumLoadBalancerIPPool, so it is not announced` });
      return;
    }
    seen.add(address);
    wanted.push({ address, family, source });
  };
  // Ingress addresses are only meaningful on LoadBalancer Services; external IPs work on any type.
  if (svc.type === 'LoadBalancer') for (const ip of svc.ingressIPs ?? []) add(ip, 'loadBalancerIP');
  for (const ip of svc.externalIPs ?? []) add(ip, 'externalIP');
  return { wanted, rejected };
}

/** Per policy: the eligible nodes it selects and their matching up links. Computed once per selectL2 call. */
type PolicyNodes = ReadonlyMap<string, readonly string[]>;

function policyNodes(policy: CompiledL2Policy, nodes: readonly L2NodeView[]): PolicyNodes {
  const out = new Map<string, readonly string[]>();
  if (!policy.ok) return out;
  for (const node of nodes) {
    if (nodeExclusion(node) !== undefined || !policy.selectsNode(node.labels)) continue;
    const links = node.upLinks.filter((l) => policy.matchesLink(l));
    if (links.length > 0) out.set(node.name, links);
  }
  return out;
}

export function appliesTo(policy: CompiledL2Policy, source: AddressSource): boolean {
  return source === 'loadBalancerIP' ? policy.loadBalancerIPs : policy.externalIPs;
}

/** Is the node allowed by externalTrafficPolicy? undefined = yes, else why not. */
export function trafficPolicyBlock(svc: L2ServiceView, facts: EndpointFacts | undefined, node: string): string | undefined {
  if (svc.externalTrafficPolicy !== 'Local') return undefined;
  // Backends without a node cannot be local anywhere; the proxy forwards as for Cluster.
  if (facts?.readyWithoutNode === true) return undefined;
  if (facts?.readyNodes.has(node) === true) return undefined;
  return 'externalTrafficPolicy=Local and no ready endpoint on this node';
}

/**
 * Which node may announce which address of which Service, on which links.
 * Pure. Interface regexes run once per (policy, link name); the per-Service
 * work is selector tests plus map unions.
 */
export function selectL2(input: SelectionInput): L2Selection {
  const options = input.options ?? DEFAULT_SELECTION_OPTIONS;
  const classes = new Set(options.loadBalancerClasses);
  const byPolicy = new Map<CompiledL2Policy, PolicyNodes>(input.policies.map((p) => [p, policyNodes(p, input.nodes)]));
  const nodesByName = new Map(input.nodes.map((n) => [n.name, n]));
  const services = new Map<ServiceKey, ServiceCandidacy>();
  const policyIndex = new Map(input.policies.map((p, i) => [p, i]));
  // Most Services share a combination of policies; without a Local traffic
  // policy their candidate map depends on nothing else, so build it once.
  const shared = new Map<string, ReadonlyMap<string, readonly string[]>>();
  const nodesFor = (applicable: readonly CompiledL2Policy[], svc: L2ServiceView, facts: EndpointFacts | undefined): ReadonlyMap<string, readonly string[]> => {
    const local = svc.externalTrafficPolicy === 'Local' && facts?.readyWithoutNode !== true;
    const cacheKey = local ? undefined : applicable.map((p) => policyIndex.get(p)).join(',');
    const cached = cacheKey === undefined ? undefined : shared.get(cacheKey);
    if (cached !== undefined) return cached;
    const links = new Map<string, Set<string>>();
    for (const policy of applicable) {
      for (const [node, nodeLinks] of byPolicy.get(policy) ?? []) {
        if (local && trafficPolicyBlock(svc, facts, node) !== undefined) continue;
        let set = links.get(node);
        if (set === undefined) links.set(node, (set = new Set()));
        for (const l of nodeLinks) set.add(l);
      }
    }
    const nodes = new Map<string, readonly string[]>();
    for (const [node, set] of links) nodes.set(node, [...set].sort());
    if (cacheKey !== undefined) shared.set(cacheKey, nodes);
    return nodes;
  };

  for (const svc of input.services) {
    const key = serviceKey(svc.namespace, svc.name);
    const skipped = skipReason(svc, classes);
    const { wanted, rejected } = skipped === undefined ? wantedAddresses(svc, input.poolRanges, options) : { wanted: [], rejected: [] };
    const labels = selectorLabels(svc);
    const matching = skipped === undefined ? input.policies.filter((p) => p.ok && p.selectsService(labels)) : [];
    const facts = input.endpoints.get(key);
    const addresses: AddressCandidacy[] = [];
    const union = new Set<string>();
    for (const w of wanted) {
      const applicable = matching.filter((p) => appliesTo(p, w.source));
      const nodes = nodesFor(applicable, svc, facts);
      for (const node of nodes.keys()) union.add(node);
      addresses.push({ ...w, nodes });
    }
    const whyNot = (nodeName: string): string | undefined => {
      if (union.has(nodeName)) return undefined;
      if (skipped !== undefined) return skipped;
      const node = nodesByName.get(nodeName);
      if (node === undefined) return 'node is unknown';
      const excluded = nodeExclusion(node);
      if (excluded !== undefined) return excluded;
      if (wanted.length === 0) return 'the Service has no address to announce';
      const usable = matching.filter((p) => wanted.some((w) => appliesTo(p, w.source)));
      if (usable.length === 0) {
        return matching.length === 0
          ? 'no CiliumL2AnnouncementPolicy selects this Service'
          : 'no policy selecting this Service announces its kind of address (loadBalancerIPs/externalIPs)';
      }
      const selecting = usable.filter((p) => p.selectsNode(node.labels));
      if (selecting.length === 0) return `nodeSelector of ${usable.map((p) => p.name).join(', ')} does not select this node`;
      const withLinks = selecting.filter((p) => node.upLinks.some((l) => p.matchesLink(l)));
      if (withLinks.length === 0) {
        const patterns = [...new Set(selecting.flatMap((p) => p.interfacePatterns))];
        return patterns.length === 0 ? 'no link is up' : `no up link matches ${patterns.join(' or ')}`;
      }
      return trafficPolicyBlock(svc, facts, nodeName) ?? 'not a candidate';
    };
    services.set(key, { key, skipped, addresses, rejected, candidates: [...union].sort(), whyNot });
  }

  return {
    services,
    assignmentsFor(node: string): NodeAssignment[] {
      const out: NodeAssignment[] = [];
      for (const s of services.values()) {
        for (const a of s.addresses) {
          const interfaces = a.nodes.get(node);
          if (interfaces !== undefined) out.push({ service: s.key, address: a.address, interfaces });
        }
      }
      return out;
    },
  };
}
