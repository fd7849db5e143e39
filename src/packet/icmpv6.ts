import type { Decoded } from './result.js';
import { fail, ok } from './result.js';
import type { Ipv6Packet } from './ipv6.js';
import { NEXT_HEADER_ICMPV6, UNSPECIFIED, isMulticastIpv6, solicitedNodeAddress } from './ipv6.js';

export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
const OPT_SOURCE_LL = 1;
const OPT_TARGET_LL = 2;

export interface NeighborSolicitation {
  readonly type: typeof ICMPV6_NEIGHBOR_SOLICITATION;
  readonly target: Buffer;
  /** Source link-layer address option, if present. */
  readonly sourceMac?: Buffer;
}

export interface NeighborAdvertisement {
  readonly type: typeof ICMPV6_NEIGHBOR_ADVERTISEMENT;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly target: Buffer;
  /** Target link-layer address option, if present. */
  readonly targetMac?: Buffer;
}

export type NeighborDiscovery = NeighborSolicitation | NeighborAdvertisement;

/** RFC 4443 checksum over the IPv6 pseudo-header and the ICMPv6 message. */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add16 = (b: Uint8Array) => {
    for (let i = 0; i + 1 < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
    if (b.length % 2 === 1) sum += (b[b.length - 1] ?? 0) << 8;
  };
  add16(src);
  add16(dst);
  sum += (message.length >>> 16) + (message.length & 0xffff);
  sum += NEXT_HEADER_ICMPV6;
  add16(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Decodes and validates a neighbour solicitation or advertisement carried in
 * `ip`, applying the receive checks of RFC 4861 §7.1 (hop limit 255, code 0,
 * checksum, lengths, options, unspecified-source rules).
 */
export function decodeNeighborDiscovery(ip: Ipv6Packet): Decoded<NeighborDiscovery> {
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6) return fail(`next header ${ip.nextHeader}, not ICMPv6`);
  const m = ip.payload;
  if (m.length < 24) return fail(`truncated neighbour discovery message (${m.length} bytes)`);
  const type = m[0];
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) {
    return fail(`ICMPv6 type ${type} is not neighbour discovery`);
  }
  if (ip.hopLimit !== 255) return fail(`hop limit ${ip.hopLimit}: neighbour discovery must not be forwarded`);
  if (m[1] !== 0) return fail(`ICMPv6 code ${m[1]} is not 0`);
  if (icmpv6Checksum(ip.src, ip.dst, m) !== 0) return fail('bad ICMPv6 checksum');
  const target = m.subarray(8, 24);
  if (isMulticastIpv6(target)) return fail('multicast target address');
  let sourceMac: Buffer | undefined;
  let targetMac: Buffer | undefined;
  for (let off = 24; off < m.length; ) {
    if (off + 2 > m.length) return fail('truncated option header');
    const optType = m[off] ?? 0;
    const optLen = (m[off + 1] ?? 0) * 8;
    if (optLen === 0) return fail('option with length 0');
    if (off + optLen > m.length) return fail('option runs past the end of the message');
    // Link-layer options for Ethernet are exactly 8 bytes; others are skipped (RFC 4861 §4.6).
    if (optType === OPT_SOURCE_LL || optType === OPT_TARGET_LL) {
      if (optLen !== 8) return fail(`link-layer address option of ${optLen} bytes`);
      const mac = m.subarray(off + 2, off + 8);
      if (optType === OPT_SOURCE_LL) sourceMac = mac;
      else targetMac = mac;
    }
    off += optLen;
  }
  if (type === ICMPV6_NEIGHBOR_SOLICITATION) {
    if (ip.src.equals(UNSPECIFIED)) {
      if (!ip.dst.equals(solicitedNodeAddress(target))) return fail('DAD solicitation not sent to the solicited-node group');
      if (sourceMac) return fail('DAD solicitation with a source link-layer address option');
    }
    return ok(sourceMac ? { type, target, sourceMac } : { type, target });
  }
  const flags = m[4] ?? 0;
  const solicited = (flags & 0x40) !== 0;
  if (solicited && isMulticastIpv6(ip.dst)) return fail('solicited advertisement sent to a multicast address');
  const na: NeighborAdvertisement = {
    type: ICMPV6_NEIGHBOR_ADVERTISEMENT, router: (flags & 0x80) !== 0, solicited, override: (flags & 0x20) !== 0, target,
  };
  return ok(targetMac ? { ...na, targetMac } : na);
}

/** Encodes the ICMPv6 message (checksum filled in) for the given IPv6 endpoints. */
export function encodeNeighborDiscovery(msg: NeighborDiscovery, src: Uint8Array, dst: Uint8Array): Buffer {
  const mac = msg.type === ICMPV6_NEIGHBOR_SOLICITATION ? msg.sourceMac : msg.targetMac;
  const out = Buffer.alloc(24 + (mac ? 8 : 0));
  out[0] = msg.type;
  if (msg.type === ICMPV6_NEIGHBOR_ADVERTISEMENT) {
    out[4] = (msg.router ? 0x80 : 0) | (msg.solicited ? 0x40 : 0) | (msg.override ? 0x20 : 0);
  }
  out.set(msg.target, 8);
  if (mac) {
    out[24] = msg.type === ICMPV6_NEIGHBOR_SOLICITATION ? OPT_SOURCE_LL : OPT_TARGET_LL;
    out[25] = 1;
    out.set(mac, 26);
  }
  out.writeUInt16BE(icmpv6Checksum(src, dst, out), 2);
  return out;
}
