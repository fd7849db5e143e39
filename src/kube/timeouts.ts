/** Timing constants shared by several of the kube adapters; each file keeps its own others. */

/** First retry after a failed list, watch or write: soon, since most failures are a blip, but never a tight loop. */
export const BACKOFF_INITIAL_MS = 200;

/** Longest wait between retries, as client-go's reflector: an apiserver back from an outage is noticed within half a minute. */
export const BACKOFF_MAX_MS = 30_000;
