/** A MAC address as six bytes; formatted lower-case with colons. */
export type Mac = Buffer;

export const BROADCAST_MAC: Mac = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Mac = Buffer.alloc(6);

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseMac(text: string): Mac | undefined {
  if (!MAC_RE.test(text)) return undefined;
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

export function formatMac(mac: Uint8Array): string {
  return Buffer.from(mac).toString('hex').replace(/(..)(?!$)/g, '$1:');
}

export function isMulticastMac(mac: Uint8Array): boolean {
  return ((mac[0] ?? 0) & 1) === 1;
}
