import { BigIntMinHeap } from './bigint-min-heap.js';
import type { IpFamily, IpRange } from './address.js';

/**
 * Occupancy of one contiguous range. Memory is O(addresses in use), never
 * O(range size): a cursor below which every address is used or listed in
 * `holes` (a min-heap of freed addresses), plus the set of used addresses.
 * The lowest free address is min(valid top of holes, cursor after skipping
 * used ones); stale heap entries (re-used since they were freed) are dropped
 * lazily, so every operation is O(log n) amortised.
 */
class RangeOccupancy {
  private cursor: bigint;
  private readonly holes = new BigIntMinHeap();
  readonly used = new Set<bigint>();

  constructor(readonly start: bigint, readonly end: bigint) {
    this.cursor = start;
  }

  get size(): bigint {
    return this.end - this.start + 1n;
  }

  isFull(): boolean {
    return BigInt(this.used.size) === this.size;
  }

  lowestFree(): bigint | undefined {
    const used = this.used;
    let hole = this.holes.peek();
    while (hole !== undefined && (used.has(hole) || hole >= this.cursor)) {
      this.holes.pop();
      hole = this.holes.peek();
    }
    if (hole !== undefined) return hole;
    while (this.cursor <= this.end && used.has(this.cursor)) this.cursor++;
    return this.cursor <= this.end ? this.cursor : undefined;
  }

  take(value: bigint): boolean {
    if (this.used.has(value)) return false;
    this.used.add(value);
    return true;
  }

  release(value: bigint): boolean {
    if (!this.used.delete(value)) return false;
    if (this.used.size === 0) {
      // Nothing in use: forget the history so memory returns to zero.
      this.holes.clear();
      this.cursor = this.start;
    } else if (value === this.cursor - 1n) {
      this.cursor = value;
    } else if (value < this.cursor) {
      this.holes.push(value);
    }
    return true;
  }
}

/**
 * Occupancy of a set of ranges of both families (one pool). Ranges are merged
 * first, so a pool whose own blocks overlap still counts each address once.
 */
export class RangeAllocator {
  private readonly byFamily: Record<IpFamily, RangeOccupancy[]> = { 4: [], 6: [] };
  private usedCount = 0;

  constructor(ranges: readonly IpRange[]) {
    for (const family of [4, 6] as const) {
      const sorted = ranges
        .filter((r) => r.family === family)
        .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      const merged: { start: bigint; end: bigint }[] = [];
      for (const r of sorted) {
        const last = merged[merged.length - 1];
        if (last !== undefined && r.start <= last.end + 1n) {
          if (r.end > last.end) last.end = r.end;
        } else {
          merged.push({ start: r.start, end: r.end });
        }
      }
      this.byFamily[family] = merged.map((m) => new RangeOccupancy(m.start, m.end));
    }
  }

  /** Number of distinct addresses the ranges hold. */
  total(family?: IpFamily): bigint {
    let sum = 0n;
    for (const f of family === undefined ? ([4, 6] as const) : [family]) {
      for (const r of this.byFamily[f]) sum += r.size;
    }
    return sum;
  }

  get used(): number {
    return this.usedCount;
  }

  hasFamily(family: IpFamily): boolean {
    return this.byFamily[family].length > 0;
  }

  contains(family: IpFamily, value: bigint): boolean {
    return this.find(family, value) !== undefined;
  }

  isUsed(family: IpFamily, value: bigint): boolean {
    return this.find(family, value)?.used.has(value) ?? false;
  }

  /** The lowest free address of `family`, or undefined when all are used. */
  lowestFree(family: IpFamily): bigint | undefined {
    for (const r of this.byFamily[family]) {
      if (r.isFull()) continue;
      const v = r.lowestFree();
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Marks an address used; false when it is outside the ranges or already used. */
  take(family: IpFamily, value: bigint): boolean {
    const r = this.find(family, value);
    if (r === undefined || !r.take(value)) return false;
    this.usedCount++;
    return true;
  }

  /** Marks an address free; false when it was not in use here. */
  release(family: IpFamily, value: bigint): boolean {
    const r = this.find(family, value);
    if (r === undefined || !r.release(value)) return false;
    this.usedCount--;
    return true;
  }

  private find(family: IpFamily, value: bigint): RangeOccupancy | undefined {
    const list = this.byFamily[family];
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = list[mid] as RangeOccupancy;
      if (value < r.start) hi = mid - 1;
      else if (value > r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }
}
