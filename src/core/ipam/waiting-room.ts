import type { ServiceKey } from './types.js';

/**
 * Services whose condition is False, indexed by what could unblock them, so
 * one watch event re-tries only those it may help (5,000 waiting Services
 * must not make every event O(5,000) allocations).
 */
export class WaitingRoom {
  /** Every waiting Service, with its sharing key. */
  readonly #waiting = new Map<ServiceKey, string | undefined>();
  /** ...of which waiting for an address to be freed (out_of_ips, already_allocated*). */
  readonly #forAddress = new Set<ServiceKey>();
  /** ...of which having a sharing key, by key: a sharer that changes may become compatible. */
  readonly #bySharingKey = new Map<string, Set<ServiceKey>>();

  /** The Service waits; `forAddress` when only a freed address can help it. */
  wait(service: ServiceKey, sharingKey: string | undefined, forAddress: boolean): void {
    this.leave(service);
    this.#waiting.set(service, sharingKey);
    if (forAddress) this.#forAddress.add(service);
    if (sharingKey !== undefined) {
      let set = this.#bySharingKey.get(sharingKey);
      if (set === undefined) this.#bySharingKey.set(sharingKey, (set = new Set()));
      set.add(service);
    }
  }

  /** The Service no longer waits (satisfied, or gone). */
  leave(service: ServiceKey): void {
    if (!this.#waiting.has(service)) return;
    const sharingKey = this.#waiting.get(service);
    this.#waiting.delete(service);
    this.#forAddress.delete(service);
    if (sharingKey === undefined) return;
    const set = this.#bySharingKey.get(sharingKey);
    set?.delete(service);
    if (set?.size === 0) this.#bySharingKey.delete(sharingKey);
  }

  all(): Iterable<ServiceKey> {
    return this.#waiting.keys();
  }

  forAddress(): Iterable<ServiceKey> {
    return this.#forAddress;
  }

  withSharingKey(sharingKey: string): Iterable<ServiceKey> {
    return this.#bySharingKey.get(sharingKey) ?? [];
  }
}
