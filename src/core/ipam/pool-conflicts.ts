import type { CompiledPool } from './compiled-pool.js';
import { comparePools } from './compiled-pool.js';

/** Why a pool is conflicting: the first overlap found for it. */
export interface PoolConflict {
  readonly pool: string;
  readonly message: string;
}

interface Entry {
  readonly pool: CompiledPool;
  readonly rank: number;
  readonly blockIndex: number;
}

/**
 * Finds conflicting pools: a pool that overlaps an older pool (creation time,
 * then name), or whose own blocks overlap. Every pool's blocks count, even a
 * pool that is itself conflicting, so the result does not depend on the
 * order in which conflicts are discovered. Sort + sweep: O(n log n + overlaps).
 */
export function findPoolConflicts(pools: readonly CompiledPool[]): Map<string, PoolConflict> {
  const ordered = [...pools].sort((a, b) => comparePools(a.spec, b.spec));
  const entries: Entry[] = [];
  ordered.forEach((pool, rank) => {
    pool.blocks.forEach((_, blockIndex) => entries.push({ pool, rank, blockIndex }));
  });
  const block = (e: Entry) => e.pool.blocks[e.blockIndex] as CompiledPool['blocks'][number];
  entries.sort((a, b) => {
    const ra = block(a).range;
    const rb = block(b).range;
    if (ra.family !== rb.family) return ra.family - rb.family;
    return ra.start < rb.start ? -1 : ra.start > rb.start ? 1 : a.rank - b.rank;
  });
  // For each pool keep the overlap with the oldest other party, so the message is stable.
  const found = new Map<string, { otherRank: number; message: string }>();
  const note = (loser: Entry, winner: Entry): void => {
    const previous = found.get(loser.pool.name);
    const otherRank = winner.rank === loser.rank ? -1 : winner.rank;
    if (previous !== undefined && previous.otherRank <= otherRank) return;
    const message =
      winner.rank === loser.rank
        ? `Pool "${loser.pool.name}" conflicts with itself: block "${block(loser).text}" overlaps block "${block(winner).text}"`
        : `Pool "${loser.pool.name}" conflicts since block "${block(loser).text}" overlaps block "${block(winner).text}" of older pool "${winner.pool.name}"`;
    found.set(loser.pool.name, { otherRank, message });
  };
  for (let i = 0; i < entries.length; i++) {
    const a = entries[i] as Entry;
    const ra = block(a).range;
    for (let j = i + 1; j < entries.length; j++) {
      const b = entries[j] as Entry;
      const rb = block(b).range;
      if (rb.family !== ra.family || rb.start > ra.end) break;
      if (a.rank === b.rank) note(a, b);
      else if (a.rank < b.rank) note(b, a);
      else note(a, b);
    }
  }
  const result = new Map<string, PoolConflict>();
  for (const [pool, { message }] of found) result.set(pool, { pool, message });
  return result;
}
