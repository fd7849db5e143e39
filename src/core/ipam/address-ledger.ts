import { addressKey, formatIp, type IpFamily } from './address.js';
import type { CompiledPool } from './compiled-pool.js';
import type { ServiceKey } from './types.js';

/** One address in use: the pool it counts against and the Services holding it (several when shared). */
export interface Owner {
  readonly key: string;
  readonly family: IpFamily;
  readonly value: bigint;
  readonly text: string;
  readonly pool: string;
  readonly holders: ReadonlySet<ServiceKey>;
}

interface MutableOwner extends Owner {
  pool: string;
  readonly holders: Set<ServiceKey>;
  /** Sharing-key buckets this owner is listed in. */
  readonly buckets: Set<string>;
}

interface Request {
  readonly family: IpFamily;
  readonly value: bigint;
  readonly services: Set<ServiceKey>;
}

/**
 * Who holds which address, and which addresses Services name. It keeps its
 * own indexes in step (holders by address, addresses by holder, owners by
 * sharing key, use counts per pool) and every pool's allocator: an address
 * counts as used in every pool whose ranges hold it while someone holds it or
 * names it in a request, so automatic allocation (lowestFree) skips both.
 */
export class AddressLedger {
  readonly #owners = new Map<string, MutableOwner>();
  readonly #held = new Map<ServiceKey, Set<string>>();
  readonly #poolUsed = new Map<string, number>();
  /** Owners by the sharing key of a holder, so finding a shareable address is not O(all addresses). */
  readonly #bySharingKey = new Map<string, Set<MutableOwner>>();
  /** Addresses that Services name (lbipam.cilium.io/ips, loadBalancerIP), by address key. */
  readonly #requestedBy = new Map<string, Request>();
  readonly #requesting = new Map<ServiceKey, Set<string>>();

  constructor(private readonly pools: () => readonly CompiledPool[]) {}

  owner(family: IpFamily, value: bigint): Owner | undefined {
    return this.#owners.get(addressKey(family, value));
  }

  /** The Service's addresses, sorted by family then value. */
  heldBy(service: ServiceKey): Owner[] {
    return [...(this.#held.get(service) ?? [])]
      .map((k) => this.#owners.get(k))
      .filter((o): o is MutableOwner => o !== undefined)
      .sort((a, b) => a.family - b.family || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }

  heldFamilies(service: ServiceKey): Set<IpFamily> {
    return new Set(this.heldBy(service).map((o) => o.family));
  }

  /** Owners some holder of which has this sharing key, lowest address first. */
  sharingKeyOwners(sharingKey: string): Owner[] {
    return [...(this.#bySharingKey.get(sharingKey) ?? [])].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }

  /** How many addresses count against the pool. */
  usedIn(pool: string): number {
    return this.#poolUsed.get(pool) ?? 0;
  }

  /** Marks in a new or changed pool's allocator every address held or named. */
  occupy(pool: CompiledPool): void {
    for (const o of this.#owners.values()) pool.allocator.take(o.family, o.value);
    for (const r of this.#requestedBy.values()) pool.allocator.take(r.family, r.value);
  }

  /** Adds a holder (with its sharing key, if any); creates the owner, counted against `pool`, when the address was free. */
  addHolder(service: ServiceKey, sharingKey: string | undefined, family: IpFamily, value: bigint, pool: string): Owner {
    const k = addressKey(family, value);
    let owner = this.#owners.get(k);
    if (owner === undefined) {
      owner = { key: k, family, value, text: formatIp(family, value), pool, holders: new Set(), buckets: new Set() };
      this.#owners.set(k, owner);
      this.#poolUsed.set(pool, this.usedIn(pool) + 1);
      for (const p of this.pools()) p.allocator.take(family, value);
    }
    owner.holders.add(service);
    if (sharingKey !== undefined && !owner.buckets.has(sharingKey)) {
      owner.buckets.add(sharingKey);
      let bucket = this.#bySharingKey.get(sharingKey);
      if (bucket === undefined) this.#bySharingKey.set(sharingKey, (bucket = new Set()));
      bucket.add(owner);
    }
    let mine = this.#held.get(service);
    if (mine === undefined) this.#held.set(service, (mine = new Set()));
    mine.add(k);
    return owner;
  }

  /** Removes one holder; frees the address when it was the last. Returns true when the address was freed. */
  removeHolder(service: ServiceKey, o: Owner): boolean {
    const owner = this.#owners.get(o.key);
    if (owner === undefined) return false;
    owner.holders.delete(service);
    const mine = this.#held.get(service);
    mine?.delete(owner.key);
    if (mine?.size === 0) this.#held.delete(service);
    if (owner.holders.size > 0) return false;
    this.#owners.delete(owner.key);
    for (const b of owner.buckets) {
      const bucket = this.#bySharingKey.get(b);
      bucket?.delete(owner);
      if (bucket?.size === 0) this.#bySharingKey.delete(b);
    }
    this.#poolUsed.set(owner.pool, this.usedIn(owner.pool) - 1);
    if (!this.#requestedBy.has(owner.key)) for (const p of this.pools()) p.allocator.release(owner.family, owner.value);
    return true;
  }

  /** Counts the address against another pool (its old one was deleted, or stopped covering it). */
  moveToPool(o: Owner, pool: string): void {
    const owner = this.#owners.get(o.key);
    if (owner === undefined) return;
    this.#poolUsed.set(owner.pool, this.usedIn(owner.pool) - 1);
    owner.pool = pool;
    this.#poolUsed.set(pool, this.usedIn(pool) + 1);
  }

  /**
   * Records the addresses a Service names (none when it names none or is not
   * served). Returns true when an address nobody holds stopped being named:
   * it is free again, for a Service waiting for one.
   */
  setRequests(service: ServiceKey, addresses: readonly { readonly family: IpFamily; readonly value: bigint }[]): boolean {
    let freed = false;
    const want = new Map(addresses.map((a) => [addressKey(a.family, a.value), a]));
    for (const k of this.#requesting.get(service) ?? []) {
      if (want.has(k)) continue;
      const r = this.#requestedBy.get(k);
      if (r === undefined) continue;
      r.services.delete(service);
      if (r.services.size > 0) continue;
      this.#requestedBy.delete(k);
      if (this.#owners.has(k)) continue;
      for (const p of this.pools()) p.allocator.release(r.family, r.value);
      freed = true;
    }
    for (const [k, a] of want) {
      let r = this.#requestedBy.get(k);
      if (r === undefined) {
        this.#requestedBy.set(k, (r = { family: a.family, value: a.value, services: new Set() }));
        for (const p of this.pools()) p.allocator.take(a.family, a.value);
      }
      r.services.add(service);
    }
    if (want.size > 0) this.#requesting.set(service, new Set(want.keys()));
    else this.#requesting.delete(service);
    return freed;
  }

  /** Every address in use: its pool and holders. */
  assignments(): { ip: string; family: IpFamily; pool: string; services: ServiceKey[] }[] {
    return [...this.#owners.values()].map((o) => ({ ip: o.text, family: o.family, pool: o.pool, services: [...o.holders].sort() }));
  }
}
