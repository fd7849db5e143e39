/** The blackout arithmetic the failover tests rely on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answeringNode, answerSequence, longestBlackoutMs, type Sample } from '../../../harness/blackout-probe.js';

const ok = (at: number, node: string): Sample => ({ at, ms: 2, node });
const fail = (at: number, ms = 250): Sample => ({ at, ms, error: 'timeout' });

test('no failure is no blackout', () => {
  assert.equal(longestBlackoutMs([ok(0, 'a'), ok(10, 'a')]), 0);
  assert.equal(longestBlackoutMs([]), 0);
});

test('a run of failures lasts from its first send to the next success', () => {
  const samples = [ok(0, 'b'), fail(10), fail(20), fail(30), ok(40, 'c'), fail(50), ok(60, 'c')];
  assert.equal(longestBlackoutMs(samples), 30);
});

test('a run that never ends lasts until the last request gave up', () => {
  assert.equal(longestBlackoutMs([ok(0, 'b'), fail(10), fail(20, 100)]), 110);
});

test('the answer sequence collapses runs and skips failures', () => {
  assert.deepEqual(answerSequence([ok(0, 'b'), ok(10, 'b'), fail(20), ok(30, 'c'), ok(40, 'b')]), ['b', 'c', 'b']);
});

test('the answering node is read from both pods\' answers: the stand-in\'s and the real cluster\'s', () => {
  assert.equal(answeringNode('node-b\n'), 'node-b');
  assert.equal(answeringNode('node-b'), 'node-b');
  assert.equal(answeringNode('echo-7d9c6b5f4-x2k8q on node-b\n'), 'node-b');
  assert.equal(answeringNode('move-5c8d7-abcde on node-x\nmore\n'), 'node-x');
  assert.equal(answeringNode(''), '');
});
