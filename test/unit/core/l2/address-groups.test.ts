import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressGroups } from '../../../../src/core/l2/address-groups.js';
import { compileL2Policy } from '../../../../src/core/l2/l2-policy.js';
import { selectL2, type L2ServiceView } from '../../../../src/core/l2/selection.js';

function selection(services: [name: string, ips: string[]][]): ReturnType<typeof selectL2> {
  const views: L2ServiceView[] = services.map(([name, ips]) => ({ namespace: 'default', name, type: 'LoadBalancer', ingressIPs: ips }));
  return selectL2({
    policies: [compileL2Policy({ name: 'all', loadBalancerIPs: true, interfaces: ['^eth'] })],
    services: views, nodes: [{ name: 'a', labels: {}, upLinks: ['eth0'] }], endpoints: new Map(), poolRanges: [],
  });
}

describe('addressGroups', () => {
  it('a Service that shares nothing is a group of one, ranked under its own key', () => {
    const g = addressGroups(selection([['web', ['192.0.2.1']], ['api', ['192.0.2.2']]]));
    assert.deepEqual(g.of('default/web'), { members: ['default/web'], rankKey: 'default/web' });
    assert.deepEqual(g.of('default/unknown'), { members: ['default/unknown'], rankKey: 'default/unknown' });
  });

  it('Services sharing an address form one group, also through a third (dual-stack) Service', () => {
    const g = addressGroups(selection([
      ['dns-udp', ['192.0.2.1']],
      ['dns-tcp', ['192.0.2.1', '2001:db8::1']],
      ['dns-v6', ['2001:db8::1']],
      ['other', ['192.0.2.9']],
    ]));
    const members = ['default/dns-tcp', 'default/dns-udp', 'default/dns-v6'];
    for (const m of members) assert.deepEqual(g.of(m), { members, rankKey: 'default/dns-tcp' });
    assert.deepEqual(g.of('default/other').members, ['default/other']);
  });

  it('addresses are compared in canonical form', () => {
    const g = addressGroups(selection([['a', ['2001:db8:0::1']], ['b', ['2001:DB8::1']]]));
    assert.deepEqual(g.of('default/a').members, ['default/a', 'default/b']);
  });

  it('is computed once per selection', () => {
    const s = selection([['a', ['192.0.2.1']]]);
    assert.equal(addressGroups(s), addressGroups(s));
  });
});
