/**
 * compilePool on the blocks and selectors that the CRD lets through since it
 * checks only what Cilium's checks: each mistake is one problem naming the
 * block, and the valid blocks still compile.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePool } from '../../../../src/core/ipam/compiled-pool.js';
import type { PoolSpec } from '../../../../src/core/ipam/types.js';
import { formatRange } from '../../../../src/core/ipam/address.js';

const spec = (blocks: PoolSpec['blocks'], extra: Partial<PoolSpec> = {}): PoolSpec =>
  ({ name: 'p', creationTimestamp: '2026-01-01T00:00:00Z', blocks, ...extra });

/** The one problem of a pool made of this block alone. */
function problemOf(block: PoolSpec['blocks'][number]): string {
  const pool = compilePool(spec([block]));
  assert.equal(pool.blocks.length, 0, `${JSON.stringify(block)} compiled`);
  assert.equal(pool.problems.length, 1, pool.problems.join('; '));
  return pool.problems[0] ?? '';
}

describe('compilePool: blocks Cilium\'s CRD accepts but that cannot be used', () => {
  const cases: [string, PoolSpec['blocks'][number], string][] = [
    ['an empty block', {}, 'block 1: has neither cidr nor start'],
    ['only empty strings', { cidr: '', start: '', stop: '' }, 'block 1: has neither cidr nor start'],
    ['a stop without a start', { stop: '192.0.2.9' }, 'block 1: has stop "192.0.2.9" but no start'],
    ['an empty start with a stop', { start: '', stop: '192.0.2.9' }, 'block 1: has stop "192.0.2.9" but no start'],
    ['a start that is a host name', { start: 'gateway' }, 'block 1: start "gateway" is not an IPv4 or IPv6 address'],
    ['a start with an octet over 255', { start: '192.0.2.300', stop: '192.0.2.301' }, 'block 1: start "192.0.2.300" is not an IPv4 or IPv6 address'],
    ['a start with a leading zero (Go\'s netip refuses it too)', { start: '192.0.2.01' }, 'block 1: start "192.0.2.01" is not an IPv4 or IPv6 address'],
    ['a stop that is a host name', { start: '192.0.2.1', stop: 'gateway' }, 'block 1: stop "gateway" is not an IPv4 or IPv6 address'],
    ['start and stop of different families', { start: '192.0.2.1', stop: '2001:db8::9' }, 'block 1: start "192.0.2.1" and stop "2001:db8::9" are of different IP families'],
    ['stop before start', { start: '192.0.2.20', stop: '192.0.2.10' }, 'block 1: stop "192.0.2.10" is before start "192.0.2.20"'],
    ['a cidr that is a word', { cidr: 'lan' }, 'block 1: cidr "lan" is not a CIDR (address/prefix)'],
  ];
  for (const [name, block, message] of cases) {
    it(name, () => { assert.equal(problemOf(block), message); });
  }

  it('names each bad block by its position and keeps the good ones', () => {
    const pool = compilePool(spec([
      { cidr: '192.0.2.0/28' },
      { start: '198.51.100.1', stop: '' },
      { start: '198.51.100.9', stop: 'x' },
      { start: '2001:db8::1', stop: '2001:db8::f' },
      {},
    ]));
    assert.deepEqual(pool.problems, ['block 3: stop "x" is not an IPv4 or IPv6 address', 'block 5: has neither cidr nor start']);
    assert.deepEqual(pool.blocks.map((b) => formatRange(b.range)), ['192.0.2.0-192.0.2.15', '198.51.100.1', '2001:db8::1-2001:db8::f']);
    // The valid blocks still count (for overlap detection and for keeping addresses), but nothing is allocatable while invalid.
    assert.equal(pool.allocator.total(), 16n + 1n + 15n);
  });
});

describe('compilePool: what Cilium accepts and uses is valid here too', () => {
  it('cidr with start or stop: cidr, as Cilium reads it, and a notice saying what was ignored', () => {
    const pool = compilePool(spec([{ cidr: '192.0.2.0/28', start: '192.0.2.1' }, { cidr: '198.51.100.0/30', start: '198.51.100.1', stop: '198.51.100.2' }]));
    assert.deepEqual(pool.problems, []);
    assert.deepEqual(pool.blocks.map((b) => formatRange(b.range)), ['192.0.2.0-192.0.2.15', '198.51.100.0-198.51.100.3']);
    assert.deepEqual(pool.notices, [
      'block 1: has both cidr "192.0.2.0/28" and start "192.0.2.1"; using cidr, as Cilium does, and ignoring start',
      'block 2: has both cidr "198.51.100.0/30" and start "198.51.100.1" and stop "198.51.100.2"; using cidr, as Cilium does, and ignoring start and stop',
    ]);
    assert.deepEqual(compilePool(spec([{ cidr: '192.0.2.0/28' }])).notices, []);
  });

  it('an empty stop means start alone, as in Cilium', () => {
    const pool = compilePool(spec([{ start: '192.0.2.7', stop: '' }]));
    assert.deepEqual(pool.problems, []);
    assert.deepEqual(pool.blocks.map((b) => [b.text, formatRange(b.range)]), [['192.0.2.7', '192.0.2.7']]);
  });

  it('empty start and stop next to a cidr are no second definition', () => {
    const pool = compilePool(spec([{ cidr: '192.0.2.0/30', start: '', stop: '' }]));
    assert.deepEqual(pool.problems, []);
    assert.deepEqual(pool.blocks.map((b) => formatRange(b.range)), ['192.0.2.0-192.0.2.3']);
  });

  it('an IPv4-mapped IPv6 CIDR (accepted by format: cidr) is an IPv6 range, as netip reads it', () => {
    const pool = compilePool(spec([{ cidr: '::ffff:192.0.2.0/120' }]));
    assert.deepEqual(pool.problems, []);
    assert.equal(pool.blocks[0]?.range.family, 6);
  });
});

describe('compilePool: selectors the CRD no longer checks', () => {
  const cases: [string, NonNullable<PoolSpec['serviceSelector']>, RegExp][] = [
    ['In without values', { matchExpressions: [{ key: 'app', operator: 'In' }] }, /^serviceSelector: matchExpressions\[0\]: operator In needs at least one value$/],
    ['Exists with values', { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }, /^serviceSelector: matchExpressions\[0\]: operator Exists takes no values$/],
    ['an empty key', { matchExpressions: [{ key: '', operator: 'Exists' }] }, /^serviceSelector: matchExpressions\[0\]: label key "" is invalid$/],
    ['an expression value with a space', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['my app'] }] }, /label value "my app" for key "app" is invalid/],
    ['a matchLabels key with a space', { matchLabels: { 'my app': 'x' } }, /^serviceSelector: matchLabels: label key "my app" is invalid$/],
  ];
  for (const [name, serviceSelector, says] of cases) {
    it(name, () => {
      const pool = compilePool(spec([{ cidr: '192.0.2.0/28' }], { serviceSelector }));
      assert.equal(pool.problems.length, 1);
      assert.match(pool.problems[0] ?? '', says);
      assert.equal(pool.selects, undefined);
      assert.equal(pool.blocks.length, 1, 'the blocks are still read');
    });
  }
});
