import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decideOwnership, type OwnershipDecision } from '../../../../src/core/l2/ownership.js';
import { rankCandidates } from '../../../../src/core/l2/rendezvous.js';

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'] as const;

/** One shared observation: what every agent sees the same way. */
interface World {
  readonly candidates: readonly string[];
  readonly live: ReadonlySet<string>;
  readonly holder: string;
  /** Private per-agent facts. */
  readonly leaving: ReadonlySet<string>;
  readonly unreachable: ReadonlySet<string>;
  readonly conflicted: ReadonlySet<string>;
}

const subset = fc.subarray([...NODES]);
const worldArb: fc.Arbitrary<World> = fc.record({
  candidates: subset,
  live: subset.map((s) => new Set(s)),
  holder: fc.constantFrom('', ...NODES, 'gone-node'),
  leaving: subset.map((s) => new Set(s)),
  unreachable: subset.map((s) => new Set(s)),
  conflicted: subset.map((s) => new Set(s)),
});

function decideAll(w: World): Map<string, OwnershipDecision> {
  const ranked = rankCandidates('default/web', w.candidates);
  const out = new Map<string, OwnershipDecision>();
  for (const self of NODES) {
    out.set(self, decideOwnership({
      self,
      ranked,
      holder: w.holder,
      live: w.live,
      ...(w.leaving.has(self) ? { leaving: 'shutting down' } : {}),
      apiReachable: !w.unreachable.has(self),
      addresses: ['192.0.2.10'],
      conflicted: w.conflicted.has(self) ? new Set(['192.0.2.10']) : new Set<string>(),
    }));
  }
  return out;
}

const claimers = (d: Map<string, OwnershipDecision>): string[] => [...d].filter(([, x]) => x.action === 'claim').map(([n]) => n);
const answerers = (d: Map<string, OwnershipDecision>): string[] => [...d].filter(([, x]) => x.answer).map(([n]) => n);

describe('ownership properties (shared observations)', () => {
  it('at most one node claims and at most one node answers', () => {
    fc.assert(fc.property(worldArb, (w) => {
      const d = decideAll(w);
      assert.ok(claimers(d).length <= 1, `claimers ${claimers(d).join(',')}`);
      assert.ok(answerers(d).length <= 1, `answerers ${answerers(d).join(',')}`);
      // Only the lease holder ever answers.
      for (const n of answerers(d)) assert.equal(n, w.holder);
    }), { numRuns: 2000 });
  });

  it('stickiness: a live candidate holder is never displaced, whoever joins', () => {
    fc.assert(fc.property(worldArb, fc.constantFrom(...NODES), (w, joiner) => {
      fc.pre(w.holder !== '' && w.live.has(w.holder) && w.candidates.includes(w.holder) && !w.leaving.has(w.holder));
      const joined: World = { ...w, candidates: [...new Set([...w.candidates, joiner])], live: new Set([...w.live, joiner]) };
      const d = decideAll(joined);
      assert.deepEqual(claimers(d), []);
      for (const [, x] of d) assert.ok(x.action !== 'handover' && x.action !== 'release');
    }), { numRuns: 1000 });
  });

  it('after the holder dies, exactly one live candidate claims (when a non-leaving one exists)', () => {
    fc.assert(fc.property(worldArb, (w) => {
      fc.pre(w.holder !== '' && w.candidates.length > 0);
      const dead: World = { ...w, live: new Set([...w.live].filter((n) => n !== w.holder)) };
      const ranked = rankCandidates('default/web', dead.candidates);
      const best = ranked.find((n) => dead.live.has(n));
      const d = decideAll(dead);
      if (best === undefined) assert.deepEqual(claimers(d), []);
      else if (dead.leaving.has(best)) assert.deepEqual(claimers(d), []); // it clears its node Lease next, then the next one claims
      else assert.deepEqual(claimers(d), [best]);
    }), { numRuns: 2000 });
  });

  it('a handover or claim never targets a node that is not a live candidate', () => {
    fc.assert(fc.property(worldArb, (w) => {
      for (const [self, x] of decideAll(w)) {
        if (x.action === 'claim') assert.equal(x.target, self);
        if (x.action === 'claim' || x.action === 'handover') {
          assert.ok(x.target !== undefined && w.candidates.includes(x.target) && w.live.has(x.target));
        }
      }
    }), { numRuns: 1000 });
  });
});
