import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpamState } from '../../../../src/core/ipam/ipam-state.js';
import { decisionOf, ipsOf, pool, reasonOf, state, svc } from './fixtures.js';

describe('IpamState allocation', () => {
  it('gives two Services the first two addresses of the pool (seed 001)', () => {
    const p = pool('default-pool', [{ start: '172.19.0.240', stop: '172.19.0.250' }]);
    const a = svc('app1-service');
    const b = svc('app2-service');
    const s = state([p], [b, a]);
    assert.deepEqual(ipsOf(s, a), ['172.19.0.240']);
    assert.deepEqual(ipsOf(s, b), ['172.19.0.241']);
    assert.deepEqual(decisionOf(s, a).condition, {
      type: 'cilium.io/IPAMRequestSatisfied',
      status: 'True',
      reason: 'satisfied',
      message: 'Assigned 172.19.0.240 (pool default-pool)',
    });
  });

  it('re-uses the lowest freed address', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/29' }]);
    const [a, b, c] = [svc('a'), svc('b'), svc('c')];
    const s = state([p], [a, b, c]);
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b), ipsOf(s, c)], [['192.0.2.0'], ['192.0.2.1'], ['192.0.2.2']]);
    s.deleteService('default', 'a');
    const r = s.reconcile();
    assert.ok(r.events.some((e) => e.reason === 'IPReleased' && e.message.startsWith('Released 192.0.2.0')));
    const d = svc('d');
    s.upsertService(d);
    s.reconcile();
    assert.deepEqual(ipsOf(s, d), ['192.0.2.0']);
  });

  it('reports out_of_ips when the pool is full, and allocates once an address frees up', () => {
    const p = pool('tiny', [{ start: '192.0.2.10' }]);
    const a = svc('a');
    const b = svc('b');
    const s = state([p], [a, b]);
    assert.equal(reasonOf(s, a), 'satisfied');
    assert.equal(reasonOf(s, b), 'out_of_ips');
    assert.match(decisionOf(s, b).condition?.message ?? '', /no free IPv4 address in pool tiny/);
    s.deleteService('default', 'a');
    const r = s.reconcile();
    assert.deepEqual(ipsOf(s, b), ['192.0.2.10']);
    assert.ok(r.services.some((d) => d.name === 'b' && d.condition?.reason === 'satisfied'));
  });

  it('reports no_pool when no pool selects the Service', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }], { serviceSelector: { matchLabels: { color: 'blue' } } });
    const a = svc('a', { labels: { color: 'red' } });
    const s = state([p], [a]);
    assert.equal(reasonOf(s, a), 'no_pool');
    assert.deepEqual(ipsOf(s, a), []);
  });

  it('emits an allocation event and a failure warning only when the condition changes', () => {
    const p = pool('p', [{ start: '192.0.2.1' }]);
    const a = svc('a');
    const b = svc('b');
    const s = new IpamState();
    s.upsertPool(p);
    s.upsertService(a);
    s.upsertService(b);
    const r = s.reconcile();
    assert.deepEqual(
      r.events.map((e) => [e.object.name, e.type, e.reason]),
      [
        ['a', 'Normal', 'IPAllocated'],
        ['b', 'Warning', 'IPAllocationFailed'],
      ],
    );
    s.upsertPool({ ...p, blocks: [{ start: '192.0.2.1' }, { start: '192.0.2.200' }], serviceSelector: { matchLabels: { x: 'y' } } });
    s.upsertPool(p);
    const again = s.reconcile();
    assert.equal(again.events.filter((e) => e.reason === 'IPAllocationFailed').length, 0);
  });

  it('lets foreign loadBalancerClass and non-LoadBalancer Services alone', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const foreign = svc('foreign', { loadBalancerClass: 'example.com/other' });
    const cluster = svc('cluster', { type: 'ClusterIP' });
    const ours = svc('ours', { loadBalancerClass: 'io.cilium/l2-announcer' });
    const s = new IpamState();
    s.upsertPool(p);
    for (const v of [foreign, cluster, ours]) s.upsertService(v);
    const r = s.reconcile();
    assert.deepEqual(r.services.map((d) => d.name), ['ours']);
    assert.equal(s.decision('default', 'foreign'), undefined);
    assert.deepEqual(ipsOf(s, ours), ['192.0.2.0']);
  });

  it('serves configured classes instead of the default', () => {
    const s = new IpamState({ loadBalancerClasses: ['example.com/mine'] });
    s.upsertPool(pool('p', [{ cidr: '192.0.2.0/28' }]));
    const mine = svc('mine', { loadBalancerClass: 'example.com/mine' });
    const cilium = svc('cilium', { loadBalancerClass: 'io.cilium/l2-announcer' });
    s.upsertService(mine);
    s.upsertService(cilium);
    s.reconcile();
    assert.deepEqual(ipsOf(s, mine), ['192.0.2.0']);
    assert.equal(s.decision('default', 'cilium'), undefined);
  });

  it('releases the addresses of a Service that becomes ineligible, and says so', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const a = svc('a');
    const s = state([p], [a]);
    s.upsertService({ ...a, type: 'NodePort' });
    const r = s.reconcile();
    assert.deepEqual(r.services, [{ key: 'default/a', namespace: 'default', name: 'a', managed: false, ips: [] }]);
    assert.equal(s.assignments().length, 0);
    s.upsertService({ ...a, loadBalancerClass: 'example.com/x' });
    assert.deepEqual(s.reconcile().services, []);
    s.upsertService(a);
    s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
  });

  it('reports a deleted Service once as unmanaged and forgets it', () => {
    const a = svc('a');
    const s = state([pool('p', [{ cidr: '192.0.2.0/28' }])], [a]);
    s.deleteService('default', 'a');
    const r = s.reconcile();
    assert.deepEqual(r.services.map((d) => [d.name, d.managed]), [['a', false]]);
    assert.equal(s.decision('default', 'a'), undefined);
    assert.deepEqual(s.reconcile(), { services: [], pools: [], events: [] });
  });

  it('processes Services in creation order, whatever order they arrive in', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const services = Array.from({ length: 6 }, (_, i) => svc(`s${i}`));
    const forward = state([p], services);
    const backward = state([p], [...services].reverse());
    for (const v of services) assert.deepEqual(ipsOf(forward, v), ipsOf(backward, v));
    assert.deepEqual(ipsOf(forward, services[0]!), ['192.0.2.0']);
  });

  it('is idempotent: a second reconcile changes nothing', () => {
    const s = state([pool('p', [{ cidr: '192.0.2.0/28' }])], [svc('a'), svc('b')]);
    assert.deepEqual(s.reconcile(), { services: [], pools: [], events: [] });
  });
});
