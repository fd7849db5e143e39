import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from '../../../src/packet/arp.js';
import { decodeEthernet, encodeEthernet } from '../../../src/packet/ethernet.js';
import { decodeNeighborDiscovery, encodeNeighborDiscovery, icmpv6Checksum } from '../../../src/packet/icmpv6.js';
import { ipText, parseIp } from '../../../src/packet/ip.js';
import { ALL_NODES, UNSPECIFIED, decodeIpv6, encodeIpv6, multicastMac, solicitedNodeAddress } from '../../../src/packet/ipv6.js';
import type { Decision, InterfaceView } from '../../../src/l2/decide.js';
import { decide } from '../../../src/l2/decide.js';
import { gratuitousFrames } from '../../../src/l2/frames.js';
import { ARPING_REQUEST, CLIENT_MAC, NDISC6_SOLICITATION, OUR_MAC, PING6_REQUEST, PING_REQUEST } from '../../support/frames.js';
import { decodeIpv4, internetChecksum } from '../../../src/packet/ipv4.js';

const view: InterfaceView = { mac: OUR_MAC, addresses: new Set(['192.0.2.10', '2001:db8::10']) };
const OTHER_MAC = Buffer.from('02000000000c', 'hex');

function reply(d: Decision): Extract<Decision, { kind: 'reply' }> {
  if (d.kind !== 'reply') assert.fail(`expected a reply, got ${JSON.stringify(d)}`);
  return d;
}

function arpFrame(op: number, senderMac: Buffer, senderIp: string, targetIp: string, dst = Buffer.alloc(6, 0xff)): Buffer {
  return encodeEthernet({
    dst, src: senderMac, etherType: 0x0806,
    payload: encodeArp({ op, senderMac, senderIp: parseIp(senderIp)!.bytes, targetMac: Buffer.alloc(6), targetIp: parseIp(targetIp)!.bytes }),
  });
}

describe('decide: ARP', () => {
  it("answers arping's broadcast request with a unicast reply from our MAC", () => {
    const d = reply(decide(ARPING_REQUEST, view));
    assert.equal(d.family, 4);
    assert.equal(d.address, '192.0.2.10');
    assert.equal(d.asker, '192.0.2.100');
    const eth = decodeEthernet(d.frame);
    assert.ok(eth.ok);
    assert.deepEqual(eth.value.dst, CLIENT_MAC);
    assert.deepEqual(eth.value.src, OUR_MAC);
    const arp = decodeArp(eth.value.payload);
    assert.ok(arp.ok);
    assert.deepEqual(arp.value, {
      op: ARP_REPLY, senderMac: OUR_MAC, senderIp: parseIp('192.0.2.10')!.bytes,
      targetMac: CLIENT_MAC, targetIp: parseIp('192.0.2.100')!.bytes,
    });
  });

  it('answers a request unicast to our MAC (cache refresh), not one unicast elsewhere', () => {
    reply(decide(arpFrame(ARP_REQUEST, CLIENT_MAC, '192.0.2.100', '192.0.2.10', OUR_MAC), view));
    const d = decide(arpFrame(ARP_REQUEST, CLIENT_MAC, '192.0.2.100', '192.0.2.10', OTHER_MAC), view);
    assert.equal(d.kind, 'ignore');
  });

  it('ignores requests for other addresses, but counts them as requests', () => {
    assert.deepEqual(decide(arpFrame(ARP_REQUEST, CLIENT_MAC, '192.0.2.100', '192.0.2.11'), view),
      { kind: 'ignore', reason: 'ARP request for an address not ours', request: true });
  });

  it('ignores frames from itself, by Ethernet or ARP sender address', () => {
    assert.equal(decide(arpFrame(ARP_REQUEST, OUR_MAC, '192.0.2.100', '192.0.2.10'), view).kind, 'ignore');
    const spoofedEth = arpFrame(ARP_REQUEST, CLIENT_MAC, '192.0.2.100', '192.0.2.10');
    OUR_MAC.copy(spoofedEth, 22); // ARP sender MAC
    assert.equal(decide(spoofedEth, view).kind, 'ignore');
    for (const f of gratuitousFrames(parseIp('192.0.2.10')!, OUR_MAC)) assert.equal(decide(f, view).kind, 'ignore');
  });

  it('reports another MAC announcing our address as a conflict (both gratuitous forms)', () => {
    for (const f of gratuitousFrames(parseIp('192.0.2.10')!, OTHER_MAC)) {
      assert.deepEqual(decide(f, view), { kind: 'conflict', family: 4, address: '192.0.2.10', mac: '02:00:00:00:00:0c' });
    }
    assert.equal(decide(arpFrame(ARP_REPLY, OTHER_MAC, '192.0.2.10', '192.0.2.100'), view).kind, 'conflict');
  });

  it('ignores ARP replies about others and VLAN-tagged frames', () => {
    assert.equal(decide(arpFrame(ARP_REPLY, OTHER_MAC, '192.0.2.50', '192.0.2.100'), view).kind, 'ignore');
    const tagged = encodeEthernet({ dst: Buffer.alloc(6, 0xff), src: CLIENT_MAC, vlan: { pcp: 0, dei: false, vid: 5 }, etherType: 0x0806, payload: ARPING_REQUEST.subarray(14) });
    assert.equal(decide(tagged, view).kind, 'ignore');
  });

  it('answers nothing once the address is gone', () => {
    assert.equal(decide(ARPING_REQUEST, { mac: OUR_MAC, addresses: new Set(['2001:db8::10']) }).kind, 'ignore');
  });

  it('reports malformed ARP', () => {
    assert.equal(decide(ARPING_REQUEST.subarray(0, 30), view).kind, 'malformed');
  });
});

describe('decide: ARP address rules (as Linux arp_process)', () => {
  // A pool may hold addresses no host may use; these rules must hold even then.
  const odd: InterfaceView = { mac: OUR_MAC, addresses: new Set(['192.0.2.10', '224.0.0.5', '127.0.0.5', '255.255.255.255', '0.1.2.3', '0.0.0.0']) };
  const request = (sender: string, target: string) => arpFrame(ARP_REQUEST, CLIENT_MAC, sender, target);

  // Each row: a request that is ignored, and the same request with the one bad address fixed, which is answered.
  const ignored: readonly { name: string; bad: Buffer; good: Buffer; reason: string; request: boolean }[] = [
    { name: 'a multicast sender', bad: request('224.0.0.5', '192.0.2.10'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP sender 224.0.0.5 is multicast', request: false },
    { name: 'a multicast sender at the top of 224/4', bad: request('239.255.255.250', '192.0.2.10'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP sender 239.255.255.250 is multicast', request: false },
    { name: 'the limited broadcast sender', bad: request('255.255.255.255', '192.0.2.10'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP sender 255.255.255.255 is limited broadcast', request: false },
    { name: 'a loopback sender', bad: request('127.0.0.1', '192.0.2.10'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP sender 127.0.0.1 is loopback', request: false },
    { name: 'a sender in 0/8 other than 0.0.0.0', bad: request('0.1.2.3', '192.0.2.10'), good: request('0.0.0.0', '192.0.2.10'),
      reason: 'ARP sender 0.1.2.3 is in 0.0.0.0/8', request: false },
    { name: 'a multicast target', bad: request('192.0.2.100', '224.0.0.5'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP target 224.0.0.5 is multicast', request: false },
    { name: 'a loopback target', bad: request('192.0.2.100', '127.0.0.5'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP target 127.0.0.5 is loopback', request: false },
    { name: 'the limited broadcast target', bad: request('192.0.2.100', '255.255.255.255'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP request for 255.255.255.255, which is limited broadcast', request: true },
    { name: 'a target in 0/8', bad: request('192.0.2.100', '0.1.2.3'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP request for 0.1.2.3, which is in 0.0.0.0/8', request: true },
    { name: 'the unspecified target', bad: request('192.0.2.100', '0.0.0.0'), good: request('192.0.2.100', '192.0.2.10'),
      reason: 'ARP request for 0.0.0.0, which is unspecified', request: true },
  ];
  for (const row of ignored) {
    it(`ignores a request with ${row.name}`, () => {
      reply(decide(row.good, odd));
      assert.deepEqual(decide(row.bad, odd), { kind: 'ignore', reason: row.reason, request: row.request });
    });
  }

  it('answers an RFC 5227 probe (sender 0.0.0.0), as Linux does, and never takes it as a conflict', () => {
    for (const v of [view, odd]) assert.equal(reply(decide(request('0.0.0.0', '192.0.2.10'), v)).asker, '0.0.0.0');
    assert.deepEqual(decide(arpFrame(ARP_REQUEST, OTHER_MAC, '0.0.0.0', '192.0.2.100'), odd),
      { kind: 'ignore', reason: 'ARP request for an address not ours', request: true });
  });

  it('never takes a non-unicast sender as a conflict, even on an address in the view', () => {
    for (const sender of ['224.0.0.5', '127.0.0.5', '255.255.255.255', '0.1.2.3']) {
      for (const f of [arpFrame(ARP_REPLY, OTHER_MAC, sender, '192.0.2.100'), ...gratuitousFrames(parseIp(sender)!, OTHER_MAC)]) {
        assert.equal(decide(f, odd).kind, 'ignore', sender);
      }
    }
    assert.equal(decide(arpFrame(ARP_REPLY, OTHER_MAC, '192.0.2.10', '192.0.2.100'), odd).kind, 'conflict');
  });

  it('drops ARP about a multicast or loopback target before the conflict check, but not ARP about 0.0.0.0', () => {
    const conflict = { kind: 'conflict', family: 4, address: '192.0.2.10', mac: '02:00:00:00:00:0c' };
    assert.deepEqual(decide(arpFrame(ARP_REQUEST, OTHER_MAC, '192.0.2.10', '192.0.2.100'), view), conflict);
    assert.deepEqual(decide(arpFrame(ARP_REQUEST, OTHER_MAC, '192.0.2.10', '224.0.0.1'), view),
      { kind: 'ignore', reason: 'ARP target 224.0.0.1 is multicast', request: false });
    assert.deepEqual(decide(arpFrame(ARP_REPLY, OTHER_MAC, '192.0.2.10', '127.0.0.1'), view),
      { kind: 'ignore', reason: 'ARP target 127.0.0.1 is loopback', request: false });
    // Linux still learns the sender from these, so another MAC claiming our address matters.
    assert.deepEqual(decide(arpFrame(ARP_REQUEST, OTHER_MAC, '192.0.2.10', '0.0.0.0'), view), conflict);
    assert.deepEqual(decide(arpFrame(ARP_REQUEST, OTHER_MAC, '192.0.2.10', '255.255.255.255'), view), conflict);
  });
});

describe('decide: NDP', () => {
  const vip = parseIp('2001:db8::10')!.bytes;
  const client = parseIp('2001:db8::100')!.bytes;

  function ns(src: Uint8Array, dst: Uint8Array, dstMac: Buffer, withSource: boolean): Buffer {
    const icmp = encodeNeighborDiscovery({ type: 135, target: vip, ...(withSource ? { sourceMac: CLIENT_MAC } : {}) }, src, dst);
    return encodeEthernet({ dst: dstMac, src: CLIENT_MAC, etherType: 0x86dd, payload: encodeIpv6({ nextHeader: 58, hopLimit: 255, src: Buffer.from(src), dst: Buffer.from(dst), payload: icmp }) });
  }

  it("answers ndisc6's solicitation with a solicited, override advertisement", () => {
    const d = reply(decide(NDISC6_SOLICITATION, view));
    assert.equal(d.address, '2001:db8::10');
    const eth = decodeEthernet(d.frame);
    assert.ok(eth.ok);
    assert.deepEqual(eth.value.dst, CLIENT_MAC);
    assert.deepEqual(eth.value.src, OUR_MAC);
    const ip = decodeIpv6(eth.value.payload);
    assert.ok(ip.ok);
    assert.equal(ip.value.hopLimit, 255);
    assert.deepEqual(ip.value.src, vip);
    assert.equal(d.asker, 'fe80::ff:fe00:b');
    const nd = decodeNeighborDiscovery(ip.value); // checks the checksum too
    assert.ok(nd.ok);
    assert.deepEqual(nd.value, { type: 136, router: false, solicited: true, override: true, target: vip, targetMac: OUR_MAC });
  });

  it('answers unicast solicitations (unreachability detection) sent to our MAC', () => {
    reply(decide(ns(client, vip, OUR_MAC, false), view));
    assert.equal(decide(ns(client, vip, OTHER_MAC, false), view).kind, 'ignore');
  });

  it('defends against duplicate address detection on all-nodes, unsolicited', () => {
    const group = solicitedNodeAddress(vip);
    const d = reply(decide(ns(UNSPECIFIED, group, Buffer.from('3333ff000010', 'hex'), false), view));
    const eth = decodeEthernet(d.frame);
    assert.ok(eth.ok);
    const ip = decodeIpv6(eth.value.payload);
    assert.ok(ip.ok);
    assert.deepEqual(ip.value.dst, ALL_NODES);
    const nd = decodeNeighborDiscovery(ip.value);
    assert.ok(nd.ok && nd.value.type === 136 && !nd.value.solicited && nd.value.override);
  });

  it('ignores solicitations for other targets and reports foreign advertisements of ours', () => {
    const other = Buffer.from(NDISC6_SOLICITATION);
    assert.equal(decide(other, { mac: OUR_MAC, addresses: new Set(['2001:db8::11']) }).kind, 'ignore');
    const [na] = gratuitousFrames(parseIp('2001:db8::10')!, OTHER_MAC);
    assert.deepEqual(decide(na!, view), { kind: 'conflict', family: 6, address: '2001:db8::10', mac: '02:00:00:00:00:0c' });
    const [own] = gratuitousFrames(parseIp('2001:db8::10')!, OUR_MAC);
    assert.equal(decide(own!, view).kind, 'ignore');
  });

  it('rejects a solicitation with a broken checksum as malformed', () => {
    const broken = Buffer.from(NDISC6_SOLICITATION);
    broken[80] = (broken[80] ?? 0) ^ 0xff;
    assert.equal(decide(broken, view).kind, 'malformed');
  });
});

describe('decide: IPv6 validity rules', () => {
  const vip = parseIp('2001:db8::10')!.bytes;
  const ip6 = (text: string) => parseIp(text)!.bytes;

  /** A solicitation for our VIP to its solicited-node group, as ndisc6 sends it; each field can be overridden. */
  interface Ns {
    readonly src?: Buffer;
    readonly dst?: Buffer;
    readonly dstMac?: Buffer;
    readonly hopLimit?: number;
    readonly code?: number;
    readonly target?: Buffer;
    /** null: no source link-layer address option. */
    readonly sourceMac?: Buffer | null;
  }
  function nsFrame(o: Ns): Buffer {
    const src = o.src ?? ip6('fe80::ff:fe00:b');
    const target = o.target ?? vip;
    const dst = o.dst ?? solicitedNodeAddress(target);
    const sourceMac = o.sourceMac === undefined ? CLIENT_MAC : o.sourceMac;
    const icmp = encodeNeighborDiscovery({ type: 135, target, ...(sourceMac ? { sourceMac } : {}) }, src, dst);
    if (o.code !== undefined) {
      icmp[1] = o.code;
      icmp.writeUInt16BE(0, 2);
      icmp.writeUInt16BE(icmpv6Checksum(src, dst, icmp), 2);
    }
    const dstMac = o.dstMac ?? (dst[0] === 0xff ? multicastMac(dst) : OUR_MAC);
    return encodeEthernet({ dst: dstMac, src: CLIENT_MAC, etherType: 0x86dd, payload: encodeIpv6({ nextHeader: 58, hopLimit: o.hopLimit ?? 255, src, dst, payload: icmp }) });
  }

  // Each row: a frame Linux discards, and the same frame with the one bad field fixed, which is answered.
  const ignored: readonly { name: string; good: Ns; bad: Ns; reason: string }[] = [
    { name: 'link-local multicast source (the all-nodes group)', good: {}, bad: { src: ip6('ff02::1') },
      reason: 'IPv6 source ff02::1 is multicast (RFC 4291 §2.7)' },
    { name: 'site-local multicast source', good: {}, bad: { src: ip6('ff05::1:3') },
      reason: 'IPv6 source ff05::1:3 is multicast (RFC 4291 §2.7)' },
    { name: 'multicast source, sent to our MAC (unreachability detection)', good: { dst: vip }, bad: { dst: vip, src: ip6('ff02::1') },
      reason: 'IPv6 source ff02::1 is multicast (RFC 4291 §2.7)' },
    { name: 'multicast source without a source link-layer option', good: { sourceMac: null }, bad: { sourceMac: null, src: ip6('ff02::2') },
      reason: 'IPv6 source ff02::2 is multicast (RFC 4291 §2.7)' },
    { name: 'loopback source', good: {}, bad: { src: ip6('::1') }, reason: 'IPv6 source ::1 is loopback (RFC 4291 §2.5.3)' },
  ];
  for (const row of ignored) {
    it(`ignores a solicitation with a ${row.name}, and does not count it as a request`, () => {
      reply(decide(nsFrame(row.good), view));
      assert.deepEqual(decide(nsFrame(row.bad), view), { kind: 'ignore', reason: row.reason, request: false });
    });
  }

  it('does not take an advertisement of our address from a multicast source as a conflict', () => {
    const na = (src: Buffer) => encodeEthernet({
      dst: multicastMac(ALL_NODES), src: OTHER_MAC, etherType: 0x86dd,
      payload: encodeIpv6({ nextHeader: 58, hopLimit: 255, src, dst: ALL_NODES,
        payload: encodeNeighborDiscovery({ type: 136, router: false, solicited: false, override: true, target: vip, targetMac: OTHER_MAC }, src, ALL_NODES) }),
    });
    assert.deepEqual(decide(na(ip6('2001:db8::99')), view), { kind: 'conflict', family: 6, address: '2001:db8::10', mac: '02:00:00:00:00:0c' });
    assert.deepEqual(decide(na(ip6('ff02::1')), view), { kind: 'ignore', reason: 'IPv6 source ff02::1 is multicast (RFC 4291 §2.7)', request: false });
  });

  // RFC 4861 §7.1.1 checks the codec applies: the frame is malformed, and decide says why.
  const malformed: readonly { name: string; good: Ns; bad: Ns; reason: string }[] = [
    { name: 'hop limit below 255', good: {}, bad: { hopLimit: 254 }, reason: 'hop limit 254: neighbour discovery must not be forwarded' },
    { name: 'ICMP code other than 0', good: {}, bad: { code: 1 }, reason: 'ICMPv6 code 1 is not 0' },
    { name: 'multicast target', good: {}, bad: { target: ip6('ff02::1') }, reason: 'multicast target address' },
    { name: 'DAD probe not to the solicited-node group', good: { src: UNSPECIFIED, sourceMac: null },
      bad: { src: UNSPECIFIED, sourceMac: null, dst: ALL_NODES }, reason: 'DAD solicitation not sent to the solicited-node group' },
    { name: 'DAD probe with a source link-layer option', good: { src: UNSPECIFIED, sourceMac: null },
      bad: { src: UNSPECIFIED }, reason: 'DAD solicitation with a source link-layer address option' },
  ];
  for (const row of malformed) {
    it(`rejects a solicitation with a ${row.name} as malformed`, () => {
      reply(decide(nsFrame(row.good), view));
      assert.deepEqual(decide(nsFrame(row.bad), view), { kind: 'malformed', reason: row.reason });
    });
  }
});

describe('decide: ping (ICMP and ICMPv6 echo), for addresses that opted in', () => {
  const pinged: InterfaceView = { ...view, echo: new Set(['192.0.2.10', '2001:db8::10']) };

  function echo(d: Decision): Extract<Decision, { kind: 'echo' }> {
    if (d.kind !== 'echo') assert.fail(`expected an echo reply, got ${JSON.stringify(d)}`);
    return d;
  }

  it("answers iputils ping's request with an echo reply from the address, to the asker, echoing id, sequence and data", () => {
    const d = echo(decide(PING_REQUEST, pinged));
    assert.equal(d.address, '192.0.2.10');
    assert.equal(d.asker, '192.0.2.100');
    const eth = decodeEthernet(d.frame);
    assert.ok(eth.ok);
    assert.deepEqual([eth.value.src, eth.value.dst, eth.value.etherType], [OUR_MAC, CLIENT_MAC, 0x0800]);
    const ip = decodeIpv4(eth.value.payload);
    assert.ok(ip.ok, 'a valid IPv4 header, checksum included');
    assert.deepEqual([ipText(ip.value.src), ipText(ip.value.dst), ip.value.protocol, ip.value.ttl], ['192.0.2.10', '192.0.2.100', 1, 64]);
    const request = decodeIpv4(PING_REQUEST.subarray(14));
    assert.ok(request.ok);
    assert.equal(ip.value.payload[0], 0, 'type 0: echo reply');
    assert.deepEqual(ip.value.payload.subarray(4), request.value.payload.subarray(4), 'identifier, sequence number and data unchanged');
    assert.equal(internetChecksum(ip.value.payload), 0);
  });

  it('answers ping -6 with an ICMPv6 echo reply whose checksum covers the pseudo-header', () => {
    const d = echo(decide(PING6_REQUEST, pinged));
    assert.deepEqual([d.family, d.address, d.asker], [6, '2001:db8::10', '2001:db8::100']);
    const eth = decodeEthernet(d.frame);
    assert.ok(eth.ok);
    assert.deepEqual(eth.value.dst, CLIENT_MAC);
    const ip = decodeIpv6(eth.value.payload);
    assert.ok(ip.ok);
    assert.deepEqual([ipText(ip.value.src), ipText(ip.value.dst), ip.value.hopLimit], ['2001:db8::10', '2001:db8::100', 64]);
    assert.equal(ip.value.payload[0], 129);
    assert.equal(icmpv6Checksum(ip.value.src, ip.value.dst, ip.value.payload), 0);
    assert.deepEqual(ip.value.payload.subarray(4), PING6_REQUEST.subarray(14 + 40 + 4));
  });

  it('answers nothing without the opt-in, for another address, or sent to another MAC', () => {
    assert.equal(decide(PING_REQUEST, view).kind, 'ignore');
    assert.equal(decide(PING6_REQUEST, view).kind, 'ignore');
    assert.equal(decide(PING_REQUEST, { ...view, echo: new Set(['2001:db8::10']) }).kind, 'ignore');
    const elsewhere = Buffer.from(PING_REQUEST);
    elsewhere[5] = 0x0c;
    assert.equal(decide(elsewhere, pinged).kind, 'ignore');
  });

  it('refuses a broken checksum, a fragment and a broadcast source as Linux would', () => {
    const badIcmp = Buffer.from(PING_REQUEST);
    badIcmp.writeUInt8(badIcmp.readUInt8(14 + 20 + 2) ^ 0xff, 14 + 20 + 2);
    assert.match(JSON.stringify(decide(badIcmp, pinged)), /bad ICMP checksum/);
    const bad6 = Buffer.from(PING6_REQUEST);
    bad6.writeUInt8(bad6.readUInt8(14 + 40 + 9) ^ 0xff, 14 + 40 + 9);
    assert.match(JSON.stringify(decide(bad6, pinged)), /bad ICMPv6 checksum/);
    // More fragments set: header checksum fixed up so only the fragment rule applies.
    const fragment = Buffer.from(PING_REQUEST);
    fragment.writeUInt16BE(0x2000, 14 + 6);
    fragment.writeUInt16BE(0, 14 + 10);
    fragment.writeUInt16BE(internetChecksum(fragment.subarray(14, 34)), 14 + 10);
    assert.match(JSON.stringify(decide(fragment, pinged)), /IPv4 fragment/);
    const broadcast = Buffer.from(PING_REQUEST);
    broadcast.writeUInt32BE(0xffffffff, 14 + 12);
    broadcast.writeUInt16BE(0, 14 + 10);
    broadcast.writeUInt16BE(internetChecksum(broadcast.subarray(14, 34)), 14 + 10);
    assert.match(JSON.stringify(decide(broadcast, pinged)), /limited broadcast/);
  });
});
