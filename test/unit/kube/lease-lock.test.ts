import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeTransport } from '../../../src/kube/transport.js';
import { LeaseLock, microTime, type Lease } from '../../../src/kube/lease-lock.js';

// Expiry is pure bookkeeping on observations; the API is never called here.
const noApi = {} as KubeTransport;

function lease(rv: string, holder: string, renewTime: Date): Lease {
  return { metadata: { name: 'l', namespace: 'ns', resourceVersion: rv }, spec: { holderIdentity: holder, leaseDurationSeconds: 2, renewTime: microTime(renewTime) } };
}

test('expiry counts from when this process saw the lease change, not from its timestamps', () => {
  let now = 1_000;
  const lock = new LeaseLock({ transport: noApi, namespace: 'ns', name: 'l', identity: 'me', leaseDurationSeconds: 2, now: () => now });
  assert.equal(lock.expired(), true, 'never seen: free to try');
  // A renewTime an hour in the past (a skewed clock) does not make it expired.
  lock.observe(lease('1', 'other', new Date(Date.now() - 3_600_000)));
  assert.equal(lock.expired(), false);
  assert.equal(lock.holder, 'other');
  now += 1_999;
  assert.equal(lock.expired(), false);
  now += 1;
  assert.equal(lock.expired(), true);
});

test('seeing the same version again does not restart the clock, a new version does', () => {
  let now = 0;
  const lock = new LeaseLock({ transport: noApi, namespace: 'ns', name: 'l', identity: 'me', leaseDurationSeconds: 2, now: () => now });
  lock.observe(lease('7', 'other', new Date()));
  now = 1_500;
  lock.observe(lease('7', 'other', new Date()));
  now = 2_100;
  assert.equal(lock.expired(), true, 'a repeated observation is not a renewal');
  lock.observe(lease('8', 'other', new Date()));
  assert.equal(lock.expired(), false, 'a renewal restarts the count');
});

test('a lease duration under one second is refused', () => {
  assert.throws(() => new LeaseLock({ transport: noApi, namespace: 'ns', name: 'l', identity: 'me', leaseDurationSeconds: 0 }), RangeError);
});

test('MicroTime has six fractional digits, as the apiserver expects', () => {
  assert.equal(microTime(new Date('2026-11-26T03:04:05.678Z')), '2026-11-26T03:04:05.678000Z');
});
