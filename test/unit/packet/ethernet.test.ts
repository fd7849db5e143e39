import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, decodeEthernet, encodeEthernet } from '../../../src/packet/ethernet.js';
import { ARPING_REQUEST, CLIENT_MAC } from '../../support/frames.js';

describe('ethernet codec', () => {
  it('decodes a real untagged frame', () => {
    const r = decodeEthernet(ARPING_REQUEST);
    assert.ok(r.ok);
    assert.deepEqual(r.value.dst, Buffer.alloc(6, 0xff));
    assert.deepEqual(r.value.src, CLIENT_MAC);
    assert.equal(r.value.etherType, ETHERTYPE_ARP);
    assert.equal(r.value.vlan, undefined);
    assert.equal(r.value.payload.length, 28);
  });

  it('round-trips an 802.1Q tag', () => {
    const payload = Buffer.from('abcdef', 'hex');
    const frame = encodeEthernet({ dst: CLIENT_MAC, src: CLIENT_MAC, vlan: { pcp: 5, dei: true, vid: 100 }, etherType: ETHERTYPE_IPV6, payload });
    assert.equal(frame.readUInt16BE(12), 0x8100);
    assert.equal(frame.readUInt16BE(14), (5 << 13) | 0x1000 | 100);
    const r = decodeEthernet(frame);
    assert.ok(r.ok);
    assert.deepEqual(r.value.vlan, { pcp: 5, dei: true, vid: 100 });
    assert.equal(r.value.etherType, ETHERTYPE_IPV6);
    assert.deepEqual(r.value.payload, payload);
  });

  it('rejects truncated headers and tags, stacked tags and 802.3 lengths', () => {
    assert.equal(decodeEthernet(ARPING_REQUEST.subarray(0, 13)).ok, false);
    const tagged = encodeEthernet({ dst: CLIENT_MAC, src: CLIENT_MAC, vlan: { pcp: 0, dei: false, vid: 1 }, etherType: ETHERTYPE_ARP, payload: Buffer.alloc(0) });
    assert.equal(decodeEthernet(tagged.subarray(0, 17)).ok, false);
    const qinq = Buffer.from(tagged);
    qinq.writeUInt16BE(0x8100, 16);
    assert.equal(decodeEthernet(qinq).ok, false);
    const dot3 = Buffer.from(ARPING_REQUEST);
    dot3.writeUInt16BE(46, 12);
    const r = decodeEthernet(dot3);
    assert.ok(!r.ok);
    assert.match(r.error, /802\.3/);
  });
});
