import type { ServiceKey } from '../ipam/types.js';
import type { L2Selection } from './selection.js';

/**
 * Services that share an address (LB-IPAM's sharing key, or the same
 * external IP) must be announced by one node: two nodes answering ARP/NDP for
 * one address make the clients' neighbour caches flip between two MACs
 * (Cilium elects per Service and has exactly this bug, cilium/cilium#48419).
 * An address group is the connected set of Services that share addresses,
 * directly or through each other. herald ranks a group's Services under one
 * key, and a Service follows the node that already holds a Service of its
 * group (ownership.ts, OwnershipInput.groupHolder).
 */
export interface AddressGroup {
  /** The members, sorted; a Service that shares nothing is a group of one. */
  readonly members: readonly ServiceKey[];
  /** The key every member is ranked under: the first member. */
  readonly rankKey: ServiceKey;
}

export interface AddressGroups {
  /** The Service's group; a group of one for a Service the selection does not know. */
  of(service: ServiceKey): AddressGroup;
}

const cache = new WeakMap<L2Selection, AddressGroups>();

/** The address groups of a selection; computed once per selection (linear in its addresses). */
export function addressGroups(selection: L2Selection): AddressGroups {
  const known = cache.get(selection);
  if (known !== undefined) return known;
  const groups = computeGroups(selection);
  cache.set(selection, groups);
  return groups;
}

function computeGroups(selection: L2Selection): AddressGroups {
  // Union-find over Services, joined through the first Service seen with each address.
  const parent = new Map<ServiceKey, ServiceKey>();
  const find = (k: ServiceKey): ServiceKey => {
    let root = k;
    for (let p = parent.get(root) ?? root; p !== root; p = parent.get(root) ?? root) root = p;
    return root;
  };
  const firstWith = new Map<string, ServiceKey>();
  for (const [key, candidacy] of selection.services) {
    for (const a of candidacy.addresses) {
      const other = firstWith.get(a.address);
      if (other === undefined) {
        firstWith.set(a.address, key);
        continue;
      }
      if (!parent.has(key)) parent.set(key, key);
      if (!parent.has(other)) parent.set(other, other);
      const [ra, rb] = [find(key), find(other)];
      if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
    }
  }
  const byRoot = new Map<ServiceKey, ServiceKey[]>();
  for (const key of parent.keys()) {
    const root = find(key);
    let list = byRoot.get(root);
    if (list === undefined) byRoot.set(root, (list = []));
    list.push(key);
  }
  const shared = new Map<ServiceKey, AddressGroup>();
  for (const list of byRoot.values()) {
    const members = list.sort();
    const group = { members, rankKey: members[0] ?? '' };
    for (const k of members) shared.set(k, group);
  }
  return { of: (service) => shared.get(service) ?? { members: [service], rankKey: service } };
}
