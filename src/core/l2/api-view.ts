/**
 * Whether one agent's view of the API is demonstrably current, and since
 * when. Pure: the adapter reports its own heartbeat renewals and what its
 * Lease watch delivers, with times from its monotonic clock.
 *
 * Why it exists: another node may be declared dead only on evidence gathered
 * while this agent could see the API working. If the apiserver pauses, every
 * heartbeat stops changing at once, and an observer that only counts time
 * would declare live holders dead (and its claim, stalled in the paused
 * apiserver, would land afterwards). Likewise a Lease watch that stalls
 * silently makes every node look dead. So the view is *current* only while
 * - the latest renewal of our own heartbeat succeeded, none is outstanding
 *   for long, and one succeeded within the expiry; and
 * - the watch has delivered our latest successful renewal, or it succeeded
 *   only a moment ago.
 * Every break in that (a failed or slow renewal, a late or missing watch
 * delivery) moves the evidence floor, `freshFrom`, to the moment the view is
 * current again: a node is dead only after a whole expiry of silence counted
 * from there. Our own renewal is the probe: if it lands promptly and comes
 * back on the watch, the renewals of a live node would have too.
 */
import type { CoordinationSettings } from './coordination-settings.js';

/**
 * Longest a renewal may be outstanding, or a successful renewal may take to
 * come back on the watch, before the view stops counting as current. Half the
 * slack between expiry and interval: a live node renews every interval, so
 * an API as slow as this for everyone still shows its renewals in time.
 */
export function staleAfterMs(s: CoordinationSettings): number {
  return Math.max(1, (s.heartbeatExpiryMs - s.heartbeatIntervalMs) / 2);
}

/** resourceVersion order where both are etcd revisions (decimal integers); otherwise only equality is known. */
export function compareResourceVersions(a: string, b: string): number {
  if (a === b) return 0;
  if (!DIGITS.test(a) || !DIGITS.test(b)) return NaN;
  // Decimal integers without leading zeros: the longer is larger, else text order is number order.
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}
const DIGITS = /^(0|[1-9]\d*)$/;

function newer(a: string, than: string | undefined): boolean {
  return than === undefined || compareResourceVersions(a, than) > 0;
}

export interface ApiViewStatus {
  readonly current: boolean;
  /** Evidence counts from here (ms, observer's clock); null until the view was first current. */
  readonly freshFrom: number | null;
  readonly lastRenewOkAt: number | null;
  readonly renewalOutstandingMs: number | null;
  /** When the watch last delivered a renewal of ours. */
  readonly provenAt: number | null;
  /** A successful renewal the watch has not delivered yet, and for how long. */
  readonly unseenWriteMs: number | null;
}

export class ApiView {
  private readonly staleMs: number;
  private pendingSince: number | undefined;
  private lastResult: 'ok' | 'failed' | undefined;
  private lastOkAt = -Infinity;
  private writtenRv: string | undefined;
  private writtenAt = -Infinity;
  /** When the oldest successful renewal the watch has not delivered yet succeeded. */
  private unseenSince = -Infinity;
  private seenRv: string | undefined;
  private fresh: number | undefined;
  /** Set when our renewals stopped landing promptly; the next moment they do becomes `fresh`. */
  private broken = true;
  /** When the watch (or a re-list) last delivered a renewal of ours: what it shows is proven up to here. */
  private proven = -Infinity;
  /** The written version whose late delivery was already reported (a restart is asked for once). */
  private stallReportedFor: string | undefined;

  constructor(private readonly s: CoordinationSettings) {
    this.staleMs = staleAfterMs(s);
  }

  renewalStarted(now: number): void {
    this.pendingSince ??= now;
    this.settle(now);
  }

  renewalSucceeded(rv: string, now: number): void {
    if (this.lastResult !== 'ok' || (this.pendingSince !== undefined && now - this.pendingSince > this.staleMs)) this.broken = true;
    this.pendingSince = undefined;
    this.lastResult = 'ok';
    this.lastOkAt = now;
    if (newer(rv, this.seenRv) && newer(rv, this.writtenRv)) {
      if (!this.unseen()) this.unseenSince = now;
      this.writtenRv = rv;
      this.writtenAt = now;
      this.recomputeUnseen();
    }
    this.settle(now);
  }

  renewalFailed(now: number): void {
    this.pendingSince = undefined;
    this.lastResult = 'failed';
    this.broken = true;
    this.settle(now);
  }

  /**
   * Our own heartbeat Lease, as the watch (or a re-list) delivered it. A late
   * delivery does not move the evidence floor: the API was working (our
   * renewals landed), so what the watch shows now, others' silence
   * included, is true up to now.
   */
  ownSeen(rv: string, now: number): void {
    if (!newer(rv, this.seenRv)) return;
    this.proven = now;
    this.seenRv = rv;
    this.recomputeUnseen();
    // A newer renewal may still be on its way: its own time counts from now on.
    if (this.unseen()) this.unseenSince = this.writtenAt;
    this.settle(now);
  }

  /** A successful renewal the watch has not delivered yet (kept up to date by the two methods that change it). */
  private hasUnseen = false;

  private unseen(): boolean {
    return this.hasUnseen;
  }

  private recomputeUnseen(): void {
    this.hasUnseen = this.writtenRv !== undefined && (this.seenRv === undefined || newer(this.writtenRv, this.seenRv));
  }

  /** Our renewals land promptly: the API works for us. */
  private renewalsLanding(now: number): boolean {
    if (this.lastResult !== 'ok' || now - this.lastOkAt >= this.s.heartbeatExpiryMs) return false;
    return !(this.pendingSince !== undefined && now - this.pendingSince > this.staleMs);
  }

  isCurrent(now: number): boolean {
    return this.renewalsLanding(now) && !(this.unseen() && now - this.unseenSince > this.staleMs);
  }

  private settle(now: number): void {
    if (!this.renewalsLanding(now)) this.broken = true;
    else if (this.broken) {
      this.broken = false;
      this.fresh = now;
    }
  }

  /**
   * Evidence of silence counts from this moment: when our renewals last
   * started landing promptly again. Undefined while they do not.
   */
  freshFrom(now: number): number | undefined {
    this.settle(now);
    return this.broken ? undefined : this.fresh;
  }

  /** Up to when the watch is proven to have delivered everything (our latest renewal seen on it). */
  get provenAt(): number { return this.proven; }

  /**
   * Whether our own renewals are landing, for yielding to a foreign MAC. A
   * single failed renewal already counts as unreachable: another node claims
   * our addresses only after our renewals stop landing.
   */
  reachable(now: number): boolean {
    return this.lastResult === 'ok' && now - this.lastOkAt < this.s.heartbeatExpiryMs;
  }

  get lastRenewOkAt(): number { return this.lastOkAt; }

  /**
   * True once per written version when the watch has not delivered a
   * successful renewal within staleAfterMs: the watch has likely stalled
   * without a sound, and the adapter should restart it.
   */
  takeWatchStall(now: number): boolean {
    if (!this.watchStallDue(now)) return false;
    this.stallReportedFor = this.writtenRv;
    return true;
  }

  /** takeWatchStall would say yes (without taking it). */
  watchStallDue(now: number): boolean {
    return this.unseen() && now - this.unseenSince > this.staleMs && this.stallReportedFor !== this.writtenRv;
  }

  /** When isCurrent may turn false without any new observation. */
  nextChangeAt(now: number): number | undefined {
    const times: number[] = [];
    if (this.lastResult === 'ok') times.push(this.lastOkAt + this.s.heartbeatExpiryMs);
    if (this.pendingSince !== undefined) times.push(this.pendingSince + this.staleMs + 1);
    if (this.unseen()) times.push(this.unseenSince + this.staleMs + 1);
    const future = times.filter((t) => t > now);
    return future.length === 0 ? undefined : Math.min(...future);
  }

  status(now: number): ApiViewStatus {
    const fresh = this.freshFrom(now);
    return {
      current: this.isCurrent(now),
      freshFrom: fresh ?? null,
      lastRenewOkAt: Number.isFinite(this.lastOkAt) ? this.lastOkAt : null,
      renewalOutstandingMs: this.pendingSince === undefined ? null : now - this.pendingSince,
      provenAt: Number.isFinite(this.proven) ? this.proven : null,
      unseenWriteMs: this.unseen() ? now - this.unseenSince : null,
    };
  }
}
