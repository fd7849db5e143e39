/**
 * A simulated apiserver holding herald's Leases: compare-and-swap writes with
 * request latency, watches with delivery delay, and the faults the agents
 * must survive:
 * - a pause (SIGSTOP): requests queue and execute, in arrival order, when it
 *   ends, even those whose client already gave up (the stalled write);
 * - a partition of one node's API link: `reset` (refused at once, watches
 *   break) or `blackhole` (silence: requests time out, watch data waits in
 *   the connection and arrives when the link heals);
 * - a silently stalled watch: nothing is delivered until the client restarts
 *   it (or its 90 s idle watchdog does);
 * - a slow watch: extra delivery delay for one node.
 */
import type { NodeLeaseFacts } from '../src/core/l2/agent-core.js';
import type { SimClock, Timer } from './clock.js';
import type { Rng } from './rng.js';

export interface SimLease {
  readonly name: string;
  readonly kind: 'node' | 'service';
  /** The node (node Lease) or Service key (service) the Lease is about. */
  readonly subject: string;
  readonly holder: string;
  readonly rv: number;
  /** rv as the API's text, made once per version. */
  readonly rvText: string;
  /** Node Leases: the node's up links, its MAC per link, and the links monitors marked unreachable. */
  readonly upLinks: readonly string[];
  readonly macs: Readonly<Record<string, string>>;
  readonly unreachable: readonly string[];
  /** Node Leases: the agent restarts in place until then (sim ms; herald.io/restarting-until). */
  readonly restarting?: number;
  /** What an agent's core is told, made once per version and shared by every watcher. */
  readonly facts: NodeLeaseFacts;
}

export type ApiLink = 'up' | 'reset' | 'blackhole';

export type WriteResult =
  | { readonly kind: 'ok'; readonly lease: SimLease }
  | { readonly kind: 'conflict' }
  | { readonly kind: 'error'; readonly why: string };

export interface WriteRequest {
  readonly name: string;
  readonly kind: SimLease['kind'];
  readonly subject: string;
  readonly holder: string;
  readonly upLinks?: readonly string[];
  readonly macs?: Readonly<Record<string, string>>;
  /**
   * Node Leases: add or remove one link from the unreachable marks, keeping
   * everything else as it is (a read-modify-write that retries until it lands).
   */
  readonly mark?: { readonly link: string; readonly on: boolean };
  /** Node Leases: set (a number) or clear (null) the restart deadline; left out: kept. */
  readonly restarting?: number | null;
  /** Compare-and-swap: the version replaced; undefined = create; 'any' = unconditional (a node writing its own Lease, a mark). */
  readonly expectRv: number | undefined | 'any';
}

/** A watch consumer: one agent's Lease reflector. */
export interface WatchSink {
  deliver(lease: SimLease, deleted: boolean): void;
}

export interface SimApiOptions {
  /** One-way request latency, ms. */
  readonly latencyMs: readonly [number, number];
  /** Commit to watch delivery, ms. */
  readonly watchLagMs: readonly [number, number];
  /** The reflector's idle watchdog, which ends a silent stall on its own. */
  readonly watchdogMs: number;
}

interface Watcher {
  sink: WatchSink;
  extraLagMs: number;
  stalled: boolean;
  /** Blackholed: delivered when the link heals. */
  held: { lease: SimLease; deleted: boolean }[];
  /** Time of the last scheduled delivery, so deliveries stay in order. */
  lastAt: number;
  pending: number;
  watchdog: Timer | undefined;
  closed: boolean;
}

interface Commit { readonly lease: SimLease; readonly deleted: boolean }

/** Commits kept for watches that start from a list's version (the apiserver's watch cache). */
const LOG_SIZE = 50_000;

export interface ApiCounters {
  writes: number;
  conflicts: number;
  watchEvents: number;
  listedItems: number;
  requests: number;
  reads: number;
}

export class SimApi {
  readonly leases = new Map<string, SimLease>();
  readonly counters: ApiCounters = { writes: 0, conflicts: 0, watchEvents: 0, listedItems: 0, requests: 0, reads: 0 };
  private rv = 1000;
  private pausedUntil = -Infinity;
  private readonly queued: (() => void)[] = [];
  private readonly links = new Map<string, ApiLink>();
  private readonly watchers = new Map<string, Watcher>();
  /** Called with every committed change (the invariant checker listens); sentAt: when the writer sent the request. */
  onCommit: (lease: SimLease, previous: SimLease | undefined, writer: string, sentAt: number) => void = () => undefined;

  constructor(private readonly clock: SimClock, private readonly rng: Rng, private readonly opts: SimApiOptions) {}

  link(node: string): ApiLink { return this.links.get(node) ?? 'up'; }
  get paused(): boolean { return this.clock.now < this.pausedUntil; }

  private latency(): number { return this.rng.between(this.opts.latencyMs[0], this.opts.latencyMs[1]); }

  /** Seeds a Lease without a request (the state a scale run starts from). */
  seed(lease: Omit<SimLease, 'rv' | 'rvText' | 'facts'>): SimLease {
    const rv = ++this.rv;
    const l = { ...lease, rv, rvText: String(rv), facts: { holder: lease.holder, rv: String(rv), upLinks: lease.upLinks, macs: lease.macs, unreachable: lease.unreachable } };
    this.leases.set(l.name, l);
    return l;
  }

  // ---- faults ---------------------------------------------------------------

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now + ms);
    this.clock.at(this.pausedUntil, () => {
      if (this.paused) return;
      for (const run of this.queued.splice(0)) run();
    });
  }

  setLink(node: string, link: ApiLink): void {
    const before = this.link(node);
    this.links.set(node, link);
    const w = this.watchers.get(node);
    if (w === undefined || before === link) return;
    if (link === 'reset') {
      // The connection is reset: the reflector sees the break and re-lists after its backoff.
      this.drop(node);
      this.onWatchBroken(node);
      return;
    }
    if (link === 'up' && before === 'blackhole') {
      for (const h of w.held.splice(0)) this.schedule(w, h.lease, h.deleted);
    }
  }

  stallWatch(node: string): void {
    const w = this.watchers.get(node);
    if (w === undefined || w.stalled) return;
    w.stalled = true;
    // The reflector's watchdog restarts a watch that has been silent this long.
    w.watchdog = this.clock.after(this.opts.watchdogMs, () => { if (!w.closed && w.stalled) this.breakWatch(node); });
  }

  slowWatch(node: string, extraMs: number): void {
    const w = this.watchers.get(node);
    if (w !== undefined) w.extraLagMs = extraMs;
  }

  /** A watch that ends (watchdog, restart): the owner re-lists. */
  private breakWatch(node: string): void {
    const w = this.watchers.get(node);
    if (w === undefined) return;
    this.drop(node);
    this.onWatchBroken(node);
  }

  /** Set by the cluster: an agent's watch ended and its reflector must re-list. */
  onWatchBroken: (node: string) => void = () => undefined;

  // ---- requests --------------------------------------------------------------

  /**
   * Sends one request from `node`. `done` is called once: with the result,
   * or with an error when the link refuses it or `timeoutMs` passes first.
   * The server may still execute a request whose client has given up.
   */
  private request<T>(node: string, timeoutMs: number, execute: () => T, done: (r: T | { kind: 'error'; why: string }) => void): void {
    this.counters.requests++;
    let answered = false;
    const answer = (r: T | { kind: 'error'; why: string }): void => {
      if (answered) return;
      answered = true;
      timeout.cancelled = true;
      done(r);
    };
    const timeout = this.clock.after(timeoutMs, () => { answer({ kind: 'error', why: 'timeout' }); });
    const link = this.link(node);
    if (link === 'reset') {
      this.clock.after(this.latency(), () => { answer({ kind: 'error', why: 'connection refused' }); });
      return;
    }
    if (link === 'blackhole') return; // lost; the client times out
    this.clock.after(this.latency(), () => {
      const run = (): void => {
        const result = execute();
        this.clock.after(this.latency(), () => {
          if (this.link(node) === 'up') answer(result);
        });
      };
      if (this.paused) this.queued.push(run);
      else run();
    });
  }

  write(node: string, req: WriteRequest, timeoutMs: number, done: (r: WriteResult) => void): void {
    const sentAt = this.clock.now;
    this.request<WriteResult>(node, timeoutMs, () => this.execute(req, node, sentAt), done);
  }

  /** A read of one Lease (undefined: none). */
  get(node: string, name: string, timeoutMs: number, done: (r: { kind: 'ok'; lease: SimLease | undefined } | { kind: 'error'; why: string }) => void): void {
    this.counters.reads++;
    this.request(node, timeoutMs, () => ({ kind: 'ok' as const, lease: this.leases.get(name) }), done);
  }

  /** A list of every Lease, and the version it is consistent at (a watch resumes from there). */
  list(node: string, timeoutMs: number, done: (r: { kind: 'ok'; items: SimLease[]; rv: number } | { kind: 'error'; why: string }) => void): void {
    this.request(node, timeoutMs, () => ({ kind: 'ok' as const, items: [...this.leases.values()], rv: this.rv }), (r) => {
      if (r.kind === 'ok') this.counters.listedItems += r.items.length;
      done(r);
    });
  }

  /**
   * Opens the node's watch from resourceVersion `fromRv` (the list's): the
   * commits made since are delivered first, as the apiserver's watch cache
   * does, so nothing between the list and the watch is lost.
   */
  watch(node: string, sink: WatchSink, fromRv: number): void {
    const old = this.watchers.get(node);
    this.drop(node);
    this.watchers.set(node, {
      sink, extraLagMs: old?.extraLagMs ?? 0, stalled: false, held: [], lastAt: this.clock.now, pending: 0, watchdog: undefined,
      closed: false,
    });
    const w = this.watchers.get(node);
    if (w === undefined) return;
    let i = this.log.length;
    while (i > 0 && (this.log[i - 1]?.lease.rv ?? 0) > fromRv) i--;
    if (i === 0 && this.log.length === LOG_SIZE && (this.log[0]?.lease.rv ?? 0) > fromRv + 1) {
      throw new Error(`watch from ${fromRv}: too old for the simulated watch cache`);
    }
    for (const c of this.log.slice(i)) this.schedule(w, c.lease, c.deleted);
  }

  closeWatch(node: string): void {
    this.drop(node);
  }

  private drop(node: string): void {
    const w = this.watchers.get(node);
    if (w === undefined) return;
    if (w.watchdog) w.watchdog.cancelled = true;
    w.closed = true;
    this.watchers.delete(node);
  }

  private execute(req: WriteRequest, writer: string, sentAt: number): WriteResult {
    const current = this.leases.get(req.name);
    if (req.expectRv !== 'any') {
      const ok = req.expectRv === undefined ? current === undefined : current?.rv === req.expectRv;
      if (!ok) {
        this.counters.conflicts++;
        return { kind: 'conflict' };
      }
    }
    if (req.mark !== undefined && current === undefined) return { kind: 'conflict' };
    const rv = ++this.rv;
    const upLinks = req.upLinks ?? current?.upLinks ?? [];
    const macs = req.macs ?? current?.macs ?? {};
    let unreachable = current?.unreachable ?? [];
    if (req.mark !== undefined) {
      const set = new Set(unreachable);
      if (req.mark.on) set.add(req.mark.link);
      else set.delete(req.mark.link);
      unreachable = [...set].sort();
    }
    const holder = req.mark !== undefined ? current?.holder ?? '' : req.holder;
    const rvText = String(rv);
    const restarting = req.restarting === undefined ? current?.restarting : req.restarting ?? undefined;
    const pause = restarting === undefined ? {} : { restarting: { until: restarting, token: String(restarting) } };
    const lease: SimLease = {
      name: req.name, kind: req.kind, subject: req.subject, holder, rv, rvText, upLinks, macs, unreachable,
      ...(restarting === undefined ? {} : { restarting }),
      facts: { holder, rv: rvText, upLinks, macs, unreachable, ...pause },
    };
    this.leases.set(req.name, lease);
    this.counters.writes++;
    this.onCommit(lease, current, writer, sentAt);
    this.fanOut({ lease, deleted: false });
    return { kind: 'ok', lease };
  }

  private readonly log: Commit[] = [];

  private fanOut(c: Commit): void {
    this.log.push(c);
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
    const base = this.rng.between(this.opts.watchLagMs[0], this.opts.watchLagMs[1]);
    // Watchers at the base delay share one delivery; the rest get their own, in order.
    const group: Watcher[] = [];
    for (const [node, w] of this.watchers) {
      if (w.stalled) continue;
      const link = this.link(node);
      if (link === 'blackhole') { w.held.push(c); continue; }
      if (link !== 'up') continue;
      if (w.extraLagMs === 0 && w.pending === 0) group.push(w);
      else this.schedule(w, c.lease, c.deleted, base);
    }
    if (group.length === 0) return;
    this.clock.after(base, () => {
      for (const w of group) this.deliverTo(w, c.lease, c.deleted);
    });
  }

  private schedule(w: Watcher, lease: SimLease, deleted: boolean, base = this.opts.watchLagMs[0]): void {
    const at = Math.max(w.lastAt, this.clock.now + base + w.extraLagMs);
    w.lastAt = at;
    w.pending++;
    this.clock.at(at, () => {
      w.pending--;
      this.deliverTo(w, lease, deleted);
    });
  }

  private deliverTo(w: Watcher, lease: SimLease, deleted: boolean): void {
    if (w.stalled || w.closed) return;
    this.counters.watchEvents++;
    w.sink.deliver(lease, deleted);
  }
}
