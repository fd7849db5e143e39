/**
 * `herald status`: every Service herald announces (or should), its addresses,
 * the node holding it, where and since when, and which nodes are alive. Pure:
 * from a ClusterSnapshot; rendering is in render.ts.
 */
import { deriveRequest, isEligible } from '../core/ipam/service-request.js';
import { restartingUntil, toL2Node } from '../agent/convert.js';
import { nodeExclusion } from '../core/l2/selection.js';
import { toServiceSpec } from '../operator/convert.js';
import { formatAge, selectFromSnapshot, serviceKeyOf, type ClusterSnapshot } from './snapshot.js';

export type ServiceState = 'announced' | 'no holder' | 'no candidate' | 'pending' | 'not announced';

export interface ServiceRow {
  readonly service: string;
  readonly addresses: readonly string[];
  readonly state: ServiceState;
  readonly holder: string | null;
  readonly interfaces: readonly string[];
  readonly macs: readonly string[];
  /** The Lease's acquireTime: since when the holder answers. */
  readonly since: string | null;
  readonly age: string | null;
  /** Why, when not announced (the first reason). */
  readonly note: string | null;
}

export type NodeState = 'alive' | 'marked' | 'no agent' | 'agent unreachable' | 'restarting';

export interface NodeRow {
  readonly name: string;
  readonly state: NodeState;
  /** Links its monitors marked unreachable (node Lease herald.io/unreachable). */
  readonly unreachableOn: readonly string[];
  /** Cordoned, or excluded from load balancers. */
  readonly excluded: string | null;
  /** How many Services it holds. */
  readonly holds: number;
  readonly agentError: string | null;
}

export interface StatusReport {
  readonly services: readonly ServiceRow[];
  readonly nodes: readonly NodeRow[];
  readonly summary: {
    readonly services: number;
    readonly addresses: number;
    readonly announced: number;
    readonly withoutHolder: number;
    readonly pending: number;
    readonly notAnnounced: number;
    readonly nodes: number;
    readonly alive: number;
  };
  /** What the CLI could not read, and what that changes. */
  readonly problems: readonly string[];
}

export function clusterStatus(s: ClusterSnapshot): StatusReport {
  const built = selectFromSnapshot(s);
  const classes = new Set(s.options.loadBalancerClasses);
  const rows: ServiceRow[] = [];
  const holds = new Map<string, number>();
  for (const svc of s.services) {
    const key = serviceKeyOf(svc);
    const c = built.selection.services.get(key);
    const lease = built.serviceLeases.get(key);
    const holder = lease?.spec?.holderIdentity ?? '';
    const eligible = isEligible(toServiceSpec(svc), classes);
    const addresses = c?.addresses.map((a) => a.address) ?? [];
    const rejected = c?.rejected ?? [];
    if (addresses.length === 0 && rejected.length === 0 && !(eligible && c?.skipped === undefined) && holder === '') continue;
    let state: ServiceState;
    let note: string | null = null;
    if (addresses.length === 0) {
      if (rejected.length > 0) {
        state = 'not announced';
        note = rejected[0]?.reason ?? null;
      } else {
        state = 'pending';
        const cond = svc.status?.conditions?.find((x) => x.type === 'cilium.io/IPAMRequestSatisfied');
        const req = deriveRequest(key, toServiceSpec(svc));
        note = cond?.message ?? (req.requested.length > 0 ? `requested ${req.requested.map((r) => r.text).join(', ')}` : 'no address yet');
      }
    } else if (c !== undefined && c.candidates.length === 0) {
      state = 'no candidate';
      note = c.skipped ?? 'no node is a candidate (herald explain tells why)';
    } else if (holder === '') {
      state = 'no holder';
    } else {
      state = 'announced';
      if (rejected.length > 0) note = `${rejected.map((r) => r.address).join(', ')} not announced`;
    }
    let interfaces: readonly string[] = [];
    let macs: readonly string[] = [];
    if (holder !== '') {
      holds.set(holder, (holds.get(holder) ?? 0) + 1);
      const report = s.agents.get(holder);
      const agentEntry = report?.reachable === true ? report.status.services?.find((x) => x.service === key) : undefined;
      interfaces = [...new Set(agentEntry?.addresses?.flatMap((a) => a.interfaces)
        ?? c?.addresses.flatMap((a) => a.nodes.get(holder) ?? []) ?? [])].sort();
      const statusMacs = report?.reachable === true ? report.status.macs : undefined;
      const leaseMacs = built.nodeLeases.get(holder)?.macs ?? {};
      macs = interfaces.map((i) => statusMacs?.[i] ?? leaseMacs[i] ?? '?');
    }
    const since = lease?.spec?.acquireTime ?? null;
    const ms = since === null ? Number.NaN : Date.parse(since);
    rows.push({
      service: key, addresses: [...addresses, ...rejected.map((r) => r.address)], state, holder: holder === '' ? null : holder,
      interfaces, macs, since, age: Number.isFinite(ms) && state === 'announced' ? formatAge(s.now - ms) : null, note,
    });
  }
  rows.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));

  const nodes: NodeRow[] = s.nodes.map((n) => {
    const name = n.metadata.name;
    const facts = built.nodeLeases.get(name);
    const leaseObj = s.leases.find((l) => l.metadata?.name === `herald-agent-${name}`);
    const report = s.agents.get(name);
    const excluded = nodeExclusion(toL2Node(n, [])) ?? null;
    let state: NodeState;
    if (facts === undefined || facts.holder === '') state = 'no agent';
    else if (report !== undefined && !report.reachable) state = 'agent unreachable';
    else if (facts.unreachable.length > 0) state = 'marked';
    else {
      const r = leaseObj === undefined ? undefined : restartingUntil(leaseObj);
      state = r !== undefined && typeof r.wallMs === 'number' && r.wallMs > s.now ? 'restarting' : 'alive';
    }
    return {
      name, state, unreachableOn: facts?.unreachable ?? [], excluded, holds: holds.get(name) ?? 0,
      agentError: report !== undefined && !report.reachable ? report.error : null,
    };
  }).sort((a, b) => (a.name < b.name ? -1 : 1));

  const count = (st: ServiceState): number => rows.filter((r) => r.state === st).length;
  return {
    services: rows,
    nodes,
    summary: {
      services: rows.length,
      addresses: rows.reduce((n, r) => n + r.addresses.length, 0),
      announced: count('announced'),
      withoutHolder: count('no holder') + count('no candidate'),
      pending: count('pending'),
      notAnnounced: count('not announced'),
      nodes: nodes.length,
      alive: nodes.filter((n) => n.state === 'alive' || n.state === 'restarting').length,
    },
    problems: s.problems ?? [],
  };
}
