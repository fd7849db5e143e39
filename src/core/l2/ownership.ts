/**
 * Who answers for a Service's addresses, from one agent's point of view.
 * Pure: the adapter supplies what it observed and performs the action.
 */

export type OwnershipAction = 'none' | 'claim' | 'handover' | 'release';

export interface OwnershipInput {
  /** This agent's node name. */
  readonly self: string;
  /** The Service's candidates, best first (rankCandidates over ServiceCandidacy.candidates). */
  readonly ranked: readonly string[];
  /** Holder of the cilium-l2announce-<ns>-<svc> Lease as last observed; '' or undefined = none. */
  readonly holder: string | undefined;
  /** Nodes with an agent (a node Lease with a holder), itself included. */
  readonly live: ReadonlySet<string>;
  /**
   * How many of the best-ranked live candidates to pass over because they have not
   * claimed in time (a successor cut off with the holder, say, that nobody
   * has condemned yet). 0 or absent: the best claims.
   */
  readonly passOver?: number;
  /**
   * Nodes whose agent restarts in place (LanLiveness pause): still live (nobody claims
   * their Services), but no Service is handed to them or claimed for them meanwhile.
   */
  readonly paused?: ReadonlySet<string>;
  /** Set while this agent shuts down or its node drains: why it is leaving. */
  readonly leaving?: string;
  /** Whether the API answered this agent's last request (AgentCore.apiReachable). */
  readonly apiReachable: boolean;
  /**
   * The addresses this agent answers for the Service while it holds it: its
   * assignments from selection, or, when it is no longer a candidate, what it
   * answered so far (it keeps answering until the handover is written).
   */
  readonly addresses: readonly string[];
  /** Addresses another MAC announced on the wire whose Lease read then failed. */
  readonly conflicted: ReadonlySet<string>;
  /** ServiceCandidacy.whyNot(self), used in the reason when self is not a candidate. */
  readonly notCandidateReason?: string;
  /**
   * Another Service of this one's address group (address-groups.ts) held by
   * a live, unpaused candidate of this Service: the node that should answer
   * for the shared address. `earlier`: that Service sorts before this one,
   * so a holder of this one hands over to it (only ever towards earlier
   * Services, so following never goes round in a circle).
   */
  readonly groupHolder?: GroupHolder;
}

export interface GroupHolder {
  readonly node: string;
  readonly service: string;
  readonly earlier: boolean;
}

export interface OwnershipDecision {
  /** Whether this agent answers any address of the Service. */
  readonly answer: boolean;
  /** The addresses it answers (a subset of input.addresses). */
  readonly answerAddresses: readonly string[];
  readonly action: OwnershipAction;
  /**
   * claim: self; handover: the successor. The Lease is written with
   * compare-and-swap (resourceVersion of the observed Lease); a lost race
   * means someone else acted first, and the next evaluation sees it.
   */
  readonly target?: string;
  /** Why, in words, for `herald status` and logs. */
  readonly reason: string;
  /** Set while another node is expected to claim: which one. */
  readonly waitingFor?: string;
}

function answering(input: OwnershipInput): { answerAddresses: string[]; silenced: string[] } {
  // With the API reachable the Lease is the truth: a MAC on the wire that
  // contradicts it is a stale holder or a stranger, and yielding to it would
  // let anyone on the LAN take a VIP away. Without the API, the wire is the
  // only sign that a successor has claimed, so yield to it.
  if (input.apiReachable) return { answerAddresses: [...input.addresses], silenced: [] };
  const answerAddresses = input.addresses.filter((a) => !input.conflicted.has(a));
  const silenced = input.addresses.filter((a) => input.conflicted.has(a));
  return { answerAddresses, silenced };
}

function holderProblem(holder: string, live: ReadonlySet<string>, candidates: ReadonlySet<string>): string | undefined {
  if (holder === '') return 'no node holds it';
  if (!live.has(holder)) return `previous holder ${holder}'s agent stopped`;
  if (!candidates.has(holder)) return `previous holder ${holder} is no longer a candidate`;
  return undefined;
}

function decideAsHolder(input: OwnershipInput, selfCandidate: boolean): OwnershipDecision {
  const { self, ranked, live } = input;
  const { answerAddresses, silenced } = answering(input);
  const answer = answerAddresses.length > 0;
  const why = input.leaving ?? (selfCandidate ? undefined : `not a candidate${input.notCandidateReason === undefined ? '' : `: ${input.notCandidateReason}`}`);
  if (why !== undefined) {
    // To the node that holds another Service on a shared address, if there is one; else the best-ranked.
    const group = input.groupHolder?.node;
    const successor = group !== undefined && group !== self ? group : ranked.find((n) => n !== self && live.has(n) && !(input.paused?.has(n) ?? false));
    if (successor !== undefined) {
      return { answer, answerAddresses, action: 'handover', target: successor, reason: `handing over to ${successor}: ${why}` };
    }
    return { answer, answerAddresses, action: 'release', reason: `releasing, no other live candidate: ${why}` };
  }
  const joining = input.groupHolder;
  if (joining !== undefined && joining.earlier && joining.node !== self && input.apiReachable) {
    return {
      answer, answerAddresses, action: 'handover', target: joining.node,
      reason: `handing over to ${joining.node}, which holds ${joining.service} on a shared address (one node answers for it)`,
    };
  }
  if (silenced.length > 0) {
    return {
      answer, answerAddresses, action: 'none',
      reason: `holding, but stopped answering ${silenced.join(', ')}: another MAC announced it while the API is unreachable`,
    };
  }
  if (!input.apiReachable) {
    return { answer, answerAddresses, action: 'none', reason: 'holding while the API is unreachable; no other node announced the address' };
  }
  // Stickiness: even if another node now ranks higher, a healthy holder keeps the Service.
  return { answer, answerAddresses, action: 'none', reason: 'holding; this node is a live candidate' };
}

/** The decision of agent `self` for one Service. */
export function decideOwnership(input: OwnershipInput): OwnershipDecision {
  const { self, ranked, live } = input;
  const holder = input.holder ?? '';
  const candidates = new Set(ranked);
  const selfCandidate = candidates.has(self);
  if (holder === self) return decideAsHolder(input, selfCandidate);

  const idle = { answer: false, answerAddresses: [] as string[], action: 'none' as const };
  const notCandidate = selfCandidate ? undefined : `not a candidate${input.notCandidateReason === undefined ? '' : `: ${input.notCandidateReason}`}`;
  const problem = holderProblem(holder, live, candidates);
  if (problem === undefined) {
    return { ...idle, reason: notCandidate === undefined ? `holder ${holder} is live` : `${notCandidate}; holder ${holder} is live` };
  }
  // Every agent that shares these observations picks the same node, so at most one claims.
  const willing = ranked.filter((n) => live.has(n) && !(input.paused?.has(n) ?? false));
  const passed = Math.min(input.passOver ?? 0, Math.max(0, willing.length - 1));
  // The node holding a Service that shares an address comes first, unless it
  // has already let a claim's patience run out.
  const joining = (input.passOver ?? 0) === 0 ? input.groupHolder : undefined;
  const best = joining?.node ?? willing[passed];
  const joinNote = joining === undefined ? '' : `; ${joining.node} holds ${joining.service} on a shared address`;
  if (best === self) {
    if (input.leaving !== undefined) return { ...idle, reason: `not claiming while leaving (${input.leaving}): ${problem}` };
    return { ...idle, action: 'claim', target: self, reason: `claimed: ${problem}${joinNote}` };
  }
  if (notCandidate !== undefined) return { ...idle, reason: `${notCandidate}; ${problem}` };
  if (best === undefined) return { ...idle, reason: `no live candidate to claim: ${problem}` };
  if (joining !== undefined) return { ...idle, waitingFor: best, reason: `waiting for ${best} to claim: ${problem}${joinNote}` };
  const after = passed === 0 ? '' : ` (${willing.slice(0, passed).join(', ')} did not in time)`;
  return { ...idle, waitingFor: best, reason: `waiting for ${best} (best-ranked live candidate${after}) to claim: ${problem}` };
}
