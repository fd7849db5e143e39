/**
 * What a fallible pure function returns: the value, or an error a user can
 * read. Bad input (a pool block, a selector, a frame off the LAN) is an
 * ordinary input here, not an exceptional one, so nothing in the core throws
 * for it.
 */
export type Result<T, E = string> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

/** A failure with a message; T only names the value it would have been. */
export function fail<T = never>(error: string): Result<T> {
  return { ok: false, error };
}
