import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RangeAllocator } from '../../../../src/core/ipam/range-allocator.js';

describe('RangeAllocator', () => {
  it('hands out the lowest free address across ranges, in address order', () => {
    const a = new RangeAllocator([
      { family: 4, start: 20n, end: 21n },
      { family: 4, start: 10n, end: 10n },
    ]);
    assert.equal(a.total(), 3n);
    assert.equal(a.lowestFree(4), 10n);
    assert.ok(a.take(4, 10n));
    assert.equal(a.lowestFree(4), 20n);
    assert.ok(a.take(4, 20n));
    assert.ok(a.take(4, 21n));
    assert.equal(a.lowestFree(4), undefined);
    assert.equal(a.lowestFree(6), undefined);
    assert.ok(a.release(4, 20n));
    assert.equal(a.lowestFree(4), 20n);
  });

  it('refuses addresses outside its ranges or already used', () => {
    const a = new RangeAllocator([{ family: 6, start: 0n, end: 2n ** 64n - 1n }]);
    assert.equal(a.take(6, 2n ** 64n), false);
    assert.equal(a.take(4, 1n), false);
    assert.ok(a.take(6, 5n));
    assert.equal(a.take(6, 5n), false);
    assert.equal(a.release(6, 6n), false);
    assert.equal(a.used, 1);
    assert.equal(a.total(), 2n ** 64n);
  });

  it('merges overlapping ranges so each address counts once', () => {
    const a = new RangeAllocator([
      { family: 4, start: 0n, end: 9n },
      { family: 4, start: 5n, end: 14n },
    ]);
    assert.equal(a.total(), 15n);
  });

  it('always returns the lowest free address (property, against a naive model)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant<'alloc'>('alloc'), fc.integer({ min: 0, max: 40 })), { maxLength: 200 }), (ops) => {
        const a = new RangeAllocator([
          { family: 4, start: 0n, end: 15n },
          { family: 4, start: 20n, end: 39n },
        ]);
        const used = new Set<number>();
        const inRange = (n: number): boolean => n <= 15 || (n >= 20 && n <= 39);
        for (const op of ops) {
          if (op === 'alloc') {
            let expected: number | undefined;
            for (let n = 0; n <= 39; n++) {
              if (inRange(n) && !used.has(n)) {
                expected = n;
                break;
              }
            }
            const got = a.lowestFree(4);
            assert.equal(got, expected === undefined ? undefined : BigInt(expected));
            if (got !== undefined) {
              assert.ok(a.take(4, got));
              used.add(Number(got));
            }
          } else if (used.has(op)) {
            assert.ok(a.release(4, BigInt(op)));
            used.delete(op);
          } else {
            // Take a specific address (a requested IP) when free and inside.
            assert.equal(a.take(4, BigInt(op)), inRange(op));
            if (inRange(op)) used.add(op);
          }
          assert.equal(a.used, used.size);
        }
      }),
    );
  });
});
