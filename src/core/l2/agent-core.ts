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
import { ApiView, compareResourceVersions, type ApiViewStatus } from './api-view.js';
import type { CoordinationSettings } from './coordination-settings.js';
import { isLive, liveNodes, nextExpiryAtMs } from './liveness.js';
import { planNode, type ServicePlan } from './node-plan.js';
import { CandidateRanker } from './rendezvous.js';
import type { L2Selection, NodeAssignment } from './selection.js';

/** A Lease as the core needs it: who holds it, at which version. */
export interface LeaseFacts {
  readonly holder: string;
  readonly rv: string;
}

/** A node's heartbeat Lease: also the links it has up, for selection. */
export interface HeartbeatFacts extends LeaseFacts {
  readonly upLinks: readonly string[];
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

interface Heartbeat { readonly holder: string; readonly rv: string; readonly upLinks: readonly string[]; readonly lastChangeSeenAtMs: number }

export interface AgentCoreOptions {
  readonly self: string;
  readonly settings: CoordinationSettings;
  /** A shared ranker (the simulator shares one between agents; ranking is deterministic). */
  readonly ranker?: CandidateRanker;
}

const maxChange = (a: Change, b: Change): Change => (a === 'selection' || b === 'selection' ? 'selection' : a === 'plan' || b === 'plan' ? 'plan' : 'none');

export class AgentCore {
  readonly self: string;
  private readonly s: CoordinationSettings;
  private readonly ranker: CandidateRanker;
  private readonly view: ApiView;
  private readonly heartbeats = new Map<string, Heartbeat>();
  private readonly holders = new Map<ServiceKey, LeaseFacts>();
  private readonly inflight = new Set<ServiceKey>();
  private readonly conflictsAt = new Map<string, number>();
  private previous = new Map<ServiceKey, readonly NodeAssignment[]>();
  private leavingReason: string | undefined;
  private lastPlans: readonly ServicePlan[] = [];

  constructor(opts: AgentCoreOptions) {
    this.self = opts.self;
    this.s = opts.settings;
    this.ranker = opts.ranker ?? new CandidateRanker();
    this.view = new ApiView(opts.settings);
  }

  // ---- observations ---------------------------------------------------------

  /** A heartbeat Lease as the watch delivered it; undefined when deleted. */
  heartbeat(node: string, facts: HeartbeatFacts | undefined, now: number): Change {
    const wasCurrent = this.view.isCurrent(now);
    if (node === this.self && facts !== undefined) this.view.ownSeen(facts.rv, now);
    const before = this.heartbeats.get(node);
    const viewChange: Change = wasCurrent !== this.view.isCurrent(now) ? 'plan' : 'none';
    if (facts === undefined) {
      this.heartbeats.delete(node);
      return before === undefined ? viewChange : 'selection';
    }
    if (before?.rv === facts.rv) return viewChange;
    const wasLive = isLive(before, now, this.s, this.view.freshFrom(now));
    this.heartbeats.set(node, { holder: facts.holder, rv: facts.rv, upLinks: facts.upLinks, lastChangeSeenAtMs: now });
    if (before === undefined || before.upLinks.join() !== facts.upLinks.join()) return 'selection';
    // A renewal of a live node changes no decision; a return from the dead or a holder change does.
    if (before.holder !== facts.holder || !wasLive) return maxChange('plan', viewChange);
    return viewChange;
  }

  /** A Service's cilium-l2announce-* Lease as the watch delivered it; undefined when deleted. */
  serviceLease(service: ServiceKey, facts: LeaseFacts | undefined, _now: number): Change {
    if (facts === undefined) return this.holders.delete(service) ? 'plan' : 'none';
    const before = this.holders.get(service);
    // Never go back to a version older than one we wrote ourselves.
    if (before !== undefined && compareResourceVersions(facts.rv, before.rv) <= 0) return 'none';
    this.holders.set(service, facts);
    return before?.holder === facts.holder ? 'none' : 'plan';
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
    if (outcome.result === 'ok') this.serviceLease(write.service, outcome.lease, now);
    return 'plan';
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

  /** Nodes live for us; ourselves only while our view of the API is current. */
  live(now: number): Set<string> {
    const live = liveNodes(this.heartbeats, now, this.s, this.view.freshFrom(now));
    if (!this.view.isCurrent(now)) live.delete(this.self);
    return live;
  }

  get inflightWrites(): number { return this.inflight.size; }

  get plans(): readonly ServicePlan[] { return this.lastPlans; }

  // ---- planning --------------------------------------------------------------

  plan(selection: L2Selection, now: number): CorePlan {
    const conflicted = new Set<string>();
    const renewedAt = this.view.lastRenewOkAt;
    for (const [addr, at] of this.conflictsAt) {
      if (at > renewedAt) conflicted.add(addr);
      else this.conflictsAt.delete(addr);
    }
    const holders = new Map<ServiceKey, string>();
    for (const [k, h] of this.holders) holders.set(k, h.holder);
    const plans = planNode({
      self: this.self,
      selection,
      holders,
      live: this.live(now),
      ...(this.leavingReason === undefined ? {} : { leaving: this.leavingReason }),
      apiReachable: this.view.reachable(now),
      conflicted,
      previous: this.previous,
      ranker: this.ranker,
    });
    const previous = new Map<ServiceKey, readonly NodeAssignment[]>();
    const writes: LeaseWrite[] = [];
    for (const p of plans) {
      if (p.answer.length > 0) previous.set(p.service, p.answer);
      const { action, target = '' } = p.decision;
      if (action === 'none' || this.inflight.has(p.service)) continue;
      this.inflight.add(p.service);
      const observed = this.holders.get(p.service);
      writes.push({
        service: p.service, action, holder: action === 'release' ? '' : target, expectedRv: observed?.rv,
        previousHolder: observed?.holder ?? '', reason: p.decision.reason,
      });
    }
    this.previous = previous;
    this.lastPlans = plans;
    const fresh = this.view.freshFrom(now);
    const wakes = [nextExpiryAtMs(this.heartbeats, now, this.s, fresh), this.view.nextChangeAt(now)].filter((t): t is number => t !== undefined);
    return {
      plans, writes,
      wakeAt: wakes.length === 0 ? undefined : Math.min(...wakes),
      restartLeaseWatch: this.view.takeWatchStall(now),
    };
  }

  /** The evidence behind the decisions, for /status and for explaining a run afterwards. */
  status(now: number): { apiReachable: boolean; view: ApiViewStatus; liveNodes: string[]; heartbeatAgeMs: Record<string, number>; inflightWrites: string[]; conflicted: string[] } {
    const heartbeatAgeMs: Record<string, number> = {};
    for (const [node, hb] of [...this.heartbeats].sort(([a], [b]) => (a < b ? -1 : 1))) heartbeatAgeMs[node] = Math.round(now - hb.lastChangeSeenAtMs);
    return {
      apiReachable: this.view.reachable(now),
      view: this.view.status(now),
      liveNodes: [...this.live(now)].sort(),
      heartbeatAgeMs,
      inflightWrites: [...this.inflight].sort(),
      conflicted: [...this.conflictsAt.keys()].sort(),
    };
  }
}
