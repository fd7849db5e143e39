/**
 * Which nodes watch each other on which link (lan-liveness.ts): one ring per
 * link and set of nodes that some policy selects together there. A link name
 * alone does not make an L2 segment: racks with a policy each (nodeSelector
 * rack=a, interfaces ^eth1$, and the same for rack b) must not watch each
 * other across racks, where hellos never arrive and a majority would be
 * counted over nodes that cannot hear each other. Policies that select the
 * same nodes on a link share one ring, so a node pays for each distinct
 * group once. Marks and unreachability do not change rings (a condemned
 * node stays a member, so that it can be heard again and cleared).
 */
import type { CompiledL2Policy } from './l2-policy.js';
import type { RingMember, RingSpec } from './lan-liveness.js';
import type { Labels } from '../label-selector.js';

export interface RingNode {
  readonly name: string;
  readonly labels: Labels;
  /** The node's MAC per link, as its Lease publishes them (only links some policy selects there). */
  readonly macs: Readonly<Record<string, string>>;
}

/** Rings by id (`<link>/<first policy, by name, with that group>`), each with its members and their MACs. */
export function ringGroups(policies: readonly CompiledL2Policy[], nodes: readonly RingNode[]): Map<string, RingSpec> {
  const out = new Map<string, RingSpec>();
  const seen = new Set<string>();
  for (const p of [...policies].filter((x) => x.ok).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const byLink = new Map<string, RingMember[]>();
    for (const n of nodes) {
      if (!p.selectsNode(n.labels)) continue;
      for (const [link, mac] of Object.entries(n.macs)) {
        if (!p.allLinks && !p.matchesLink(link)) continue;
        let list = byLink.get(link);
        if (list === undefined) byLink.set(link, (list = []));
        list.push({ node: n.name, mac });
      }
    }
    for (const [link, members] of byLink) {
      members.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
      const group = `${link}\u0000${members.map((m) => `${m.node}=${m.mac}`).join(',')}`;
      if (seen.has(group)) continue;
      seen.add(group);
      out.set(`${link}/${p.name}`, { link, members });
    }
  }
  return out;
}
