import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEthernet } from '../../../src/packet/ethernet.js';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT, ICMPV6_NEIGHBOR_SOLICITATION, decodeNeighborDiscovery, encodeNeighborDiscovery, icmpv6Checksum,
} from '../../../src/packet/icmpv6.js';
import { parseIp } from '../../../src/packet/ip.js';
import type { Ipv6Packet } from '../../../src/packet/ipv6.js';
import { ALL_NODES, UNSPECIFIED, decodeIpv6, encodeIpv6, solicitedNodeAddress } from '../../../src/packet/ipv6.js';
import { CLIENT_MAC, NDISC6_SOLICITATION, OUR_MAC } from '../../support/frames.js';

function realIp(): Ipv6Packet {
  const eth = decodeEthernet(NDISC6_SOLICITATION);
  assert.ok(eth.ok);
  const ip = decodeIpv6(eth.value.payload);
  assert.ok(ip.ok);
  return ip.value;
}

const vip = parseIp('2001:db8::10')!.bytes;

function withPayload(ip: Ipv6Packet, payload: Buffer, patch: Partial<Ipv6Packet> = {}): Ipv6Packet {
  return { ...ip, payload, ...patch };
}

describe('IPv6 and neighbour discovery codecs', () => {
  it("decodes ndisc6's solicitation and agrees with its checksum", () => {
    const ip = realIp();
    assert.equal(ip.hopLimit, 255);
    assert.equal(ip.nextHeader, 58);
    assert.equal(icmpv6Checksum(ip.src, ip.dst, ip.payload), 0);
    const nd = decodeNeighborDiscovery(ip);
    assert.ok(nd.ok);
    assert.ok(nd.value.type === ICMPV6_NEIGHBOR_SOLICITATION);
    assert.deepEqual(nd.value.target, vip);
    assert.deepEqual(nd.value.sourceMac, CLIENT_MAC);
  });

  it('produces the same checksum as ndisc6 when re-encoding its message', () => {
    const ip = realIp();
    const nd = decodeNeighborDiscovery(ip);
    assert.ok(nd.ok);
    assert.deepEqual(encodeNeighborDiscovery(nd.value, ip.src, ip.dst), ip.payload);
  });

  it('round-trips an advertisement with flags and target link-layer option', () => {
    const msg = encodeNeighborDiscovery(
      { type: ICMPV6_NEIGHBOR_ADVERTISEMENT, router: false, solicited: false, override: true, target: vip, targetMac: OUR_MAC }, vip, ALL_NODES);
    const ip = decodeIpv6(encodeIpv6({ nextHeader: 58, hopLimit: 255, src: vip, dst: ALL_NODES, payload: msg }));
    assert.ok(ip.ok);
    const nd = decodeNeighborDiscovery(ip.value);
    assert.ok(nd.ok);
    assert.deepEqual(nd.value, { type: 136, router: false, solicited: false, override: true, target: vip, targetMac: OUR_MAC });
  });

  it('skips unknown options and keeps the link-layer one', () => {
    const ip = realIp();
    const nonce = Buffer.from([14, 1, 1, 2, 3, 4, 5, 6]); // RFC 3971 nonce option
    const payload = Buffer.concat([ip.payload, nonce]);
    payload.writeUInt16BE(0, 2);
    payload.writeUInt16BE(icmpv6Checksum(ip.src, ip.dst, payload), 2);
    const nd = decodeNeighborDiscovery(withPayload(ip, payload));
    assert.ok(nd.ok);
  });

  it('applies the RFC 4861 receive checks', () => {
    const ip = realIp();
    const reject = (what: string, p: Ipv6Packet) => {
      const r = decodeNeighborDiscovery(p);
      assert.equal(r.ok, false, what);
    };
    reject('forwarded (hop limit 254)', { ...ip, hopLimit: 254 });
    const badSum = Buffer.from(ip.payload);
    badSum[10] = (badSum[10] ?? 0) ^ 1;
    reject('bad checksum', withPayload(ip, badSum));
    const resum = (p: Buffer, src = ip.src, dst = ip.dst) => {
      p.writeUInt16BE(0, 2);
      p.writeUInt16BE(icmpv6Checksum(src, dst, p), 2);
      return p;
    };
    const code1 = Buffer.from(ip.payload);
    code1[1] = 1;
    reject('code 1', withPayload(ip, resum(code1)));
    const zeroLenOpt = Buffer.from(ip.payload);
    zeroLenOpt[25] = 0;
    reject('zero-length option', withPayload(ip, resum(zeroLenOpt)));
    const longOpt = Buffer.from(ip.payload);
    longOpt[25] = 2;
    reject('option past the end', withPayload(ip, resum(longOpt)));
    const mcastTarget = Buffer.from(ip.payload);
    mcastTarget[8] = 0xff;
    reject('multicast target', withPayload(ip, resum(mcastTarget)));
    reject('truncated', withPayload(ip, resum(Buffer.from(ip.payload.subarray(0, 20)))));
    // DAD: unspecified source must go to the solicited-node group and carry no source link-layer option.
    const dad = resum(Buffer.from(ip.payload), UNSPECIFIED, ip.dst);
    reject('DAD with source link-layer option', { ...ip, src: UNSPECIFIED, payload: dad });
    const dadOk = resum(Buffer.from(ip.payload.subarray(0, 24)), UNSPECIFIED, solicitedNodeAddress(vip));
    assert.ok(decodeNeighborDiscovery({ ...ip, src: UNSPECIFIED, dst: solicitedNodeAddress(vip), payload: dadOk }).ok);
    reject('DAD to all-nodes', { ...ip, src: UNSPECIFIED, dst: ALL_NODES, payload: resum(Buffer.from(ip.payload.subarray(0, 24)), UNSPECIFIED, ALL_NODES) });
    // A solicited advertisement must be unicast.
    const na = encodeNeighborDiscovery({ type: 136, router: false, solicited: true, override: true, target: vip }, vip, ALL_NODES);
    reject('solicited NA to multicast', { ...ip, src: vip, dst: ALL_NODES, payload: na });
  });

  it('rejects IPv6 headers that lie about their length or version', () => {
    const eth = decodeEthernet(NDISC6_SOLICITATION);
    assert.ok(eth.ok);
    const raw = Buffer.from(eth.value.payload);
    assert.equal(decodeIpv6(raw.subarray(0, 39)).ok, false);
    const v4 = Buffer.from(raw);
    v4[0] = 0x45;
    assert.equal(decodeIpv6(v4).ok, false);
    const long = Buffer.from(raw);
    long.writeUInt16BE(raw.length, 4);
    assert.equal(decodeIpv6(long).ok, false);
    const zero = Buffer.from(raw);
    zero.writeUInt16BE(0, 4);
    assert.equal(decodeIpv6(zero).ok, false);
  });
});
