import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) weight of a node for a Service: the
 * first 64 bits of SHA-256 over the UTF-8 of "<service key>\n<node name>".
 * SHA-256 because every agent must compute the same order on any platform
 * and Node version, node:crypto has it built in, and it mixes well enough
 * that similar names ("node-1", "node-2") get unrelated weights. At 1,000
 * Services × 100 nodes that is 100k hashes (~0.1 s), and only needed when a
 * Service's candidate set changes. A newline cannot occur in either name, so
 * the joined text is unambiguous.
 */
export function rendezvousWeight(service: string, node: string): bigint {
  return createHash('sha256').update(`${service}\n${node}`, 'utf8').digest().readBigUInt64BE(0);
}

/**
 * Candidates best first: heaviest weight, ties (practically impossible) by
 * name so the order is total. Adding a node only inserts it somewhere in each
 * Service's order, so it becomes first for about 1/N of Services and the
 * relative order of the others never changes.
 */
export function rankCandidates(service: string, nodes: Iterable<string>): string[] {
  const weighted = [...new Set(nodes)].map((node) => ({ node, weight: rendezvousWeight(service, node) }));
  weighted.sort((a, b) => (a.weight !== b.weight ? (a.weight > b.weight ? -1 : 1) : a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return weighted.map((w) => w.node);
}

/**
 * rankCandidates with memory: a Service's order is recomputed only when its
 * candidate list changes, so re-planning after every observation costs no hashing.
 * Deterministic, so caching changes no answer.
 */
export class CandidateRanker {
  private readonly cache = new Map<string, { readonly candidates: readonly string[]; readonly ranked: readonly string[] }>();
  /**
   * Selection shares one candidate array between the Services of a policy
   * combination, so the array's identity answers most look-ups; agents (or
   * simulated agents) that alternate between views keep each view's orders.
   */
  private readonly byList = new WeakMap<readonly string[], Map<string, readonly string[]>>();

  rank(service: string, candidates: readonly string[]): readonly string[] {
    let perList = this.byList.get(candidates);
    const known = perList?.get(service);
    if (known !== undefined) return known;
    const hit = this.cache.get(service);
    const ranked = hit !== undefined && sameList(hit.candidates, candidates) ? hit.ranked : rankCandidates(service, candidates);
    this.cache.set(service, { candidates, ranked });
    if (perList === undefined) this.byList.set(candidates, (perList = new Map<string, readonly string[]>()));
    perList.set(service, ranked);
    return ranked;
  }

  /** Drops Services not in `keep`, so deleted Services do not pile up. */
  retain(keep: ReadonlySet<string>): void {
    for (const k of this.cache.keys()) if (!keep.has(k)) this.cache.delete(k);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
