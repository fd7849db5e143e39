/**
 * Decoders return a value instead of throwing: a hostile frame is an ordinary
 * input on a LAN, not an exceptional one.
 */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function fail<T>(error: string): Decoded<T> {
  return { ok: false, error };
}
