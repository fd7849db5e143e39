import type { Decoded } from './result.js';
import { fail, ok } from './result.js';

export const NEXT_HEADER_ICMPV6 = 58;

export interface Ipv6Packet {
  readonly trafficClass: number;
  readonly flowLabel: number;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: Buffer;
  readonly dst: Buffer;
  readonly payload: Buffer;
}

export function decodeIpv6(data: Buffer): Decoded<Ipv6Packet> {
  if (data.length < 40) return fail(`truncated IPv6 header (${data.length} bytes)`);
  const word = data.readUInt32BE(0);
  if (word >>> 28 !== 6) return fail(`IP version ${word >>> 28}, not 6`);
  const payloadLength = data.readUInt16BE(4);
  // Jumbograms (length 0 + hop-by-hop option) never carry neighbour discovery.
  if (payloadLength === 0) return fail('IPv6 payload length 0');
  if (40 + payloadLength > data.length) {
    return fail(`IPv6 payload length ${payloadLength} exceeds the ${data.length - 40} bytes present`);
  }
  return ok({
    trafficClass: (word >>> 20) & 0xff,
    flowLabel: word & 0xfffff,
    nextHeader: data[6] ?? 0,
    hopLimit: data[7] ?? 0,
    src: data.subarray(8, 24),
    dst: data.subarray(24, 40),
    payload: data.subarray(40, 40 + payloadLength),
  });
}

export function encodeIpv6(p: Omit<Ipv6Packet, 'trafficClass' | 'flowLabel'> & { trafficClass?: number; flowLabel?: number }): Buffer {
  const out = Buffer.alloc(40 + p.payload.length);
  out.writeUInt32BE(((6 << 28) | (((p.trafficClass ?? 0) & 0xff) << 20) | ((p.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
  out.writeUInt16BE(p.payload.length, 4);
  out[6] = p.nextHeader;
  out[7] = p.hopLimit;
  out.set(p.src, 8);
  out.set(p.dst, 24);
  out.set(p.payload, 40);
  return out;
}

/** ff02::1:ffXX:XXXX, the group a neighbour solicitation for `addr` is sent to (RFC 4291). */
export function solicitedNodeAddress(addr: Uint8Array): Buffer {
  const out = Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0]);
  out.set(addr.subarray(13, 16), 13);
  return out;
}

/** 33:33 followed by the low 32 bits of an IPv6 multicast address (RFC 2464). */
export function multicastMac(group: Uint8Array): Buffer {
  const out = Buffer.from([0x33, 0x33, 0, 0, 0, 0]);
  out.set(group.subarray(12, 16), 2);
  return out;
}

export const ALL_NODES = Buffer.from('ff020000000000000000000000000001', 'hex');
export const UNSPECIFIED = Buffer.alloc(16);
export const LOOPBACK = Buffer.from('00000000000000000000000000000001', 'hex');

/** ff00::/8 (RFC 4291 §2.7). */
export function isMulticastIpv6(addr: Uint8Array): boolean {
  return addr[0] === 0xff;
}
