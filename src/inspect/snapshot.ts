/**
 * What `herald explain` and `herald status` read, as plain objects: the API's
 * Services, pools, policies, Nodes, EndpointSlices and herald's Leases, and
 * each node agent's /status (or why it could not be read). Everything under
 * src/inspect/ except cluster-reader.ts is pure: it builds its answers from a
 * snapshot with the very selection and ranking code the agents run
 * (src/core/l2), so the CLI and the agents cannot disagree.
 */
import { compileL2Policy, type CompiledL2Policy } from '../core/l2/l2-policy.js';
import { poolRanges, selectL2, type L2Selection, type L2ServiceView, type SelectionOptions } from '../core/l2/selection.js';
import type { Lease } from '../kube/lease-lock.js';
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import { toPoolSpec } from '../operator/convert.js';
import {
  endpointFacts, leaseSubject, nodeLeaseFacts, owningGateway, toL2Node, toL2Service, toPolicySpec,
  type EndpointSliceObject, type GatewayObject, type NodeObject, type PolicyObject,
} from '../agent/convert.js';
import type { NodeLeaseFacts } from '../core/l2/agent-core.js';

/** The part of an agent's /status the CLI reads; every field optional, since agents of other versions differ. */
export interface AgentStatusView {
  readonly node?: string;
  readonly liveNodes?: readonly string[];
  readonly services?: readonly {
    readonly service: string;
    readonly holder?: string;
    readonly answering?: boolean;
    readonly addresses?: readonly { readonly address: string; readonly interfaces: readonly string[] }[];
    readonly action?: string;
    readonly why?: string;
  }[];
  /** Link name → MAC. */
  readonly macs?: Readonly<Record<string, string>>;
  readonly answers?: readonly {
    readonly address: string;
    readonly interface: string;
    readonly replies: number;
    readonly lastReplyAt: string | null;
    readonly lastGratuitousAt: string | null;
    readonly gratuitousSent?: number;
  }[];
  readonly notAnnounced?: readonly { readonly service: string; readonly address: string; readonly reason: string }[];
  readonly unfitLinks?: Readonly<Record<string, string>>;
}

/** How the CLI reads agents' /status (cluster-reader.ts). */
export type AgentAccess = 'proxy' | 'direct' | 'none';

/** One node's agent as the CLI found it. */
export type AgentReport =
  | { readonly reachable: true; readonly status: AgentStatusView }
  | { readonly reachable: false; readonly error: string };

export interface ClusterSnapshot {
  readonly services: readonly ServiceObject[];
  readonly pools: readonly PoolObject[];
  readonly policies: readonly PolicyObject[];
  readonly nodes: readonly NodeObject[];
  readonly slices: readonly EndpointSliceObject[];
  /** Gateway API Gateways (none when the API is not installed): a Gateway's labels count as its Services' (seed 004). */
  readonly gateways?: readonly GatewayObject[];
  /** herald's Leases (node and Service) in the Lease namespace. */
  readonly leases: readonly Lease[];
  readonly leaseNamespace: string;
  /** By node name: the nodes whose node Lease names an agent, unless agentAccess is 'none'. */
  readonly agents: ReadonlyMap<string, AgentReport>;
  /** How they were read ('none' when not at all; the default is 'none'). */
  readonly agentAccess?: AgentAccess;
  /** How the agents select: their --load-balancer-classes and --external-ips-must-be-in-pool. */
  readonly options: SelectionOptions;
  /** Wall-clock now, ms since the epoch (for ages). */
  readonly now: number;
  /** What could not be read and what that changes (shown with the answer). */
  readonly problems?: readonly string[];
}

/** The selection every agent computes from the same objects, and what went into it. */
export interface SnapshotSelection {
  readonly selection: L2Selection;
  readonly policies: readonly CompiledL2Policy[];
  /** node → its node Lease facts (undefined: no node Lease). */
  readonly nodeLeases: ReadonlyMap<string, NodeLeaseFacts>;
  /** service key → its Service Lease. */
  readonly serviceLeases: ReadonlyMap<string, Lease>;
  /** A node's up links as the agents see them: its node Lease's, minus the links it is marked unreachable on. */
  upLinksOf(node: string): readonly string[];
}

export function serviceKeyOf(svc: ServiceObject): string {
  return `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
}

/** The L2 view of a Service, with its Gateway's labels merged as the agents merge them. */
export function l2ServiceView(s: Pick<ClusterSnapshot, 'gateways'>, svc: ServiceObject): L2ServiceView {
  const gw = owningGateway(svc);
  const gateway = gw === undefined ? undefined : (s.gateways ?? []).find((g) => g.metadata.name === gw && (g.metadata.namespace ?? '') === (svc.metadata.namespace ?? 'default'));
  return toL2Service(svc, gateway === undefined ? undefined : gateway.metadata.labels ?? {});
}

/**
 * The agents' selection rebuilt from the snapshot. Up links come from the
 * node Leases, as every agent reads its peers' (AgentCore.upLinksOf): a node
 * whose Lease names no holder has no agent and announces nothing. A Gateway's
 * labels are not read (Services a Gateway owns are matched on their own labels).
 */
export function selectFromSnapshot(s: ClusterSnapshot): SnapshotSelection {
  const nodeLeases = new Map<string, NodeLeaseFacts>();
  const serviceLeases = new Map<string, Lease>();
  for (const lease of s.leases) {
    const subject = leaseSubject(lease);
    if (subject?.kind === 'node') nodeLeases.set(subject.node, nodeLeaseFacts(lease));
    else if (subject?.kind === 'service') serviceLeases.set(subject.service, lease);
  }
  const upLinksOf = (node: string): readonly string[] => {
    const facts = nodeLeases.get(node);
    if (facts === undefined || facts.holder === '') return [];
    const gone = new Set(facts.unreachable);
    return facts.upLinks.filter((l) => !gone.has(l));
  };
  const policies = s.policies.map((p) => compileL2Policy(toPolicySpec(p)));
  const selection = selectL2({
    policies,
    services: s.services.map((svc) => l2ServiceView(s, svc)),
    nodes: s.nodes.map((n) => toL2Node(n, upLinksOf(n.metadata.name))),
    endpoints: endpointFacts(s.slices),
    poolRanges: poolRanges(s.pools.map(toPoolSpec)),
    options: s.options,
  });
  return { selection, policies, nodeLeases, serviceLeases, upLinksOf };
}

/** "3s", "4m12s", "2h5m", "3d4h": kubectl's AGE, roughly. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 || m >= 10 ? `${m}m` : `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 || h >= 8 ? `${h}h` : `${h}h${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 || d >= 8 ? `${d}d` : `${d}d${h % 24}h`;
}
