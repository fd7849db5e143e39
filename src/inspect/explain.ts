/**
 * `herald explain <namespace>/<service>`: the whole chain for one Service,
 * from a ClusterSnapshot, pure. The pool side follows LB-IPAM's rules
 * (src/core/ipam: eligibility, requests, pool selectors, sharing) and shows
 * what the operator wrote (status and the IPAMRequestSatisfied condition);
 * the L2 side is the agents' own selection and ranking (src/core/l2), with
 * every policy's and every node's reason when it is not a candidate.
 */
import { compilePool } from '../core/ipam/compiled-pool.js';
import { parseIp, type IpFamily } from '../core/ipam/address.js';
import { deriveRequest, isEligible } from '../core/ipam/service-request.js';
import { SERVICE_CONDITION } from '../core/ipam/types.js';
import { addressGroups } from '../core/l2/address-groups.js';
import type { CompiledL2Policy } from '../core/l2/l2-policy.js';
import { serviceLeaseName } from '../core/l2/lease-names.js';
import { rankCandidates } from '../core/l2/rendezvous.js';
import { appliesTo, nodeExclusion, trafficPolicyBlock, type AddressSource, type L2ServiceView } from '../core/l2/selection.js';
import { selectorLabels } from '../core/l2/service-labels.js';
import { endpointFacts, toL2Node } from '../agent/convert.js';
import type { Lease } from '../kube/lease-lock.js';
import type { ServiceObject } from '../kube/objects.js';
import { toPoolSpec, toServiceSpec } from '../operator/convert.js';
import { formatAge, l2ServiceView, selectFromSnapshot, serviceKeyOf, type AgentReport, type AgentStatusView, type ClusterSnapshot } from './snapshot.js';

export interface PoolVerdict {
  readonly name: string;
  /** LB-IPAM may allocate from it for this Service. */
  readonly candidate: boolean;
  /** Why not, when it is no candidate. */
  readonly why: string | null;
  /** It holds one of the Service's assigned addresses. */
  readonly selected: boolean;
}

export interface PolicyVerdict {
  readonly name: string;
  /** It selects this address of this Service (on some node or none). */
  readonly selects: boolean;
  readonly why: string | null;
}

export interface NodeVerdict {
  readonly name: string;
  readonly candidate: boolean;
  /** 1 = best, among the candidates; null for a node that is no candidate. */
  readonly rank: number | null;
  /** The links it would answer on. */
  readonly links: readonly string[];
  readonly why: string | null;
}

export interface AnswerView {
  readonly interface: string;
  readonly mac: string | null;
  readonly replies: number | null;
  readonly lastReplyAt: string | null;
  readonly lastGratuitousAt: string | null;
}

export interface AddressExplanation {
  readonly address: string;
  readonly source: AddressSource;
  readonly policies: readonly PolicyVerdict[];
  readonly nodes: readonly NodeVerdict[];
  /** Candidates best first. */
  readonly ranked: readonly string[];
  /** Who answers for it: the Lease's holder, and what its agent says. */
  readonly holder: string | null;
  readonly answers: readonly AnswerView[];
}

export interface LeaseView {
  readonly name: string;
  readonly namespace: string;
  readonly holder: string;
  readonly acquireTime: string | null;
  readonly renewTime: string | null;
  readonly leaseTransitions: number | null;
  /** Since acquireTime, as an age ("4m12s"). */
  readonly heldFor: string | null;
}

export interface AgentLine {
  readonly node: string;
  /** 'no agent': its node Lease names none, so it was not asked; 'not asked': --agents=none. */
  readonly state: 'ok' | 'unreachable' | 'no agent' | 'not asked';
  readonly error: string | null;
}

export interface Explanation {
  readonly service: string;
  readonly type: string;
  readonly loadBalancerClass: string | null;
  /** herald takes the Service (LB-IPAM and/or L2). */
  readonly taken: boolean;
  readonly classVerdict: string;
  readonly externalTrafficPolicy: string;
  readonly ipam: {
    readonly eligible: boolean;
    readonly requested: readonly string[];
    readonly unparsable: readonly string[];
    readonly pools: readonly PoolVerdict[];
    readonly assigned: readonly { readonly address: string; readonly pool: string | null }[];
    readonly condition: { readonly status: string; readonly reason: string; readonly message: string } | null;
    readonly sharingKey: string | null;
    readonly sharedWith: readonly { readonly service: string; readonly addresses: readonly string[]; readonly sharingKey: string | null }[];
  };
  readonly addresses: readonly AddressExplanation[];
  readonly notAnnounced: readonly { readonly address: string; readonly reason: string }[];
  /** Set when the Service takes no part in L2 announcements at all. */
  readonly l2Skipped: string | null;
  /** Services ranked with this one (they share an address) and the key they rank under. */
  readonly addressGroup: { readonly members: readonly string[]; readonly rankKey: string };
  readonly lease: LeaseView | null;
  /** What the holder's agent says about this Service. */
  readonly holderAgent: { readonly node: string; readonly answering: boolean | null; readonly why: string | null; readonly error: string | null } | null;
  readonly agents: readonly AgentLine[];
  /** The verdict in a few lines, most important first. */
  readonly summary: readonly string[];
  /** What the CLI could not read, and what that changes. */
  readonly problems: readonly string[];
}

const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();

function classVerdict(svc: ServiceObject, classes: readonly string[]): { taken: boolean; text: string } {
  const type = svc.spec?.type ?? 'ClusterIP';
  const cls = svc.spec?.loadBalancerClass;
  const served = `herald serves an unset class${classes.length > 0 ? ` and ${classes.join(', ')}` : ''}`;
  if (cls !== undefined && cls !== '' && !classes.includes(cls)) {
    return { taken: false, text: `ignored: loadBalancerClass "${cls}" is not herald's (${served}); another controller must serve it` };
  }
  const external = (svc.spec?.externalIPs ?? []).length > 0;
  if (type !== 'LoadBalancer') {
    return external
      ? { taken: true, text: `type ${type}: no address from the pools (only LoadBalancer Services get one); its spec.externalIPs are announced when a pool holds them` }
      : { taken: false, text: `ignored: type ${type}, not LoadBalancer, and no spec.externalIPs` };
  }
  return { taken: true, text: cls === undefined || cls === '' ? `taken: no loadBalancerClass (${served})` : `taken: loadBalancerClass "${cls}" is herald's` };
}

function familyName(f: IpFamily): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

function poolVerdicts(s: ClusterSnapshot, svc: ServiceObject, assigned: readonly string[]): { pools: PoolVerdict[]; poolOf: Map<string, string> } {
  const request = deriveRequest(serviceKeyOf(svc), toServiceSpec(svc));
  const poolOf = new Map<string, string>();
  const pools: PoolVerdict[] = [];
  const parsedAssigned = assigned.map((a) => ({ text: a, parsed: parseIp(a) }));
  for (const obj of [...s.pools].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const pool = compilePool(toPoolSpec(obj));
    const contains = (family: IpFamily, value: bigint): boolean => pool.blocks.some((b) => b.range.family === family && b.range.start <= value && value <= b.range.end);
    let selected = false;
    for (const a of parsedAssigned) {
      if (a.parsed.ok && contains(a.parsed.value.family, a.parsed.value.value)) {
        selected = true;
        if (!poolOf.has(a.text)) poolOf.set(a.text, pool.name);
      }
    }
    const conflict = obj.status?.conditions?.find((c) => c.type === 'cilium.io/PoolConflict' && c.status === 'True');
    let why: string | undefined;
    if (pool.problems.length > 0) why = `invalid: ${pool.problems.join('; ')}`;
    else if (pool.disabled) why = 'disabled (spec.disabled: true)';
    else if (conflict !== undefined) why = `conflicts with another pool: ${conflict.message ?? ''}`.trim();
    else if (pool.selects !== undefined && !pool.selects(request.selectorLabels)) why = 'serviceSelector does not match the Service';
    else if (request.requested.length > 0) {
      const outside = request.requested.filter((r) => !contains(r.address.family, r.address.value)).map((r) => r.text);
      if (outside.length === request.requested.length) why = `holds none of the requested ${outside.join(', ')}`;
    } else if (!request.families.some((f) => pool.blocks.some((b) => b.range.family === f))) {
      why = `has no ${request.families.map(familyName).join(' or ')} block`;
    }
    pools.push({ name: pool.name, candidate: why === undefined, why: why ?? null, selected });
  }
  return { pools, poolOf };
}

function sharedWith(s: ClusterSnapshot, svc: ServiceObject, ips: readonly string[]): Explanation['ipam']['sharedWith'] {
  const key = serviceKeyOf(svc);
  const mine = new Set(ips);
  const out: { service: string; addresses: string[]; sharingKey: string | null }[] = [];
  for (const other of s.services) {
    const otherKey = serviceKeyOf(other);
    if (otherKey === key) continue;
    const theirs = [...(other.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])), ...(other.spec?.externalIPs ?? [])];
    const common = sorted(new Set(theirs.filter((ip) => mine.has(ip))));
    if (common.length === 0) continue;
    const req = deriveRequest(otherKey, toServiceSpec(other));
    out.push({ service: otherKey, addresses: common, sharingKey: req.sharingKey ?? null });
  }
  return out.sort((a, b) => (a.service < b.service ? -1 : 1));
}

/** Why `policy` does not select this address of the Service, or undefined when it does. */
function policyWhyNot(policy: CompiledL2Policy, view: L2ServiceView, source: AddressSource): string | undefined {
  if (!policy.ok) {
    const problems = policy.conditions.filter((c) => c.status === 'True').map((c) => c.message);
    return `invalid, selects nothing: ${problems.join('; ')}`;
  }
  if (!policy.selectsService(selectorLabels(view))) return 'serviceSelector does not match the Service';
  if (!appliesTo(policy, source)) {
    return source === 'loadBalancerIP'
      ? 'does not announce load-balancer addresses (spec.loadBalancerIPs is not true)'
      : 'does not announce external IPs (spec.externalIPs is not true)';
  }
  return undefined;
}

function leaseView(s: ClusterSnapshot, key: string, namespace: string, name: string, leases: ReadonlyMap<string, Lease>): LeaseView | null {
  const leaseName = serviceLeaseName(namespace, name);
  const lease = leases.get(key) ?? s.leases.find((l) => l.metadata?.name === leaseName);
  if (lease === undefined) return null;
  const acquire = lease.spec?.acquireTime ?? null;
  const ms = acquire === null ? Number.NaN : Date.parse(acquire);
  return {
    name: lease.metadata?.name ?? leaseName,
    namespace: lease.metadata?.namespace ?? s.leaseNamespace,
    holder: lease.spec?.holderIdentity ?? '',
    acquireTime: acquire,
    renewTime: lease.spec?.renewTime ?? null,
    leaseTransitions: lease.spec?.leaseTransitions ?? null,
    heldFor: Number.isFinite(ms) ? formatAge(s.now - ms) : null,
  };
}

function agentLines(s: ClusterSnapshot): AgentLine[] {
  return s.nodes.map((n) => {
    const r = s.agents.get(n.metadata.name);
    if (r === undefined) return { node: n.metadata.name, state: (s.agentAccess ?? 'none') === 'none' ? 'not asked' : 'no agent', error: null };
    return r.reachable ? { node: n.metadata.name, state: 'ok', error: null } : { node: n.metadata.name, state: 'unreachable', error: r.error };
  });
}

function statusOf(report: AgentReport | undefined): AgentStatusView | undefined {
  return report?.reachable === true ? report.status : undefined;
}

export class UnknownServiceError extends Error {
  override readonly name = 'UnknownServiceError';
}

/** The explanation of `namespace/name`; throws UnknownServiceError when the snapshot has no such Service. */
export function explainService(s: ClusterSnapshot, namespace: string, name: string): Explanation {
  const key = `${namespace}/${name}`;
  const svc = s.services.find((x) => serviceKeyOf(x) === key);
  if (svc === undefined) throw new UnknownServiceError(`no Service ${key}`);
  const built = selectFromSnapshot(s);
  const candidacy = built.selection.services.get(key);
  const view = l2ServiceView(s, svc);
  const cls = classVerdict(svc, s.options.loadBalancerClasses);
  const spec = toServiceSpec(svc);
  const eligible = isEligible(spec, new Set(s.options.loadBalancerClasses));
  const request = deriveRequest(key, spec);
  const assigned = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
  const { pools, poolOf } = poolVerdicts(s, svc, assigned);
  const cond = svc.status?.conditions?.find((c) => c.type === SERVICE_CONDITION);
  const lease = leaseView(s, key, namespace, name, built.serviceLeases);
  const holder = lease !== null && lease.holder !== '' ? lease.holder : null;
  const holderStatus = holder === null ? undefined : statusOf(s.agents.get(holder));
  const holderReport = holder === null ? undefined : s.agents.get(holder);
  const facts = endpointFacts(s.slices).get(key);
  const group = addressGroups(built.selection).of(key);
  const ranked = candidacy === undefined ? [] : rankCandidates(group.rankKey, candidacy.candidates);
  const nodesByName = new Map(s.nodes.map((n) => [n.metadata.name, n]));

  const addresses: AddressExplanation[] = (candidacy?.addresses ?? []).map((a) => {
    const policies = built.policies.map((p) => {
      const why = policyWhyNot(p, view, a.source);
      return { name: p.name, selects: why === undefined, why: why ?? null };
    }).sort((x, y) => (x.name < y.name ? -1 : 1));
    const applicable = built.policies.filter((p) => policyWhyNot(p, view, a.source) === undefined);
    const order = ranked.filter((n) => a.nodes.has(n));
    const nodes: NodeVerdict[] = sorted(nodesByName.keys()).map((nodeName) => {
      const links = a.nodes.get(nodeName);
      if (links !== undefined) return { name: nodeName, candidate: true, rank: order.indexOf(nodeName) + 1, links, why: null };
      const obj = nodesByName.get(nodeName);
      const l2 = obj === undefined ? undefined : toL2Node(obj, built.upLinksOf(nodeName));
      let why: string | undefined = l2 === undefined ? 'unknown node' : nodeExclusion(l2);
      if (why === undefined && l2 !== undefined) {
        if (applicable.length === 0) why = 'no policy selects this address';
        else {
          const lease = built.nodeLeases.get(nodeName);
          const reasons: string[] = [];
          for (const p of applicable) {
            if (!p.selectsNode(l2.labels)) {
              reasons.push(`${p.name}: nodeSelector does not select this node`);
              continue;
            }
            if (!l2.upLinks.some((l) => p.matchesLink(l))) {
              if (lease === undefined || lease.holder === '') reasons.push(`${p.name}: no herald agent runs there (its node Lease names no holder)`);
              else if (l2.upLinks.length === 0) reasons.push(`${p.name}: no up link${lease.unreachable.length > 0 ? ` (marked unreachable on ${lease.unreachable.join(', ')})` : ''}`);
              else reasons.push(`${p.name}: no up link matches interfaces ${p.interfacePatterns.join(' or ')} (up: ${l2.upLinks.join(', ')})`);
              continue;
            }
            const block = trafficPolicyBlock(view, facts, nodeName);
            if (block !== undefined) reasons.push(`${p.name}: ${block}`);
          }
          why = reasons.length > 0 ? [...new Set(reasons.map((r) => (applicable.length === 1 ? r.slice(r.indexOf(': ') + 2) : r)))].join('; ') : (candidacy?.whyNot(nodeName) ?? 'not a candidate');
        }
      }
      return { name: nodeName, candidate: false, rank: null, links: [], why: why ?? 'not a candidate' };
    });
    const answers: AnswerView[] = [];
    if (holder !== null) {
      const agentEntry = holderStatus?.services?.find((x) => x.service === key);
      const ifaces = agentEntry?.addresses?.find((x) => x.address === a.address)?.interfaces ?? a.nodes.get(holder) ?? [];
      const leaseMacs = built.nodeLeases.get(holder)?.macs ?? {};
      for (const i of ifaces) {
        const rec = holderStatus?.answers?.find((r) => r.address === a.address && r.interface === i);
        answers.push({
          interface: i,
          mac: holderStatus?.macs?.[i] ?? leaseMacs[i] ?? null,
          replies: rec?.replies ?? (holderStatus?.answers === undefined ? null : 0),
          lastReplyAt: rec?.lastReplyAt ?? null,
          lastGratuitousAt: rec?.lastGratuitousAt ?? null,
        });
      }
    }
    return { address: a.address, source: a.source, policies, nodes, ranked: order, holder, answers };
  });

  const holderEntry = holderStatus?.services?.find((x) => x.service === key);
  const holderAgent = holder === null ? null : {
    node: holder,
    answering: holderEntry?.answering ?? (holderStatus === undefined ? null : false),
    why: holderEntry?.why ?? (holderStatus === undefined ? null : 'the agent does not plan this Service'),
    error: holderReport === undefined
      ? ((s.agentAccess ?? 'none') === 'none' ? 'not asked (--agents=none)' : 'not asked: its node Lease names no agent')
      : holderReport.reachable ? null : holderReport.error,
  };

  const notAnnounced = [...(candidacy?.rejected ?? [])];
  const summary: string[] = [];
  if (!cls.taken) summary.push(cls.text);
  else {
    if (eligible && assigned.length === 0) {
      summary.push(`pending: no address assigned${cond?.message ? `: ${cond.message}` : ' (the operator has not written a condition: is it running?)'}`);
    }
    for (const a of addresses) {
      if (a.holder !== null && a.ranked.includes(a.holder)) {
        const where = a.answers.map((x) => `${x.interface}${x.mac ? ` (${x.mac})` : ''}`).join(', ');
        summary.push(`${a.address}: announced by ${a.holder}${where ? ` on ${where}` : ''}`);
      } else if (a.ranked.length === 0) {
        summary.push(`${a.address}: not announced: no node is a candidate (see the nodes below)${a.holder === null ? '' : `; the Lease still names ${a.holder}`}`);
      } else if (a.holder !== null) {
        const why = a.nodes.find((n) => n.name === a.holder)?.why ?? 'not a node';
        summary.push(`${a.address}: the Lease names ${a.holder}, which is no candidate (${why}); ${a.ranked[0] ?? ''} is the best-ranked one`);
      } else {
        summary.push(`${a.address}: no holder yet; ${a.ranked[0] ?? ''} is the best-ranked candidate${holder === null ? ' (no Lease)' : ''}`);
      }
    }
    for (const r of notAnnounced) summary.push(`${r.address}: not announced: ${r.reason}`);
    if (candidacy?.skipped !== undefined) summary.push(`not announced: ${candidacy.skipped}`);
    if (holderAgent !== null && holderAgent.error !== null) summary.push(`the holder's agent (${holder ?? ''}) could not be read: ${holderAgent.error}`);
    else if (holderAgent?.answering === false) summary.push(`the Lease names ${holder ?? ''}, but its agent does not answer: ${holderAgent.why ?? ''}`);
  }

  return {
    service: key,
    type: view.type,
    loadBalancerClass: svc.spec?.loadBalancerClass ?? null,
    taken: cls.taken,
    classVerdict: cls.text,
    externalTrafficPolicy: svc.spec?.externalTrafficPolicy ?? 'Cluster',
    ipam: {
      eligible,
      requested: request.requested.map((r) => r.text),
      unparsable: request.unparsable,
      pools: eligible ? pools : pools.map((p) => ({ ...p, candidate: false, why: p.why ?? 'the Service is not LB-IPAM\'s (see its class)' })),
      assigned: assigned.map((a) => ({ address: a, pool: poolOf.get(a) ?? null })),
      condition: cond === undefined ? null : { status: cond.status, reason: cond.reason ?? '', message: cond.message ?? '' },
      sharingKey: request.sharingKey ?? null,
      sharedWith: sharedWith(s, svc, [...assigned, ...(svc.spec?.externalIPs ?? [])]),
    },
    addresses,
    notAnnounced,
    l2Skipped: candidacy?.skipped ?? null,
    addressGroup: { members: group.members, rankKey: group.rankKey },
    lease,
    holderAgent,
    agents: agentLines(s),
    summary,
    problems: s.problems ?? [],
  };
}
