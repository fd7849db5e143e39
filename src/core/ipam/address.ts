import { Address4, Address6 } from 'ip-address';
import { fail, ok, type Result } from '../result.js';

export type IpFamily = 4 | 6;

/** One address as a family plus its numeric value; BigInt so IPv6 fits. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** An inclusive range of addresses of one family. */
export interface IpRange {
  readonly family: IpFamily;
  readonly start: bigint;
  readonly end: bigint;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/** Parses a bare address (no prefix, no zone). */
export function parseIp(text: string): Result<IpAddress> {
  if (text.includes('/') || text.includes('%')) {
    return fail(`"${text}" is not a plain IPv4 or IPv6 address`);
  }
  try {
    if (text.includes(':')) return ok({ family: 6, value: new Address6(text).bigInt() });
    return ok({ family: 4, value: new Address4(text).bigInt() });
  } catch {
    return fail(`"${text}" is not a valid IPv4 or IPv6 address`);
  }
}

/**
 * Parses a CIDR into its range. Host bits are masked off, as Go's
 * net.ParseCIDR does, so "192.0.2.7/24" means 192.0.2.0/24.
 */
export function parseCidr(text: string): Result<IpRange & { readonly prefix: number }> {
  const slash = text.indexOf('/');
  if (slash < 0 || text.includes('%')) return fail(`"${text}" is not a CIDR (address/prefix)`);
  const prefixText = text.slice(slash + 1);
  const family: IpFamily = text.includes(':') ? 6 : 4;
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > BITS[family]) {
    return fail(`"${text}" has an invalid prefix length`);
  }
  const addr = parseIp(text.slice(0, slash));
  if (!addr.ok) return fail(`"${text}" is not a valid CIDR`);
  const hostBits = BigInt(BITS[family] - prefix);
  const start = (addr.value.value >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  return ok({ family, start, end, prefix });
}

/** Canonical text form (RFC 5952 for IPv6). */
export function formatIp(family: IpFamily, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

/** A map key that is unique across families and cheap to build. */
export function addressKey(family: IpFamily, value: bigint): string {
  return `${family}:${value.toString(16)}`;
}

export function formatRange(range: IpRange): string {
  return range.start === range.end
    ? formatIp(range.family, range.start)
    : `${formatIp(range.family, range.start)}-${formatIp(range.family, range.end)}`;
}
