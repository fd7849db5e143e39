/**
 * Sends ARP requests or neighbour solicitations carrying one 802.1Q tag from
 * inside a test namespace, and reports the answers, telling tagged from
 * untagged ones. A packet socket sees a received tag in metadata (the
 * kernel untags before taps run), so two sockets with filters on
 * SKF_AD_VLAN_TAG_PRESENT tell them apart, without tcpdump.
 *   node vlan-probe.js IFACE arp|ns TARGET VID [COUNT] [WAIT_MS] [SOURCE]
 * Prints {"untagged": [MAC...], "tagged": [MAC...]}: one entry per answer
 * about TARGET (an ARP reply from it, or an NA for it).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from '../src/packet/arp.js';
import type { BpfInsn } from '../src/packet/bpf-filter.js';
import { ACCEPT } from '../src/packet/bpf-filter.js';
import { decodeEthernet, encodeEthernet } from '../src/packet/ethernet.js';
import { ICMPV6_NEIGHBOR_ADVERTISEMENT, ICMPV6_NEIGHBOR_SOLICITATION, decodeNeighborDiscovery, encodeNeighborDiscovery } from '../src/packet/icmpv6.js';
import { parseIp } from '../src/packet/ip.js';
import { decodeIpv6, encodeIpv6, multicastMac, solicitedNodeAddress } from '../src/packet/ipv6.js';
import { formatMac } from '../src/packet/mac.js';
import { PacketSocket } from '../src/packet/packet-socket.js';

const [ifname = 'eth0', kind = 'arp', targetText = '', vidText = '0', countText = '3', waitText = '1000', sourceText] = process.argv.slice(2);
const parsed = parseIp(targetText);
if (!parsed) throw new Error(`not an address: ${targetText}`);
const target = parsed;
const vid = Number(vidText);
const mac = Buffer.from(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim().replaceAll(':', ''), 'hex');

const AD_PKTTYPE = (-0x1000 + 4) >>> 0;
const AD_VLAN_TAG_PRESENT = (-0x1000 + 48) >>> 0;
/** Incoming frames of `etherType` whose tag-present flag is `present`. */
const byTag = (etherType: number, present: 0 | 1): BpfInsn[] => [
  { code: 0x30, jt: 0, jf: 0, k: AD_PKTTYPE }, { code: 0x15, jt: 5, jf: 0, k: 4 },
  { code: 0x20, jt: 0, jf: 0, k: AD_VLAN_TAG_PRESENT }, { code: 0x15, jt: 0, jf: 3, k: present },
  { code: 0x28, jt: 0, jf: 0, k: 12 }, { code: 0x15, jt: 0, jf: 1, k: etherType },
  { code: 0x06, jt: 0, jf: 0, k: ACCEPT }, { code: 0x06, jt: 0, jf: 0, k: 0 },
];

/** The MAC answering for the target, if `frame` is such an answer. */
function answer(frame: Buffer): string | undefined {
  const eth = decodeEthernet(frame);
  if (!eth.ok) return undefined;
  if (kind === 'arp') {
    const arp = decodeArp(eth.value.payload);
    return arp.ok && arp.value.op === ARP_REPLY && arp.value.senderIp.equals(target.bytes) ? formatMac(arp.value.senderMac) : undefined;
  }
  const ip = decodeIpv6(eth.value.payload);
  if (!ip.ok || ip.value.nextHeader !== 58) return undefined;
  const nd = decodeNeighborDiscovery(ip.value);
  if (!nd.ok || nd.value.type !== ICMPV6_NEIGHBOR_ADVERTISEMENT || !nd.value.target.equals(target.bytes)) return undefined;
  return formatMac(nd.value.targetMac ?? eth.value.src);
}

const etherType = kind === 'arp' ? 0x0806 : 0x86dd;
const seen = { untagged: [] as string[], tagged: [] as string[] };
const sockets = ([['untagged', 0], ['tagged', 1]] as const).map(([name, present]) =>
  new PacketSocket(ifname, byTag(etherType, present), (frame) => {
    const m = answer(frame);
    if (m !== undefined) seen[name].push(m);
  }));

let frame: Buffer;
const vlan = { pcp: 3, dei: false, vid };
if (kind === 'arp') {
  const senderIp = parseIp(sourceText ?? '192.0.2.100')!.bytes;
  const payload = encodeArp({ op: ARP_REQUEST, senderMac: mac, senderIp, targetMac: Buffer.alloc(6), targetIp: target.bytes });
  frame = encodeEthernet({ dst: Buffer.alloc(6, 0xff), src: mac, vlan, etherType, payload });
} else {
  const src = parseIp(sourceText ?? '2001:db8::100')!.bytes;
  const group = solicitedNodeAddress(target.bytes);
  const icmp = encodeNeighborDiscovery({ type: ICMPV6_NEIGHBOR_SOLICITATION, target: target.bytes, sourceMac: mac }, src, group);
  const payload = encodeIpv6({ nextHeader: 58, hopLimit: 255, src, dst: group, payload: icmp });
  frame = encodeEthernet({ dst: multicastMac(group), src: mac, vlan, etherType, payload });
}
await sleep(50);
for (let i = 0; i < Number(countText); i++) {
  sockets[0]!.send(frame);
  await sleep(20);
}
await sleep(Number(waitText));
for (const s of sockets) s.close();
process.stdout.write(`${JSON.stringify(seen)}\n`);
