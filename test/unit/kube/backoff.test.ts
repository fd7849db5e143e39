import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../src/kube/backoff.js';

test('the ceiling doubles per failure and stops at the maximum', () => {
  const b = new Backoff(100, 1000, () => 1);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
  assert.equal(b.attempts, 6);
});

test('jitter spreads delays over [initial/2, ceiling] and never returns zero', () => {
  const low = new Backoff(100, 1000, () => 0);
  assert.equal(low.next(), 50);
  const values = new Set<number>();
  const b = new Backoff(100, 10_000);
  for (let i = 0; i < 50; i++) {
    b.reset();
    for (let j = 0; j < 5; j++) values.add(b.next());
  }
  assert.ok(values.size > 20, `expected varied delays, got ${values.size} distinct`);
  for (const v of values) assert.ok(v >= 50 && v <= 1600, `delay ${v} outside [50, 1600]`);
});

test('reset starts over from the initial delay', () => {
  const b = new Backoff(100, 1000, () => 1);
  b.next(); b.next(); b.next();
  b.reset();
  assert.equal(b.next(), 100);
});

test('nonsense settings are refused', () => {
  assert.throws(() => new Backoff(0, 100), RangeError);
  assert.throws(() => new Backoff(200, 100), RangeError);
});
