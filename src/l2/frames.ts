import { ARP_REPLY, ARP_REQUEST, encodeArp } from '../packet/arp.js';
import type { VlanTag } from '../packet/ethernet.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, encodeEthernet } from '../packet/ethernet.js';
import { ICMPV6_NEIGHBOR_ADVERTISEMENT, encodeNeighborDiscovery } from '../packet/icmpv6.js';
import type { Echo } from '../packet/icmp-echo.js';
import { encodeEchoReply4, encodeEchoReply6 } from '../packet/icmp-echo.js';
import type { IpAddr } from '../packet/ip.js';
import { PROTOCOL_ICMP, encodeIpv4 } from '../packet/ipv4.js';
import { ALL_NODES, NEXT_HEADER_ICMPV6, encodeIpv6 } from '../packet/ipv6.js';
import { BROADCAST_MAC, ZERO_MAC } from '../packet/mac.js';

/** An ARP reply from `mac` saying `ip` is at `mac`, sent to `toMac`/`toIp`. */
export function arpReply(mac: Buffer, ip: Uint8Array, toMac: Buffer, toIp: Uint8Array, vlan?: VlanTag): Buffer {
  const arp = encodeArp({ op: ARP_REPLY, senderMac: mac, senderIp: Buffer.from(ip), targetMac: toMac, targetIp: Buffer.from(toIp) });
  return encodeEthernet({ dst: toMac, src: mac, etherType: ETHERTYPE_ARP, payload: arp, ...(vlan ? { vlan } : {}) });
}

/** A neighbour advertisement for `target` at `mac`; solicited ones go to the solicitor. */
export function neighborAdvertisement(
  mac: Buffer, target: Uint8Array, dstMac: Buffer, dstIp: Uint8Array, solicited: boolean, vlan?: VlanTag,
): Buffer {
  // The target itself is the source address: it is ours for as long as we
  // announce it, and it works on links that have no address at all.
  const icmp = encodeNeighborDiscovery(
    { type: ICMPV6_NEIGHBOR_ADVERTISEMENT, router: false, solicited, override: true, target: Buffer.from(target), targetMac: mac },
    target, dstIp,
  );
  const ip = encodeIpv6({ nextHeader: NEXT_HEADER_ICMPV6, hopLimit: 255, src: Buffer.from(target), dst: Buffer.from(dstIp), payload: icmp });
  return encodeEthernet({ dst: dstMac, src: mac, etherType: ETHERTYPE_IPV6, payload: ip, ...(vlan ? { vlan } : {}) });
}

const ALL_NODES_MAC = Buffer.from([0x33, 0x33, 0, 0, 0, 1]);

/**
 * The announcement sent when an address arrives: for IPv4 gratuitous ARP in
 * both forms (some stacks only heed requests, others only replies), for IPv6
 * an unsolicited advertisement with the override flag to all nodes.
 */
export function gratuitousFrames(addr: IpAddr, mac: Buffer): Buffer[] {
  if (addr.family === 4) {
    const request = encodeArp({ op: ARP_REQUEST, senderMac: mac, senderIp: addr.bytes, targetMac: ZERO_MAC, targetIp: addr.bytes });
    const reply = encodeArp({ op: ARP_REPLY, senderMac: mac, senderIp: addr.bytes, targetMac: BROADCAST_MAC, targetIp: addr.bytes });
    return [request, reply].map((payload) => encodeEthernet({ dst: BROADCAST_MAC, src: mac, etherType: ETHERTYPE_ARP, payload }));
  }
  return [neighborAdvertisement(mac, addr.bytes, ALL_NODES_MAC, ALL_NODES, false)];
}

/** The hop limit Linux puts on what it sends (net.ipv4.ip_default_ttl, IPv6 hop_limit). */
const DEFAULT_TTL = 64;

/** An ICMP echo reply from `vip` at `mac` to whoever asked (`toMac`, `toIp`). */
export function echoReply4(mac: Buffer, toMac: Buffer, vip: Uint8Array, toIp: Uint8Array, echo: Echo): Buffer {
  const ip = encodeIpv4({
    tos: 0, id: 0, df: true, ttl: DEFAULT_TTL, protocol: PROTOCOL_ICMP, src: Buffer.from(vip), dst: Buffer.from(toIp), payload: encodeEchoReply4(echo),
  });
  return encodeEthernet({ dst: toMac, src: mac, etherType: ETHERTYPE_IPV4, payload: ip });
}

/** An ICMPv6 echo reply from `vip` at `mac` to whoever asked. */
export function echoReply6(mac: Buffer, toMac: Buffer, vip: Uint8Array, toIp: Uint8Array, echo: Echo): Buffer {
  const ip = encodeIpv6({ nextHeader: NEXT_HEADER_ICMPV6, hopLimit: DEFAULT_TTL, src: Buffer.from(vip), dst: Buffer.from(toIp), payload: encodeEchoReply6(echo, vip, toIp) });
  return encodeEthernet({ dst: toMac, src: mac, etherType: ETHERTYPE_IPV6, payload: ip });
}
