import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS } from './timeouts.js';

/**
 * Exponential backoff with full jitter: after the n-th consecutive failure
 * wait a random time in [0, min(max, initial * 2^n)], so that many clients
 * restarting after one apiserver outage do not come back in lockstep.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs = BACKOFF_INITIAL_MS,
    private readonly maxMs = BACKOFF_MAX_MS,
    private readonly random: () => number = Math.random,
  ) {
    if (!(initialMs > 0) || !(maxMs >= initialMs)) throw new RangeError('backoff needs 0 < initialMs <= maxMs');
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    // Never zero: a tight loop against a broken apiserver helps nobody.
    return Math.max(this.initialMs / 2, Math.round(this.random() * ceiling));
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}
