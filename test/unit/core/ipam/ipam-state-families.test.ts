import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionOf, ipsOf, pool, reasonOf, state, svc } from './fixtures.js';

const dual = () => pool('dual', [{ cidr: '192.0.2.0/28' }, { cidr: '2001:db8::/64' }]);
const v4only = () => pool('v4', [{ cidr: '192.0.2.0/28' }]);

describe('IpamState address families', () => {
  it('defaults to one IPv4 address', () => {
    const a = svc('a');
    const s = state([dual()], [a]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
  });

  it('SingleStack takes ipFamilies[0]', () => {
    const a = svc('a', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] });
    const s = state([dual()], [a]);
    assert.deepEqual(ipsOf(s, a), ['2001:db8::']);
  });

  it('SingleStack IPv6 with only IPv4 pools is no_pool', () => {
    const a = svc('a', { ipFamilies: ['IPv6'] });
    const s = state([v4only()], [a]);
    assert.equal(reasonOf(s, a), 'no_pool');
    assert.match(decisionOf(s, a).condition?.message ?? '', /IPv6/);
  });

  it('PreferDualStack takes each family some matching pool serves, primary first', () => {
    const a = svc('a', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] });
    const s = state([dual()], [a]);
    assert.deepEqual(ipsOf(s, a), ['2001:db8::', '192.0.2.0']);
    const b = svc('b', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] });
    const s2 = state([v4only()], [b]);
    assert.deepEqual(ipsOf(s2, b), ['192.0.2.0']);
    assert.equal(reasonOf(s2, b), 'satisfied');
    assert.equal(decisionOf(s2, b).condition?.message,
      'Assigned 192.0.2.0 (pool v4); no IPv6 address: no usable pool that selects this Service has IPv6 addresses (PreferDualStack accepts one family)');
    s2.upsertPool(pool('other', [{ cidr: '198.51.100.0/24' }]));
    s2.reconcile();
    assert.equal((decisionOf(s2, b).condition?.message.match(/no IPv6 address/g) ?? []).length, 1, 'said once, however often it is re-tried');
  });

  it('PreferDualStack picks up the second family when a pool for it appears', () => {
    const b = svc('b', { ipFamilyPolicy: 'PreferDualStack' });
    const s = state([v4only()], [b]);
    s.upsertPool(pool('v6', [{ cidr: '2001:db8::/120' }]));
    s.reconcile();
    assert.deepEqual(ipsOf(s, b), ['192.0.2.0', '2001:db8::']);
  });

  it('RequireDualStack takes both families, or the one it can with a reason', () => {
    const a = svc('a', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] });
    const s = state([dual()], [a]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0', '2001:db8::']);
    // The family it can have works meanwhile (as Cilium); the condition says what is missing.
    const s2 = state([v4only()], [a]);
    assert.deepEqual(ipsOf(s2, a), ['192.0.2.0']);
    assert.equal(reasonOf(s2, a), 'no_pool');
    assert.match(decisionOf(s2, a).condition?.message ?? '', /IPv6.*holding 192\.0\.2\.0 meanwhile/);
    s2.upsertPool(pool('v6', [{ cidr: '2001:db8::/120' }]));
    s2.reconcile();
    assert.deepEqual(ipsOf(s2, a), ['192.0.2.0', '2001:db8::']);
    assert.equal(reasonOf(s2, a), 'satisfied');
  });

  it('releases an address of a family the Service no longer wants', () => {
    const a = svc('a', { ipFamilyPolicy: 'PreferDualStack' });
    const s = state([dual()], [a]);
    assert.equal(ipsOf(s, a).length, 2);
    s.upsertService({ ...a, ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] });
    s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
  });
});
