import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionOf, ipsOf, pool, reasonOf, state, svc } from './fixtures.js';
import { IpamState } from '../../../../src/core/ipam/ipam-state.js';

const message = (s: Parameters<typeof decisionOf>[0], v: Parameters<typeof decisionOf>[1]): string => decisionOf(s, v).condition?.message ?? '';

describe('IpamState requested IPs', () => {
  it('assigns exactly the requested IPs from loadBalancerIP and both annotation spellings, trimmed and de-duplicated', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/24' }, { cidr: '2001:db8::/64' }]);
    const a = svc('a', { loadBalancerIP: '192.0.2.50', annotations: { 'lbipam.cilium.io/ips': ' 192.0.2.60 , 192.0.2.50,2001:DB8::7' } });
    const b = svc('b', { annotations: { 'io.cilium/lb-ipam-ips': '192.0.2.70' } });
    const s = state([p], [a, b]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.50', '192.0.2.60', '2001:db8::7']);
    assert.deepEqual(ipsOf(s, b), ['192.0.2.70']);
    assert.equal(reasonOf(s, a), 'satisfied');
  });

  it('allocates nothing automatically when IPs are requested', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/24' }]);
    const a = svc('a', { loadBalancerIP: '198.51.100.1' });
    const s = state([p], [a]);
    assert.deepEqual(ipsOf(s, a), []);
    assert.equal(reasonOf(s, a), 'no_pool');
    assert.match(message(s, a), /no pool contains the requested IP 198\.51\.100\.1/);
  });

  it('is satisfied only when every requested IP is assigned, and keeps the ones it got', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/24' }]);
    const holder = svc('holder', { loadBalancerIP: '192.0.2.9' });
    const a = svc('a', { annotations: { 'lbipam.cilium.io/ips': '192.0.2.8,192.0.2.9' } });
    const s = state([p], [holder, a]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.8']);
    assert.equal(reasonOf(s, a), 'already_allocated');
    assert.match(message(s, a), /192\.0\.2\.9 is already allocated to default\/holder/);
    s.deleteService('default', 'holder');
    s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.8', '192.0.2.9']);
    assert.equal(reasonOf(s, a), 'satisfied');
  });

  it('reports pool_selector_mismatch when the pool holding the IP does not select the Service', () => {
    const p = pool('blue-only', [{ cidr: '192.0.2.0/24' }], { serviceSelector: { matchLabels: { color: 'blue' } } });
    const a = svc('a', { loadBalancerIP: '192.0.2.5', labels: { color: 'red' } });
    const s = state([p], [a]);
    assert.equal(reasonOf(s, a), 'pool_selector_mismatch');
    assert.match(message(s, a), /192\.0\.2\.5 is in pool blue-only, whose serviceSelector does not select this Service/);
  });

  it('reports the selector mismatch rather than the holder when the pool would refuse the Service anyway', () => {
    const p = pool('blue-only', [{ cidr: '192.0.2.0/24' }], { serviceSelector: { matchLabels: { color: 'blue' } } });
    const holder = svc('holder', { loadBalancerIP: '192.0.2.5', labels: { color: 'blue' } });
    const red = svc('red', { loadBalancerIP: '192.0.2.5', labels: { color: 'red' } });
    const s = state([p], [holder, red]);
    assert.equal(reasonOf(s, red), 'pool_selector_mismatch');
  });

  it('names an unparsable requested IP', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/24' }]);
    const a = svc('a', { annotations: { 'lbipam.cilium.io/ips': '192.0.2.5, 192.0.2.300' } });
    const s = state([p], [a]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.5']);
    assert.equal(reasonOf(s, a), 'no_pool');
    assert.match(message(s, a), /requested IP "192\.0\.2\.300" is not a valid IPv4 or IPv6 address/);
  });

  it('explains a requested network address reserved by allowFirstLastIPs: No', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/24' }], { allowFirstLastIPs: 'No' });
    const a = svc('a', { loadBalancerIP: '192.0.2.255' });
    const s = state([p], [a]);
    assert.equal(reasonOf(s, a), 'no_pool');
    assert.match(message(s, a), /first or last address .* pool p/);
  });

  it('does not take a requested IP from a disabled pool', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/24' }], { disabled: true });
    const a = svc('a', { loadBalancerIP: '192.0.2.5' });
    const s = state([p], [a]);
    assert.equal(reasonOf(s, a), 'no_pool');
    assert.match(message(s, a), /pool p \(disabled\)/);
  });

  it('moves from the automatic address to the requested one when a request is added', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/24' }]);
    const a = svc('a');
    const s = state([p], [a]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
    s.upsertService({ ...a, loadBalancerIP: '192.0.2.77' });
    const r = s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.77']);
    assert.deepEqual(r.events.map((e) => e.reason), ['IPReleased', 'IPAllocated']);
  });
});

describe('IpamState: an address a Service names is never handed out automatically', () => {
  const sameSecond = '2026-03-01T00:00:00Z';

  it('whatever the batch order: the Service that names it gets it, the other the next one (issue 12, 1)', () => {
    for (const order of ['web first', 'api first']) {
      const p = pool('p', [{ cidr: '192.0.2.252/30' }], { allowFirstLastIPs: 'Yes' });
      // One kubectl create of a List: same creationTimestamp, and "api" sorts before "web".
      const web = svc('web', { creationTimestamp: sameSecond, annotations: { 'lbipam.cilium.io/ips': '192.0.2.252' } });
      const api = svc('api', { creationTimestamp: sameSecond });
      const s = state([p], order === 'web first' ? [web, api] : [api, web]);
      assert.deepEqual(ipsOf(s, web), ['192.0.2.252'], order);
      assert.deepEqual(ipsOf(s, api), ['192.0.2.253'], order);
      assert.equal(reasonOf(s, web), 'satisfied');
    }
  });

  it('also across batches: a requester still waiting keeps its address out of automatic allocation', () => {
    const p = pool('p', [{ start: '192.0.2.10', stop: '192.0.2.11' }]);
    const holder = svc('holder', { loadBalancerIP: '192.0.2.10' });
    const web = svc('web', { loadBalancerIP: '192.0.2.10' });
    const s = state([p], [holder, web]);
    assert.equal(reasonOf(s, web), 'already_allocated');
    const api = svc('api');
    const late = svc('late');
    s.upsertService(api);
    s.upsertService(late);
    s.deleteService('default', 'holder');
    s.reconcile();
    assert.deepEqual(ipsOf(s, web), ['192.0.2.10'], 'freed, it goes to the Service that named it');
    assert.deepEqual(ipsOf(s, api), ['192.0.2.11']);
    assert.equal(reasonOf(s, late), 'out_of_ips');
    assert.equal(s.poolStatuses()[0]?.available, '0');
  });

  it('an address nobody names any more is free again, for a Service waiting for one', () => {
    const p = pool('p', [{ start: '192.0.2.10', stop: '192.0.2.10' }]);
    const wants = svc('wants', { loadBalancerIP: '192.0.2.10', labels: { color: 'red' } });
    const s = new IpamState();
    s.upsertPool({ ...p, serviceSelector: { matchLabels: { color: 'blue' } } });
    s.upsertService(wants);
    const waiting = svc('waiting', { labels: { color: 'blue' } });
    s.upsertService(waiting);
    s.reconcile();
    assert.equal(reasonOf(s, wants), 'pool_selector_mismatch');
    assert.equal(reasonOf(s, waiting), 'out_of_ips', 'the named address is kept for the Service that named it, even while it cannot have it');
    s.upsertService({ ...wants, loadBalancerIP: undefined, annotations: { 'lbipam.cilium.io/ips': '198.51.100.1' } });
    s.reconcile();
    assert.deepEqual(ipsOf(s, waiting), ['192.0.2.10']);
  });
});
