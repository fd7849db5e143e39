import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARP_REPLY, ARP_REQUEST, decodeArp } from '../../../src/packet/arp.js';
import { decodeEthernet } from '../../../src/packet/ethernet.js';
import { decodeNeighborDiscovery } from '../../../src/packet/icmpv6.js';
import { parseIp } from '../../../src/packet/ip.js';
import { ALL_NODES, decodeIpv6 } from '../../../src/packet/ipv6.js';
import { gratuitousFrames } from '../../../src/l2/frames.js';
import { OUR_MAC } from '../../support/frames.js';

describe('gratuitous announcements', () => {
  it('IPv4: a broadcast request and a broadcast reply, sender = target = the address', () => {
    const frames = gratuitousFrames(parseIp('192.0.2.10')!, OUR_MAC);
    assert.equal(frames.length, 2);
    const ops = frames.map((f) => {
      const eth = decodeEthernet(f);
      assert.ok(eth.ok);
      assert.deepEqual(eth.value.dst, Buffer.alloc(6, 0xff));
      const arp = decodeArp(eth.value.payload);
      assert.ok(arp.ok);
      assert.deepEqual(arp.value.senderIp, arp.value.targetIp);
      assert.deepEqual(arp.value.senderMac, OUR_MAC);
      return arp.value.op;
    });
    assert.deepEqual(ops, [ARP_REQUEST, ARP_REPLY]);
  });

  it('IPv6: an unsolicited override advertisement to all nodes that passes the receive checks', () => {
    const [f] = gratuitousFrames(parseIp('2001:db8::10')!, OUR_MAC);
    const eth = decodeEthernet(f!);
    assert.ok(eth.ok);
    assert.equal(eth.value.dst.toString('hex'), '333300000001');
    const ip = decodeIpv6(eth.value.payload);
    assert.ok(ip.ok);
    assert.deepEqual(ip.value.dst, ALL_NODES);
    const nd = decodeNeighborDiscovery(ip.value);
    assert.ok(nd.ok);
    assert.deepEqual(nd.value, { type: 136, router: false, solicited: false, override: true, target: parseIp('2001:db8::10')!.bytes, targetMac: OUR_MAC });
  });
});
