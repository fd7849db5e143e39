import { ARP_REPLY, ARP_REQUEST, decodeArp } from '../packet/arp.js';
import type { EthernetFrame } from '../packet/ethernet.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, decodeEthernet } from '../packet/ethernet.js';
import { ICMPV6_ECHO_REQUEST, decodeEchoRequest4, decodeEchoRequest6 } from '../packet/icmp-echo.js';
import { ICMPV6_NEIGHBOR_SOLICITATION, decodeNeighborDiscovery } from '../packet/icmpv6.js';
import { ipText } from '../packet/ip.js';
import { PROTOCOL_ICMP, decodeIpv4 } from '../packet/ipv4.js';
import { ALL_NODES, LOOPBACK, UNSPECIFIED, decodeIpv6, isMulticastIpv6, multicastMac, solicitedNodeAddress } from '../packet/ipv6.js';
import { BROADCAST_MAC, formatMac } from '../packet/mac.js';
import { arpReply, echoReply4, echoReply6, neighborAdvertisement } from './frames.js';

/** What one interface announces, as the decision sees it. */
export interface InterfaceView {
  readonly mac: Buffer;
  /** Canonical address texts (see parseIp). */
  readonly addresses: ReadonlySet<string>;
  /** Addresses whose ICMP/ICMPv6 echo requests are answered (the ping opt-in); a subset of `addresses`. */
  readonly echo?: ReadonlySet<string>;
  /**
   * The IPv4 ones among `addresses`, as 32-bit numbers: lets a flood of ARP
   * requests for other addresses be dropped without building text. Must
   * match `addresses` when given.
   */
  readonly ipv4?: ReadonlySet<number>;
}

export type Decision =
  | {
      readonly kind: 'reply';
      readonly family: 4 | 6;
      readonly address: string;
      /** Who asked: their IP (maybe unspecified) and MAC. */
      readonly asker: string;
      readonly askerMac: string;
      readonly frame: Buffer;
    }
  /** An echo request to an address that answers ping: the reply. */
  | { readonly kind: 'echo'; readonly family: 4 | 6; readonly address: string; readonly asker: string; readonly frame: Buffer }
  /** Another MAC claims one of our addresses. */
  | { readonly kind: 'conflict'; readonly family: 4 | 6; readonly address: string; readonly mac: string }
  /**
   * `request` is set for ARP requests and solicitations Linux would accept as
   * such, answered or not; not for frames it discards as invalid (a multicast
   * source, say), which are no more requests than malformed ones.
   */
  | { readonly kind: 'ignore'; readonly reason: string; readonly request: boolean }
  | { readonly kind: 'malformed'; readonly reason: string };

const ignore = (reason: string, request = false): Decision => ({ kind: 'ignore', reason, request });

/** Which answer, if any, a received frame gets. Pure; never throws on any input. */
export function decide(frame: Buffer, view: InterfaceView): Decision {
  return arpRequestNotOurs(frame, view) ?? decideFully(frame, view);
}

/**
 * The frame a flood is made of, when the kernel filter passes it (widened or
 * pass-all): a plain ARP request whose target and sender are both someone
 * else's. Returns what decideFully() would, reading the bytes in place
 * instead of decoding (the decoders' slices and ipText cost several times
 * more); undefined for anything else, which decideFully() then handles.
 */
function arpRequestNotOurs(frame: Buffer, view: InterfaceView): Decision | undefined {
  if (frame.length < 42 || frame.readUInt16BE(12) !== ETHERTYPE_ARP) return undefined;
  // Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4), a request.
  if (frame.readUInt32BE(14) !== 0x00010800 || frame.readUInt16BE(18) !== 0x0604 || frame.readUInt16BE(20) !== ARP_REQUEST) return undefined;
  if (sameMac(frame, 6, view.mac) || sameMac(frame, 22, view.mac)) return undefined;
  // Special targets and senders (see decideArp) take the full path; 0.0.0.0 as
  // the sender (a probe) claims nothing, as there.
  const t = frame.readUInt32BE(38);
  const s = frame.readUInt32BE(28);
  if (specialIpv4Word(t) || (s !== 0 && specialIpv4Word(s))) return undefined;
  if (view.ipv4) {
    if (view.ipv4.has(t) || (s !== 0 && view.ipv4.has(s))) return undefined;
    return ARP_NOT_OURS;
  }
  if (view.addresses.has(`${frame[38] ?? 0}.${frame[39] ?? 0}.${frame[40] ?? 0}.${frame[41] ?? 0}`)) return undefined;
  if (s !== 0 && view.addresses.has(`${frame[28] ?? 0}.${frame[29] ?? 0}.${frame[30] ?? 0}.${frame[31] ?? 0}`)) return undefined;
  return ARP_NOT_OURS;
}

/** One object for the most common frame of a flood: nothing is built per frame. */
const ARP_NOT_OURS: Decision = ignore('ARP request for an address not ours', true);

function sameMac(frame: Buffer, at: number, mac: Buffer): boolean {
  return mac.length === 6 && frame.readUInt32BE(at) === mac.readUInt32BE(0) && frame.readUInt16BE(at + 4) === mac.readUInt16BE(4);
}

/** 0/8, 127/8, 224/4 and 255.255.255.255: what specialIpv4 names. */
function specialIpv4Word(a: number): boolean {
  const first = a >>> 24;
  return first === 0 || first === 127 || (first >= 224 && first < 240) || a === 0xffffffff;
}

/** decide() without the shortcut for ARP floods; exported so tests can hold the two equal. */
export function decideFully(frame: Buffer, view: InterfaceView): Decision {
  const eth = decodeEthernet(frame);
  if (!eth.ok) return { kind: 'malformed', reason: eth.error };
  if (eth.value.src.equals(view.mac)) return ignore('sent by us');
  // A tagged frame belongs to the VLAN's sub-interface, where its addresses are announced.
  if (eth.value.vlan) return ignore(`802.1Q tag, VLAN ${eth.value.vlan.vid}`);
  switch (eth.value.etherType) {
    case ETHERTYPE_ARP: return decideArp(eth.value, view);
    case ETHERTYPE_IPV6: return decideNd(eth.value, view);
    case ETHERTYPE_IPV4: return view.echo?.size ? decideEcho4(eth.value, view) : ignore('IPv4');
    default: return ignore(`EtherType 0x${eth.value.etherType.toString(16)}`);
  }
}

function decideArp(eth: EthernetFrame, view: InterfaceView): Decision {
  const arp = decodeArp(eth.payload);
  if (!arp.ok) return { kind: 'malformed', reason: arp.error };
  const a = arp.value;
  if (a.senderMac.equals(view.mac)) return ignore('sent by us');
  const target = ipText(a.targetIp);
  const sender = ipText(a.senderIp);
  const isRequest = a.op === ARP_REQUEST;
  // Linux's arp_process drops ARP about these targets before anything else:
  // it neither answers nor learns from it, so neither do we.
  const targetKind = specialIpv4(a.targetIp);
  if (targetKind === 'multicast' || targetKind === 'loopback') return ignore(`ARP target ${target} is ${targetKind}`);
  // 0.0.0.0 is an RFC 5227 probe, answered like any request. Any other such
  // sender is a martian source to Linux's route lookup: never answered, never
  // learnt, so it cannot be a conflict either, even on a misconfigured VIP.
  const senderKind = specialIpv4(a.senderIp);
  if (senderKind !== undefined && senderKind !== 'unspecified') return ignore(`ARP sender ${sender} is ${senderKind}`);
  // A sender address of ours from another MAC: a gratuitous ARP, or a host
  // that believes it owns the address. Either way the agent wants to know.
  // A probe's 0.0.0.0 claims nothing.
  if (senderKind === undefined && view.addresses.has(sender)) {
    return { kind: 'conflict', family: 4, address: sender, mac: formatMac(a.senderMac) };
  }
  if (a.op === ARP_REPLY) return ignore('ARP reply');
  if (!view.addresses.has(target)) return ARP_NOT_OURS;
  // Linux routes these as broadcast or martian destinations, never as local, so
  // it does not answer; the frame is still a valid request (and can carry a conflict).
  if (targetKind !== undefined) return ignore(`ARP request for ${target}, which is ${targetKind}`, true);
  if (!eth.dst.equals(BROADCAST_MAC) && !eth.dst.equals(view.mac)) {
    return ignore(`ARP request for ${target} addressed to ${formatMac(eth.dst)}`, isRequest);
  }
  return {
    kind: 'reply', family: 4, address: target, asker: sender, askerMac: formatMac(a.senderMac),
    frame: arpReply(view.mac, a.targetIp, Buffer.from(a.senderMac), a.senderIp),
  };
}

/** IPv4 addresses Linux's ARP treats apart from unicast ones (with route_localnet off, the default). */
type SpecialIpv4 = 'unspecified' | 'in 0.0.0.0/8' | 'loopback' | 'multicast' | 'limited broadcast';

function specialIpv4(ip: Buffer): SpecialIpv4 | undefined {
  const first = ip[0] ?? 0;
  if (first === 0) return ip.readUInt32BE(0) === 0 ? 'unspecified' : 'in 0.0.0.0/8';
  if (first === 127) return 'loopback';
  if (first >= 224 && first < 240) return 'multicast';
  if (ip.readUInt32BE(0) === 0xffffffff) return 'limited broadcast';
  return undefined;
}

function decideNd(eth: EthernetFrame, view: InterfaceView): Decision {
  const ip = decodeIpv6(eth.payload);
  if (!ip.ok) return { kind: 'malformed', reason: ip.error };
  // Only ICMPv6 is neighbour discovery; other IPv6 traffic is none of our business.
  if (ip.value.nextHeader !== 58) return ignore(`IPv6 next header ${ip.value.nextHeader}`);
  const icmpType = ip.value.payload[0];
  if (icmpType === ICMPV6_ECHO_REQUEST && view.echo?.size) return decideEcho6(eth, view);
  if (icmpType !== 135 && icmpType !== 136) return ignore(`ICMPv6 type ${icmpType ?? 'none'}`);
  // Linux discards these in ip6_rcv_core, before neighbour discovery sees them, so
  // no solicitation from them is answered and no advertisement from them is a conflict.
  const badSource = badIpv6Source(ip.value.src);
  if (badSource) return ignore(`IPv6 source ${ipText(ip.value.src)} is ${badSource}`);
  const nd = decodeNeighborDiscovery(ip.value);
  if (!nd.ok) return { kind: 'malformed', reason: nd.error };
  const m = nd.value;
  const target = ipv6Text(m.target);
  if (m.type !== ICMPV6_NEIGHBOR_SOLICITATION) {
    const mac = m.targetMac ?? eth.src;
    if (view.addresses.has(target) && !mac.equals(view.mac)) {
      return { kind: 'conflict', family: 6, address: target, mac: formatMac(mac) };
    }
    return ignore('neighbour advertisement');
  }
  if (!view.addresses.has(target)) return ignore(`neighbour solicitation for ${target}, not ours`, true);
  const group = solicitedNodeAddress(m.target);
  const toGroup = ip.value.dst.equals(group) && eth.dst.equals(multicastMac(group));
  // Unicast solicitations (neighbour unreachability detection) come to our MAC.
  const toUs = ip.value.dst.equals(m.target) && eth.dst.equals(view.mac);
  if (!toGroup && !toUs) return ignore(`solicitation for ${target} not addressed to us`, true);
  const dad = ip.value.src.equals(UNSPECIFIED);
  // A DAD probe has no address to answer to: defend on all-nodes, unsolicited (RFC 4861 §7.2.4).
  const dstIp = dad ? ALL_NODES : ip.value.src;
  const dstMac = dad ? multicastMac(ALL_NODES) : (m.sourceMac ?? eth.src);
  return {
    kind: 'reply', family: 6, address: target, asker: ipText(ip.value.src), askerMac: formatMac(m.sourceMac ?? eth.src),
    frame: neighborAdvertisement(view.mac, m.target, Buffer.from(dstMac), dstIp, !dad),
  };
}

/** Why no packet may come from `src`, or undefined when it may. */
function badIpv6Source(src: Buffer): string | undefined {
  if (isMulticastIpv6(src)) return 'multicast (RFC 4291 §2.7)';
  // Answering it would put a packet to ::1 on the wire.
  if (src.equals(LOOPBACK)) return 'loopback (RFC 4291 §2.5.3)';
  return undefined;
}

/**
 * An ICMP echo request to an address that answers ping, sent to our MAC.
 * As Linux: no answer to a multicast, broadcast, loopback or 0/8 source
 * (icmp_echo never replies to what it could not route back), and none to a
 * fragment (it would need reassembly).
 */
function decideEcho4(eth: EthernetFrame, view: InterfaceView): Decision {
  if (!eth.dst.equals(view.mac)) return ignore('IPv4 not addressed to our MAC');
  const ip = decodeIpv4(eth.payload);
  if (!ip.ok) return { kind: 'malformed', reason: ip.error };
  const p = ip.value;
  if (p.protocol !== PROTOCOL_ICMP) return ignore(`IPv4 protocol ${p.protocol}`);
  const address = ipText(p.dst);
  if (!view.echo?.has(address)) return ignore(`IPv4 to ${address}, which does not answer ping`);
  const sourceKind = specialIpv4(p.src);
  if (sourceKind !== undefined) return ignore(`echo request from ${ipText(p.src)}, which is ${sourceKind}`);
  const echo = decodeEchoRequest4(p.payload);
  if (!echo.ok) return { kind: 'malformed', reason: echo.error };
  return { kind: 'echo', family: 4, address, asker: ipText(p.src), frame: echoReply4(view.mac, eth.src, p.dst, p.src, echo.value) };
}

/** An ICMPv6 echo request (no extension headers) to an address that answers ping, sent to our MAC. */
function decideEcho6(eth: EthernetFrame, view: InterfaceView): Decision {
  if (!eth.dst.equals(view.mac)) return ignore('ICMPv6 echo request not addressed to our MAC');
  const ip = decodeIpv6(eth.payload);
  if (!ip.ok) return { kind: 'malformed', reason: ip.error };
  const p = ip.value;
  const address = ipText(p.dst);
  if (!view.echo?.has(address)) return ignore(`ICMPv6 echo request to ${address}, which does not answer ping`);
  const bad = badIpv6Source(p.src) ?? (p.src.equals(UNSPECIFIED) ? 'unspecified' : undefined);
  if (bad) return ignore(`echo request from ${ipText(p.src)}, which is ${bad}`);
  const echo = decodeEchoRequest6(p.payload, p.src, p.dst);
  if (!echo.ok) return { kind: 'malformed', reason: echo.error };
  return { kind: 'echo', family: 6, address, asker: ipText(p.src), frame: echoReply6(view.mac, eth.src, p.dst, p.src, echo.value) };
}

const HEX = Array.from({ length: 65536 }, (_, i) => i.toString(16));

/**
 * ipText for 16 bytes (RFC 5952: lowercase, no leading zeros, the first
 * longest run of two or more zero groups as "::"), several times faster than
 * the general one: a solicitation flood formats every target. Held equal to
 * ipText by a test.
 */
export function ipv6Text(b: Buffer): string {
  if (b.length !== 16) return ipText(b);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (b.readUInt16BE(2 * i) !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && b.readUInt16BE(2 * j) === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += HEX[b.readUInt16BE(2 * i)] ?? '';
  }
  return out;
}
