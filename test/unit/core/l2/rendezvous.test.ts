import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rankCandidates, rendezvousWeight } from '../../../../src/core/l2/rendezvous.js';

const services = Array.from({ length: 1000 }, (_, i) => `ns-${i % 7}/svc-${i}`);
const nodes = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`);

function firstCounts(nodeNames: string[]): Map<string, number> {
  const counts = new Map<string, number>(nodeNames.map((n) => [n, 0]));
  for (const s of services) {
    const first = rankCandidates(s, nodeNames)[0]!;
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  return counts;
}

describe('rendezvous ranking', () => {
  it('is deterministic and independent of input order', () => {
    const a = rankCandidates('default/web', ['c', 'a', 'b']);
    const b = rankCandidates('default/web', ['b', 'c', 'a', 'a']);
    assert.deepEqual(a, b);
    assert.equal(a.length, 3);
    assert.equal(rendezvousWeight('default/web', 'a'), rendezvousWeight('default/web', 'a'));
  });

  it('has a fixed value (every agent, every platform, every version must agree)', () => {
    // SHA-256("default/web\nnode-a"), first 8 bytes big-endian.
    // Computed independently: printf 'default/web\nnode-a' | sha256sum | cut -c1-16
    assert.equal(rendezvousWeight('default/web', 'node-a'), 0x978514989573cb09n);
  });

  for (const n of [3, 10]) {
    it(`spreads 1,000 Services roughly evenly over ${n} nodes`, () => {
      const expected = services.length / n;
      // Each count is binomial(1000, 1/n); a fair hash stays within 4σ.
      const sigma = Math.sqrt(services.length * (1 / n) * (1 - 1 / n));
      for (const [node, count] of firstCounts(nodes(n))) {
        assert.ok(Math.abs(count - expected) < 4 * sigma, `${node} got ${count}, expected ${expected} ± ${4 * sigma}`);
      }
    });
  }

  it('adding a node moves only ~1/N of first choices, all of them to the new node', () => {
    const before = nodes(10);
    const after = [...before, 'node-new'];
    let moved = 0;
    for (const s of services) {
      const a = rankCandidates(s, before);
      const b = rankCandidates(s, after);
      if (a[0] !== b[0]) {
        moved++;
        assert.equal(b[0], 'node-new');
      }
      // The others keep their relative order.
      assert.deepEqual(b.filter((x) => x !== 'node-new'), a);
    }
    assert.ok(moved > 1000 / 11 * 0.6 && moved < 1000 / 11 * 1.4, `moved ${moved}`);
  });

  it('removing a node moves only the Services it was first for', () => {
    const all = nodes(10);
    const without = all.filter((n) => n !== 'node-3');
    for (const s of services) {
      const a = rankCandidates(s, all);
      const b = rankCandidates(s, without);
      if (a[0] !== 'node-3') assert.equal(b[0], a[0]);
      else assert.equal(b[0], a[1]);
    }
  });
});
