import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpamState } from '../../../../src/core/ipam/ipam-state.js';
import type { PoolStatus } from '../../../../src/core/ipam/types.js';
import { decisionOf, ipsOf, pool, reasonOf, state, svc } from './fixtures.js';

function statusOf(s: IpamState, name: string): PoolStatus {
  const st = s.poolStatuses().find((p) => p.name === name);
  if (st === undefined) throw new Error(`no pool ${name}`);
  return st;
}

function condition(st: PoolStatus, type: string): { status: string; reason: string; message: string } | undefined {
  return st.conditions.find((c) => c.type === type);
}

describe('IpamState pools', () => {
  it('allowFirstLastIPs: No reserves network and broadcast of CIDRs larger than two addresses', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/30' }, { cidr: '198.51.100.0/31' }, { start: '203.0.113.0', stop: '203.0.113.1' }], { allowFirstLastIPs: 'No' });
    const services = Array.from({ length: 6 }, (_, i) => svc(`s${i}`));
    const s = state([p], services);
    assert.deepEqual(
      services.map((v) => ipsOf(s, v)[0]),
      ['192.0.2.1', '192.0.2.2', '198.51.100.0', '198.51.100.1', '203.0.113.0', '203.0.113.1'],
    );
    assert.equal(statusOf(s, 'p').total, '6');
  });

  it('allowFirstLastIPs empty or Yes allows the first and last address', () => {
    for (const allow of [undefined, '', 'Yes']) {
      const p = pool('p', [{ cidr: '192.0.2.0/30' }], allow === undefined ? {} : { allowFirstLastIPs: allow });
      const services = Array.from({ length: 4 }, (_, i) => svc(`s${i}`));
      const s = state([p], services);
      assert.deepEqual(services.map((v) => ipsOf(s, v)[0]), ['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3']);
    }
  });

  it('a disabled pool allocates nothing new but keeps existing allocations', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const a = svc('a');
    const s = state([p], [a]);
    s.upsertPool({ ...p, disabled: true });
    const b = svc('b');
    s.upsertService(b);
    s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
    assert.equal(reasonOf(s, b), 'no_pool');
    assert.match(decisionOf(s, b).condition?.message ?? '', /p \(disabled\)/);
    // Cilium's count: what is free, disabled or not (kubectl get shows it).
    assert.equal(statusOf(s, 'p').available, '15');
    assert.equal(statusOf(s, 'p').used, '1');
    s.upsertPool(p);
    s.reconcile();
    assert.deepEqual(ipsOf(s, b), ['192.0.2.1']);
  });

  it('marks the newer of two overlapping pools conflicting, and clears it when the overlap goes', () => {
    const older = pool('older', [{ cidr: '192.0.2.0/24' }]);
    const newer = pool('newer', [{ start: '192.0.2.250', stop: '192.0.3.5' }]);
    const s = new IpamState();
    s.upsertPool(newer);
    s.upsertPool(older);
    const r = s.reconcile();
    const conflict = condition(statusOf(s, 'newer'), 'cilium.io/PoolConflict');
    assert.equal(conflict?.status, 'True');
    assert.equal(conflict.reason, 'cidr_overlap');
    assert.match(conflict.message, /192\.0\.2\.250-192\.0\.3\.5.*192\.0\.2\.0\/24.*"older"/);
    assert.deepEqual(condition(statusOf(s, 'older'), 'cilium.io/PoolConflict'), {
      type: 'cilium.io/PoolConflict',
      status: 'False',
      reason: 'resolved',
      message: 'Pool does not conflict with other pools',
    });
    assert.ok(r.events.some((e) => e.object.name === 'newer' && e.reason === 'PoolConflict' && e.type === 'Warning'));
    assert.equal(statusOf(s, 'newer').conflicting, true);
    // Cilium shows a conflicting pool's real count too (its docs: "red-pool false True 254").
    assert.equal(statusOf(s, 'newer').available, '12');

    s.upsertPool({ ...newer, blocks: [{ start: '192.0.3.0', stop: '192.0.3.5' }] });
    const cleared = s.reconcile();
    assert.equal(condition(statusOf(s, 'newer'), 'cilium.io/PoolConflict')?.reason, 'resolved');
    assert.ok(cleared.events.some((e) => e.object.name === 'newer' && e.reason === 'PoolConflictResolved'));
  });

  it('breaks creation-time ties by name', () => {
    const a = pool('a', [{ cidr: '192.0.2.0/28' }], { creationTimestamp: '2026-01-01T00:00:00Z' });
    const b = pool('b', [{ cidr: '192.0.2.8/29' }], { creationTimestamp: '2026-01-01T00:00:00Z' });
    const s = state([b, a], []);
    assert.equal(statusOf(s, 'a').conflicting, false);
    assert.equal(statusOf(s, 'b').conflicting, true);
  });

  it('a pool whose own blocks overlap is conflicting', () => {
    const s = state([pool('self', [{ cidr: '192.0.2.0/28' }, { start: '192.0.2.3', stop: '192.0.2.4' }])], []);
    assert.equal(statusOf(s, 'self').conflicting, true);
    assert.match(condition(statusOf(s, 'self'), 'cilium.io/PoolConflict')?.message ?? '', /conflicts with itself/);
  });

  it('a conflicting pool allocates nothing but keeps existing allocations', () => {
    const b = pool('b', [{ cidr: '198.51.100.0/28' }]);
    const a = svc('a');
    const s = state([b], [a]);
    assert.deepEqual(ipsOf(s, a), ['198.51.100.0']);
    // An older pool appears over the same range: b becomes conflicting.
    s.upsertPool(pool('a-older', [{ cidr: '198.51.100.8/29' }], { creationTimestamp: '2020-01-01T00:00:00Z' }));
    s.reconcile();
    assert.equal(statusOf(s, 'b').conflicting, true);
    assert.deepEqual(ipsOf(s, a), ['198.51.100.0'], 'existing allocation kept');
    const c = svc('c', { labels: { only: 'b' } });
    s.upsertPool({ ...statusOfSpec('a-older'), serviceSelector: { matchLabels: { only: 'older' } } });
    s.upsertService(c);
    s.reconcile();
    assert.equal(reasonOf(s, c), 'no_pool');
    assert.match(decisionOf(s, c).condition?.message ?? '', /b \(conflicting\)/);
  });

  it('reports total, available and used as BigInt-safe decimal strings', () => {
    const s = state([pool('v6', [{ cidr: '2001:db8::/64' }])], [svc('a', { ipFamilies: ['IPv6'] })]);
    const st = statusOf(s, 'v6');
    assert.equal(st.total, '18446744073709551616');
    assert.equal(st.used, '1');
    assert.equal(st.available, '18446744073709551615');
    assert.deepEqual(
      st.conditions.filter((c) => c.type !== 'cilium.io/PoolConflict').map((c) => [c.type, c.status, c.message]),
      [
        ['cilium.io/IPsTotal', 'Unknown', '18446744073709551616'],
        ['cilium.io/IPsAvailable', 'Unknown', '18446744073709551615'],
        ['cilium.io/IPsUsed', 'Unknown', '1'],
      ],
    );
  });

  it('a pool with an invalid selector or block allocates nothing, keeps what it has and says why', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const a = svc('a');
    const s = state([p], [a]);
    s.upsertPool({ ...p, serviceSelector: { matchExpressions: [{ key: 'x', operator: 'Bogus' }] }, blocks: [{ cidr: '192.0.2.0/28' }, { cidr: 'nonsense' }] });
    const b = svc('b');
    s.upsertService(b);
    const r = s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0'], 'a typo does not move Services');
    assert.equal(reasonOf(s, b), 'no_pool');
    const st = statusOf(s, 'p');
    assert.equal(st.problems.length, 2);
    assert.match(st.problems.join(), /unknown operator "Bogus"/);
    assert.match(st.problems.join(), /"nonsense"/);
    assert.equal(condition(st, 'herald.io/PoolInvalid')?.status, 'True');
    assert.ok(r.events.some((e) => e.reason === 'InvalidPool'));
  });

  it('an invalid pool recovers once fixed', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const a = svc('a');
    const s = state([{ ...p, blocks: [{ cidr: '192.0.2.0/28' }, { cidr: 'x' }] }], [a]);
    assert.equal(reasonOf(s, a), 'no_pool');
    s.upsertPool(p);
    const r = s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
    assert.equal(condition(statusOf(s, 'p'), 'herald.io/PoolInvalid'), undefined);
    assert.deepEqual(r.pools.map((x) => x.problems), [[]]);
  });

  it('an invalid pool does not take other pools down', () => {
    const bad = pool('bad', [{ cidr: '192.0.2.0/28' }], { serviceSelector: { matchExpressions: [{ key: 'x', operator: 'In', values: [] }] } });
    const good = pool('good', [{ cidr: '198.51.100.0/28' }]);
    const a = svc('a');
    const s = state([bad, good], [a]);
    assert.deepEqual(ipsOf(s, a), ['198.51.100.0']);
    assert.match(statusOf(s, 'bad').problems.join(), /In needs at least one value/);
    assert.deepEqual(statusOf(s, 'good').problems, []);
  });

  it('allocates from the older of two overlapping pools, never from the conflicting one', () => {
    const older = pool('older', [{ cidr: '192.0.2.8/29' }]);
    const newer = pool('newer', [{ cidr: '192.0.2.0/28' }]);
    const a = svc('a');
    const s = state([older, newer], [a]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.8']);
    assert.equal(s.assignments()[0]?.pool, 'older');
  });

  it('selects on the pseudo-labels, which the Service\'s own labels cannot fake', () => {
    const p = pool('ns-pool', [{ cidr: '192.0.2.0/28' }], {
      serviceSelector: { matchLabels: { 'io.kubernetes.service.namespace': 'prod', 'io.kubernetes.service.name': 'web' } },
    });
    const real = svc('web', { namespace: 'prod' });
    const faker = svc('other', { namespace: 'dev', labels: { 'io.kubernetes.service.namespace': 'prod', 'io.kubernetes.service.name': 'web' } });
    const s = state([p], [real, faker]);
    assert.deepEqual(ipsOf(s, real), ['192.0.2.0']);
    assert.equal(reasonOf(s, faker), 'no_pool');
  });

  it('picks the oldest matching pool first, and the next one when it is full', () => {
    const first = pool('first', [{ start: '192.0.2.1' }]);
    const second = pool('second', [{ start: '198.51.100.1', stop: '198.51.100.2' }]);
    const [a, b] = [svc('a'), svc('b')];
    const s = state([second, first], [a, b]);
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.1'], ['198.51.100.1']]);
  });
});

describe('IpamState pool edits move only the affected Services', () => {
  it('shrinking a pool moves only the Services that fell out', () => {
    const p = pool('p', [{ start: '192.0.2.1', stop: '192.0.2.3' }, { start: '192.0.2.10', stop: '192.0.2.20' }]);
    const services = Array.from({ length: 4 }, (_, i) => svc(`s${i}`));
    const s = state([p], services);
    assert.deepEqual(services.map((v) => ipsOf(s, v)[0]), ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.10']);
    s.upsertPool({ ...p, blocks: [{ start: '192.0.2.1', stop: '192.0.2.2' }, { start: '192.0.2.10', stop: '192.0.2.20' }] });
    const r = s.reconcile();
    assert.deepEqual(services.map((v) => ipsOf(s, v)[0]), ['192.0.2.1', '192.0.2.2', '192.0.2.11', '192.0.2.10']);
    assert.deepEqual(r.services.map((d) => d.name), ['s2']);
    assert.ok(r.events.some((e) => e.reason === 'IPReleased' && /192\.0\.2\.3 \(pool p\): pool p no longer contains it/.test(e.message)));
  });

  it('adding a block moves nobody and serves waiting Services', () => {
    const p = pool('p', [{ start: '192.0.2.1' }]);
    const [a, b] = [svc('a'), svc('b')];
    const s = state([p], [a, b]);
    assert.equal(reasonOf(s, b), 'out_of_ips');
    s.upsertPool({ ...p, blocks: [{ start: '192.0.2.1' }, { cidr: '192.0.2.0/32' }] });
    const r = s.reconcile();
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.1'], ['192.0.2.0']]);
    assert.deepEqual(r.services.map((d) => d.name), ['b']);
  });

  it('changing the selector moves only the Services it no longer selects', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const other = pool('other', [{ cidr: '198.51.100.0/28' }]);
    const blue = svc('blue', { labels: { color: 'blue' } });
    const red = svc('red', { labels: { color: 'red' } });
    const s = state([p, other], [blue, red]);
    assert.deepEqual([ipsOf(s, blue), ipsOf(s, red)], [['192.0.2.0'], ['192.0.2.1']]);
    s.upsertPool({ ...p, serviceSelector: { matchLabels: { color: 'blue' } } });
    const r = s.reconcile();
    assert.deepEqual([ipsOf(s, blue), ipsOf(s, red)], [['192.0.2.0'], ['198.51.100.0']]);
    assert.deepEqual(r.services.map((d) => d.name), ['red']);
  });

  it('deleting a pool moves its Services, or re-homes them to another pool that contains the address', () => {
    const older = pool('older', [{ cidr: '192.0.2.0/28' }]);
    const newer = pool('newer', [{ cidr: '192.0.2.0/29' }]);
    const elsewhere = pool('elsewhere', [{ cidr: '198.51.100.0/28' }]);
    const [a, b] = [svc('a'), svc('b', { loadBalancerIP: '192.0.2.12' })];
    const s = state([older, newer, elsewhere], [a, b]);
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.0'], ['192.0.2.12']]);
    s.deletePool('older');
    s.reconcile();
    // 192.0.2.0 is also in "newer": kept. 192.0.2.12 is in no pool any more.
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
    assert.deepEqual(s.assignments().find((x) => x.ip === '192.0.2.0')?.pool, 'newer');
    assert.equal(reasonOf(s, b), 'no_pool');
    assert.equal(statusOf(s, 'newer').conflicting, false, 'conflict cleared once the older pool is gone');
  });
});

function statusOfSpec(name: string): ReturnType<typeof pool> {
  return pool(name, [{ cidr: '198.51.100.8/29' }], { creationTimestamp: '2020-01-01T00:00:00Z' });
}

describe('IpamState: allowFirstLastIPs only governs new allocations', () => {
  it('Yes → No keeps the first and last addresses in use, requested or automatic, and gives them to nobody new (issue 12, 2)', () => {
    const p = pool('p', [{ cidr: '192.0.2.4/30' }], { allowFirstLastIPs: 'Yes' });
    const asked = svc('asked', { loadBalancerIP: '192.0.2.4' });
    const auto1 = svc('auto1');
    const auto2 = svc('auto2');
    const auto3 = svc('auto3');
    const s = state([p], [asked, auto1, auto2, auto3]);
    assert.deepEqual([asked, auto1, auto2, auto3].map((v) => ipsOf(s, v)[0]), ['192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7']);
    s.upsertPool({ ...p, allowFirstLastIPs: 'No' });
    const r = s.reconcile();
    assert.deepEqual([asked, auto1, auto2, auto3].map((v) => ipsOf(s, v)[0]), ['192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7']);
    assert.deepEqual(r.events.filter((e) => e.reason === 'IPReleased'), [], 'nothing released');
    s.deleteService('default', 'auto3');
    const late = svc('late');
    s.upsertService(late);
    s.reconcile();
    assert.equal(reasonOf(s, late), 'out_of_ips', 'the freed last address is not handed out again');
    const again = svc('again', { loadBalancerIP: '192.0.2.7' });
    s.upsertService(again);
    s.reconcile();
    assert.equal(reasonOf(s, again), 'no_pool');
    assert.match(decisionOf(s, again).condition?.message ?? '', /first or last address of a CIDR in pool p, reserved by allowFirstLastIPs: No/);
  });

  it('an address leaves its Service when it leaves the pool\'s blocks', () => {
    const p = pool('p', [{ cidr: '192.0.2.4/30' }], { allowFirstLastIPs: 'Yes' });
    const a = svc('a', { loadBalancerIP: '192.0.2.4' });
    const s = state([p], [a]);
    s.upsertPool({ ...p, blocks: [{ cidr: '192.0.2.8/30' }] });
    s.reconcile();
    assert.deepEqual(ipsOf(s, a), []);
    assert.equal(reasonOf(s, a), 'no_pool');
  });
});

describe('IpamState: an edit that breaks a pool moves nothing', () => {
  it('a block made unparsable keeps covering what its last valid version covered, until fixed', () => {
    const p = pool('p', [{ start: '192.0.2.1', stop: '192.0.2.9' }]);
    const a = svc('a', { loadBalancerIP: '192.0.2.5' });
    const b = svc('b');
    const s = state([p], [a, b]);
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.5'], ['192.0.2.1']]);
    s.upsertPool({ ...p, blocks: [{ start: '192.0.2.1', stop: 'gateway' }] });
    const r = s.reconcile();
    assert.ok(statusOf(s, 'p').problems.length > 0);
    assert.deepEqual(r.events.filter((e) => e.reason === 'IPReleased'), []);
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.5'], ['192.0.2.1']]);
    // Broken twice in a row: still the last valid version that counts.
    s.upsertPool({ ...p, blocks: [{ start: 'x', stop: 'y' }] });
    s.reconcile();
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.5'], ['192.0.2.1']]);
    const c = svc('c');
    s.upsertService(c);
    s.reconcile();
    assert.equal(reasonOf(s, c), 'no_pool', 'an invalid pool hands out nothing');
    s.upsertPool({ ...p, blocks: [{ start: '192.0.2.1', stop: '192.0.2.3' }] });
    s.reconcile();
    assert.deepEqual(ipsOf(s, a), [], 'a valid edit that leaves the address out does take it back');
    assert.deepEqual(ipsOf(s, b), ['192.0.2.1']);
  });
});
