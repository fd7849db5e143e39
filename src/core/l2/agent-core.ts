/**
 * The agent's coordination rules, pure: what one agent has observed of the
 * API (heartbeats, Service Leases, its own renewals, its own Lease writes) and
 * of the wire (another MAC announcing an address), with the time of each
 * observation, in; the plan (what to answer where) and the Lease writes to
 * make, out. `herald agent` feeds it from the real API and sockets; the
 * cluster simulator (sim/) feeds many of them from simulated ones.
 *
 * Rules kept here, and nowhere else:
 * - a node is dead only after a whole expiry of silence counted while our own
 *   view of the API was current (ApiView), so an API pause or a stalled watch
 *   never moves a Service away from a live holder;
 * - a heartbeat renewal of a live node changes no decision, so it does not
 *   re-plan; arrivals, departures, link changes and expiries do;
 * - a Service Lease never goes back to a version older than one we wrote;
 * - one write per Service at a time, each a compare-and-swap on the version
 *   we observed;
 * - another MAC announcing an address counts only until our heartbeat renews
 *   again (it says we were replaced while we could not see the API).
 */
import type { ServiceKey } from '../ipam/types.js';
import { ApiView, compareResourceVersions, staleAfterMs, type ApiViewStatus } from './api-view.js';
import type { CoordinationSettings } from './coordination-settings.js';
import { isLive, liveNodes, nextExpiryAtMs, type Evidence } from './liveness.js';
import { assignmentsByService, planService, servicesOf, type NodePlanInput, type ServicePlan } from './node-plan.js';
import { CandidateRanker } from './rendezvous.js';
import type { L2Selection, NodeAssignment } from './selection.js';

/** A Lease as the core needs it: who holds it, at which version. */
export interface LeaseFacts {
  readonly holder: string;
  readonly rv: string;
}

/** A node's heartbeat Lease: also the links it has up, for selection, and whether it can claim. */
export interface HeartbeatFacts extends LeaseFacts {
  readonly upLinks: readonly string[];
  /** false while the node cannot judge others dead yet (AgentCore.ready); absent (older agents) counts as ready. */
  readonly ready?: boolean;
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
  | { readonly result: 'error'; readonly message: string };

/**
 * What an observation changes: nothing, the plan (ownership), or also the
 * selection (a node's published links).
 */
export type Change = 'none' | 'plan' | 'selection';

export interface CorePlan {
  readonly plans: readonly ServicePlan[];
  readonly writes: readonly LeaseWrite[];
  /** Plan again at this time even if nothing is observed (an expiry, the view going stale). */
  readonly wakeAt: number | undefined;
  /** The Lease watch has not delivered our latest renewal in time: restart it. */
  readonly restartLeaseWatch: boolean;
}

interface Heartbeat { readonly holder: string; readonly rv: string; readonly upLinks: readonly string[]; readonly ready: boolean; readonly lastChangeSeenAtMs: number }

export interface AgentCoreOptions {
  readonly self: string;
  readonly settings: CoordinationSettings;
  /** A shared ranker (the simulator shares one between agents; ranking is deterministic). */
  readonly ranker?: CandidateRanker;
  /**
   * 'current-view' (the rule): silence counts only while our own view of the
   * API is current. 'clock': herald 0.1's rule, an expiry by our clock from
   * the last change seen; kept only so that the simulator can show what it
   * gets wrong (an API pause, a stalled watch); it also skips the late-claim check.
   */
  readonly evidence?: 'current-view' | 'clock';
}

function sameLinks(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class AgentCore {
  readonly self: string;
  private readonly s: CoordinationSettings;
  private readonly ranker: CandidateRanker;
  private readonly view: ApiView;
  private readonly heartbeats = new Map<string, Heartbeat>();
  private readonly holders = new Map<ServiceKey, LeaseFacts>();
  /** Writes in flight, with when each was sent. */
  private readonly inflight = new Map<ServiceKey, number>();
  /**
   * Claims that landed late (the API stalled them): the previous holder may
   * have come back meanwhile. Not answered until re-decided on a current view.
   */
  private readonly lateClaims = new Map<ServiceKey, string>();
  /**
   * Claims of ours not yet seen to land, from the first attempt: a claim that
   * failed without an answer (timeout) may still land, later than a retry.
   */
  private readonly claims = new Map<ServiceKey, { readonly sentAt: number; readonly previousHolder: string }>();
  private readonly conflictsAt = new Map<string, number>();
  private readonly previous = new Map<ServiceKey, readonly NodeAssignment[]>();
  /** Holder name per Service, as planService reads it. */
  private readonly holderNames = new Map<ServiceKey, string>();
  private readonly planByService = new Map<ServiceKey, ServicePlan>();
  /** Services whose Lease or write changed since the last plan. */
  private readonly dirty = new Set<ServiceKey>();
  private basis: { selection: L2Selection; live: string; claimers: string; reachable: boolean; leaving: string; conflicted: string } | undefined;
  private mine: { selection: L2Selection; bySvc: Map<ServiceKey, NodeAssignment[]> } | undefined;
  private leavingReason: string | undefined;
  private lastPlans: readonly ServicePlan[] = [];
  /** What the last plan was based on, so a wake-up that changes nothing costs no plan. */
  private planned = { live: '', claimers: '', reachable: false };
  private readonly clockOnly: boolean;

  constructor(opts: AgentCoreOptions) {
    this.self = opts.self;
    this.clockOnly = opts.evidence === 'clock';
    this.s = opts.settings;
    this.ranker = opts.ranker ?? new CandidateRanker();
    this.view = new ApiView(opts.settings);
  }

  // ---- observations ---------------------------------------------------------

  /** A heartbeat Lease as the watch delivered it; undefined when deleted. */
  heartbeat(node: string, facts: HeartbeatFacts | undefined, now: number): Change {
    // Only our own heartbeat tells us about our view of the API.
    let viewChange: Change = 'none';
    if (node === this.self && facts !== undefined) {
      const wasCurrent = this.view.isCurrent(now);
      this.view.ownSeen(facts.rv, now);
      // Our renewal on the watch proves others' silence up to now: someone may be dead now.
      if (wasCurrent !== this.view.isCurrent(now) || this.wake(now) !== 'none') viewChange = 'plan';
    }
    const before = this.heartbeats.get(node);
    if (facts === undefined) {
      this.heartbeats.delete(node);
      return before === undefined ? viewChange : 'selection';
    }
    if (before?.rv === facts.rv) return viewChange;
    const wasLive = isLive(before, now, this.s, this.evidence(now));
    const ready = facts.ready !== false;
    this.heartbeats.set(node, { holder: facts.holder, rv: facts.rv, upLinks: facts.upLinks, ready, lastChangeSeenAtMs: now });
    if (before === undefined || !sameLinks(before.upLinks, facts.upLinks)) return 'selection';
    // A renewal of a live node changes no decision; a return from the dead, a holder change or readiness does.
    if (before.holder !== facts.holder || !wasLive || before.ready !== ready) return 'plan';
    return viewChange;
  }

  /** A Service's cilium-l2announce-* Lease as the watch delivered it; undefined when deleted. */
  serviceLease(service: ServiceKey, facts: LeaseFacts | undefined, now: number): Change {
    if (facts === undefined) {
      if (!this.holders.delete(service)) return 'none';
      this.holderNames.delete(service);
      this.dirty.add(service);
      return 'plan';
    }
    const before = this.holders.get(service);
    // Never go back to a version older than one we wrote ourselves.
    if (before !== undefined && compareResourceVersions(facts.rv, before.rv) <= 0) return 'none';
    this.holders.set(service, facts);
    this.holderNames.set(service, facts.holder);
    this.claimLanded(service, facts.holder, now);
    if (before?.holder === facts.holder) return 'none';
    this.dirty.add(service);
    return 'plan';
  }

  renewalStarted(now: number): void {
    this.view.renewalStarted(now);
  }

  renewalSucceeded(rv: string, now: number): Change {
    const before = this.view.reachable(now) && this.view.isCurrent(now);
    this.view.renewalSucceeded(rv, now);
    return before ? 'none' : 'plan';
  }

  renewalFailed(now: number): Change {
    this.view.renewalFailed(now);
    return 'plan';
  }

  writeFinished(write: LeaseWrite, outcome: WriteOutcome, now: number): Change {
    this.inflight.delete(write.service);
    this.dirty.add(write.service);
    if (outcome.result === 'ok') this.serviceLease(write.service, outcome.lease, now);
    else if (outcome.result === 'lost' && write.action === 'claim') this.claims.delete(write.service);
    return 'plan';
  }

  /**
   * A claim sent on good evidence may sit in a paused apiserver and land long
   * after; by then the holder it replaced may be back. Such a claim is
   * re-decided before it is answered (redecideLateClaim).
   */
  private claimLanded(service: ServiceKey, holder: string, now: number): void {
    const claim = this.claims.get(service);
    if (claim === undefined) return;
    if (holder === this.self) {
      if (!this.clockOnly && now - claim.sentAt > staleAfterMs(this.s)) this.lateClaims.set(service, claim.previousHolder);
      this.claims.delete(service);
    } else if (holder !== claim.previousHolder) {
      this.claims.delete(service);
    }
  }

  /** Another MAC announced one of the addresses we answer. */
  conflict(address: string, now: number): Change {
    this.conflictsAt.set(address, now);
    return 'plan';
  }

  /** SIGTERM or drain: hand everything over. */
  leave(reason: string): Change {
    this.leavingReason = reason;
    return 'plan';
  }

  // ---- derived ---------------------------------------------------------------

  get leaving(): string | undefined { return this.leavingReason; }

  upLinksOf(node: string): readonly string[] {
    return this.heartbeats.get(node)?.upLinks ?? [];
  }

  holderOf(service: ServiceKey): string {
    return this.holders.get(service)?.holder ?? '';
  }

  /** The Lease version we last observed for a Service, for the adapter's compare-and-swap. */
  leaseVersion(service: ServiceKey): string | undefined {
    return this.holders.get(service)?.rv;
  }

  apiReachable(now: number): boolean {
    return this.view.reachable(now);
  }

  /**
   * Whether the Leases as we see them are the truth, so that a foreign MAC on
   * the wire is a stale holder or a stranger: our view is current (renewals
   * land and come back on the watch). A holder whose renewals land but whose
   * watch is behind may have been replaced without knowing it, so it yields
   * to the wire like one cut off from the API.
   */
  private leasesTrusted(now: number): boolean {
    return this.clockOnly ? this.view.reachable(now) : this.view.isCurrent(now);
  }

  private evidence(now: number): Evidence {
    return this.clockOnly ? { freshFromMs: 0, provenAtMs: Infinity } : { freshFromMs: this.view.freshFrom(now), provenAtMs: this.view.provenAt };
  }

  /**
   * Whether we can judge others dead: our view is current and has been for a
   * whole expiry (a node silent since before it gets that long). Published in
   * our heartbeat, so that nobody waits for us to claim before then: an agent
   * that has just (re)started, or just got its API back, must not hold up a
   * failover that others can already make.
   */
  ready(now: number): boolean {
    if (this.clockOnly) return true;
    const fresh = this.view.freshFrom(now);
    return fresh !== undefined && this.view.isCurrent(now) && now - fresh >= this.s.heartbeatExpiryMs;
  }

  /** Live nodes that can claim now: ready by their own word (and by ours, for us). */
  claimers(now: number, live: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    for (const n of live) {
      if (n === this.self ? this.ready(now) : this.heartbeats.get(n)?.ready !== false) out.add(n);
    }
    return out;
  }

  /** Nodes live for us; ourselves only while our view of the API is current. */
  live(now: number): Set<string> {
    const live = liveNodes(this.heartbeats, now, this.s, this.evidence(now));
    if (!this.clockOnly && !this.view.isCurrent(now)) live.delete(this.self);
    return live;
  }

  get inflightWrites(): number { return this.inflight.size; }

  get plans(): readonly ServicePlan[] { return this.lastPlans; }

  // ---- planning --------------------------------------------------------------

  plan(selection: L2Selection, now: number): CorePlan {
    const conflicted = new Set<string>();
    // A wire conflict counts until our watch has shown us the Leases as they
    // were after it (a renewal of ours delivered later): then they tell the truth.
    const provenAt = this.clockOnly ? this.view.lastRenewOkAt : this.view.provenAt;
    for (const [addr, at] of this.conflictsAt) {
      if (at > provenAt) conflicted.add(addr);
      else this.conflictsAt.delete(addr);
    }
    const live = this.live(now);
    const claimers = this.claimers(now, live);
    const reachable = this.leasesTrusted(now);
    const basis = {
      selection, live: [...live].sort().join(','), claimers: [...claimers].sort().join(','), reachable, leaving: this.leavingReason ?? '',
      conflicted: [...conflicted].sort().join(','),
    };
    const b = this.basis;
    // Only Lease changes and write results since the last plan: re-decide just those Services.
    const full = b === undefined || b.selection !== basis.selection || b.live !== basis.live || b.claimers !== basis.claimers || b.reachable !== basis.reachable
      || b.leaving !== basis.leaving || b.conflicted !== basis.conflicted;
    this.basis = basis;
    this.planned = { live: basis.live, claimers: basis.claimers, reachable };
    if (this.mine?.selection !== selection) this.mine = { selection, bySvc: assignmentsByService(selection, this.self) };
    const mine = this.mine.bySvc;
    const input: NodePlanInput = {
      self: this.self, selection, holders: this.holderNames, live, claimers,
      ...(this.leavingReason === undefined ? {} : { leaving: this.leavingReason }),
      apiReachable: reachable, conflicted, previous: this.previous, ranker: this.ranker,
    };
    let keys: Iterable<ServiceKey>;
    if (full) {
      const all = servicesOf(input, mine);
      for (const k of this.planByService.keys()) if (!all.has(k)) this.forget(k);
      keys = all;
    } else {
      keys = new Set([...this.dirty, ...this.lateClaims.keys()]);
    }
    this.dirty.clear();
    const writes: LeaseWrite[] = [];
    for (const key of keys) {
      if (!mine.has(key) && this.holderNames.get(key) !== this.self) {
        this.forget(key);
        continue;
      }
      let p = planService(input, mine, key);
      const late = this.lateClaims.get(key);
      if (late !== undefined) p = this.redecideLateClaim(p, late, live, selection, now);
      this.planByService.set(key, p);
      if (p.answer.length > 0) this.previous.set(key, p.answer);
      else this.previous.delete(key);
      const write = this.writeFor(p, now);
      if (write !== undefined) writes.push(write);
    }
    this.lastPlans = [...this.planByService.values()];
    return { plans: this.lastPlans, writes, wakeAt: this.nextWakeAt(now), restartLeaseWatch: !this.clockOnly && this.view.takeWatchStall(now) };
  }

  private forget(key: ServiceKey): void {
    this.planByService.delete(key);
    this.previous.delete(key);
  }

  /** The Lease write a decision asks for, unless one for the Service is already in flight. */
  private writeFor(p: ServicePlan, now: number): LeaseWrite | undefined {
    const { action, target = '' } = p.decision;
    if (action === 'none' || this.inflight.has(p.service)) return undefined;
    this.inflight.set(p.service, now);
    const observed = this.holders.get(p.service);
    if (action === 'claim' && observed !== undefined && observed.holder !== '' && !this.claims.has(p.service)) {
      this.claims.set(p.service, { sentAt: now, previousHolder: observed.holder });
    }
    return {
      service: p.service, action, holder: action === 'release' ? '' : target, expectedRv: observed?.rv,
      previousHolder: observed?.holder ?? '', reason: p.decision.reason,
    };
  }

  /**
   * A claim of ours that landed late: while our view is not current, do not
   * answer; once it is, give the Service back if its previous holder is live
   * and still a candidate (so the stalled write moved only the Lease, never
   * the traffic), else keep it.
   */
  private redecideLateClaim(p: ServicePlan, previousHolder: string, live: ReadonlySet<string>, selection: L2Selection, now: number): ServicePlan {
    if (this.holderOf(p.service) !== this.self) {
      this.lateClaims.delete(p.service);
      return p;
    }
    const silent = { answer: false, answerAddresses: [] as string[] };
    if (!this.view.isCurrent(now)) {
      return { ...p, answer: [], decision: { ...silent, action: 'none', reason: `our claim landed late (the API stalled it); waiting for a current view before answering (was ${previousHolder})` } };
    }
    this.lateClaims.delete(p.service);
    const candidate = selection.services.get(p.service)?.candidates.includes(previousHolder) ?? false;
    if (!live.has(previousHolder) || !candidate) return p;
    return {
      ...p, answer: [],
      decision: { ...silent, action: 'handover', target: previousHolder, reason: `giving back to ${previousHolder}: our claim landed late and ${previousHolder} is live again` },
    };
  }

  /** When a plan may be needed without any new observation: a node may expire, or the view may go stale. */
  nextWakeAt(now: number): number | undefined {
    const fresh = this.clockOnly ? undefined : this.view.freshFrom(now);
    const readyAt = fresh === undefined ? undefined : fresh + this.s.heartbeatExpiryMs;
    const wakes = [nextExpiryAtMs(this.heartbeats, now, this.s, this.evidence(now)), this.clockOnly ? undefined : this.view.nextChangeAt(now), readyAt]
      .filter((t): t is number => t !== undefined && t > now);
    return wakes.length === 0 ? undefined : Math.min(...wakes);
  }

  /**
   * The view's own next change by time alone (a renewal outstanding too long,
   * one not back on the watch): cheap, for adapters to bring a wake-up
   * forward after an observation that changed nothing else. Others'
   * renewals only push expiries later, so they never need it.
   */
  viewChangeAt(now: number): number | undefined {
    return this.clockOnly ? undefined : this.view.nextChangeAt(now);
  }

  /**
   * At the wake-up time: 'plan' when time alone changed something the last
   * plan was based on (a node expired, the view went stale, a watch stall is
   * due), otherwise 'none', and the adapter just waits for nextWakeAt. A live
   * node renewing keeps pushing its expiry ahead, so most wake-ups find
   * nothing to do.
   */
  wake(now: number): Change {
    const liveSet = this.live(now);
    const live = [...liveSet].sort().join(',');
    const claimers = [...this.claimers(now, liveSet)].sort().join(',');
    if (live !== this.planned.live || claimers !== this.planned.claimers || this.leasesTrusted(now) !== this.planned.reachable) return 'plan';
    if (!this.clockOnly && this.view.watchStallDue(now)) return 'plan';
    return 'none';
  }

  /** The evidence behind the decisions, for /status and for explaining a run afterwards. */
  status(now: number): { apiReachable: boolean; view: ApiViewStatus; liveNodes: string[]; ready: boolean; notReady: string[]; heartbeatAgeMs: Record<string, number>; inflightWrites: string[]; conflicted: string[] } {
    const heartbeatAgeMs: Record<string, number> = {};
    for (const [node, hb] of [...this.heartbeats].sort(([a], [b]) => (a < b ? -1 : 1))) heartbeatAgeMs[node] = Math.round(now - hb.lastChangeSeenAtMs);
    return {
      apiReachable: this.view.reachable(now),
      view: this.view.status(now),
      liveNodes: [...this.live(now)].sort(),
      ready: this.ready(now),
      notReady: [...this.heartbeats].filter(([, hb]) => !hb.ready).map(([n]) => n).sort(),
      heartbeatAgeMs,
      inflightWrites: [...this.inflight.keys()].sort(),
      conflicted: [...this.conflictsAt.keys()].sort(),
    };
  }
}
