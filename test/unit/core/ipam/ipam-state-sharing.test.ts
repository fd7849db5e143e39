import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceSpec } from '../../../../src/core/ipam/types.js';
import { decisionOf, ipsOf, pool, reasonOf, state, svc } from './fixtures.js';

const KEY = 'lbipam.cilium.io/sharing-key';
const CROSS = 'lbipam.cilium.io/sharing-cross-namespace';
const p = () => pool('p', [{ cidr: '192.0.2.0/24' }]);
const sharer = (name: string, extra: Partial<ServiceSpec> = {}, annotations: Record<string, string> = {}): ServiceSpec =>
  svc(name, { annotations: { [KEY]: 'k', ...annotations }, ...extra });

describe('IpamState sharing', () => {
  it('shares one IP between compatible Services and frees it when the last one goes', () => {
    const a = sharer('a', { ports: [{ port: 80 }] });
    const b = svc('b', { annotations: { 'io.cilium/lb-ipam-sharing-key': 'k' }, ports: [{ port: 443 }] });
    const s = state([p()], [a, b]);
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
    assert.deepEqual(ipsOf(s, b), ['192.0.2.0']);
    assert.equal(reasonOf(s, b), 'satisfied');
    s.deleteService('default', 'a');
    s.reconcile();
    assert.deepEqual(s.assignments().map((x) => [x.ip, x.services]), [['192.0.2.0', ['default/b']]]);
    s.deleteService('default', 'b');
    s.reconcile();
    assert.deepEqual(s.assignments(), []);
  });

  it('announces the join with an event naming the other Service', () => {
    const s = state([p()], [sharer('a', { ports: [{ port: 80 }] })]);
    s.upsertService(sharer('b', { ports: [{ port: 443 }] }));
    const r = s.reconcile();
    assert.deepEqual(
      r.events.map((e) => [e.object.name, e.reason, e.message]),
      [['b', 'IPAllocated', 'Sharing 192.0.2.0 (pool p) with default/a']],
    );
  });

  it('lets a waiting Service share once the holder changes to become compatible', () => {
    const a = sharer('a', { loadBalancerIP: '192.0.2.9' });
    const b = sharer('b', { loadBalancerIP: '192.0.2.9' });
    const s = state([p()], [a, b]);
    assert.equal(reasonOf(s, b), 'already_allocated_incompatible_service');
    s.upsertService({ ...a, ports: [{ port: 8080 }] });
    s.reconcile();
    assert.deepEqual(ipsOf(s, b), ['192.0.2.9']);
    assert.equal(reasonOf(s, b), 'satisfied');
  });

  it('shares a requested IP with a compatible Service', () => {
    const a = sharer('a', { ports: [{ port: 80 }], loadBalancerIP: '192.0.2.9' });
    const b = sharer('b', { ports: [{ port: 53, protocol: 'UDP' }], loadBalancerIP: '192.0.2.9' });
    const s = state([p()], [a, b]);
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.9'], ['192.0.2.9']]);
  });

  const incompatible: [string, ServiceSpec, ServiceSpec, RegExp][] = [
    ['different keys', sharer('a'), svc('b', { annotations: { [KEY]: 'other' }, ports: [{ port: 81 }] }), /sharing key "k", not "other"/],
    ['a port in common', sharer('a', { ports: [{ port: 80 }] }), sharer('b', { ports: [{ port: 80, protocol: 'TCP' }] }), /also uses port 80\/TCP/],
    ['different namespaces', sharer('a'), sharer('b', { namespace: 'other', ports: [{ port: 81 }] }), /another namespace/],
    [
      'cross-namespace allowed by one side only',
      sharer('a', {}, { [CROSS]: 'other' }),
      sharer('b', { namespace: 'other', ports: [{ port: 81 }] }),
      /another namespace/,
    ],
    [
      'different externalTrafficPolicy',
      sharer('a', { externalTrafficPolicy: 'Local', selector: { app: 'x' } }),
      sharer('b', { ports: [{ port: 81 }] }),
      /externalTrafficPolicy/,
    ],
    [
      'Local with different selectors',
      sharer('a', { externalTrafficPolicy: 'Local', selector: { app: 'x' } }),
      sharer('b', { externalTrafficPolicy: 'Local', selector: { app: 'y' }, ports: [{ port: 81 }] }),
      /different pod selector/,
    ],
    [
      'Local with empty selectors',
      sharer('a', { externalTrafficPolicy: 'Local' }),
      sharer('b', { externalTrafficPolicy: 'Local', ports: [{ port: 81 }] }),
      /non-empty pod selector/,
    ],
  ];
  for (const [what, a, b, why] of incompatible) {
    it(`gives an incompatible Service its own IP and says why: ${what}`, () => {
      const s = state([p()], [a, b]);
      assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
      assert.deepEqual(ipsOf(s, b), ['192.0.2.1']);
      assert.equal(reasonOf(s, b), 'satisfied');
      if (b.annotations?.[KEY] === 'k') assert.match(decisionOf(s, b).condition?.message ?? '', why);
    });
  }

  it('shares across namespaces when both allow it, by name or with *', () => {
    const a = sharer('a', {}, { [CROSS]: 'other,third' });
    const b = sharer('b', { namespace: 'other', ports: [{ port: 81 }] }, { [CROSS]: '*' });
    const s = state([p()], [a, b]);
    assert.deepEqual([ipsOf(s, a), ipsOf(s, b)], [['192.0.2.0'], ['192.0.2.0']]);
  });

  it('shares between Local Services with identical non-empty selectors', () => {
    const a = sharer('a', { externalTrafficPolicy: 'Local', selector: { app: 'x', tier: 'y' } });
    const b = sharer('b', { externalTrafficPolicy: 'Local', selector: { tier: 'y', app: 'x' }, ports: [{ port: 81 }] });
    const s = state([p()], [a, b]);
    assert.deepEqual(ipsOf(s, b), ['192.0.2.0']);
  });

  it('reports already_allocated_incompatible_service for a requested IP held by an incompatible sharer', () => {
    const a = sharer('a', { loadBalancerIP: '192.0.2.9' });
    const b = sharer('b', { loadBalancerIP: '192.0.2.9' });
    const s = state([p()], [a, b]);
    assert.equal(reasonOf(s, b), 'already_allocated_incompatible_service');
    assert.match(decisionOf(s, b).condition?.message ?? '', /192\.0\.2\.9 is used by default\/a and cannot be shared: default\/a also uses port 80\/TCP/);
  });

  it('the newer Service gives way when a change makes sharers incompatible', () => {
    const a = sharer('a', { ports: [{ port: 80 }] });
    const b = sharer('b', { ports: [{ port: 81 }] });
    const s = state([p()], [a, b]);
    assert.deepEqual(ipsOf(s, b), ['192.0.2.0']);
    // The older Service changes; the newer one must move.
    s.upsertService({ ...a, ports: [{ port: 80 }, { port: 81 }] });
    const r = s.reconcile();
    assert.deepEqual(ipsOf(s, a), ['192.0.2.0']);
    assert.deepEqual(ipsOf(s, b), ['192.0.2.1']);
    assert.deepEqual(r.services.map((d) => d.name), ['b']);
  });
});

describe('IpamState sharing messages', () => {
  it('keeps the "not shared" explanation stable across later reconciles', () => {
    const a = sharer('a', { ports: [{ port: 80 }], ipFamilyPolicy: 'PreferDualStack' });
    const b = sharer('b', { ports: [{ port: 80 }], ipFamilyPolicy: 'PreferDualStack' });
    const s = state([p()], [a, b]);
    const before = decisionOf(s, b).condition?.message ?? '';
    assert.match(before, /not shared with sharing key "k" \(192\.0\.2\.0: default\/a also uses port 80\/TCP\)/);
    // A pool change re-processes PreferDualStack Services; b's message must not change.
    s.upsertPool(pool('unrelated', [{ cidr: '198.51.100.0/28' }], { serviceSelector: { matchLabels: { none: 'x' } } }));
    const r = s.reconcile();
    assert.deepEqual(r.services, []);
    assert.equal(decisionOf(s, b).condition?.message, before);
  });
});
