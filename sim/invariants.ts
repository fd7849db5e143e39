/**
 * The properties every simulated run must keep, checked as it runs:
 * - dual: two nodes on the same side of the LAN answer one address for
 *   longer than the stated bound;
 * - dark: no node on the client's side answers an address for longer than
 *   the failover bound while some eligible node is healthy;
 * - moved: a Service Lease leaves a holder that was healthy the whole time
 *   before (an API pause does not count against it: a pause must move nothing);
 *   a holder on the clients' side of a split whose other side holds a strict
 *   majority of the ring does not count as healthy for this: the majority
 *   cannot tell it from a dead node, and no protocol that lets a majority
 *   replace a silent node (rather than waiting for it forever) can spare it.
 *   Nobody knows which side the clients are on. The ring is what the agents'
 *   rings are: nodes whose node Lease shows the link up (a node that wrote
 *   its NIC down has left it, so 13 cut off from a ring of 26 with one NIC
 *   down are a majority), minus those a majority could have condemned;
 * - converged: after the faults heal, every address is answered by exactly
 *   its Lease holder, if some node is eligible by then (by the rules below: a
 *   marked node alone on the LAN, which waits for another node, is not; seed
 *   117979: the end of a run is not owed more than a dark period is).
 * "Healthy" is the simulator's ground truth, not any agent's opinion: the
 * agent runs (not crashed, hung or leaving), its NIC is up, it is on the
 * client's side of the LAN and its API link is up.
 *
 * Three waits that the protocol needs are not counted as dark:
 * - a node back on the LAN after long enough off it to be condemned
 *   (suspectAfterMs), whose Lease carries a mark when it is back, is eligible
 *   only once the mark can have cleared (markClearMs after it is back: heard
 *   or answered without a break for clearAfterMs, the clear written and
 *   watched). A mark is cleared only on hearing after it, never on a timer;
 *   whether the mark was right is the 'moved' invariant's business. A marked
 *   node that is the only agent on the LAN, in a ring (node Leases with the
 *   link up, dead and marked members included) of which it alone is not a
 *   strict majority, cannot be cleared at all: no monitor hears it, and its
 *   own probes never find a majority. It is indistinguishable, to itself,
 *   from one side of a ring of two that split (where clearing itself would
 *   make both sides flap), so it waits for another node: while it is alone it
 *   counts as just back (cluster.ts);
 * - a claimer passed over: the best-ranked live candidate, alive on the LAN
 *   (so nobody condemns it) but unable to claim (its API link is cut, or it
 *   is leaving), is waited for CLAIM_PATIENCE_MS before the next one claims
 *   (agent-core.ts): each such node ranked ahead of the first healthy one
 *   adds claimPatienceMs to the failover owed;
 * - an address dark because its holder was cut off from the API (the
 *   holder-api-cut gap below) is owed again only holderBackMs after the
 *   holder's API link is back, or after it has seen that it holds the
 *   Service, whichever is later (and a whole failover after the holder
 *   leaves the LAN, if it does instead): the plan that follows the Lease
 *   takes its own delays, and a holder that stopped answering because
 *   another MAC announced the address, and whose Lease read failed, learns
 *   that it may answer again from its next read (CONFLICT_REREAD_MS), and
 *   nothing else may tell it (its watch can stall without a sound).
 *
 * Three situations are outside what herald promises, and are counted as known
 * gaps instead of violations, with their reasons:
 * - two nodes answer because the old holder heard none of the successor's
 *   burst frames (all rounds lost): it yields only when it reads the Lease;
 * - held-write: a Service moves from a healthy holder because a write that a
 *   paused apiserver held (a claim sent while the holder was condemned, or
 *   the holder's own node Lease written during a NIC blip) ran when it
 *   resumed, after the holder had recovered: no client can call back a
 *   request the apiserver holds;
 * - holder-api-cut: the Lease names a node that is healthy on the LAN but has
 *   not seen that it holds the Service: it is cut off from the API (a handover
 *   or its own claim landed while its link was down), or its watch has not
 *   delivered the handover (a watch stalled without a sound until the
 *   watchdog, a slow watch, a reflector re-listing in backoff after an
 *   outage). Nobody takes over from a node the LAN shows alive, and nothing
 *   tells the holder but the API; it answers once it sees the Lease.
 * (herald 0.1 had two more: a holder cut off the LAN with its API link up
 * was never replaced, and a claim stalled in a paused apiserver could land
 * after the holder came back. Liveness on the LAN removed both, and they are
 * violations now.)
 */
import type { SimLan } from './sim-lan.js';

export type ViolationKind = 'dual' | 'dark' | 'moved' | 'converged';
export type GapKind = 'burst-unheard' | 'held-write' | 'holder-api-cut' | 'pause-unheard';

export interface Violation { readonly kind: ViolationKind; readonly at: number; readonly detail: string }
export interface Gap { readonly kind: GapKind; readonly at: number; readonly detail: string }

export interface Bounds {
  /** Longest two nodes may answer one address on one side. */
  readonly dualMs: number;
  /** Longest an address may stay dark while an eligible node is healthy. */
  readonly darkMs: number;
  /** A holder healthy for this long before its Lease moves was moved wrongly. */
  readonly movedAfterHealthyMs: number;
  /** A node back on the LAN with its mark is eligible this long after it is back (see the header). */
  readonly markClearMs: number;
  /** An address dark while its holder was cut off from the API is owed this long after the holder's API is back. */
  readonly holderBackMs: number;
  /** How long the agents wait for a best-ranked claimer before passing it over (see the header). */
  readonly claimPatienceMs: number;
}

export interface World {
  readonly now: number;
  readonly lan: SimLan;
  readonly nodes: readonly string[];
  healthy(node: string): boolean;
  /** Since when the node has been healthy without a break (undefined if it is not). */
  healthySince(node: string): number | undefined;
  /** The last time another side of the LAN held a strict majority of the ring without this node (-Infinity: never). */
  outvotedAt(node: string): number;
  /** Since when the healthy nodes on the client's side have been a majority of the ring (undefined: they are not). */
  quorateSince(): number | undefined;
  /** The apiserver is paused: nobody can coordinate. */
  readonly apiPaused: boolean;
  readonly apiPausedUntil: number;
  holderOf(address: string): string;
  /** The agent runs (not crashed or hung) and its API link is up. */
  apiLive(node: string): boolean;
  /** The node's agent has seen (watch, read or its own write) the Lease that names it for this address. */
  seesItHolds(node: string, address: string): boolean;
  /** The agent runs (not crashed or hung) and reaches the client's side of the LAN. */
  lanAlive(node: string): boolean;
  /** Last time `to` heard `from` announce `address`. */
  heard(from: string, to: string, address: string): number;
  /** Last time a write to `node`'s node Lease executed after a paused apiserver had held it. */
  heldNodeWriteAt(node: string): number;
  /** Last time the node came back on the LAN, after long enough off it to be condemned, with a mark on its Lease (-Infinity: never). */
  markedBackAt(node: string): number;
  /** The node's agent restarts in place until then (-Infinity: it does not, or its deadline passed). */
  restartingUntil(node: string): number;
  /** The deadline of the node's last restart in place (-Infinity: none): no failover from it is owed before. */
  lastRestartDeadline(node: string): number;
  /** Running agents that do not hold `node` paused now (they missed its pause frames and its Lease's deadline). */
  unawareOfRestart(node: string): string[];
  /** Live candidates for the address ranked ahead of the first healthy one that are alive on the LAN but cannot claim (see the header). */
  passedOver(address: string): number;
}

export class InvariantChecker {
  readonly violations: Violation[] = [];
  readonly gaps: Gap[] = [];
  /** Every dark period that ended, in ms (the failover distribution). */
  readonly darkPeriods: number[] = [];
  readonly dualPeriods: number[] = [];
  private readonly darkSince = new Map<string, number>();
  /** By dark address: the last time its holder was alive on the LAN but cut off from the API (holder-api-cut). */
  private readonly holderCutAt = new Map<string, number>();
  private readonly dualSince = new Map<string, { since: number; nodes: string[] }>();
  private readonly reported = new Set<string>();
  /** Moves away from a healthy holder, waiting to see whether the Service comes back at once. */
  private readonly pendingMoves = new Map<string, { from: string; to: string; at: number; healthySince: number }>();

  constructor(private readonly w: World, private readonly addresses: readonly string[], private readonly bounds: Bounds) {}

  private violate(kind: ViolationKind, key: string, detail: string): void {
    if (this.reported.has(`${kind}|${key}`)) return;
    this.reported.add(`${kind}|${key}`);
    this.violations.push({ kind, at: this.w.now, detail });
  }

  private gap(kind: GapKind, key: string, detail: string): void {
    if (this.reported.has(`${kind}|${key}`)) return;
    this.reported.add(`${kind}|${key}`);
    this.gaps.push({ kind, at: this.w.now, detail });
  }

  /** Since when some eligible node has been healthy and the API usable; undefined if none is. */
  private eligibleSince(): number | undefined {
    let since: number | undefined;
    for (const n of this.w.nodes) {
      const h = this.w.healthySince(n);
      const s = h === undefined ? undefined : Math.max(h, this.w.markedBackAt(n) + this.bounds.markClearMs);
      if (s !== undefined && (since === undefined || s < since)) since = s;
    }
    const quorate = this.w.quorateSince();
    if (since === undefined || quorate === undefined || this.w.apiPaused) return undefined;
    return Math.max(since, quorate, this.w.apiPausedUntil);
  }

  /** Called on every sample tick. */
  sample(): void {
    this.settleMoves();
    this.check(this.addresses);
  }

  /** Called whenever who answers these addresses may have changed, so that short answers are not missed between samples. */
  changed(addresses: Iterable<string>): void {
    this.check(addresses);
  }

  private check(addresses: Iterable<string>): void {
    const now = this.w.now;
    const eligible = this.eligibleSince();
    for (const a of addresses) {
      const bySide = this.w.lan.answerers(a);
      const client = bySide.get(0) ?? [];
      // dark
      if (client.length === 0) {
        if (!this.darkSince.has(a)) this.darkSince.set(a, now);
        const holder = this.w.holderOf(a);
        const since = this.darkSince.get(a) ?? now;
        // The holder-api-cut gap (either cause: cut off, or not yet shown its Lease): owed again only holderBackMs after it ends.
        const cut = holder !== '' && this.w.lanAlive(holder) && (!this.w.apiLive(holder) || !this.w.seesItHolds(holder, a));
        if (cut) this.holderCutAt.set(a, now);
        // From the end of a holder-api-cut: a whole failover if the holder is gone from the LAN since, a
        // reread more if it is back on the API (see the header).
        const owedAfter = (this.holderCutAt.get(a) ?? -Infinity) + (holder !== '' && this.w.lanAlive(holder) ? this.bounds.holderBackMs - this.bounds.darkMs : 0);
        // A holder restarting in place is not replaced before its deadline (its peers hold it paused).
        const deadline = holder === '' ? -Infinity : this.w.lastRestartDeadline(holder);
        const over = eligible === undefined ? -Infinity : now - Math.max(since, eligible, owedAfter, deadline) - this.bounds.darkMs;
        if (eligible !== undefined && over > 0 && over > this.w.passedOver(a) * this.bounds.claimPatienceMs) {
          if (holder !== '' && this.w.lanAlive(holder) && (!this.w.apiLive(holder) || !this.w.seesItHolds(holder, a))) {
            const why = this.w.apiLive(holder) ? 'its watch has not delivered that Lease yet (stalled, slow, or re-listing after an outage)' : 'cut off from the API';
            this.gap('holder-api-cut', `${a}@${since}`, `${a} dark since ${since.toFixed(0)} ms: the Lease names ${holder}, alive on the LAN but ${why}`);
          } else {
            this.violate('dark', `${a}@${since}`, `${a} dark since ${since.toFixed(0)} ms (holder '${holder}') while a node has been eligible since ${eligible.toFixed(0)} ms`);
          }
        }
      } else {
        const since = this.darkSince.get(a);
        if (since !== undefined) this.darkPeriods.push(now - since);
        this.darkSince.delete(a);
        this.holderCutAt.delete(a);
      }
      // dual, per side
      for (const [side, nodes] of bySide) {
        const key = `${a}|${side}`;
        if (nodes.length < 2) {
          const d = this.dualSince.get(key);
          if (d !== undefined) this.dualPeriods.push(now - d.since);
          this.dualSince.delete(key);
          continue;
        }
        let d = this.dualSince.get(key);
        if (d === undefined || d.nodes.join() !== [...nodes].sort().join()) {
          if (d === undefined) this.dualSince.set(key, (d = { since: now, nodes: [...nodes].sort() }));
          else d.nodes = [...nodes].sort();
        }
        if (now - d.since <= this.bounds.dualMs) continue;
        const holder = this.w.holderOf(a);
        const others = nodes.filter((n) => n !== holder);
        // The stale answerers must have heard the holder's burst to be expected to yield.
        const unheard = holder !== '' && nodes.includes(holder) && others.every((n) => this.w.heard(holder, n, a) < d.since);
        const detail = `${a} answered by ${nodes.join(' and ')} on side ${side} since ${d.since.toFixed(0)} ms (holder '${holder}')`;
        if (unheard) this.gap('burst-unheard', `${key}@${d.since}`, `${detail}: none of ${holder}'s burst frames reached ${others.join(', ')}`);
        else this.violate('dual', `${key}@${d.since}`, detail);
      }
    }
  }

  /**
   * A Service Lease changed hands; `writer` wrote it (a holder handing over moves its own
   * Service). heldSince: the write was sent then and a paused apiserver held it until now.
   */
  leaseMoved(service: string, from: string, to: string, writer: string, heldSince?: number): void {
    if (from === '' || to === '' || from === to || writer === from) return;
    // Restart in place: nothing moves from a node whose agent restarts, before its deadline.
    if (this.w.now < this.w.restartingUntil(from)) {
      const unaware = this.w.unawareOfRestart(from);
      const detail = `${service} moved from ${from} to ${to} at ${this.w.now.toFixed(0)} ms while ${from} restarts in place (until ${this.w.restartingUntil(from).toFixed(0)} ms)`;
      if (unaware.length > 0) this.gap('pause-unheard', `${service}@${this.w.now}`, `${detail}: ${unaware.join(', ')} missed its pause frames and its Lease's deadline`);
      else this.violate('moved', `${service}@${this.w.now}`, detail);
      return;
    }
    const healthy = this.w.healthySince(from);
    // Outvoted (a strict majority of the ring on another side of a split) counts as not healthy
    // here: to that majority the holder is indistinguishable from a dead node (see the header).
    const since = healthy === undefined ? undefined : Math.max(healthy, this.w.outvotedAt(from));
    if (since !== undefined && this.w.now - since >= this.bounds.movedAfterHealthyMs) {
      // A request a paused apiserver holds runs when it resumes, whatever happened meanwhile, and
      // no client can call it back: a claim sent while the holder was rightly condemned (hung,
      // cut), or a node Lease write from a NIC blip that makes the holder look link-down, lands
      // after the holder recovered. Counted, not excused, and only for a claim sent before the
      // holder had been healthy for movedAfterHealthyMs (when a monitor could still rightly
      // condemn it), or a move within dualMs of the holder's own held node Lease write landing.
      const detail = `${service} moved from ${from} to ${to} at ${this.w.now.toFixed(0)} ms although ${from} was healthy since ${since.toFixed(0)} ms`;
      if (heldSince !== undefined && heldSince < since + this.bounds.movedAfterHealthyMs) {
        this.gap('held-write', `${service}@${this.w.now}`, `${detail}: the claim was sent at ${heldSince.toFixed(0)} ms and held by the paused apiserver`);
        return;
      }
      const nodeWrite = this.w.heldNodeWriteAt(from);
      if (this.w.now - nodeWrite <= this.bounds.dualMs) {
        this.gap('held-write', `${service}@${this.w.now}`, `${detail}: ${from}'s node Lease was rewritten at ${nodeWrite.toFixed(0)} ms by a write the paused apiserver had held`);
        return;
      }
      this.pendingMoves.set(service, { from, to, at: this.w.now, healthySince: since });
    }
  }

  private settleMoves(): void {
    for (const [service, m] of this.pendingMoves) {
      if (this.w.now - m.at <= this.bounds.dualMs) continue;
      this.pendingMoves.delete(service);
      this.violate('moved', `${service}@${m.at}`, `${service} moved from ${m.from} to ${m.to} at ${m.at.toFixed(0)} ms although ${m.from} was healthy since ${m.healthySince.toFixed(0)} ms`);
    }
  }

  /** After the faults healed and the cluster settled. */
  final(): void {
    this.settleMoves();
    // Not owed yet either when the first eligible node is eligible only later: a marked node alone
    // on the LAN counts as just back at every sample (cluster.ts), so it is never owed convergence.
    const eligible = this.eligibleSince();
    if (eligible === undefined || eligible > this.w.now) return;
    for (const a of this.addresses) {
      const client = this.w.lan.answerers(a).get(0) ?? [];
      const holder = this.w.holderOf(a);
      if (client.length === 1 && client[0] === holder) continue;
      if (client.length === 0 && holder !== '' && this.w.lanAlive(holder) && !this.w.seesItHolds(holder, a)) {
        this.gap('holder-api-cut', `${a}@final`, `${a} dark at the end: the Lease names ${holder}, alive on the LAN but it has not seen that Lease`);
        continue;
      }
      this.violate('converged', a, `${a}: answered on the client's side by [${client.join(', ')}], Lease holder '${holder}'`);
    }
  }
}
