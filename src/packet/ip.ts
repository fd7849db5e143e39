import { isIPv4, isIPv6 } from 'node:net';
import { Address4, Address6 } from 'ip-address';

/** An IP address in wire form (4 or 16 bytes) and its canonical text. */
export interface IpAddr {
  readonly family: 4 | 6;
  readonly bytes: Buffer;
  /** Canonical text (RFC 5952 for IPv6), usable as a map key. */
  readonly text: string;
}

/** Parses an address literal; undefined when it is not one (no zone, no prefix). */
export function parseIp(text: string): IpAddr | undefined {
  if (isIPv4(text)) {
    const bytes = Buffer.from(new Address4(text).toArray());
    return { family: 4, bytes, text: ipText(bytes) };
  }
  if (isIPv6(text) && !text.includes('%')) {
    const bytes = Buffer.from(new Address6(text).toUnsignedByteArray());
    // toUnsignedByteArray drops leading zero bytes (it is a BigInt underneath).
    const full = Buffer.concat([Buffer.alloc(16 - bytes.length), bytes]);
    return { family: 6, bytes: full, text: ipText(full) };
  }
  return undefined;
}

/** Canonical text of a 4- or 16-byte address. */
export function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const hex = Buffer.from(bytes).toString('hex').replace(/(.{4})(?!$)/g, '$1:');
  return new Address6(hex).correctForm();
}

export function ipFromBytes(bytes: Uint8Array): IpAddr {
  const copy = Buffer.from(bytes);
  return { family: copy.length === 4 ? 4 : 6, bytes: copy, text: ipText(copy) };
}
