/**
 * Decoders return a value instead of throwing: a hostile frame is an ordinary
 * input on a LAN, not an exceptional one. The core's Result, under the name
 * the codecs use.
 */
import type { Result } from '../core/result.js';

export type Decoded<T> = Result<T>;
export { fail, ok } from '../core/result.js';
