import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileL2Policy } from '../../../../src/core/l2/l2-policy.js';
import { ringGroups, type RingNode } from '../../../../src/core/l2/liveness-rings.js';

const node = (name: string, labels: Record<string, string>, macs: Record<string, string>): RingNode => ({ name, labels, macs });
const mac = (i: number): string => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;

describe('liveness rings: who watches whom', () => {
  it('two racks with a policy each and the same link name form two rings, never one across racks', () => {
    const policies = ['a', 'b'].map((rack) => compileL2Policy({
      name: `rack-${rack}`, loadBalancerIPs: true, interfaces: ['^eth1$'], nodeSelector: { matchLabels: { rack } },
    }));
    const nodes = [1, 2, 3, 4, 5, 6].map((i) => node(`n${i}`, { rack: i <= 3 ? 'a' : 'b' }, { eth1: mac(i) }));
    const rings = ringGroups(policies, nodes);
    assert.deepEqual([...rings.keys()].sort(), ['eth1/rack-a', 'eth1/rack-b']);
    assert.deepEqual(rings.get('eth1/rack-a')?.members.map((m) => m.node), ['n1', 'n2', 'n3']);
    assert.deepEqual(rings.get('eth1/rack-b')?.members.map((m) => m.node), ['n4', 'n5', 'n6']);
    assert.equal(rings.get('eth1/rack-b')?.members[0]?.mac, mac(4));
  });

  it('policies that select the same nodes on a link share one ring (no double hellos); links a policy does not name are left out', () => {
    const all = { nodeSelector: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' as const }] } };
    const policies = [
      compileL2Policy({ name: 'b-second', loadBalancerIPs: true, interfaces: ['^eno1$'], ...all }),
      compileL2Policy({ name: 'a-first', loadBalancerIPs: true, interfaces: ['^eno[0-9]+$'], ...all }),
      compileL2Policy({ name: 'broken', loadBalancerIPs: true, interfaces: ['(['] }),
    ];
    const nodes = [
      node('cp', { 'node-role.kubernetes.io/control-plane': '' }, { eno1: mac(9) }),
      node('w1', {}, { eno1: mac(1), eno2: mac(11), eth9: mac(21) }),
      node('w2', {}, { eno1: mac(2), eno2: mac(12) }),
    ];
    const rings = ringGroups(policies, nodes);
    assert.deepEqual([...rings.keys()].sort(), ['eno1/a-first', 'eno2/a-first']);
    assert.deepEqual(rings.get('eno1/a-first')?.members.map((m) => m.node), ['w1', 'w2']);
  });

  it('a policy without an interface list puts every published link in a ring', () => {
    const rings = ringGroups([compileL2Policy({ name: 'any', loadBalancerIPs: true })], [node('x', {}, { eth0: mac(1), eth1: mac(2) })]);
    assert.deepEqual([...rings.keys()].sort(), ['eth0/any', 'eth1/any']);
  });
});
