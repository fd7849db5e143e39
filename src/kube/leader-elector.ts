/**
 * Leader election on a LeaseLock, for processes that run as several replicas
 * with one active (the operator). The leader renews every retry period and
 * steps down when it has not renewed for renewDeadline, well before others
 * may consider the lease expired; on shutdown it releases the lease so a
 * standby takes over at once instead of after a lease duration.
 */
import type { Logger } from '../log.js';
import type { LeaseLock } from './lease-lock.js';

/** A renewal is given half the renew deadline, but never less than this: an ordinary apiserver round trip must fit even with tiny timings. */
const MIN_RENEW_TIMEOUT_MS = 500;

export interface LeaderElectorOptions {
  lock: LeaseLock;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Monotonic clock in ms; injectable for tests. */
  now?: () => number;
}

export function validateElectionTimings(t: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }): string | undefined {
  if (!(t.retryPeriodMs > 0)) return 'the retry period must be positive';
  if (!(t.renewDeadlineMs > t.retryPeriodMs)) return 'the renew deadline must be longer than the retry period';
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) return 'the lease duration must be longer than the renew deadline';
  return undefined;
}

export class LeaderElector {
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: LeaderElectorOptions) {
    const problem = validateElectionTimings(opts);
    if (problem) throw new RangeError(problem);
    this.now = opts.now ?? (() => performance.now());
  }

  get isLeader(): boolean { return this.leading; }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops campaigning; a leader steps down and releases the lease. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight;
    if (this.leading) {
      this.stepDown('shutting down');
      try {
        await this.opts.lock.release();
        this.opts.log.info('released the leader lease');
      } catch (err) {
        this.opts.log.warn({ err }, 'could not release the leader lease; it will expire');
      }
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.tick().finally(() => { this.schedule(this.opts.retryPeriodMs); });
    }, ms);
  }

  private async tick(): Promise<void> {
    try {
      // A hung request (a frozen apiserver) must not keep a leader from stepping down.
      const outcome = await withTimeout(this.opts.lock.acquireOrRenew(), Math.max(MIN_RENEW_TIMEOUT_MS, this.opts.renewDeadlineMs / 2));
      if (!this.running) return;
      if (outcome.held) {
        this.lastRenew = this.now();
        if (!this.leading) {
          this.leading = true;
          this.opts.log.info({ identity: this.opts.lock.identity }, 'became the leader');
          this.opts.onStartedLeading();
        }
      } else if (this.leading) {
        this.stepDown(`the lease is held by ${outcome.holder || 'someone else'}`);
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'leader lease request failed');
      if (this.leading && this.now() - this.lastRenew > this.opts.renewDeadlineMs) {
        this.stepDown(`could not renew for ${this.opts.renewDeadlineMs} ms`);
      }
    }
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.opts.log.warn({ why }, 'stopped leading');
    this.opts.onStoppedLeading();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)); }, ms);
  });
  return Promise.race([p, timeout]).finally(() => { clearTimeout(timer); });
}
