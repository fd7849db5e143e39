/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443 §4) echo request and reply. Only what
 * answering a ping needs: the identifier, sequence number and data are
 * echoed unchanged, as RFC 792 and RFC 4443 §4.2 require.
 */
import type { Decoded } from './result.js';
import { fail, ok } from './result.js';
import { icmpv6Checksum } from './icmpv6.js';
import { internetChecksum } from './ipv4.js';

export const ICMP_ECHO_REQUEST = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

export interface Echo {
  readonly id: number;
  readonly seq: number;
  readonly data: Buffer;
}

/** An ICMP echo request in an IPv4 payload, checksum verified. */
export function decodeEchoRequest4(message: Buffer): Decoded<Echo> {
  if (message.length < 8) return fail(`truncated ICMP message (${message.length} bytes)`);
  if (message[0] !== ICMP_ECHO_REQUEST) return fail(`ICMP type ${message[0]}, not an echo request`);
  if (message[1] !== 0) return fail(`ICMP echo code ${message[1]} is not 0`);
  if (internetChecksum(message) !== 0) return fail('bad ICMP checksum');
  return ok({ id: message.readUInt16BE(4), seq: message.readUInt16BE(6), data: message.subarray(8) });
}

export function encodeEchoReply4(e: Echo): Buffer {
  const out = Buffer.alloc(8 + e.data.length);
  out[0] = ICMP_ECHO_REPLY;
  out.writeUInt16BE(e.id, 4);
  out.writeUInt16BE(e.seq, 6);
  out.set(e.data, 8);
  out.writeUInt16BE(internetChecksum(out), 2);
  return out;
}

/** An ICMPv6 echo request between `src` and `dst`, checksum (with the pseudo-header) verified. */
export function decodeEchoRequest6(message: Buffer, src: Uint8Array, dst: Uint8Array): Decoded<Echo> {
  if (message.length < 8) return fail(`truncated ICMPv6 message (${message.length} bytes)`);
  if (message[0] !== ICMPV6_ECHO_REQUEST) return fail(`ICMPv6 type ${message[0]}, not an echo request`);
  if (message[1] !== 0) return fail(`ICMPv6 echo code ${message[1]} is not 0`);
  if (icmpv6Checksum(src, dst, message) !== 0) return fail('bad ICMPv6 checksum');
  return ok({ id: message.readUInt16BE(4), seq: message.readUInt16BE(6), data: message.subarray(8) });
}

export function encodeEchoReply6(e: Echo, src: Uint8Array, dst: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + e.data.length);
  out[0] = ICMPV6_ECHO_REPLY;
  out.writeUInt16BE(e.id, 4);
  out.writeUInt16BE(e.seq, 6);
  out.set(e.data, 8);
  out.writeUInt16BE(icmpv6Checksum(src, dst, out), 2);
  return out;
}
