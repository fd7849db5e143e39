import type { Decoded } from './result.js';
import { fail, ok } from './result.js';

export const PROTOCOL_ICMP = 1;

export interface Ipv4Packet {
  readonly tos: number;
  readonly id: number;
  /** Don't fragment. */
  readonly df: boolean;
  readonly ttl: number;
  readonly protocol: number;
  readonly src: Buffer;
  readonly dst: Buffer;
  readonly payload: Buffer;
}

/** The Internet checksum (RFC 1071) of `data`: 0 when `data` includes a correct checksum. */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += ((data[i] ?? 0) << 8) | (data[i + 1] ?? 0);
  if (data.length % 2 === 1) sum += (data[data.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Decodes an IPv4 header with the receive checks a host applies (RFC 1122
 * §3.2.1): version, header length, total length, header checksum. Fragments
 * are refused: nothing herald answers needs reassembly. Slices share memory
 * with `data`; options are skipped.
 */
export function decodeIpv4(data: Buffer): Decoded<Ipv4Packet> {
  if (data.length < 20) return fail(`truncated IPv4 header (${data.length} bytes)`);
  const version = (data[0] ?? 0) >> 4;
  if (version !== 4) return fail(`IP version ${version}, not 4`);
  const headerLength = ((data[0] ?? 0) & 0x0f) * 4;
  if (headerLength < 20) return fail(`IPv4 header length ${headerLength} is below 20`);
  const total = data.readUInt16BE(2);
  if (total < headerLength || total > data.length) return fail(`IPv4 total length ${total} does not fit the ${data.length} bytes present`);
  if (internetChecksum(data.subarray(0, headerLength)) !== 0) return fail('bad IPv4 header checksum');
  const flags = data.readUInt16BE(6);
  if ((flags & 0x2000) !== 0 || (flags & 0x1fff) !== 0) return fail('IPv4 fragment');
  return ok({
    tos: data[1] ?? 0,
    id: data.readUInt16BE(4),
    df: (flags & 0x4000) !== 0,
    ttl: data[8] ?? 0,
    protocol: data[9] ?? 0,
    src: data.subarray(12, 16),
    dst: data.subarray(16, 20),
    payload: data.subarray(headerLength, total),
  });
}

/** A 20-byte header (no options) with its checksum, then the payload. */
export function encodeIpv4(p: Ipv4Packet): Buffer {
  const out = Buffer.alloc(20 + p.payload.length);
  out[0] = 0x45;
  out[1] = p.tos;
  out.writeUInt16BE(out.length, 2);
  out.writeUInt16BE(p.id, 4);
  out.writeUInt16BE(p.df ? 0x4000 : 0, 6);
  out[8] = p.ttl;
  out[9] = p.protocol;
  out.set(p.src, 12);
  out.set(p.dst, 16);
  out.writeUInt16BE(internetChecksum(out.subarray(0, 20)), 10);
  out.set(p.payload, 20);
  return out;
}
