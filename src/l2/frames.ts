import { ARP_REPLY, ARP_REQUEST, encodeArp } from '../packet/arp.js';
import type { VlanTag } from '../packet/ethernet.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, encodeEthernet } from '../packet/ethernet.js';
import { ICMPV6_NEIGHBOR_ADVERTISEMENT, encodeNeighborDiscovery } from '../packet/icmpv6.js';
import type { IpAddr } from '../packet/ip.js';
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
