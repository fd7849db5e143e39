import type { ServiceKey } from '../ipam/types.js';
import { addressGroups } from './address-groups.js';
import { decideOwnership, type GroupHolder, type OwnershipDecision } from './ownership.js';
import type { CandidateRanker } from './rendezvous.js';
import type { L2Selection, NodeAssignment } from './selection.js';

/** Everything one agent observed, for planning all Services at once. */
export interface NodePlanInput {
  readonly self: string;
  readonly selection: L2Selection;
  /** Per-Service Lease holders ('' = none); Services without a Lease may be left out. */
  readonly holders: ReadonlyMap<ServiceKey, string>;
  readonly live: ReadonlySet<string>;
  /** Per Service: best-ranked live candidates passed over for not claiming in time (OwnershipInput.passOver). */
  readonly passOver?: ReadonlyMap<ServiceKey, number>;
  readonly leaving?: string;
  /** Nodes restarting in place (OwnershipInput.paused). */
  readonly paused?: ReadonlySet<string>;
  readonly apiReachable: boolean;
  /** Addresses another MAC announced whose Lease read then failed (AgentCore.conflict). */
  readonly conflicted: ReadonlySet<string>;
  /**
   * What this agent answered in its previous plan, per Service. A holder that
   * stopped being a candidate keeps answering these until its handover or
   * release is written.
   */
  readonly previous: ReadonlyMap<ServiceKey, readonly NodeAssignment[]>;
  readonly ranker: CandidateRanker;
}

export interface ServicePlan {
  readonly service: ServiceKey;
  readonly decision: OwnershipDecision;
  /** What to answer, on which links: empty unless decision.answer. */
  readonly answer: readonly NodeAssignment[];
}

/** Every (service → assignments) of one node in a selection, grouped once. */
export function assignmentsByService(selection: L2Selection, self: string): Map<ServiceKey, NodeAssignment[]> {
  const mine = new Map<ServiceKey, NodeAssignment[]>();
  for (const a of selection.assignmentsFor(self)) {
    let list = mine.get(a.service);
    if (list === undefined) mine.set(a.service, (list = []));
    list.push(a);
  }
  return mine;
}

/** The Services a node has something to do with: those it is a candidate for, and those it holds. */
export function servicesOf(input: Pick<NodePlanInput, 'self' | 'holders'>, mine: ReadonlyMap<ServiceKey, unknown>): Set<ServiceKey> {
  const keys = new Set<ServiceKey>(mine.keys());
  for (const [key, holder] of input.holders) if (holder === input.self) keys.add(key);
  return keys;
}

/** The decision for one Service (see planNode). */
export function planService(input: NodePlanInput, mine: ReadonlyMap<ServiceKey, readonly NodeAssignment[]>, key: ServiceKey): ServicePlan {
  const { self, selection } = input;
  const candidacy = selection.services.get(key);
  const group = addressGroups(selection).of(key);
  // A group's Services rank alike, so with the same candidates they pick the same node.
  const ranked = candidacy === undefined ? [] : input.ranker.rank(group.rankKey, candidacy.candidates);
  const groupHolder = group.members.length > 1 && candidacy !== undefined ? holderOfGroup(input, group.members, key, candidacy.candidates) : undefined;
  const assignments = mine.get(key) ?? input.previous.get(key) ?? [];
  const notCandidateReason = candidacy === undefined ? 'the Service is gone or not announced' : candidacy.whyNot(self);
  const decision = decideOwnership({
    self,
    ranked,
    holder: input.holders.get(key),
    live: input.live,
    ...(input.passOver?.get(key) === undefined ? {} : { passOver: input.passOver.get(key) }),
    ...(input.leaving === undefined ? {} : { leaving: input.leaving }),
    ...(input.paused === undefined || input.paused.size === 0 ? {} : { paused: input.paused }),
    apiReachable: input.apiReachable,
    addresses: [...new Set(assignments.map((a) => a.address))],
    conflicted: input.conflicted,
    ...(notCandidateReason === undefined ? {} : { notCandidateReason }),
    ...(groupHolder === undefined ? {} : { groupHolder }),
  });
  const answering = new Set(decision.answerAddresses);
  return { service: key, decision, answer: assignments.filter((a) => answering.has(a.address)) };
}

/**
 * The node holding another Service of the group that this one should join:
 * the holder of the first member (in key order) held by a live, unpaused
 * candidate of this Service. Every agent with the same observations finds the same.
 */
function holderOfGroup(input: NodePlanInput, members: readonly ServiceKey[], key: ServiceKey, candidates: readonly string[]): GroupHolder | undefined {
  for (const other of members) {
    if (other === key) continue;
    const node = input.holders.get(other) ?? '';
    if (node === '' || !input.live.has(node) || (input.paused?.has(node) ?? false) || !candidates.includes(node)) continue;
    return { node, service: other, earlier: other < key };
  }
  return undefined;
}

/**
 * One decision per Service that this agent is a candidate for or holds.
 * Services it has nothing to do with are left out, so the plan's size is
 * what this node deals with, not the cluster's.
 */
export function planNode(input: NodePlanInput): ServicePlan[] {
  const mine = assignmentsByService(input.selection, input.self);
  return [...servicesOf(input, mine)].sort().map((key) => planService(input, mine, key));
}
