import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolApiVersion, poolsPath } from '../../../src/kube/cilium-api-version.js';

const pools = { name: 'ciliumloadbalancerippools' };
const poolStatus = { name: 'ciliumloadbalancerippools/status' };
const policies = { name: 'ciliuml2announcementpolicies' };
const cnp = { name: 'ciliumnetworkpolicies' };

test('v2 when it serves pools (Cilium 1.18 and later, herald\'s CRDs), though v2alpha1 does too', () => {
  assert.equal(poolApiVersion({ v2: { resources: [cnp, pools, poolStatus] }, v2alpha1: { resources: [pools, poolStatus, policies] } }), 'v2');
});

test('v2alpha1 when cilium.io/v2 exists but lists no pools (Cilium 1.16 and 1.17)', () => {
  assert.equal(poolApiVersion({ v2: { resources: [cnp] }, v2alpha1: { resources: [pools, poolStatus, policies] } }), 'v2alpha1');
});

test('v2alpha1 when cilium.io/v2 is not served at all', () => {
  assert.equal(poolApiVersion({ v2alpha1: { resources: [policies, pools] } }), 'v2alpha1');
});

test('only the pools resource itself counts, not its status subresource or another kind', () => {
  assert.equal(poolApiVersion({ v2: { resources: [poolStatus, cnp] }, v2alpha1: { resources: [policies] } }), undefined);
});

test('nothing when no version serves pools (the CRD is not installed yet)', () => {
  assert.equal(poolApiVersion({}), undefined);
  assert.equal(poolApiVersion({ v2: {}, v2alpha1: { resources: [] } }), undefined);
});

test('the collection path of each version', () => {
  assert.equal(poolsPath('v2'), '/apis/cilium.io/v2/ciliumloadbalancerippools');
  assert.equal(poolsPath('v2alpha1'), '/apis/cilium.io/v2alpha1/ciliumloadbalancerippools');
});
