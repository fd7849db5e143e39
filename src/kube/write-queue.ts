/**
 * A keyed queue of writes with bounded concurrency and per-key retry with
 * backoff. Only the newest write per key is kept, so a burst of changes to
 * one object costs one request, and a failed write is retried until it lands
 * or is superseded: memory and the API never disagree for good.
 */
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';
import { BACKOFF_MAX_MS } from './timeouts.js';

/** First retry of a failed write: most failures are a conflict or a brief API hiccup, so try again soon. */
const WRITE_RETRY_INITIAL_MS = 250;

export type WriteJob = () => Promise<void>;

export class WriteQueue {
  private readonly pending = new Map<string, WriteJob>();
  private readonly order: string[] = [];
  private readonly running = new Set<string>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats = { ok: 0, failed: 0 };

  constructor(
    private readonly concurrency: number,
    private readonly log: Logger,
    private readonly onResult?: (key: string, ok: boolean) => void,
    /** false: a failed job is dropped instead of retried. */
    private readonly retry = true,
  ) {}

  /** Schedules a write for key, replacing any not yet started. */
  put(key: string, job: WriteJob): void {
    if (this.stopped) return;
    if (!this.pending.has(key)) this.order.push(key);
    this.pending.set(key, job);
    const timer = this.timers.get(key);
    if (timer) {
      // A newer write supersedes one waiting out a backoff.
      clearTimeout(timer);
      this.timers.delete(key);
    }
    this.pump();
  }

  /** Drops a key's pending write (the object is gone). */
  forget(key: string): void {
    this.pending.delete(key);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.backoffs.delete(key);
  }

  get size(): number {
    return this.pending.size + this.running.size + this.timers.size;
  }

  /** Resolves when nothing is queued, running or waiting to retry. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    this.order.length = 0;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.checkIdle();
  }

  private pump(): void {
    while (this.running.size < this.concurrency) {
      const key = this.order.shift();
      if (key === undefined) return;
      const job = this.pending.get(key);
      // Forgotten, or still running: a running key is queued again when it ends.
      if (job === undefined || this.running.has(key)) continue;
      this.pending.delete(key);
      this.running.add(key);
      void this.execute(key, job);
    }
  }

  private async execute(key: string, job: WriteJob): Promise<void> {
    try {
      await job();
      this.log.debug({ key }, 'write done');
      this.stats.ok++;
      this.backoffs.delete(key);
      this.onResult?.(key, true);
    } catch (err) {
      this.stats.failed++;
      this.onResult?.(key, false);
      if (this.retry && !this.stopped && !this.pending.has(key)) {
        let b = this.backoffs.get(key);
        if (!b) this.backoffs.set(key, (b = new Backoff(WRITE_RETRY_INITIAL_MS, BACKOFF_MAX_MS)));
        const delay = b.next();
        this.log.warn({ key, err, retryInMs: delay }, 'write failed; will retry');
        this.timers.set(key, setTimeout(() => {
          this.timers.delete(key);
          this.put(key, job);
        }, delay));
      }
    } finally {
      this.running.delete(key);
      if (this.pending.has(key)) this.order.push(key);
      this.pump();
      this.checkIdle();
    }
  }

  private checkIdle(): void {
    if (this.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
