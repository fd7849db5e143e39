import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePool } from '../../../../src/core/ipam/compiled-pool.js';
import { findPoolConflicts } from '../../../../src/core/ipam/pool-conflicts.js';
import type { PoolSpec } from '../../../../src/core/ipam/types.js';

const spec = (name: string, ts: string, blocks: PoolSpec['blocks']): PoolSpec => ({ name, creationTimestamp: ts, blocks });

describe('findPoolConflicts', () => {
  it('marks every pool that overlaps an older one, even if the older one is itself conflicting', () => {
    const pools = [
      spec('a', '2026-01-01T00:00:00Z', [{ cidr: '192.0.2.0/28' }]),
      spec('b', '2026-01-02T00:00:00Z', [{ start: '192.0.2.15', stop: '192.0.2.20' }]),
      spec('c', '2026-01-03T00:00:00Z', [{ start: '192.0.2.20', stop: '192.0.2.30' }]),
      spec('d', '2026-01-04T00:00:00Z', [{ cidr: '192.0.2.64/26' }, { cidr: '2001:db8::/64' }]),
    ].map(compilePool);
    const conflicts = findPoolConflicts(pools);
    assert.deepEqual([...conflicts.keys()].sort(), ['b', 'c']);
    assert.match(conflicts.get('b')?.message ?? '', /"192\.0\.2\.15-192\.0\.2\.20" overlaps block "192\.0\.2\.0\/28" of older pool "a"/);
    assert.match(conflicts.get('c')?.message ?? '', /older pool "b"/);
  });

  it('names the oldest pool a pool overlaps, whatever the input order', () => {
    const pools = [
      spec('young', '2026-01-03T00:00:00Z', [{ cidr: '192.0.2.0/24' }]),
      spec('mid', '2026-01-02T00:00:00Z', [{ cidr: '192.0.2.128/25' }]),
      spec('old', '2026-01-01T00:00:00Z', [{ cidr: '192.0.2.0/25' }]),
    ].map(compilePool);
    for (const order of [pools, [...pools].reverse()]) {
      const conflicts = findPoolConflicts(order);
      assert.match(conflicts.get('young')?.message ?? '', /older pool "old"/);
      assert.equal(conflicts.has('old'), false);
      assert.equal(conflicts.has('mid'), false);
    }
  });

  it('does not mix families, and adjacent blocks do not overlap', () => {
    const pools = [
      spec('v4', '2026-01-01T00:00:00Z', [{ cidr: '0.0.0.0/0' }]),
      spec('v6', '2026-01-02T00:00:00Z', [{ cidr: '::/96' }]),
      spec('next', '2026-01-03T00:00:00Z', [{ cidr: '2001:db8::/64' }, { cidr: '2001:db8:0:1::/64' }]),
    ].map(compilePool);
    assert.equal(findPoolConflicts(pools).size, 0);
  });
});

describe('compilePool', () => {
  it('reports block errors and keeps the valid blocks', () => {
    const pool = compilePool(
      spec('p', '2026-01-01T00:00:00Z', [
        { cidr: '192.0.2.0/28' },
        { start: '192.0.2.20', stop: '192.0.2.10' },
        { start: '192.0.2.1', stop: '2001:db8::1' },
        { cidr: '192.0.2.0/28', start: '192.0.2.1' },
        {},
      ]),
    );
    // Block 4 is read as its cidr, as Cilium does (a notice, not a problem).
    assert.equal(pool.blocks.length, 2);
    assert.deepEqual(pool.problems, [
      'block 2: stop "192.0.2.10" is before start "192.0.2.20"',
      'block 3: start "192.0.2.1" and stop "2001:db8::1" are of different IP families',
      'block 5: has neither cidr nor start',
    ]);
  });
});
