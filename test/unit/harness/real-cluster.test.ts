/** The lab's pod network: how 203.0.113.0/24 is split between the nodes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_POD_NODES, podCidr, podPrefix, podsPerNode } from '../../../harness/real-cluster.js';

test('up to 16 nodes, each has a /28 with room for 13 pods, as before', () => {
  assert.equal(podPrefix(1), 28);
  assert.equal(podPrefix(16), 28);
  assert.equal(podsPerNode(28), 13);
  assert.equal(podCidr(0, 3), '203.0.113.0/28');
  assert.equal(podCidr(2, 3), '203.0.113.32/28');
  assert.equal(podCidr(15, 16), '203.0.113.240/28');
  assert.equal(podCidr(15), '203.0.113.240/28', 'the default is a lab of 16');
});

test('17 to 32 nodes share the range as /29s with room for 5 pods each', () => {
  assert.equal(podPrefix(17), 29);
  assert.equal(podPrefix(MAX_POD_NODES), 29);
  assert.equal(podsPerNode(29), 5);
  assert.equal(podCidr(0, 24), '203.0.113.0/29');
  assert.equal(podCidr(1, 24), '203.0.113.8/29');
  assert.equal(podCidr(23, 24), '203.0.113.184/29');
  assert.equal(podCidr(31, 32), '203.0.113.248/29');
});

test('the shares of a lab never overlap and stay inside the range', () => {
  for (const n of [1, 3, 8, 16, 17, 24, 32]) {
    const starts = Array.from({ length: n }, (_, i) => Number((podCidr(i, n).split('/')[0] ?? '').split('.')[3]));
    const size = 2 ** (32 - podPrefix(n));
    for (const [i, s] of starts.entries()) {
      assert.equal(s % size, 0, `${podCidr(i, n)} is aligned`);
      assert.ok(s + size <= 256, `${podCidr(i, n)} is inside 203.0.113.0/24`);
      if (i > 0) assert.equal(s, (starts[i - 1] ?? 0) + size, 'next to the previous one');
    }
  }
});

test('no room beyond 32 nodes, nor for a node outside the lab', () => {
  assert.throws(() => podPrefix(33), /room for 1 to 32 nodes/);
  assert.throws(() => podPrefix(0), /room for 1 to 32 nodes/);
  assert.throws(() => podCidr(16, 16), /no node 16/);
  assert.throws(() => podCidr(-1, 3), /no node -1/);
});
