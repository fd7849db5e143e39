/**
 * The agent's coordination rules, pure: what one agent has observed of the
 * API (node Leases, Service Leases, its own writes and reads) and of the LAN
 * (liveness frames, another MAC announcing an address), with the time of each
 * observation, in; the plan (what to answer where), the frames to send and
 * the writes to make, out. `herald agent` feeds it from the real API and
 * sockets; the cluster simulator (sim/) feeds many of them from simulated ones.
 *
 * Rules kept here, and nowhere else:
 * - liveness is judged on the LAN (LanLiveness): a node is a candidate on a
 *   link unless it is marked unreachable there (in its Lease, or by a "down"
 *   frame), and we are not a candidate on a link where we are deaf; the API
 *   is for fencing (each Lease write a compare-and-swap) and visibility, and
 *   nothing in it expires with time, so an API pause or a stalled watch never
 *   moves a Service;
 * - a node Lease with an empty holder is a node that left;
 * - a Service Lease never goes back to a version older than one we saw;
 * - one write per Service at a time;
 * - another MAC announcing an address we answer makes us read the Lease: we
 *   stop if it names someone else, or if the read fails or goes unanswered
 *   for CONFLICT_READ_PATIENCE_MS (the wire is then the only sign of a
 *   successor);
 * - a claim is never made from a Service Lease version that a read showed
 *   and the watch has not delivered yet, unless the LAN condemned its holder
 *   or it has none: a read is fresh, but our view of the node Leases (who is
 *   up, who left, who is marked) is only as fresh as the watch, and the two
 *   together can condemn a healthy holder that claimed after our watch broke
 *   (a reflector re-listing in backoff, a stalled watch);
 * - after we were off the LAN (deaf, or on the minority side of a split)
 *   long enough to be condemned, every Service Lease we hold is read afresh,
 *   as after a stall: our successors' bursts went out while we could not
 *   hear them.
 */
import type { ServiceKey } from '../ipam/types.js';
import type { CoordinationSettings } from './coordination-settings.js';
import type { Labels } from '../label-selector.js';
import type { CompiledL2Policy } from './l2-policy.js';
import { LanLiveness, type ApiPause, type LivenessStatus, type MarkWrite, type RingMember, type RingSpec } from './lan-liveness.js';
import { ringGroups } from './liveness-rings.js';
import type { LanReceived, LanSend } from './lan-messages.js';
import { addressGroups } from './address-groups.js';
import { assignmentsByService, planService, servicesOf, type NodePlanInput, type ServicePlan } from './node-plan.js';
import { compareResourceVersions } from './resource-version.js';
import { CandidateRanker } from './rendezvous.js';
import type { L2Selection, NodeAssignment } from './selection.js';

/** A Lease as the core needs it: who holds it, at which version. */
export interface LeaseFacts {
  readonly holder: string;
  readonly rv: string;
}

/** A node's Lease (herald-agent-<node>): its links for selection and liveness, and marks put on it. */
export interface NodeLeaseFacts extends LeaseFacts {
  readonly upLinks: readonly string[];
  /** The node's MAC per link, for liveness frames. */
  readonly macs: Readonly<Record<string, string>>;
  /** Links on which monitors found the node unreachable. */
  readonly unreachable: readonly string[];
  /** Its agent restarts in place until then (herald.io/restarting-until, in the caller's clock): not to be suspected meanwhile. */
  readonly restarting?: ApiPause;
}

/** A Service Lease write the adapter should make (compare-and-swap). */
export interface LeaseWrite {
  readonly service: ServiceKey;
  readonly action: 'claim' | 'handover' | 'release';
  /** The new holder; '' frees the Lease. */
  readonly holder: string;
  /** The version the write replaces; undefined: the Lease does not exist yet (create). */
  readonly expectedRv: string | undefined;
  readonly previousHolder: string;
  readonly reason: string;
}

export type WriteOutcome =
  | { readonly result: 'ok'; readonly lease: LeaseFacts }
  /** 409 or 404: somebody else changed the Lease first. */
  | { readonly result: 'lost' }
  /**
   * The apiserver's admission refused it (herald's ValidatingAdmissionPolicy, docs/security.md): a
   * claim on a Lease whose holder the API does not show condemned yet (the mark not written, or not
   * yet seen by the apiserver's policy). The API answered; the claim waits (DENIED_RETRY_MS).
   */
  | { readonly result: 'denied'; readonly message: string }
  | { readonly result: 'error'; readonly message: string };

/** A fresh read of a Service Lease: what it says (undefined: none), or that it failed. */
export type ReadOutcome = { readonly result: 'ok'; readonly lease: LeaseFacts | undefined } | { readonly result: 'error'; readonly message: string };

/** What an observation changes: nothing, the plan (ownership), or also the selection (a node's usable links). */
export type Change = 'none' | 'plan' | 'selection';

export interface CorePlan {
  readonly plans: readonly ServicePlan[];
  readonly writes: readonly LeaseWrite[];
  /** Service Leases to read afresh (a wire conflict, a lost write): report with leaseRead. */
  readonly reads: readonly ServiceKey[];
}

/** The LAN side of an observation or a tick: frames to send, Lease marks to write, and what changed. */
export interface LanOutput {
  readonly sends: readonly LanSend[];
  readonly marks: readonly MarkWrite[];
  readonly change: Change;
}

export interface AgentCoreOptions {
  readonly self: string;
  readonly settings: CoordinationSettings;
  /** A shared ranker (the simulator shares one between agents; ranking is deterministic). */
  readonly ranker?: CandidateRanker;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Conflict {
  readonly service: ServiceKey;
  readonly at: number;
  failed: boolean;
  /** Once the read failed: when to read again (CONFLICT_REREAD_MS). */
  rereadAt?: number | undefined;
  /** When the read that should settle it was last asked for (CONFLICT_READ_PATIENCE_MS). */
  askedAt: number;
}

/**
 * How long the best-ranked successor has to claim a Service whose holder is
 * gone before the next one does. It may be cut off with the holder and not yet
 * condemned; its claim, if it comes, loses the compare-and-swap.
 */
export const CLAIM_PATIENCE_MS = 250;

/**
 * How often a holder that stopped answering an address (another MAC announced it, and the
 * Lease read that should settle it failed) reads the Lease again. Nothing else may tell it
 * that the API is back: its watch can stall without a sound after an outage, and the other
 * MAC may never announce again (a holder back from a hang that saw the Lease and stopped).
 * The read shows it still holding (it answers again) or not (it stays silent).
 */
export const CONFLICT_REREAD_MS = 1000;

/**
 * How long a holder that heard another MAC announce one of its addresses waits for the Lease
 * read that settles it before it stops answering that address, as if the read had failed. A
 * blackholed API answers nothing until the request times out (seconds), and meanwhile two
 * nodes answer the address; a read that the API does answer in time settles it as before.
 * 150 ms keeps two MACs on one side under 200 ms (issue 9) with a tick of slack.
 */
export const CONFLICT_READ_PATIENCE_MS = 150;

/**
 * How long a claim the admission policy refused waits before it is made again, unless the
 * holder's node Lease changes first (its unreachable mark arriving is what the policy waits
 * for, so that retries at once). The mark is written by the node that condemned the holder,
 * at the same moment as the verdict's broadcast, so a claim made on the broadcast can reach
 * the apiserver before the mark does, and the policy's own view of the node Leases can lag
 * the watch by a little.
 */
export const DENIED_RETRY_MS = 100;

/**
 * Refused again and again with no news of the holder (it stopped being a candidate but cannot
 * reach the API to hand over, so nobody may take its Services): the wait doubles up to this,
 * so that each waiting Service costs at most one refused write per 5 s.
 */
export const DENIED_RETRY_MAX_MS = 5000;

export class AgentCore {
  readonly self: string;
  readonly lan: LanLiveness;
  private readonly ranker: CandidateRanker;
  private readonly nodes = new Map<string, NodeLeaseFacts>();
  private readonly holders = new Map<ServiceKey, LeaseFacts>();
  private readonly inflight = new Set<ServiceKey>();
  private readonly reading = new Set<ServiceKey>();
  private readonly toRead = new Set<ServiceKey>();
  /** By address: another MAC announced it; `failed` once the Lease read that should settle it failed. */
  private readonly conflicts = new Map<string, Conflict>();
  private readonly previous = new Map<ServiceKey, readonly NodeAssignment[]>();
  private readonly holderNames = new Map<ServiceKey, string>();
  private readonly planByService = new Map<ServiceKey, ServicePlan>();
  /** Services whose Lease or write changed since the last plan. */
  private readonly dirty = new Set<ServiceKey>();
  private basis: { selection: L2Selection; live: string; paused: string; reachable: boolean; leaving: string; conflicted: string } | undefined;
  private mine: { selection: L2Selection; bySvc: Map<ServiceKey, NodeAssignment[]> } | undefined;
  private leavingReason: string | undefined;
  private restartingSelf = false;
  private lastPlans: readonly ServicePlan[] = [];
  private apiOk = true;
  private ringsDirty = true;
  /** Every MAC a node Lease lists (herald.io/link-macs), rebuilt after a node Lease changes. */
  private heraldMacs: Set<string> | undefined;
  /** Policies and node labels that split rings by segment (ringGroups); undefined: one ring per link. */
  private scope: { policies: readonly CompiledL2Policy[]; labels: ReadonlyMap<string, Labels> } | undefined;
  private lanSeen = { version: -1, deaf: '', pauses: 0 };
  /** Services whose holder is gone, waiting for another node to claim: since when. */
  private readonly orphanSince = new Map<ServiceKey, number>();
  private readonly passOver = new Map<ServiceKey, number>();
  /** The last lanTick, to see that we were stalled (a hang, a paused VM) between two. */
  private lastTickAt: number | undefined;
  private readonly stallMs: number;
  /**
   * By Service: a version that a read (not the watch) showed us, newer than any we had; cleared
   * once the watch delivers it or a later one. We do not claim the Service meanwhile (see the header).
   */
  private readonly unwatched = new Map<ServiceKey, string>();
  /**
   * Services we hold whose Lease we read afresh after a stall or a rejoin, until a read
   * answers: a failed one is asked again at most every CONFLICT_REREAD_MS (value: when).
   */
  private readonly recheck = new Map<ServiceKey, number | undefined>();
  /**
   * Services whose claim the admission policy refused: the holder we tried to take it from, and
   * when to try again (set at the next tick). Cleared when that holder's node Lease changes,
   * the Service's Lease changes hands, or the time comes.
   */
  private readonly denied = new Map<ServiceKey, { holder: string; message: string; retryAt: number | undefined }>();
  /** By Service: refusals in a row with no news of the holder (DENIED_RETRY_MAX_MS). */
  private readonly deniedStreak = new Map<ServiceKey, { holder: string; count: number }>();

  constructor(opts: AgentCoreOptions) {
    this.self = opts.self;
    this.ranker = opts.ranker ?? new CandidateRanker();
    this.lan = new LanLiveness(opts.self, opts.settings);
    this.stallMs = opts.settings.suspectAfterMs;
  }

  // ---- observations: the API -------------------------------------------------

  /** A node's Lease as the watch delivered it; undefined when deleted. */
  nodeLease(node: string, facts: NodeLeaseFacts | undefined): Change {
    const before = this.nodes.get(node);
    this.heraldMacs = undefined;
    if (facts === undefined) {
      if (!this.nodes.delete(node)) return 'none';
      this.lan.setApiMarks(node, []);
      this.ringsDirty = true;
      return 'selection';
    }
    if (before !== undefined && compareResourceVersions(facts.rv, before.rv) < 0) return 'none';
    this.nodes.set(node, facts);
    // A refused claim from this node may be admitted now (its unreachable mark is what the policy waits for).
    let retry = false;
    for (const [key, d] of this.denied) {
      if (d.holder !== node) continue;
      this.denied.delete(key);
      this.dirty.add(key);
      retry = true;
    }
    for (const [key, d] of this.deniedStreak) if (d.holder === node) this.deniedStreak.delete(key);
    const pauses = this.lan.pauseVersion;
    this.lan.setApiPause(node, facts.restarting);
    const marks = [...facts.unreachable].sort();
    this.lan.setApiMarks(node, marks);
    const links = before === undefined || !sameList(before.upLinks, facts.upLinks) || JSON.stringify(before.macs) !== JSON.stringify(facts.macs);
    if (links || (before.holder === '') !== (facts.holder === '')) this.ringsDirty = true;
    if (links || !sameList([...before.unreachable].sort(), marks)) return 'selection';
    return retry || before.holder !== facts.holder || pauses !== this.lan.pauseVersion ? 'plan' : 'none';
  }

  /** A Service's cilium-l2announce-* Lease as the watch delivered it; undefined when deleted. */
  serviceLease(service: ServiceKey, facts: LeaseFacts | undefined): Change {
    const unwatched = this.unwatched.get(service);
    const caughtUp = unwatched !== undefined && (facts === undefined || compareResourceVersions(facts.rv, unwatched) >= 0);
    if (caughtUp) this.unwatched.delete(service);
    const change = this.applyServiceLease(service, facts);
    if (!caughtUp || change !== 'none') return change;
    // The watch has caught up with what a read showed: a claim held back may be made now.
    this.dirty.add(service);
    return 'plan';
  }

  /** A Service Lease as the watch, a read or our own write showed it. */
  private applyServiceLease(service: ServiceKey, facts: LeaseFacts | undefined): Change {
    if (facts === undefined) {
      if (!this.holders.delete(service)) return 'none';
      this.holderNames.delete(service);
      this.dirty.add(service);
      return 'plan';
    }
    const before = this.holders.get(service);
    if (before !== undefined && compareResourceVersions(facts.rv, before.rv) <= 0) return 'none';
    this.holders.set(service, facts);
    this.holderNames.set(service, facts.holder);
    if (before?.holder === facts.holder) return 'none';
    this.denied.delete(service);
    this.deniedStreak.delete(service);
    this.dirty.add(service);
    return 'plan';
  }

  writeFinished(write: LeaseWrite, outcome: WriteOutcome): Change {
    this.inflight.delete(write.service);
    this.dirty.add(write.service);
    if (outcome.result === 'ok') {
      this.apiOk = true;
      this.applyServiceLease(write.service, outcome.lease);
    } else if (outcome.result === 'lost') {
      // Somebody wrote first; our watch may be behind, so read it rather than wait.
      this.apiOk = true;
      this.toRead.add(write.service);
    } else if (outcome.result === 'denied') {
      this.apiOk = true;
      this.denied.set(write.service, { holder: write.previousHolder, message: outcome.message, retryAt: undefined });
      const streak = this.deniedStreak.get(write.service);
      this.deniedStreak.set(write.service, { holder: write.previousHolder, count: streak?.holder === write.previousHolder ? streak.count + 1 : 1 });
    } else {
      this.apiOk = false;
    }
    return 'plan';
  }

  /** The outcome of a read asked for in CorePlan.reads. */
  leaseRead(service: ServiceKey, outcome: ReadOutcome): Change {
    this.reading.delete(service);
    this.dirty.add(service);
    if (outcome.result === 'error') {
      this.apiOk = false;
      if (this.recheck.has(service)) this.recheck.set(service, undefined);
      for (const c of this.conflicts.values()) if (c.service === service) c.failed = true;
      return 'plan';
    }
    this.apiOk = true;
    this.recheck.delete(service);
    const known = this.holders.get(service)?.rv;
    if (outcome.lease !== undefined && (known === undefined || compareResourceVersions(outcome.lease.rv, known) > 0)) this.unwatched.set(service, outcome.lease.rv);
    this.applyServiceLease(service, outcome.lease);
    // The Lease as it is now settles every conflict on this Service's addresses.
    for (const [addr, c] of this.conflicts) if (c.service === service) this.conflicts.delete(addr);
    return 'plan';
  }

  /** Whether the API answered our last request (write, read, or the watch reconnecting). */
  apiState(ok: boolean): Change {
    if (ok === this.apiOk) return 'none';
    this.apiOk = ok;
    return 'plan';
  }

  // ---- observations: the LAN -------------------------------------------------

  /** Another MAC announced one of the addresses we answer. */
  conflict(address: string, now: number): Change {
    const known = this.conflicts.get(address);
    if (known !== undefined) {
      // Once a read failed, a new conflict is a new question: read again (the API may answer now).
      if (!known.failed || this.reading.has(known.service)) return 'none';
      known.failed = false;
      known.askedAt = now;
      this.toRead.add(known.service);
      return 'plan';
    }
    const service = this.serviceOfAddress(address);
    if (service === undefined) return 'none';
    this.conflicts.set(address, { service, at: now, failed: false, askedAt: now });
    this.toRead.add(service);
    return 'plan';
  }

  /** Every helloIntervalMs. */
  lanTick(now: number): LanOutput {
    this.syncRings(now);
    const sends = this.lan.tick(now);
    const patience = this.patienceRanOut(now);
    // Each of these must run at every tick (stalled() keeps the time of the last one).
    const retried = this.retryDenied(now);
    const reread = this.rereadConflicts(now) || this.rereadRechecks(now) || retried;
    const overdue = this.overdueConflicts(now);
    const stalled = this.stalled(now);
    const rejoined = this.rejoined();
    const change = this.lanChange(now);
    return { sends, marks: this.lan.markWrites(now), change: change === 'none' && (patience || reread || overdue || stalled || rejoined) ? 'plan' : change };
  }

  lanReceived(r: LanReceived, now: number): LanOutput {
    this.syncRings(now);
    const sends = this.lan.received(r, now);
    return { sends, marks: this.lan.markWrites(now), change: this.lanChange(now) };
  }

  /**
   * The policies and node labels that decide who watches whom (one ring per
   * link and group of nodes a policy selects together): call when either changes.
   */
  ringScope(policies: readonly CompiledL2Policy[], labels: ReadonlyMap<string, Labels>): void {
    this.scope = { policies, labels };
    this.ringsDirty = true;
  }

  /**
   * SIGTERM while our node stays (restartDecision said 'restart'): we keep every Lease and go
   * on answering until we exit; the frames returned tell our rings not to suspect us for
   * graceMs (send them a few times against loss), and no hello leaves from now on. The new
   * agent finds our Service Leases naming us and keeps them (a holder that is a live
   * candidate keeps its Services, whatever the ranking says).
   */
  restartInPlace(graceMs: number): LanSend[] {
    this.restartingSelf = true;
    return this.lan.pauseSelf(graceMs);
  }

  get restarting(): boolean { return this.restartingSelf; }

  /** SIGTERM or drain: hand everything over. */
  leave(reason: string): Change {
    this.leavingReason = reason;
    return 'plan';
  }

  // ---- derived ---------------------------------------------------------------

  get leaving(): string | undefined { return this.leavingReason; }

  /** A node's links as selection should see them: up, and not marked unreachable. */
  /**
   * Whether `mac` (lower case, colon-separated) is a herald node's: listed for
   * any link, up or not, in some node Lease's herald.io/link-macs, as each
   * agent publishes its own. Anything else announcing our address is a
   * foreign MAC. O(1) per call; the set is rebuilt once per node Lease change.
   */
  isHeraldMac(mac: string): boolean {
    if (this.heraldMacs === undefined) {
      this.heraldMacs = new Set();
      for (const f of this.nodes.values()) for (const m of Object.values(f.macs)) this.heraldMacs.add(m.toLowerCase());
    }
    return this.heraldMacs.has(mac.toLowerCase());
  }

  upLinksOf(node: string): readonly string[] {
    const facts = this.nodes.get(node);
    if (facts === undefined || facts.holder === '') return [];
    const gone = new Set(this.lan.unreachable(node));
    return gone.size === 0 ? facts.upLinks : facts.upLinks.filter((l) => !gone.has(l));
  }

  /** Our own links as selection should see them: up locally, not deaf, not marked. */
  selfUpLinks(local: readonly string[], now: number): readonly string[] {
    const gone = new Set([...this.lan.unreachable(this.self), ...this.lan.deaf(now)]);
    return gone.size === 0 ? local : local.filter((l) => !gone.has(l));
  }

  holderOf(service: ServiceKey): string {
    return this.holders.get(service)?.holder ?? '';
  }

  leaseVersion(service: ServiceKey): string | undefined {
    return this.holders.get(service)?.rv;
  }

  apiReachable(): boolean {
    return this.apiOk;
  }

  /** Nodes with an agent: a node Lease with a holder (an empty holder means it left). Ourselves always, until we leave. */
  live(): Set<string> {
    const out = new Set<string>();
    for (const [n, f] of this.nodes) if (f.holder !== '') out.add(n);
    out.add(this.self);
    return out;
  }

  get inflightWrites(): number { return this.inflight.size; }

  get plans(): readonly ServicePlan[] { return this.lastPlans; }

  // ---- planning --------------------------------------------------------------

  plan(selection: L2Selection, now: number): CorePlan {
    const conflicted = new Set<string>();
    for (const [addr, c] of this.conflicts) if (c.failed) conflicted.add(addr);
    const live = this.live();
    const paused = new Set(this.lan.pausedNodes(now));
    const reachable = this.apiOk;
    const basis = {
      selection, live: [...live].sort().join(','), paused: [...paused].join(','), reachable, leaving: this.leavingReason ?? '', conflicted: [...conflicted].sort().join(','),
    };
    const b = this.basis;
    // Only Lease changes and write results since the last plan: re-decide just those Services.
    const full = b === undefined || b.selection !== basis.selection || b.live !== basis.live || b.paused !== basis.paused || b.reachable !== basis.reachable
      || b.leaving !== basis.leaving || b.conflicted !== basis.conflicted;
    this.basis = basis;
    if (this.mine?.selection !== selection) this.mine = { selection, bySvc: assignmentsByService(selection, this.self) };
    const mine = this.mine.bySvc;
    const input: NodePlanInput = {
      self: this.self, selection, holders: this.holderNames, live,
      ...(this.leavingReason === undefined ? {} : { leaving: this.leavingReason }),
      ...(paused.size === 0 ? {} : { paused }),
      apiReachable: reachable, conflicted, previous: this.previous, ranker: this.ranker, passOver: this.passOver,
    };
    let keys: Iterable<ServiceKey>;
    if (full) {
      const all = servicesOf(input, mine);
      for (const k of this.planByService.keys()) if (!all.has(k)) this.forget(k);
      keys = all;
    } else {
      // A Service follows the holder of its address group (node-plan.ts): re-decide the whole group.
      const groups = addressGroups(selection);
      keys = new Set([...this.dirty].flatMap((k) => groups.of(k).members));
    }
    this.dirty.clear();
    const writes: LeaseWrite[] = [];
    for (const key of keys) {
      if (!mine.has(key) && this.holderNames.get(key) !== this.self) {
        this.forget(key);
        continue;
      }
      const p = this.holdBackDenied(this.holdBackClaim(planService(input, mine, key)));
      this.waited(key, p, now);
      this.planByService.set(key, p);
      if (p.answer.length > 0) this.previous.set(key, p.answer);
      else this.previous.delete(key);
      const write = this.writeFor(p);
      if (write !== undefined) writes.push(write);
    }
    this.lastPlans = [...this.planByService.values()];
    const reads = [...this.toRead].filter((k) => !this.reading.has(k));
    this.toRead.clear();
    for (const k of reads) this.reading.add(k);
    return { plans: this.lastPlans, writes, reads };
  }

  /**
   * A claim on a Service whose Lease we know from a read the watch has not caught up with waits
   * (see the header), unless the LAN itself condemned the holder (a verdict is as fresh as the
   * read) or nobody holds it (a free Lease moves from no one).
   */
  private holdBackClaim(p: ServicePlan): ServicePlan {
    const rv = this.unwatched.get(p.service);
    if (p.decision.action !== 'claim' || rv === undefined) return p;
    const holder = this.holderNames.get(p.service) ?? '';
    if (holder === '' || holder === this.self || this.lan.condemnedOnLan(holder)) return p;
    return {
      ...p,
      decision: {
        answer: false, answerAddresses: [], action: 'none',
        reason: `not claiming until the watch delivers the Lease version a read showed (${rv}): our view of the node Leases may be as far behind (${p.decision.reason})`,
      },
    };
  }

  /** A claim the admission policy refused waits for the holder's node Lease to change, or DENIED_RETRY_MS. */
  private holdBackDenied(p: ServicePlan): ServicePlan {
    const d = this.denied.get(p.service);
    if (p.decision.action !== 'claim' || d === undefined) return p;
    return {
      ...p,
      decision: {
        answer: false, answerAddresses: [], action: 'none',
        reason: `not claiming yet: the admission policy refused our claim while ${d.holder}'s node Lease showed no unreachable mark (${d.message}); again when it changes (${p.decision.reason})`,
      },
    };
  }

  /** Refused claims due again (DENIED_RETRY_MS after the refusal): re-planned. */
  private retryDenied(now: number): boolean {
    let any = false;
    for (const [key, d] of this.denied) {
      if (d.retryAt === undefined) {
        const count = this.deniedStreak.get(key)?.count ?? 1;
        d.retryAt = now + Math.min(DENIED_RETRY_MAX_MS, DENIED_RETRY_MS * 2 ** Math.min(count - 1, 16));
        continue;
      }
      if (now < d.retryAt) continue;
      this.denied.delete(key);
      this.dirty.add(key);
      any = true;
    }
    return any;
  }

  private forget(key: ServiceKey): void {
    this.denied.delete(key);
    this.deniedStreak.delete(key);
    this.planByService.delete(key);
    this.previous.delete(key);
    this.orphanSince.delete(key);
    this.passOver.delete(key);
  }

  /** Tracks how long we have waited for someone else to claim (CLAIM_PATIENCE_MS). */
  private waited(key: ServiceKey, p: ServicePlan, now: number): void {
    if (p.decision.waitingFor === undefined) {
      this.orphanSince.delete(key);
      this.passOver.delete(key);
      return;
    }
    if (!this.orphanSince.has(key)) this.orphanSince.set(key, now);
  }

  /** Services whose wait ran past the next patience step: re-plan them, passing over one more claimer. */
  private patienceRanOut(now: number): boolean {
    let any = false;
    for (const [key, since] of this.orphanSince) {
      const steps = Math.floor((now - since) / CLAIM_PATIENCE_MS);
      if (steps > (this.passOver.get(key) ?? 0)) {
        this.passOver.set(key, steps);
        this.dirty.add(key);
        any = true;
      }
    }
    return any;
  }

  /**
   * A tick that comes a suspicion period or more after the one before: we were stalled (hung,
   * paused) long enough to be condemned, and our Services may have moved while we could not
   * hear the successors' bursts. Our watch may not tell us either (it may be stalled too), so
   * every Service Lease we hold is read afresh: a read that names another node stops us.
   */
  private stalled(now: number): boolean {
    const last = this.lastTickAt;
    this.lastTickAt = now;
    if (last === undefined || now - last < this.stallMs) return false;
    return this.rereadHeld();
  }

  /**
   * Back on the LAN after long enough off it to be condemned (LanLiveness.takeRejoined: deaf,
   * or on the minority side of a split): our Services may have moved while the successors'
   * bursts could not reach us, and our watch may not tell us (stalled), so every Service Lease
   * we hold is read afresh, as after a stall.
   */
  private rejoined(): boolean {
    return this.lan.takeRejoined() && this.rereadHeld();
  }

  private rereadHeld(): boolean {
    let any = false;
    for (const [key, holder] of this.holderNames) {
      if (holder !== this.self) continue;
      this.toRead.add(key);
      this.recheck.set(key, undefined);
      any = true;
    }
    return any;
  }

  /** Rechecks (after a stall or a rejoin) whose read failed, due again (CONFLICT_REREAD_MS), while we still hold the Service. */
  private rereadRechecks(now: number): boolean {
    let any = false;
    for (const [key, at] of this.recheck) {
      if (this.holderNames.get(key) !== this.self) { this.recheck.delete(key); continue; }
      if (this.reading.has(key) || this.toRead.has(key)) continue;
      if (at === undefined) { this.recheck.set(key, now + CONFLICT_REREAD_MS); continue; }
      if (now < at) continue;
      this.recheck.set(key, undefined);
      this.toRead.add(key);
      any = true;
    }
    return any;
  }

  /**
   * Conflict reads the API has not answered within CONFLICT_READ_PATIENCE_MS count as failed
   * (the address goes silent, the API as unreachable) until their answer comes: an answer that
   * names us makes us answer again.
   */
  private overdueConflicts(now: number): boolean {
    let any = false;
    for (const c of this.conflicts.values()) {
      if (c.failed || !this.reading.has(c.service) || now - c.askedAt < CONFLICT_READ_PATIENCE_MS) continue;
      c.failed = true;
      this.apiOk = false;
      any = true;
    }
    return any;
  }

  /** Failed conflict reads due again (CONFLICT_REREAD_MS): asked for in the next plan's reads. */
  private rereadConflicts(now: number): boolean {
    let any = false;
    for (const c of this.conflicts.values()) {
      if (!c.failed || this.reading.has(c.service)) continue;
      c.rereadAt ??= now + CONFLICT_REREAD_MS;
      if (now < c.rereadAt) continue;
      c.rereadAt = undefined;
      c.askedAt = now;
      this.toRead.add(c.service);
      any = true;
    }
    return any;
  }

  /** The Service we answer `address` for, if any. */
  serviceOf(address: string): ServiceKey | undefined {
    return this.serviceOfAddress(address);
  }

  private serviceOfAddress(address: string): ServiceKey | undefined {
    for (const p of this.planByService.values()) if (p.answer.some((a) => a.address === address)) return p.service;
    return undefined;
  }

  /** The Lease write a decision asks for, unless one for the Service is already in flight. */
  private writeFor(p: ServicePlan): LeaseWrite | undefined {
    const { action, target = '' } = p.decision;
    if (action === 'none' || this.inflight.has(p.service)) return undefined;
    this.inflight.add(p.service);
    const observed = this.holders.get(p.service);
    return {
      service: p.service, action, holder: action === 'release' ? '' : target, expectedRv: observed?.rv,
      previousHolder: observed?.holder ?? '', reason: p.decision.reason,
    };
  }

  /** Rings follow the node Leases (who has which link up, at which MAC) and, when given, the policies. */
  private syncRings(now: number): void {
    if (!this.ringsDirty) return;
    this.ringsDirty = false;
    const withLinks = [...this.nodes].filter(([, f]) => f.holder !== '').map(([name, f]) => ({
      name, macs: Object.fromEntries(Object.entries(f.macs).filter(([link]) => f.upLinks.includes(link))),
    }));
    if (this.scope !== undefined) {
      const labels = this.scope.labels;
      this.lan.setRings(ringGroups(this.scope.policies, withLinks.map((n) => ({ ...n, labels: labels.get(n.name) ?? {} }))), now);
      return;
    }
    const byLink = new Map<string, RingMember[]>();
    for (const n of withLinks) {
      for (const [link, mac] of Object.entries(n.macs)) {
        let list = byLink.get(link);
        if (list === undefined) byLink.set(link, (list = []));
        list.push({ node: n.name, mac });
      }
    }
    this.lan.setRings(new Map<string, RingSpec>([...byLink].map(([link, members]) => [link, { link, members }])), now);
  }

  /** 'selection' when who is unreachable, or where we are deaf, changed. */
  private lanChange(now: number): Change {
    const deaf = this.lan.deaf(now).join(',');
    const version = this.lan.version;
    const pauses = this.lan.pauseVersion;
    if (version === this.lanSeen.version && deaf === this.lanSeen.deaf) {
      if (pauses === this.lanSeen.pauses) return 'none';
      this.lanSeen = { version, deaf, pauses };
      return 'plan';
    }
    this.lanSeen = { version, deaf, pauses };
    return 'selection';
  }

  /** The evidence behind the decisions, for /status and for explaining a run afterwards. */
  status(now: number): { apiReachable: boolean; liveNodes: string[]; deaf: string[]; lan: LivenessStatus; inflightWrites: string[]; conflicted: string[] } {
    return {
      apiReachable: this.apiOk,
      liveNodes: [...this.live()].sort(),
      deaf: this.lan.deaf(now),
      lan: this.lan.status(now),
      inflightWrites: [...this.inflight.keys()].sort(),
      conflicted: [...this.conflicts.keys()].sort(),
    };
  }
}
