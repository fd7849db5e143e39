import { formatIp, parseIp, type IpFamily } from './address.js';
import { AddressLedger, type Owner } from './address-ledger.js';
import { comparePools, compilePool, type CompiledPool } from './compiled-pool.js';
import { findPoolConflicts, type PoolConflict } from './pool-conflicts.js';
import { poolStatus, PoolStatuses } from './pool-statuses.js';
import { ServiceMessages } from './service-messages.js';
import { WaitingRoom } from './waiting-room.js';
import { compareServices, deriveRequest, isEligible, type ServiceRequest } from './service-request.js';
import { sharingIncompatibility } from './sharing.js';
import {
  DEFAULT_LOAD_BALANCER_CLASSES,
  SERVICE_CONDITION,
  serviceKey,
  type Condition,
  type ImportReport,
  type IpamOptions,
  type PoolSpec,
  type PoolStatus,
  type ReconcileResult,
  type ServiceDecision,
  type ServiceKey,
  type ServiceReason,
  type ServiceSpec,
} from './types.js';

interface ServiceEntry {
  readonly spec: ServiceSpec;
  readonly fingerprint: string;
  readonly request: ServiceRequest;
  readonly eligible: boolean;
}

interface Failure {
  readonly reason: Exclude<ServiceReason, 'satisfied'>;
  readonly message: string;
}

/** Lower is more severe; the condition reports the most actionable failure. */
const REASON_RANK: Record<Failure['reason'], number> = {
  already_allocated_incompatible_service: 0,
  already_allocated: 1,
  pool_selector_mismatch: 2,
  out_of_ips: 3,
  no_pool: 4,
};

const familyName = (f: IpFamily): string => (f === 4 ? 'IPv4' : 'IPv6');

/**
 * The LB-IPAM core: pools, Services and the addresses assigned to them.
 * Pure: no I/O, no clock, no randomness. Feed it watch events through the
 * upsert/delete methods (cheap: they only record and mark work), then call
 * reconcile() to get what changed. See docs/ipam.md.
 *
 * It keeps the input (pools, Services, what changed) and the two phases;
 * the state they work on lives in stores that keep their own indexes in
 * step: the address ledger (who holds or names which address), the waiting
 * room (unsatisfied Services by what could unblock them), pool statuses,
 * and the messages users read (decisions, notes, Events).
 */
export class IpamState {
  private readonly classes: ReadonlySet<string>;
  private readonly pools = new Map<string, CompiledPool>();
  private poolOrder: CompiledPool[] = [];
  private conflicts = new Map<string, PoolConflict>();
  private readonly services = new Map<ServiceKey, ServiceEntry>();
  private readonly dirty = new Set<ServiceKey>();
  private readonly preferDual = new Set<ServiceKey>();
  private readonly ledger = new AddressLedger(() => this.poolOrder);
  private readonly waiting = new WaitingRoom();
  private readonly poolReports = new PoolStatuses();
  private readonly messages = new ServiceMessages();
  private poolsChanged = false;
  /** A request was dropped and its address freed since the last reconcile. */
  private requestFreed = false;

  constructor(options: IpamOptions = {}) {
    this.classes = new Set(options.loadBalancerClasses ?? DEFAULT_LOAD_BALANCER_CLASSES);
  }

  // ---- input -------------------------------------------------------------

  upsertPool(spec: PoolSpec): void {
    const previous = this.pools.get(spec.name);
    if (previous !== undefined && JSON.stringify(previous.spec) === JSON.stringify(spec)) return;
    const pool = compilePool(spec);
    this.pools.set(spec.name, pool);
    // Occupancy covers every owner inside the ranges, whichever pool it counts against.
    this.ledger.occupy(pool);
    this.afterPoolChange(spec.name);
  }

  deletePool(name: string): void {
    if (!this.pools.delete(name)) return;
    this.poolReports.forget(name);
    this.afterPoolChange(name);
  }

  upsertService(spec: ServiceSpec): void {
    const key = serviceKey(spec.namespace, spec.name);
    const fingerprint = JSON.stringify(spec);
    if (this.services.get(key)?.fingerprint === fingerprint) return;
    const entry: ServiceEntry = { spec, fingerprint, request: deriveRequest(key, spec), eligible: isEligible(spec, this.classes) };
    this.services.set(key, entry);
    if (entry.eligible && entry.request.familyPolicy === 'PreferDualStack') this.preferDual.add(key);
    else this.preferDual.delete(key);
    this.requestFreed = this.ledger.setRequests(key, entry.eligible ? entry.request.requested.map((r) => r.address) : []) || this.requestFreed;
    this.dirty.add(key);
  }

  deleteService(namespace: string, name: string): void {
    const key = serviceKey(namespace, name);
    if (!this.services.has(key) && this.ledger.heldBy(key).length === 0) return;
    this.services.delete(key);
    this.preferDual.delete(key);
    this.requestFreed = this.ledger.setRequests(key, []) || this.requestFreed;
    this.dirty.add(key);
  }

  /**
   * Adopts addresses already written in Service status (on operator start,
   * before the first reconcile). Upsert all pools and Services first. An address is kept
   * when a pool contains it and selects the Service (a disabled or conflicting
   * pool still keeps it) and nobody incompatible holds it; the first reconcile
   * then drops kept addresses the Service no longer wants.
   */
  importAssignments(entries: readonly { readonly namespace: string; readonly name: string; readonly ips: readonly string[] }[]): ImportReport {
    const kept: { service: ServiceKey; ip: string; pool: string }[] = [];
    const rejected: { service: ServiceKey; ip: string; reason: string }[] = [];
    const sorted = entries
      .map((e) => ({ e, key: serviceKey(e.namespace, e.name) }))
      .sort((a, b) => {
        const sa = this.services.get(a.key)?.spec;
        const sb = this.services.get(b.key)?.spec;
        if (sa !== undefined && sb !== undefined) return compareServices(sa, sb);
        return sa !== undefined ? -1 : sb !== undefined ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      });
    for (const { e, key } of sorted) {
      const entry = this.services.get(key);
      for (const ip of e.ips) {
        if (entry === undefined || !entry.eligible) {
          rejected.push({ service: key, ip, reason: 'the Service is not (or no longer) a LoadBalancer Service herald serves' });
          continue;
        }
        const result = this.adopt(entry.request, ip);
        if (typeof result === 'string') rejected.push({ service: key, ip, reason: result });
        else kept.push({ service: key, ip: result.text, pool: result.pool });
      }
      this.dirty.add(key);
    }
    return { kept, rejected };
  }

  // ---- output ------------------------------------------------------------

  /**
   * Brings assignments up to date with every change recorded since the last
   * call and returns what changed. Phase 1 drops addresses that are no longer
   * valid; phase 2 allocates in stable Service order (oldest first), so the
   * outcome does not depend on the order of watch events within one batch.
   */
  reconcile(): ReconcileResult {
    this.messages.takeEvents();  // only this reconcile's
    const changed: ServiceDecision[] = [];
    let released = false;

    const phase1 = this.sortedKeys(this.dirty);
    const gone: ServiceKey[] = [];
    for (const key of phase1) {
      const entry = this.services.get(key);
      if (entry === undefined || !entry.eligible) {
        released = this.releaseAll(key, entry === undefined ? 'the Service was deleted' : 'the Service is no longer a LoadBalancer Service herald serves') || released;
        this.waiting.leave(key);
        gone.push(key);
      } else {
        released = this.validateHoldings(entry) || released;
      }
    }

    const phase2 = new Set<ServiceKey>();
    for (const key of this.dirty) if (this.services.get(key)?.eligible === true) phase2.add(key);
    // Re-try waiting Services that this batch may unblock.
    if (this.poolsChanged) for (const key of this.waiting.all()) phase2.add(key);
    else if (released || this.requestFreed) for (const key of this.waiting.forAddress()) phase2.add(key);
    for (const key of phase1) {
      const sharingKey = this.services.get(key)?.request.sharingKey;
      if (sharingKey !== undefined) for (const other of this.waiting.withSharingKey(sharingKey)) phase2.add(other);
    }
    if (this.poolsChanged) for (const key of this.preferDual) phase2.add(key);
    for (const key of this.sortedKeys(phase2)) {
      const entry = this.services.get(key);
      if (entry === undefined || !entry.eligible) continue;
      const decision = this.allocate(entry);
      if (this.messages.record(decision)) changed.push(decision);
    }
    // Report "unmanaged" once, to a Service herald had decided for; then forget it.
    for (const key of gone) {
      const [namespace, name] = splitKey(key);
      const unmanaged = this.messages.forget(key, namespace, name);
      if (unmanaged !== undefined) changed.push(unmanaged);
    }
    this.dirty.clear();
    this.poolsChanged = false;
    this.requestFreed = false;
    const events = this.messages.takeEvents();
    const pools = this.poolReports.changes(this.poolOrder.map((p) => ({ status: this.poolStatus(p), conflict: this.conflicts.get(p.name) })));
    return { services: changed, pools: pools.statuses, events: [...events, ...pools.events] };
  }

  /** The current decision for a Service (undefined before its first reconcile). */
  decision(namespace: string, name: string): ServiceDecision | undefined {
    return this.messages.decision(serviceKey(namespace, name));
  }

  /** Every current pool status, in pool order. */
  poolStatuses(): PoolStatus[] {
    return this.poolOrder.map((p) => this.poolStatus(p));
  }

  /** Every address in use: its pool and holders (a snapshot, for tests and `herald explain`). */
  assignments(): { ip: string; family: IpFamily; pool: string; services: ServiceKey[] }[] {
    return this.ledger.assignments();
  }

  // ---- pools -------------------------------------------------------------

  private afterPoolChange(name: string): void {
    this.poolOrder = [...this.pools.values()].sort((a, b) => comparePools(a.spec, b.spec));
    this.conflicts = findPoolConflicts(this.poolOrder);
    this.poolsChanged = true;
    for (const a of this.ledger.assignments()) {
      if (a.pool === name) for (const h of a.services) this.dirty.add(h);
    }
  }

  /**
   * Whether the pool's blocks cover the address, first and last included:
   * allowFirstLastIPs only stops new allocations of those, it never takes
   * back one in use (as Cilium).
   */
  private covers(pool: CompiledPool, family: IpFamily, value: bigint): boolean {
    return pool.blocks.some((b) => b.range.family === family && b.range.start <= value && value <= b.range.end);
  }

  /**
   * Whether the pool keeps an address counted against it: while its spec is
   * invalid, every one (a typo in a block must not move Services; the pool
   * allocates nothing until fixed), else those its blocks cover.
   */
  private keeps(pool: CompiledPool, family: IpFamily, value: bigint): boolean {
    return pool.problems.length > 0 || this.covers(pool, family, value);
  }

  private usable(pool: CompiledPool): boolean {
    return !pool.disabled && !this.conflicts.has(pool.name) && pool.problems.length === 0;
  }

  /** A pool with an invalid selector keeps what it has: a typo must not move Services. */
  private selectsForKeeping(pool: CompiledPool, request: ServiceRequest): boolean {
    return pool.selects === undefined || pool.selects(request.selectorLabels);
  }

  private selectsForAllocating(pool: CompiledPool, request: ServiceRequest): boolean {
    return pool.selects !== undefined && pool.selects(request.selectorLabels);
  }

  private poolStatus(pool: CompiledPool): PoolStatus {
    return poolStatus(pool, this.conflicts.get(pool.name), this.ledger.usedIn(pool.name));
  }

  // ---- ownership ---------------------------------------------------------

  private addHolder(key: ServiceKey, family: IpFamily, value: bigint, pool: string): Owner {
    return this.ledger.addHolder(key, this.services.get(key)?.request.sharingKey, family, value, pool);
  }

  private releaseAll(key: ServiceKey, why: string): boolean {
    let any = false;
    for (const owner of this.ledger.heldBy(key)) any = this.release(key, owner, why) || any;
    return any;
  }

  private release(key: ServiceKey, owner: Owner, why: string): boolean {
    this.ledger.removeHolder(key, owner);
    const [namespace, name] = splitKey(key);
    this.messages.event({ namespace, name }, 'Normal', 'IPReleased', `Released ${owner.text} (pool ${owner.pool}): ${why}`);
    return true;
  }

  private adopt(request: ServiceRequest, ip: string): { text: string; pool: string } | string {
    const parsed = parseForAdopt(ip);
    if (typeof parsed === 'string') return parsed;
    const { family, value } = parsed;
    const owner = this.ledger.owner(family, value);
    if (owner !== undefined) {
      if (owner.holders.has(request.key)) return { text: owner.text, pool: owner.pool };
      const why = this.incompatibleWithHolders(request, owner);
      if (why !== undefined) return `${owner.text} is already assigned to ${[...owner.holders].join(', ')} (${why})`;
      const pool = this.pools.get(owner.pool);
      if (pool !== undefined && !this.selectsForKeeping(pool, request)) return `pool ${pool.name} does not select this Service`;
      this.addHolder(request.key, family, value, owner.pool);
      return { text: owner.text, pool: owner.pool };
    }
    // An invalid pool keeps what it has, and which addresses it had is not in its spec any more.
    const containing = this.poolOrder.filter((p) => this.covers(p, family, value));
    const invalid = this.poolOrder.filter((p) => p.problems.length > 0 && this.selectsForKeeping(p, request));
    if (containing.length === 0 && invalid.length === 0) return `no pool contains ${formatIp(family, value)}`;
    const pool = containing.find((p) => this.selectsForKeeping(p, request)) ?? invalid[0];
    if (pool === undefined) return `${formatIp(family, value)} is in pool ${containing.map((p) => p.name).join(', ')}, whose serviceSelector does not select this Service`;
    const added = this.addHolder(request.key, family, value, pool.name);
    return { text: added.text, pool: pool.name };
  }

  // ---- phase 1: keep what is still valid ---------------------------------

  private validateHoldings(entry: ServiceEntry): boolean {
    const { request } = entry;
    const key = request.key;
    let released = false;
    const mine = this.ledger.heldBy(key);
    const requestMode = request.requested.length > 0 || request.unparsable.length > 0;
    const requested = new Set(request.requested.map((r) => formatIp(r.address.family, r.address.value)));
    const keptFamilies = new Set<IpFamily>();
    for (const owner of mine) {
      // Still wanted?
      if (requestMode && !requested.has(owner.text)) {
        released = this.release(key, owner, 'the Service no longer requests it') || released;
        continue;
      }
      if (!requestMode && !request.families.includes(owner.family)) {
        released = this.release(key, owner, `the Service no longer wants an ${familyName(owner.family)} address`) || released;
        continue;
      }
      if (!requestMode && keptFamilies.has(owner.family)) {
        released = this.release(key, owner, `the Service needs only one ${familyName(owner.family)} address`) || released;
        continue;
      }
      // Still in a pool that selects the Service? Prefer the pool it counts against; else re-home it.
      const current = this.pools.get(owner.pool);
      if (current === undefined || !this.keeps(current, owner.family, owner.value) || !this.selectsForKeeping(current, request)) {
        const home = this.poolOrder.find((p) => this.covers(p, owner.family, owner.value) && this.selectsForKeeping(p, request));
        if (home === undefined) {
          const why =
            current === undefined
              ? `pool ${owner.pool} was deleted and no other pool that selects the Service contains it`
              : !this.covers(current, owner.family, owner.value)
                ? `pool ${owner.pool} no longer contains it`
                : `pool ${owner.pool} no longer selects the Service`;
          released = this.release(key, owner, why) || released;
          continue;
        }
        // Shared with others that the old pool still selects: leave them on it, this Service just leaves.
        if (owner.holders.size > 1 && current !== undefined && this.covers(current, owner.family, owner.value)) {
          released = this.release(key, owner, `pool ${owner.pool} no longer selects the Service`) || released;
          continue;
        }
        this.ledger.moveToPool(owner, home.name);
      }
      // Still compatible with everyone it shares with? The newer Service gives way.
      let evicted = false;
      for (const other of [...owner.holders]) {
        if (other === key) continue;
        const otherEntry = this.services.get(other);
        if (otherEntry === undefined) continue;
        const why = sharingIncompatibility(request, otherEntry.request);
        if (why === undefined) continue;
        if (compareServices(entry.spec, otherEntry.spec) > 0) {
          released = this.release(key, owner, `it can no longer be shared: ${why}`) || released;
          evicted = true;
          break;
        }
        const back = sharingIncompatibility(otherEntry.request, request) ?? why;
        released = this.release(other, owner, `it can no longer be shared: ${back}`) || released;
        this.dirty.add(other);
      }
      if (!evicted) keptFamilies.add(owner.family);
    }
    return released;
  }

  // ---- phase 2: allocate what is missing ---------------------------------

  private allocate(entry: ServiceEntry): ServiceDecision {
    const { request } = entry;
    const failures: Failure[] = [];
    const requestMode = request.requested.length > 0 || request.unparsable.length > 0;
    if (requestMode) {
      for (const text of request.unparsable) {
        failures.push({ reason: 'no_pool', message: `requested IP "${text}" is not a valid IPv4 or IPv6 address` });
      }
      for (const r of request.requested) {
        const failure = this.acquireRequested(entry, r.address.family, r.address.value);
        if (failure !== undefined) failures.push(failure);
      }
    } else {
      failures.push(...this.acquireAutomatic(entry));
    }
    return this.decide(entry, failures);
  }

  private acquireRequested(entry: ServiceEntry, family: IpFamily, value: bigint): Failure | undefined {
    const { request } = entry;
    const text = formatIp(family, value);
    const owner = this.ledger.owner(family, value);
    if (owner?.holders.has(request.key) === true) return undefined;
    // Facts about the pools come first and ownership last, so the reason does
    // not depend on whether another Service happened to take the address
    // before or after this one was looked at.
    const containing = this.poolOrder.filter((p) => this.covers(p, family, value));
    if (containing.length === 0) return { reason: 'no_pool', message: `no pool contains the requested IP ${text}` };
    const selecting = containing.filter((p) => this.selectsForAllocating(p, request));
    if (selecting.length === 0) {
      return {
        reason: 'pool_selector_mismatch',
        message: `requested IP ${text} is in pool ${containing.map((p) => p.name).join(', ')}, whose serviceSelector does not select this Service`,
      };
    }
    const usable = selecting.filter((p) => this.usable(p));
    if (usable.length === 0) {
      return { reason: 'no_pool', message: `requested IP ${text} is in pool ${selecting.map((p) => `${p.name} (${this.unusableWhy(p)})`).join(', ')}` };
    }
    if (owner !== undefined) {
      // Sharing an address in use hands out nothing new, so allowFirstLastIPs does not stand in the way.
      const others = [...owner.holders].join(', ');
      const why = this.incompatibleWithHolders(request, owner);
      if (why === undefined) {
        this.join(entry, owner);
        return undefined;
      }
      if (request.sharingKey !== undefined) {
        return { reason: 'already_allocated_incompatible_service', message: `requested IP ${text} is used by ${others} and cannot be shared: ${why}` };
      }
      return { reason: 'already_allocated', message: `requested IP ${text} is already allocated to ${others}; add the same lbipam.cilium.io/sharing-key to share it` };
    }
    const pool = usable.find((p) => p.allocator.contains(family, value));
    if (pool === undefined) {
      return { reason: 'no_pool', message: `requested IP ${text} is the first or last address of a CIDR in pool ${usable.map((p) => p.name).join(', ')}, reserved by allowFirstLastIPs: No` };
    }
    this.take(entry, family, value, pool);
    return undefined;
  }

  private acquireAutomatic(entry: ServiceEntry): Failure[] {
    const { request } = entry;
    const selecting = this.poolOrder.filter((p) => this.selectsForAllocating(p, request));
    const holds = this.ledger.heldFamilies(request.key);
    let wanted: IpFamily[] = [...request.families];
    if (request.familyPolicy === 'PreferDualStack') {
      wanted = wanted.filter((f) => holds.has(f) || selecting.some((p) => this.usable(p) && p.allocator.hasFamily(f)));
      if (wanted.length === 0) wanted = request.families.slice(0, 1);
    }
    const failures: Failure[] = [];
    const plans: { family: IpFamily; run: () => void }[] = [];
    // New attempt, new explanation.
    if (wanted.some((f) => !holds.has(f))) this.messages.clearNotes(request.key);
    // PreferDualStack is satisfied with one family, but says which one it could not have.
    for (const f of request.families) {
      if (wanted.includes(f)) continue;
      this.messages.note(request.key, `no ${familyName(f)} address: no usable pool that selects this Service has ${familyName(f)} addresses (PreferDualStack accepts one family)`);
    }
    for (const family of wanted) {
      if (holds.has(family)) continue;
      const shared = this.findShareable(request, family);
      if (shared !== undefined) {
        plans.push({ family, run: () => { this.join(entry, shared); } });
        continue;
      }
      const candidates = selecting.filter((p) => p.allocator.hasFamily(family));
      const usable = candidates.filter((p) => this.usable(p));
      let planned = false;
      for (const pool of usable) {
        const value = pool.allocator.lowestFree(family);
        if (value === undefined) continue;
        plans.push({ family, run: () => { this.take(entry, family, value, pool); } });
        planned = true;
        break;
      }
      if (planned) continue;
      if (selecting.length === 0) {
        failures.push({ reason: 'no_pool', message: 'no pool selects this Service: check the pools\' serviceSelector against the Service\'s labels' });
      } else if (usable.length === 0) {
        const why = candidates.map((p) => `${p.name} (${this.unusableWhy(p)})`).join(', ');
        failures.push({
          reason: 'no_pool',
          message: why === '' ? `no pool that selects this Service has ${familyName(family)} addresses` : `no usable pool with ${familyName(family)} addresses: ${why}`,
        });
      } else {
        failures.push({ reason: 'out_of_ips', message: `no free ${familyName(family)} address in pool ${usable.map((p) => p.name).join(', ')}` });
      }
    }
    // RequireDualStack with a family missing takes what it can, as Cilium does: that family
    // works meanwhile, and the condition stays False, naming the missing one.
    for (const plan of plans) plan.run();
    return failures;
  }

  private findShareable(request: ServiceRequest, family: IpFamily): Owner | undefined {
    if (request.sharingKey === undefined) return undefined;
    let best: Owner | undefined;
    const refusals: string[] = [];
    for (const owner of this.ledger.sharingKeyOwners(request.sharingKey)) {
      if (owner.family !== family || owner.holders.has(request.key)) continue;
      const why = this.incompatibleWithHolders(request, owner);
      const pool = this.pools.get(owner.pool);
      if (why !== undefined) {
        refusals.push(`${owner.text}: ${why}`);
        continue;
      }
      if (pool === undefined || !this.selectsForAllocating(pool, request)) {
        refusals.push(`${owner.text}: pool ${owner.pool} does not select this Service`);
        continue;
      }
      best = owner;
      break;
    }
    if (best === undefined && refusals.length > 0) {
      // A condition message must stay readable: name a few refusals, count the rest.
      const shown = refusals.slice(0, 3).join('; ') + (refusals.length > 3 ? `; and ${refusals.length - 3} more` : '');
      this.messages.note(request.key, `not shared with sharing key "${request.sharingKey}" (${shown})`);
    }
    return best;
  }

  private incompatibleWithHolders(request: ServiceRequest, owner: Owner): string | undefined {
    for (const h of owner.holders) {
      const other = this.services.get(h);
      if (other === undefined) continue;
      const why = sharingIncompatibility(request, other.request);
      if (why !== undefined) return why;
    }
    return undefined;
  }

  private unusableWhy(pool: CompiledPool): string {
    if (pool.problems.length > 0) return 'invalid spec';
    if (pool.disabled) return 'disabled';
    if (this.conflicts.has(pool.name)) return 'conflicting';
    return 'usable';
  }

  private take(entry: ServiceEntry, family: IpFamily, value: bigint, pool: CompiledPool): void {
    const owner = this.addHolder(entry.request.key, family, value, pool.name);
    this.messages.event(entry.spec, 'Normal', 'IPAllocated', `Allocated ${owner.text} from pool ${pool.name}`);
  }

  private join(entry: ServiceEntry, owner: Owner): void {
    const others = [...owner.holders].join(', ');
    this.addHolder(entry.request.key, owner.family, owner.value, owner.pool);
    this.messages.event(entry.spec, 'Normal', 'IPAllocated', `Sharing ${owner.text} (pool ${owner.pool}) with ${others}`);
  }

  private decide(entry: ServiceEntry, failures: Failure[]): ServiceDecision {
    const { request, spec } = entry;
    const primary = request.families[0] ?? 4;
    const mine = this.ledger.heldBy(request.key)
      .sort((a, b) => (a.family === b.family ? (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) : a.family === primary ? -1 : 1));
    const notes = this.messages.notes(request.key);
    let condition: Condition;
    if (failures.length === 0) {
      this.waiting.leave(request.key);
      // Only this Service's own facts: a message that named co-sharers would go stale when they change.
      const what = mine.map((o) => `${o.text} (pool ${o.pool})`).join(', ');
      condition = { type: SERVICE_CONDITION, status: 'True', reason: 'satisfied', message: [`Assigned ${what}`, ...notes].join('; ') };
    } else {
      this.waiting.wait(request.key, request.sharingKey, failures.some((f) => f.reason === 'out_of_ips' || f.reason.startsWith('already_allocated')));
      const worst = [...failures].sort((a, b) => REASON_RANK[a.reason] - REASON_RANK[b.reason])[0] as Failure;
      const parts = failures.map((f) => f.message);
      if (mine.length > 0) parts.push(`holding ${mine.map((o) => o.text).join(', ')} meanwhile`);
      condition = { type: SERVICE_CONDITION, status: 'False', reason: worst.reason, message: [...parts, ...notes].join('; ') };
    }
    return { key: request.key, namespace: spec.namespace, name: spec.name, managed: true, ips: mine.map((o) => o.text), condition };
  }

  // ---- helpers -----------------------------------------------------------

  private sortedKeys(keys: Iterable<ServiceKey>): ServiceKey[] {
    return [...keys].sort((a, b) => {
      const sa = this.services.get(a)?.spec;
      const sb = this.services.get(b)?.spec;
      if (sa !== undefined && sb !== undefined) return compareServices(sa, sb);
      // Deleted Services (no spec) go first: their releases free addresses for the rest.
      if (sa === undefined && sb !== undefined) return -1;
      if (sb === undefined && sa !== undefined) return 1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
  }
}

function splitKey(key: ServiceKey): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function parseForAdopt(ip: string): { family: IpFamily; value: bigint } | string {
  const parsed = parseIp(ip.trim());
  return parsed.ok ? parsed.value : parsed.error;
}
