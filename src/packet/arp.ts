import type { Decoded } from './result.js';
import { fail, ok } from './result.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** ARP for Ethernet and IPv4 (RFC 826), the only kind herald speaks. */
export interface ArpPacket {
  readonly op: number;
  readonly senderMac: Buffer;
  readonly senderIp: Buffer;
  readonly targetMac: Buffer;
  readonly targetIp: Buffer;
}

const ARP_LEN = 28;

export function decodeArp(payload: Buffer): Decoded<ArpPacket> {
  // Trailing bytes are Ethernet padding to the 60-byte minimum, not an error.
  if (payload.length < ARP_LEN) return fail(`truncated ARP packet (${payload.length} bytes)`);
  const htype = payload.readUInt16BE(0);
  const ptype = payload.readUInt16BE(2);
  const hlen = payload[4];
  const plen = payload[5];
  if (htype !== 1 || ptype !== 0x0800 || hlen !== 6 || plen !== 4) {
    return fail(`not Ethernet/IPv4 ARP (htype ${htype}, ptype 0x${ptype.toString(16)}, hlen ${hlen}, plen ${plen})`);
  }
  const op = payload.readUInt16BE(6);
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return fail(`unknown ARP operation ${op}`);
  return ok({
    op,
    senderMac: payload.subarray(8, 14),
    senderIp: payload.subarray(14, 18),
    targetMac: payload.subarray(18, 24),
    targetIp: payload.subarray(24, 28),
  });
}

export function encodeArp(p: ArpPacket): Buffer {
  const out = Buffer.alloc(ARP_LEN);
  out.writeUInt16BE(1, 0);
  out.writeUInt16BE(0x0800, 2);
  out[4] = 6;
  out[5] = 4;
  out.writeUInt16BE(p.op, 6);
  out.set(p.senderMac, 8);
  out.set(p.senderIp, 14);
  out.set(p.targetMac, 18);
  out.set(p.targetIp, 24);
  return out;
}
