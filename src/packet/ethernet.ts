import type { Decoded } from './result.js';
import { fail, ok } from './result.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

export interface VlanTag {
  readonly pcp: number;
  readonly dei: boolean;
  readonly vid: number;
}

export interface EthernetFrame {
  readonly dst: Buffer;
  readonly src: Buffer;
  /** Present when the frame carried one 802.1Q tag. */
  readonly vlan?: VlanTag;
  readonly etherType: number;
  readonly payload: Buffer;
}

/**
 * Decodes an Ethernet II header with at most one 802.1Q tag. Slices share
 * memory with `frame`. Stacked tags (QinQ) and 802.3 length fields are rejected:
 * nothing herald answers arrives that way.
 */
export function decodeEthernet(frame: Buffer): Decoded<EthernetFrame> {
  if (frame.length < 14) return fail(`truncated Ethernet header (${frame.length} bytes)`);
  const dst = frame.subarray(0, 6);
  const src = frame.subarray(6, 12);
  let etherType = frame.readUInt16BE(12);
  let offset = 14;
  let vlan: VlanTag | undefined;
  if (etherType === ETHERTYPE_VLAN) {
    if (frame.length < 18) return fail('truncated 802.1Q tag');
    const tci = frame.readUInt16BE(14);
    vlan = { pcp: tci >> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff };
    etherType = frame.readUInt16BE(16);
    offset = 18;
    if (etherType === ETHERTYPE_VLAN || etherType === 0x88a8) return fail('stacked VLAN tags are not supported');
  }
  if (etherType < 0x0600) return fail(`802.3 length field ${etherType}, not an EtherType`);
  const payload = frame.subarray(offset);
  return ok(vlan ? { dst, src, vlan, etherType, payload } : { dst, src, etherType, payload });
}

export function encodeEthernet(f: Omit<EthernetFrame, 'payload'> & { readonly payload: Uint8Array }): Buffer {
  const tagLen = f.vlan ? 4 : 0;
  const out = Buffer.alloc(14 + tagLen + f.payload.length);
  Buffer.from(f.dst).copy(out, 0);
  Buffer.from(f.src).copy(out, 6);
  if (f.vlan) {
    out.writeUInt16BE(ETHERTYPE_VLAN, 12);
    out.writeUInt16BE(((f.vlan.pcp & 7) << 13) | (f.vlan.dei ? 0x1000 : 0) | (f.vlan.vid & 0x0fff), 14);
  }
  out.writeUInt16BE(f.etherType, 12 + tagLen);
  out.set(f.payload, 14 + tagLen);
  return out;
}
