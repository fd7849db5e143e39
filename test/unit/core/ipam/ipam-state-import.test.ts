import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpamState } from '../../../../src/core/ipam/ipam-state.js';
import { ipsOf, pool, svc } from './fixtures.js';

describe('IpamState.importAssignments', () => {
  it('keeps valid addresses from status before allocating anything new, and reports the invalid ones', () => {
    const p = pool('p', [{ cidr: '192.0.2.0/28' }]);
    const blue = pool('blue', [{ cidr: '198.51.100.0/28' }], { serviceSelector: { matchLabels: { color: 'blue' } } });
    const fresh = svc('fresh');
    const a = svc('a');
    const b = svc('b');
    const c = svc('c');
    const gone = svc('gone', { type: 'ClusterIP' });
    const s = new IpamState();
    s.upsertPool(p);
    s.upsertPool(blue);
    for (const v of [fresh, a, b, c, gone]) s.upsertService(v);
    const report = s.importAssignments([
      { namespace: 'default', name: 'a', ips: ['192.0.2.7'] },
      { namespace: 'default', name: 'b', ips: ['192.0.2.7', '203.0.113.1', 'junk'] },
      { namespace: 'default', name: 'c', ips: ['198.51.100.3'] },
      { namespace: 'default', name: 'gone', ips: ['192.0.2.9'] },
    ]);
    assert.deepEqual(report.kept, [{ service: 'default/a', ip: '192.0.2.7', pool: 'p' }]);
    assert.deepEqual(
      report.rejected.map((r) => [r.service, r.ip]),
      [
        ['default/b', '192.0.2.7'],
        ['default/b', '203.0.113.1'],
        ['default/b', 'junk'],
        ['default/c', '198.51.100.3'],
        ['default/gone', '192.0.2.9'],
      ],
    );
    assert.match(report.rejected[0]!.reason, /already assigned to default\/a/);
    assert.match(report.rejected[1]!.reason, /no pool contains 203\.0\.113\.1/);
    assert.match(report.rejected[3]!.reason, /serviceSelector does not select/);
    s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.7']);
    // "fresh" is older than a but a's address was imported first: fresh gets the lowest other address.
    assert.deepEqual(ipsOf(s, fresh), ['192.0.2.0']);
    assert.deepEqual(ipsOf(s, b), ['192.0.2.1']);
  });

  it('keeps an address in a disabled or conflicting pool', () => {
    const older = pool('older', [{ cidr: '192.0.2.0/28' }], { disabled: true });
    const newer = pool('newer', [{ cidr: '192.0.2.8/29' }]);
    const [a, b] = [svc('a'), svc('b')];
    const s = new IpamState();
    s.upsertPool(older);
    s.upsertPool(newer);
    s.upsertService(a);
    s.upsertService(b);
    const report = s.importAssignments([
      { namespace: 'default', name: 'a', ips: ['192.0.2.1'] },
      { namespace: 'default', name: 'b', ips: ['192.0.2.9'] },
    ]);
    assert.equal(report.rejected.length, 0);
    s.reconcile();
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.1'], ['192.0.2.9']]);
  });

  it('imports shared addresses for compatible Services', () => {
    const k = { 'lbipam.cilium.io/sharing-key': 'k' };
    const a = svc('a', { annotations: k, ports: [{ port: 80 }] });
    const b = svc('b', { annotations: k, ports: [{ port: 443 }] });
    const s = new IpamState();
    s.upsertPool(pool('p', [{ cidr: '192.0.2.0/28' }]));
    s.upsertService(a);
    s.upsertService(b);
    const report = s.importAssignments([
      { namespace: 'default', name: 'b', ips: ['192.0.2.5'] },
      { namespace: 'default', name: 'a', ips: ['192.0.2.5'] },
    ]);
    assert.equal(report.kept.length, 2);
    s.reconcile();
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.5'], ['192.0.2.5']]);
  });

  it('drops on the first reconcile an imported address the Service no longer wants', () => {
    const a = svc('a', { loadBalancerIP: '192.0.2.3' });
    const s = new IpamState();
    s.upsertPool(pool('p', [{ cidr: '192.0.2.0/28' }]));
    s.upsertService(a);
    s.importAssignments([{ namespace: 'default', name: 'a', ips: ['192.0.2.2'] }]);
    const r = s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.3']);
    assert.ok(r.events.some((e) => e.reason === 'IPReleased' && e.message.includes('192.0.2.2')));
  });
});
