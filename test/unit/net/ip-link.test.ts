import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffLinks, parseIpLinkJson } from '../../../src/net/ip-link.js';

// Shaped like iproute2 6.1 `ip -json -details link show`, trimmed to the fields that matter.
const SAMPLE = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', link_type: 'loopback', address: '00:00:00:00:00:00' },
  { ifindex: 2, ifname: 'eno1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], operstate: 'UP', link_type: 'ether', address: '3C:EC:EF:00:00:01' },
  { ifindex: 3, ifname: 'eno2', flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], operstate: 'DOWN', link_type: 'ether', address: '3c:ec:ef:00:00:02' },
  { ifindex: 4, ifname: 'eno1.100', link: 'eno1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], operstate: 'UP', link_type: 'ether', address: '3c:ec:ef:00:00:01',
    linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 100, flags: ['REORDER_HDR'] } } },
  { ifindex: 5, ifname: 'veth0', link_netnsid: 0, flags: ['BROADCAST', 'MULTICAST'], operstate: 'DOWN', link_type: 'ether', address: '02:00:00:00:00:05', linkinfo: { info_kind: 'veth' } },
  { ifindex: 6, ifname: 'wg0', flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], link_type: 'none', linkinfo: { info_kind: 'wireguard' } },
  { ifname: 'broken' },
  'junk',
]);

describe('ip -json link parsing', () => {
  const links = parseIpLinkJson(SAMPLE);
  const byName = new Map(links.map((l) => [l.name, l]));

  it('lists every link, with or without an address, skipping unusable entries', () => {
    assert.deepEqual(links.map((l) => l.name), ['lo', 'eno1', 'eno2', 'eno1.100', 'veth0', 'wg0']);
  });

  it('reads kind, MAC, state, parent and VLAN id', () => {
    assert.deepEqual(byName.get('eno1'), { name: 'eno1', index: 2, mac: '3c:ec:ef:00:00:01', adminUp: true, up: true, kind: 'device', parent: undefined, vlanId: undefined });
    assert.deepEqual(byName.get('eno1.100'), { name: 'eno1.100', index: 4, mac: '3c:ec:ef:00:00:01', adminUp: true, up: true, kind: 'vlan', parent: 'eno1', vlanId: 100 });
    assert.equal(byName.get('eno2')?.up, false, 'up without carrier is not up');
    assert.equal(byName.get('eno2')?.adminUp, true);
    assert.equal(byName.get('veth0')?.up, false);
    assert.equal(byName.get('lo')?.kind, 'loopback');
    assert.equal(byName.get('lo')?.mac, undefined);
    assert.equal(byName.get('wg0')?.mac, undefined, 'no link-layer address');
  });

  it('rejects output that is not a list', () => {
    assert.throws(() => parseIpLinkJson('{}'));
  });

  it('diffs two inventories', () => {
    const before = new Map(links.map((l) => [l.name, l]));
    const eno1 = byName.get('eno1')!;
    const after = new Map(before);
    after.delete('veth0');
    after.set('eno1', { ...eno1, up: false });
    after.set('eno3', { ...eno1, name: 'eno3', index: 9 });
    const d = diffLinks(before, after);
    assert.deepEqual(d.added.map((l) => l.name), ['eno3']);
    assert.deepEqual(d.removed.map((l) => l.name), ['veth0']);
    assert.deepEqual(d.changed.map((c) => [c.before.up, c.after.up]), [[true, false]]);
    assert.deepEqual(diffLinks(before, before), { added: [], removed: [], changed: [] });
  });
});
