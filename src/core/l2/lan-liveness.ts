/**
 * Liveness judged on the LAN that clients use, pure (docs/l2-announcements.md,
 * "Liveness on the LAN"). Per link, the nodes that have it up form a ring in
 * name order; each node sends a hello every interval to the next MONITORS
 * nodes of the ring (its monitors) and hears hellos from the nodes it
 * monitors. So every node sends and hears 2·MONITORS hellos per interval per
 * link, whatever the number of nodes.
 *
 * A monitor that hears nothing from a node for suspectAfterMs suspects it. It
 * probes the node itself and asks HELPERS other nodes of the ring to probe it
 * too (SWIM's indirect probe), and probes it again at each tick of the round.
 * Only a helper's "no answer" (after probing twice) confirms: a monitor cut
 * off from the LAN hears no helper either, so it never condemns anyone. Then
 * the monitor probes the whole live ring and condemns only with a strict
 * majority of it answering, the suspect silent for a further probe timeout.
 * A node marked unreachable watches nobody (the others do not count it in
 * the ring) until a monitor clears its mark.
 * A confirmed node is unreachable on that link: the monitor broadcasts that on
 * the link (so that successors act without waiting for the API) and asks for
 * it to be written to the node's Lease (so that everyone sees it, and it
 * survives restarts). A node that has been heard steadily for clearAfterMs by
 * a monitor of it has that mark cleared by that monitor.
 *
 * A marked node also checks for itself (it may be the only one that can
 * write: its monitors may be cut off from the API, or down): while the API
 * shows its mark, it probes every other member of the ring at each tick (a
 * member that acked since the last tick is spared), and clears its own mark
 * once a strict majority of the whole ring (itself included, every member
 * counted, marked or not) has answered it without a break for clearAfterMs.
 * A majority that answers its probes hears it: it is not unreachable,
 * whatever its monitors can or cannot write. A node on the minority side of a
 * split never finds that majority, so it never clears itself early. This
 * costs frames in proportion to the ring, but only while a mark on ourselves
 * stands.
 *
 * A node that hears nothing at all on a link (no hello, no answer from any
 * helper) for suspectAfterMs + confirmTimeoutMs, in a ring of three or more,
 * is deaf on that link: it stops being a candidate there at once, without
 * the API, and hands over what it holds there.
 *
 * A node that hears a link again after a silence long enough to be
 * condemned (nothing at all on it for suspectAfterMs + confirmTimeoutMs, or
 * a node it suspected, that it could not condemn, heard again after a
 * further confirmTimeoutMs: it was on the minority side of a split) has
 * rejoined (takeRejoined): the agent then reads afresh the Service Leases it
 * holds, since successors may have claimed them meanwhile.
 *
 * A node whose agent restarts in place (SIGTERM while its node stays: a
 * DaemonSet rolling update) says so before it exits: a `pause` frame with its
 * grace, and a deadline on its node Lease (setApiPause). Until the deadline,
 * or until we hear a hello from it, nobody suspects it: its monitors count it
 * as heard, drop any suspicion of it, and a node whose every watched node is
 * paused is not deaf for hearing nothing. Any other frame from it ends its
 * pause (the old agent sends nothing after its pause), and a starting agent
 * broadcasts a pause of 0 ms ("back") at its first BACK_REPEATS ticks, so
 * that nodes it sends no hellos to learn it too. After the deadline, silence is
 * judged as always (suspicion, helpers, majority, down), so a node that never
 * comes back fails over at its grace plus the usual bound. A paused node is
 * still a member of the ring: it counts in every majority, and does not answer.
 *
 * Time is the caller's monotonic clock in ms; tick() is called every
 * helloIntervalMs, and every deadline is checked there.
 */
import type { LanMessage, LanReceived, LanSend } from './lan-messages.js';

export interface LivenessSettings {
  /** How often each node sends a hello to each of its monitors. */
  readonly helloIntervalMs: number;
  /** A node unheard this long by a monitor is suspected. */
  readonly suspectAfterMs: number;
  /** How long a helper waits for the suspect's ack. */
  readonly probeTimeoutMs: number;
  /** How long a suspecting monitor waits for its helpers' answers. */
  readonly confirmTimeoutMs: number;
  /** A marked node heard steadily this long by a monitor is cleared. */
  readonly clearAfterMs: number;
  /** A verdict heard on the LAN counts this long unless the API shows it. */
  readonly lanVerdictMs: number;
}

export const DEFAULT_LIVENESS: LivenessSettings = {
  helloIntervalMs: 50,
  suspectAfterMs: 200,
  probeTimeoutMs: 50,
  confirmTimeoutMs: 150,
  clearAfterMs: 1000,
  lanVerdictMs: 10_000,
};

/**
 * The longest pause honoured, whatever a frame or an annotation says: a pause
 * written by hand for next year must not shield a dead node for that long.
 */
export const MAX_PAUSE_MS = 10 * 60_000;

/** A restart-in-place deadline from a node's Lease: when (caller's clock), and the annotation's text (its identity). */
export interface ApiPause {
  readonly until: number;
  readonly token: string;
}

/** Ticks at which a starting agent broadcasts "back" (a pause of 0 ms) on each of its links, against loss. */
const BACK_REPEATS = 3;

/** Monitors per node, and helpers asked to confirm a suspicion. */
export const MONITORS = 2;
export const HELPERS = 2;

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

/**
 * How often adapters call tick() while a deadline is pending (a suspicion, a
 * helper's probe, our own mark): half a hello interval, so that deadlines are
 * met within 25 ms. Otherwise once a hello interval (see LanLiveness.busy).
 */
export function tickIntervalMs(s: LivenessSettings): number {
  return s.helloIntervalMs / 2;
}
/** The same mark (or clear) is asked for at most this often, whatever the watch shows. */
const MARK_RETRY_MS = 1000;
/** Times a condemning node repeats its "down" broadcast (at its next ticks) while the API does not show its mark. */
const DOWN_REPEATS = 2;

export interface RingMember {
  readonly node: string;
  /** The member's MAC on this link. */
  readonly mac: string;
}

/**
 * One ring: the nodes that watch each other on one link. Nodes that share a
 * link name but not an L2 segment (racks, each with its own policy) must be
 * in different rings; see ringGroups in liveness-rings.ts.
 */
export interface RingSpec {
  readonly link: string;
  readonly members: readonly RingMember[];
}

/** A change to a node's Lease that this node asks for: mark or clear a link as unreachable. */
export interface MarkWrite {
  readonly node: string;
  readonly link: string;
  readonly action: 'mark' | 'clear';
  readonly reason: string;
}

interface Suspicion {
  readonly nonce: number;
  readonly deadline: number;
  readonly helpers: number;
  /** When the suspicion began (first round). */
  readonly since: number;
  /**
   * Set once a helper confirmed: the nodes sampled to show that we are on
   * the majority side of the link, and those that answered.
   */
  readonly quorum?: {
    readonly sample: ReadonlySet<string>; readonly acked: Set<string>; readonly why: string; readonly at: number;
    /** When the answers first made a majority: the suspect, probed then, has a probe timeout from there to answer. */
    reachedAt?: number;
    /**
     * Members heard since reachedAt, when the whole sample was probed again: a majority must
     * answer this second round too, so that answers from before a new cut (collected over a
     * round of up to 200 ms) never make a majority with answers from after it.
     */
    confirmed?: Set<string>;
  };
  /** The helpers were asked a second time (see tick). */
  reasked?: boolean;
}

interface HelperProbe {
  readonly link: string;
  readonly target: string;
  readonly requester: string;
  readonly requesterMac: string;
  readonly targetMac: string;
  readonly reqNonce: number;
  readonly deadline: number;
  /** The probe was sent a second time (see tick): one lost frame alone never makes a helper answer "dead". */
  retried: boolean;
}

interface LinkRing {
  /** The link (interface name) the ring's frames go out on. */
  readonly link: string;
  /** Every node with the link up and a MAC for it, ourselves included, in ring order. */
  readonly members: readonly string[];
  readonly macs: ReadonlyMap<string, string>;
  /** Derived from members and who is unreachable (see derive): rebuilt when either changes. */
  derivedAt: number;
  /** Members not unreachable, ourselves always included: the ring hellos and helpers use. */
  live: readonly string[];
  /** Whom we send hellos to. */
  monitors: readonly string[];
  /** Whose hellos we expect (an unreachable node too: it would send them to us if it came back). */
  watched: ReadonlySet<string>;
  /** Last frame of any kind from a node on this link. */
  readonly lastHeard: Map<string, number>;
  /** Since when each watched node has been heard without a suspicion. */
  readonly steadySince: Map<string, number>;
  readonly suspicions: Map<string, Suspicion>;
  /** While the API marks us unreachable on this link: who of the ring answered our own probes, and when (see selfCheck). */
  selfCheck: SelfCheck | undefined;
  /** Last valid frame of any kind on this link (or when we joined it). */
  lastAnyAt: number;
  seq: number;
  /** When we last sent hellos on this ring. */
  lastHelloAt: number;
}

interface SelfCheck {
  /** The nonce of our probes for this mark (acks carry it back). */
  readonly nonce: number;
  /** Members' last ack to those probes. */
  readonly acked: Map<string, number>;
  /** Since when a strict majority of the ring has answered without a break (checked at each tick). */
  steadySince: number | undefined;
}

interface Verdict { readonly at: number; readonly by: string; readonly why: string; repeats?: number }

const key = (link: string, node: string): string => `${link}\u0000${node}`;

/** The next `k` members after `node` in ring order (members sorted, node among them). */
export function successorsInRing(members: readonly string[], node: string, k: number): string[] {
  const i = members.indexOf(node);
  if (i < 0) return [];
  const out: string[] = [];
  for (let step = 1; step < members.length && out.length < k; step++) out.push(members[(i + step) % members.length] as string);
  return out;
}

export interface LivenessStatus {
  readonly links: Record<string, { members: number; live: number; monitors: string[]; watched: string[]; suspected: string[]; deaf: boolean; lastAnyAgoMs: number }>;
  readonly unreachable: Record<string, string[]>;
  /** Nodes restarting in place, not suspected until their deadline or their next hello. */
  readonly paused: string[];
}

export class LanLiveness {
  private readonly rings = new Map<string, LinkRing>();
  private readonly helperProbes = new Map<number, HelperProbe>();
  /** By link|node: verdicts we reached or heard on the LAN. */
  private readonly verdicts = new Map<string, Verdict>();
  /** Marks as the API shows them, per node. */
  private readonly apiMarks = new Map<string, ReadonlySet<string>>();
  private readonly inflight = new Set<string>();
  /** When each mark write was last asked for: a watch that does not show it (stalled) must not make us write it every tick. */
  private readonly askedAt = new Map<string, number>();
  private nonce = 1;
  private changes = 0;
  /** Set when we rejoined a link (see the header); read and reset by takeRejoined. */
  private rejoinedFlag = false;
  /** By node: restarting in place until (a pause frame heard). */
  private readonly framePauses = new Map<string, number>();
  /** By node: restarting in place until (its node Lease says so). */
  private readonly apiPauses = new Map<string, ApiPause>();
  /** By node: the Lease deadline that a hello from it already ended (the Lease may still show it for a while). */
  private readonly endedApiPause = new Map<string, string>();
  /** We are restarting in place: no more hellos (a hello would end the pause we announced). */
  private selfPaused = false;
  private pauseChanges = 0;
  /** Ticks at which we said "back" (see the header). */
  private backSent = 0;

  constructor(readonly self: string, private readonly s: LivenessSettings = DEFAULT_LIVENESS) {}

  // ---- inputs ---------------------------------------------------------------

  /**
   * The rings we are in, by id, from the node Leases and the policies (a bare
   * member list: a ring whose id is its link). Rings left out are dropped.
   */
  setRings(rings: ReadonlyMap<string, RingSpec | readonly RingMember[]>, now: number): void {
    for (const id of [...this.rings.keys()]) if (!rings.has(id)) this.rings.delete(id);
    for (const [id, spec] of rings) {
      const { link, members: list } = isRingSpec(spec) ? spec : { link: id, members: spec };
      const members = [...new Set(list.map((m) => m.node))].sort();
      const before = this.rings.get(id);
      if (!members.includes(this.self)) { this.rings.delete(id); continue; }
      const macs = new Map(list.map((m) => [m.node, m.mac]));
      if (before !== undefined && before.link === link && sameList(before.members, members) && sameMacs(before.macs, macs)) continue;
      const ring: LinkRing = {
        link, members, macs, derivedAt: -1, live: [], monitors: [], watched: new Set(),
        lastHeard: before?.lastHeard ?? new Map<string, number>(), steadySince: before?.steadySince ?? new Map<string, number>(), suspicions: before?.suspicions ?? new Map<string, Suspicion>(),
        selfCheck: before?.selfCheck, lastAnyAt: before?.lastAnyAt ?? now, seq: before?.seq ?? 0, lastHelloAt: before?.lastHelloAt ?? -Infinity,
      };
      for (const n of [...ring.lastHeard.keys()]) if (!members.includes(n)) ring.lastHeard.delete(n);
      this.rings.set(id, ring);
      this.derive(link, ring, now);
    }
  }

  /** The rings on one link. */
  private ringsOn(link: string): LinkRing[] {
    const out: LinkRing[] = [];
    for (const r of this.rings.values()) if (r.link === link) out.push(r);
    return out;
  }

  /**
   * Who we send hellos to and whose we expect, from the members minus the
   * nodes unreachable on the link: a dead node is neither a monitor nor a
   * helper. A node we start to watch gets a whole grace period from now.
   */
  private derive(link: string, ring: LinkRing, now: number): void {
    if (ring.derivedAt === this.changes) return;
    ring.derivedAt = this.changes;
    // The ring as the others see it: without every node unreachable on the link, ourselves
    // included when we are marked (or said on the LAN to be) unreachable. Computing whom we
    // watch from any other view makes us expect hellos that nobody sends us, and suspect
    // healthy nodes (a node back from a restart, a cut or a hang, while its mark stands).
    const down = (n: string): boolean => this.isUnreachable(link, n);
    const up = ring.members.filter((n) => !down(n));
    // When every member is unreachable (a ring of two that split and healed), the whole
    // membership stands in, or nobody would hear anybody again and no mark would clear.
    const base = up.length === 0 ? ring.members : up;
    const monitorsOf = (n: string): string[] => successorsInRing(base.includes(n) ? base : [...base, n].sort(), n, MONITORS);
    const watched = new Set<string>();
    for (const n of ring.members) if (n !== this.self && monitorsOf(n).includes(this.self)) watched.add(n);
    // A node we start to watch gets a whole grace period from now, except when the ring just
    // lost a node: we then take over the watch of the nodes it watched, and they may be cut off
    // with it (a run of neighbours cut together is otherwise found one grace period at a time).
    // They learn of the loss when we do and send us hellos from their next tick, so two hello
    // intervals of silence are enough to start probing them.
    const shrunk = ring.live.some((n) => n !== this.self && !up.includes(n));
    const grace = shrunk ? now - this.s.suspectAfterMs + 2 * this.s.helloIntervalMs : now;
    for (const n of watched) {
      if (!ring.watched.has(n)) {
        ring.lastHeard.set(n, Math.max(ring.lastHeard.get(n) ?? grace, grace));
      }
    }
    for (const n of ring.watched) {
      if (watched.has(n)) continue;
      ring.suspicions.delete(n);
      ring.steadySince.delete(n);
    }
    ring.live = up.includes(this.self) ? up : [...up, this.self].sort();
    ring.monitors = monitorsOf(this.self);
    ring.watched = watched;
  }

  private isUnreachable(link: string, node: string): boolean {
    return (this.apiMarks.get(node)?.has(link) ?? false) || this.verdicts.has(key(link, node));
  }

  /** The links a node's Lease marks unreachable. */
  setApiMarks(node: string, links: readonly string[]): void {
    const before = this.apiMarks.get(node);
    if (links.length === 0 ? before === undefined : before !== undefined && before.size === links.length && links.every((l) => before.has(l))) return;
    // A new mark means that some monitor lost the node: hearing it steadily from before the
    // mark proves nothing, so a monitor clears the mark only after clearAfterMs heard since.
    // The same for a mark on ourselves: answers to probes sent before it prove nothing (selfCheck).
    for (const l of links) if (!(before?.has(l) ?? false)) for (const r of this.ringsOn(l)) { r.steadySince.delete(node); if (node === this.self) r.selfCheck = undefined; }
    // A mark cleared in the API ends the episode that the verdicts we heard on the LAN belong to:
    // nobody condemns a node while its mark stands, so every verdict we hold on it is from before
    // the clear. Kept, it would exclude a node that a monitor has heard steadily (until
    // lanVerdictMs), and a node that does not watch it would never hear it to drop it.
    for (const l of before ?? []) if (!links.includes(l)) this.verdicts.delete(key(l, node));
    if (links.length === 0) this.apiMarks.delete(node);
    else this.apiMarks.set(node, new Set(links));
    this.changes++;
  }

  /**
   * A restart-in-place deadline from `node`'s Lease (undefined: none). One that a hello
   * from the node already ended (same token) is not taken up again.
   */
  setApiPause(node: string, pause: ApiPause | undefined): void {
    if (pause === undefined) {
      this.apiPauses.delete(node);
      this.endedApiPause.delete(node);
      return;
    }
    if (this.endedApiPause.get(node) === pause.token) return;
    if (this.apiPauses.get(node)?.token !== pause.token) this.pauseChanges++;
    this.apiPauses.set(node, pause);
  }

  /** Whether `node` restarts in place and is not to be suspected now. */
  isPaused(node: string, now: number): boolean {
    const f = this.framePauses.get(node);
    if (f !== undefined && now < f) return true;
    const a = this.apiPauses.get(node);
    return a !== undefined && now < a.until;
  }

  /** Nodes paused now, for /status. */
  pausedNodes(now: number): string[] {
    return [...new Set([...this.framePauses.keys(), ...this.apiPauses.keys()])].filter((n) => this.isPaused(n, now)).sort();
  }

  /** Counts pauses that began or ended early: a cheap test for "re-plan" (no handover to a paused node). */
  get pauseVersion(): number {
    return this.pauseChanges;
  }

  /** A frame from a paused node's new agent: the pause is over. */
  private endPause(node: string): void {
    if (this.framePauses.has(node) || this.apiPauses.has(node)) this.pauseChanges++;
    this.framePauses.delete(node);
    const a = this.apiPauses.get(node);
    if (a !== undefined) {
      this.endedApiPause.set(node, a.token);
      this.apiPauses.delete(node);
    }
  }

  /**
   * We restart in place: the frames that tell our rings so (a pause broadcast on each link we
   * have a ring on), and no hellos from now on. The caller sends them a few times against loss.
   */
  pauseSelf(graceMs: number): LanSend[] {
    this.selfPaused = true;
    const graceMsInt = Math.max(0, Math.min(MAX_PAUSE_MS, Math.round(graceMs)));
    const links = new Set<string>();
    for (const r of this.rings.values()) links.add(r.link);
    return [...links].sort().map((link) => ({ link, to: '*', toMac: BROADCAST_MAC, msg: { kind: 'pause', graceMs: graceMsInt } }));
  }

  /** A deadline is pending: tick every tickIntervalMs instead of every hello interval. */
  get busy(): boolean {
    if (this.helperProbes.size > 0 || this.apiMarks.has(this.self)) return true;
    for (const r of this.rings.values()) if (r.suspicions.size > 0) return true;
    return false;
  }

  /** Counts changes to who is unreachable (marks, verdicts): a cheap test for "re-select". */
  get version(): number {
    return this.changes;
  }

  /** A mark write we asked for has finished (either way): it may be asked for again. */
  markWriteFinished(w: MarkWrite): void {
    this.inflight.delete(`${w.action}\u0000${key(w.link, w.node)}`);
  }

  // ---- the protocol ---------------------------------------------------------

  /**
   * Every tickIntervalMs (half a hello interval, so that deadlines are met
   * within 25 ms): hellos when one is due, suspicions, and the deadlines that passed.
   */
  tick(now: number): LanSend[] {
    const out: LanSend[] = [];
    if (this.selfPaused) return out;
    const sayBack = this.backSent < BACK_REPEATS && this.rings.size > 0;
    if (sayBack) this.backSent++;
    for (const [n, until] of this.framePauses) if (now >= until) this.framePauses.delete(n);
    for (const ring of this.rings.values()) {
      const link = ring.link;
      this.derive(link, ring, now);
      // Every node we watch restarts in place: we expect to hear nothing, and are not deaf for it.
      if (ring.watched.size > 0 && [...ring.watched].every((n) => this.isPaused(n, now))) ring.lastAnyAt = now;
      // A quarter interval of slack: a tick a little early still sends, one at half an interval does not.
      if (now - ring.lastHelloAt >= this.s.helloIntervalMs * 0.75) {
        if (sayBack && !out.some((f) => f.link === link && f.msg.kind === 'pause')) out.push({ link, to: '*', toMac: BROADCAST_MAC, msg: { kind: 'pause', graceMs: 0 } });
        ring.lastHelloAt = now;
        ring.seq = (ring.seq + 1) >>> 0;
        for (const m of this.helloTargets(ring, now)) this.send(out, link, ring, m, { kind: 'hello', seq: ring.seq });
      }
      this.selfCheck(out, ring, now);
      // The nodes we watch, and those we suspect without watching them (see adopt).
      const targets = ring.suspicions.size === 0 ? ring.watched : new Set([...ring.watched, ...ring.suspicions.keys()]);
      for (const n of targets) {
        if (!ring.watched.has(n)) {
          if (this.isUnreachable(link, n) || !ring.members.includes(n)) ring.suspicions.delete(n);
          if (!ring.suspicions.has(n)) continue;
        }
        // Already condemned: we only wait to hear it again, steadily, to clear it. Our own
        // suspicion of it ends here: the quorum it gathered answered on the LAN as it was then,
        // and kept until the mark clears it would condemn at once, on those old answers, from
        // whatever side we are on by then (seeds 105080, 106554): a suspicion after the clear
        // starts afresh, with its own helpers and majority.
        if (this.isUnreachable(link, n)) {
          ring.suspicions.delete(n);
          if (now - (ring.lastHeard.get(n) ?? now) >= this.s.suspectAfterMs) ring.steadySince.delete(n);
          continue;
        }
        // Restarting in place: counted as heard until its deadline, so that silence is judged from then.
        if (this.isPaused(n, now)) {
          ring.suspicions.delete(n);
          ring.lastHeard.set(n, now);
          continue;
        }
        const suspicion = ring.suspicions.get(n);
        if (suspicion !== undefined) {
          // The majority answered, answered again (the confirming round), and the suspect, probed
          // with it, did not in a whole probe timeout. The confirming round may take until the
          // confirm timeout (members are probed again at each tick, as frames are lost); a
          // majority that does not answer it by then means the LAN changed under the round:
          // start over from what answered since.
          const q = suspicion.quorum;
          const since = q?.reachedAt === undefined ? undefined : now - q.reachedAt;
          const confirmed = q?.confirmed ?? new Set<string>();
          if (q !== undefined && since !== undefined && since >= this.s.probeTimeoutMs && 2 * (confirmed.size + 1) > q.sample.size + 2) {
            this.condemn(out, link, ring, n, now, `${q.why}; ${confirmed.size + 1} of ${q.sample.size + 2} nodes reachable`);
            this.adopt(out, link, ring, n, q, now);
          } else if (q !== undefined && since !== undefined && since >= this.s.confirmTimeoutMs) {
            q.acked.clear();
            for (const m of confirmed) q.acked.add(m);
            q.reachedAt = undefined;
            q.confirmed = undefined;
          } else if (now >= suspicion.deadline && suspicion.quorum?.reachedAt === undefined) this.roundEnded(out, link, ring, n, suspicion, now);
          else {
            // Probe it again ourselves at every tick of a round: one lost probe or ack must not
            // leave a helper's "dead" as the only word on a node that answers.
            this.send(out, link, ring, n, { kind: 'probe', nonce: suspicion.nonce, target: n });
            // The nodes of the quorum that have not answered yet are asked again: with frames
            // lost, one probe each finds a majority only about half the time in a small ring.
            if (q !== undefined) {
              const answered = q.reachedAt === undefined ? q.acked : q.confirmed ?? q.acked;
              for (const m of q.sample) if (!answered.has(m)) this.send(out, link, ring, m, { kind: 'probe', nonce: suspicion.nonce, target: m });
            }
            // The helpers are asked once more at the first tick of a round: a lost probe-req or
            // answer must not cost a whole round.
            else if (!suspicion.reasked) {
              suspicion.reasked = true;
              this.askHelpers(out, link, ring, n, suspicion.nonce, now);
            }
          }
          continue;
        }
        if (now - (ring.lastHeard.get(n) ?? now) >= this.s.suspectAfterMs) this.suspect(out, link, ring, n, now, now);
      }
    }
    for (const [nonce, p] of this.helperProbes) {
      // A helper probes twice before it answers "dead": at once, and again at its next tick.
      if (!p.retried) {
        p.retried = true;
        out.push({ link: p.link, to: p.target, toMac: p.targetMac, msg: { kind: 'probe', nonce, target: p.target } });
        continue;
      }
      if (now < p.deadline) continue;
      this.helperProbes.delete(nonce);
      out.push({ link: p.link, to: p.requester, toMac: p.requesterMac, msg: { kind: 'probe-res', nonce: p.reqNonce, target: p.target, alive: false } });
    }
    for (const [k, v] of this.verdicts) {
      const [link = '', node = ''] = k.split('\u0000');
      // Our "down" broadcast is the successors' only news while our mark is not in the API (our
      // API link may be down): say it again at the next ticks, so that one lost frame does not
      // leave a successor waiting for the verdict to reach it some other way.
      if (v.by === this.self && (v.repeats ?? 0) < DOWN_REPEATS && !(this.apiMarks.get(node)?.has(link) ?? false)) {
        v.repeats = (v.repeats ?? 0) + 1;
        out.push({ link, to: '*', toMac: BROADCAST_MAC, msg: { kind: 'down', nonce: this.nextNonce(), target: node } });
      }
      if (now - v.at >= this.s.lanVerdictMs && !(this.apiMarks.get(node)?.has(link) ?? false)) {
        this.verdicts.delete(k);
        this.changes++;
      }
    }
    return out;
  }

  /** A frame from another node; returns the answers to send at once. */
  received(r: LanReceived, now: number): LanSend[] {
    const out: LanSend[] = [];
    const rings = this.ringsOn(r.link);
    if (rings.length === 0 || r.from === this.self) return out;
    for (const ring of rings) {
      this.derive(r.link, ring, now);
      if (now - ring.lastAnyAt >= this.s.suspectAfterMs + this.s.confirmTimeoutMs) this.rejoinedFlag = true;
      ring.lastAnyAt = now;
      this.heard(ring, r.link, r.from, now);
      // Any frame from a node of a quorum shows that we reach it: it counts as its answer.
      for (const [target, sus] of ring.suspicions) if (sus.quorum?.sample.has(r.from) === true) this.quorumAnswer(out, r.link, ring, target, sus, r.from, now);
    }
    const msg = r.msg;
    // Anything but a pause from a paused node is its new agent: the pause is over.
    if (msg.kind !== 'pause' || msg.graceMs === 0) this.endPause(r.from);
    switch (msg.kind) {
      case 'hello':
        break;
      case 'pause':
        if (msg.graceMs === 0) break;
        if (!this.framePauses.has(r.from)) this.pauseChanges++;
        this.framePauses.set(r.from, now + Math.min(MAX_PAUSE_MS, msg.graceMs));
        for (const ring of rings) ring.suspicions.delete(r.from);
        break;
      case 'probe':
        out.push({ link: r.link, to: r.from, toMac: r.fromMac, msg: { kind: 'ack', nonce: msg.nonce } });
        break;
      case 'ack': {
        for (const ring of rings) if (ring.selfCheck?.nonce === msg.nonce && ring.members.includes(r.from)) ring.selfCheck.acked.set(r.from, now);
        const p = this.helperProbes.get(msg.nonce);
        if (p !== undefined) {
          this.helperProbes.delete(msg.nonce);
          out.push({ link: p.link, to: p.requester, toMac: p.requesterMac, msg: { kind: 'probe-res', nonce: p.reqNonce, target: p.target, alive: true } });
        }
        break;
      }
      case 'probe-req': {
        if (msg.target === this.self) {
          out.push({ link: r.link, to: r.from, toMac: r.fromMac, msg: { kind: 'probe-res', nonce: msg.nonce, target: msg.target, alive: true } });
          break;
        }
        const nonce = this.nextNonce();
        this.helperProbes.set(nonce, { link: r.link, target: msg.target, requester: r.from, requesterMac: r.fromMac, targetMac: msg.targetMac, reqNonce: msg.nonce, deadline: now + this.s.probeTimeoutMs, retried: false });
        out.push({ link: r.link, to: msg.target, toMac: msg.targetMac, msg: { kind: 'probe', nonce, target: msg.target } });
        break;
      }
      case 'probe-res': {
        for (const ring of rings) {
          const suspicion = ring.suspicions.get(msg.target);
          if (suspicion === undefined || suspicion.nonce !== msg.nonce) continue;
          if (msg.alive) this.heard(ring, r.link, msg.target, now);
          else if (suspicion.quorum === undefined) this.seekQuorum(out, r.link, ring, msg.target, suspicion, `${this.self} and ${r.from} heard nothing from it for ${Math.round(now - suspicion.since + this.s.suspectAfterMs)} ms`, now);
        }
        break;
      }
      case 'down':
        if (msg.target !== this.self && !this.verdicts.has(key(r.link, msg.target))) {
          this.verdicts.set(key(r.link, msg.target), { at: now, by: r.from, why: `${r.from} said so on the LAN` });
          this.changes++;
        }
        break;
    }
    return out;
  }

  // ---- outputs --------------------------------------------------------------

  /** Links on which `node` is unreachable: marked in its Lease, or condemned on the LAN. */
  unreachable(node: string): string[] {
    const out = new Set(this.apiMarks.get(node) ?? []);
    for (const [k] of this.verdicts) {
      const [link = '', n = ''] = k.split('\u0000');
      if (n === node) out.add(link);
    }
    return [...out].sort();
  }

  /** Whether a verdict reached or heard on the LAN (not only a mark in the API) says `node` is unreachable on some link. */
  condemnedOnLan(node: string): boolean {
    for (const k of this.verdicts.keys()) if (k.endsWith(`\u0000${node}`)) return true;
    return false;
  }

  /** Whether we rejoined a link since the last call (see the header). */
  takeRejoined(): boolean {
    const r = this.rejoinedFlag;
    this.rejoinedFlag = false;
    return r;
  }

  /** Links on which we hear nobody, in a ring where others should be heard: we are cut off there. */
  deaf(now: number): string[] {
    const out = new Set<string>();
    for (const ring of this.rings.values()) {
      this.derive(ring.link, ring, now);
      if (ring.live.length >= 3 && now - ring.lastAnyAt >= this.s.suspectAfterMs + this.s.confirmTimeoutMs) out.add(ring.link);
    }
    return [...out].sort();
  }

  /** Lease writes to ask for now (each once until markWriteFinished). */
  markWrites(now: number): MarkWrite[] {
    const out: MarkWrite[] = [];
    const want = (w: MarkWrite): void => {
      const id = `${w.action}\u0000${key(w.link, w.node)}`;
      if (this.inflight.has(id) || now - (this.askedAt.get(id) ?? -Infinity) < MARK_RETRY_MS) return;
      this.inflight.add(id);
      this.askedAt.set(id, now);
      out.push(w);
    };
    for (const [k, v] of this.verdicts) {
      if (v.by !== this.self) continue;
      const [link = '', node = ''] = k.split('\u0000');
      if (!(this.apiMarks.get(node)?.has(link) ?? false)) want({ node, link, action: 'mark', reason: v.why });
    }
    for (const ring of this.rings.values()) {
      const c = ring.selfCheck;
      if (c?.steadySince === undefined || !(this.apiMarks.get(this.self)?.has(ring.link) ?? false) || !this.selfMajority(ring, c, now)) continue;
      // As for a monitor's clear (below): a ring of two that split has every member marked, and waits only a suspicion period.
      const after = ring.members.every((n) => this.apiMarks.get(n)?.has(ring.link) ?? false) ? this.s.suspectAfterMs : this.s.clearAfterMs;
      if (now - c.steadySince >= after) {
        const answered = ring.members.filter((n) => n !== this.self && this.selfFresh(c, n, now)).length;
        want({ node: this.self, link: ring.link, action: 'clear', reason: `${answered + 1} of ${ring.members.length} nodes of the ring answered our probes on ${ring.link} without a break for ${Math.round(now - c.steadySince)} ms` });
      }
    }
    for (const [node, links] of this.apiMarks) {
      for (const link of links) {
        const ring = this.ringsOn(link).find((r) => r.watched.has(node));
        if (ring === undefined || ring.suspicions.has(node) || this.verdicts.has(key(link, node))) continue;
        const steady = ring.steadySince.get(node);
        // When every member is marked (a ring of two that split: each side condemned the other),
        // nobody is a candidate until a mark clears: a node heard for a suspicion period is then
        // cleared at once, as waiting longer only keeps every address dark.
        const after = ring.members.every((n) => this.apiMarks.get(n)?.has(link) ?? false) ? this.s.suspectAfterMs : this.s.clearAfterMs;
        if (steady !== undefined && now - steady >= after) {
          want({ node, link, action: 'clear', reason: `heard on ${link} without a break for ${Math.round(now - steady)} ms` });
        }
      }
    }
    return out;
  }

  status(now: number): LivenessStatus {
    const links: LivenessStatus['links'] = {};
    const deaf = new Set(this.deaf(now));
    for (const [id, ring] of [...this.rings].sort(([a], [b]) => (a < b ? -1 : 1))) {
      links[id] = {
        members: ring.members.length, live: ring.live.length, monitors: [...ring.monitors], watched: [...ring.watched].sort(),
        suspected: [...ring.suspicions.keys()].sort(), deaf: deaf.has(ring.link), lastAnyAgoMs: Math.round(now - ring.lastAnyAt),
      };
    }
    const unreachable: Record<string, string[]> = {};
    const nodes = new Set([...this.apiMarks.keys(), ...[...this.verdicts.keys()].map((k) => k.split('\u0000')[1] ?? '')]);
    for (const n of [...nodes].sort()) unreachable[n] = this.unreachable(n);
    return { links, unreachable, paused: this.pausedNodes(now) };
  }

  // ---- internals ------------------------------------------------------------

  private nextNonce(): number {
    this.nonce = (this.nonce % 0xffffffff) + 1;
    return this.nonce;
  }

  /**
   * Our monitors, and also those we would have if the marked nodes that we hear were not
   * marked. Our view of the marks may be behind theirs (our API watch is cut off or stalled,
   * and the mark was cleared): such a node counts itself in the ring and expects our hellos,
   * and in a ring of two, where silence alone condemns, a few lost acks to its probes would
   * condemn us. Extra hellos cost nothing to a node that does not expect them. Only marked
   * nodes are looked at (none in the steady state).
   */
  private helloTargets(ring: LinkRing, now: number): readonly string[] {
    let heard: string[] | undefined;
    for (const [n, links] of this.apiMarks) {
      if (n === this.self || !links.has(ring.link) || !ring.macs.has(n) || ring.live.includes(n)) continue;
      if (now - (ring.lastHeard.get(n) ?? -Infinity) < this.s.suspectAfterMs) (heard ??= []).push(n);
    }
    if (heard === undefined) return ring.monitors;
    const wider = successorsInRing([...new Set([...ring.live, ...heard])].sort(), this.self, MONITORS);
    return [...new Set([...ring.monitors, ...wider])];
  }

  /**
   * While the API marks us unreachable on the ring's link: probe the members that have not
   * answered since the last tick, and track since when a strict majority of the ring has been
   * answering (see the header). Nothing at all while we are not marked.
   */
  private selfCheck(out: LanSend[], ring: LinkRing, now: number): void {
    if (!(this.apiMarks.get(this.self)?.has(ring.link) ?? false)) {
      ring.selfCheck = undefined;
      return;
    }
    const c = ring.selfCheck ??= { nonce: this.nextNonce(), acked: new Map<string, number>(), steadySince: undefined };
    if (this.selfMajority(ring, c, now)) c.steadySince ??= now;
    else c.steadySince = undefined;
    for (const m of ring.members) {
      if (m !== this.self && now - (c.acked.get(m) ?? -Infinity) >= this.s.helloIntervalMs) this.send(out, ring.link, ring, m, { kind: 'probe', nonce: c.nonce, target: m });
    }
  }

  /** A member answered our own probes recently enough to count (a few lost frames in a row are not a break). */
  private selfFresh(c: SelfCheck, node: string, now: number): boolean {
    return now - (c.acked.get(node) ?? -Infinity) < this.s.suspectAfterMs + this.s.confirmTimeoutMs;
  }

  /** A strict majority of the whole ring, ourselves included, answers our own probes. */
  private selfMajority(ring: LinkRing, c: SelfCheck, now: number): boolean {
    let answered = 1;
    for (const n of ring.members) if (n !== this.self && this.selfFresh(c, n, now)) answered++;
    return 2 * answered > ring.members.length;
  }

  private send(out: LanSend[], link: string, ring: LinkRing, to: string, msg: LanMessage): void {
    const toMac = ring.macs.get(to);
    if (toMac !== undefined) out.push({ link, to, toMac, msg });
  }

  /** Any frame from a node (or a helper's word for it) proves it reachable on the link. */
  private heard(ring: LinkRing, link: string, node: string, now: number): void {
    const suspicion = ring.suspicions.get(node);
    // Suspected for a whole confirmation and more without a verdict: we could not find a majority
    // (or any helper), so we were the ones cut off, long enough to be condemned.
    if (suspicion !== undefined && now - suspicion.since >= this.s.confirmTimeoutMs) this.rejoinedFlag = true;
    ring.lastHeard.set(node, now);
    if (ring.suspicions.delete(node) && ring.watched.has(node)) ring.steadySince.set(node, now);
    if (!ring.steadySince.has(node) && ring.watched.has(node)) ring.steadySince.set(node, now);
    const k = key(link, node);
    // A node we hear is not unreachable, whatever was said of it on the LAN.
    if (this.verdicts.has(k)) {
      this.verdicts.delete(k);
      this.changes++;
      ring.steadySince.set(node, now);
    }
  }

  /**
   * Helpers for a suspicion of `target`: the ring after it, skipping us and it, those we
   * heard within suspectAfterMs first. The nodes right after a silent node are often cut
   * off with it (its neighbours in a run cut together); a helper that cannot answer us
   * confirms nothing, and asking it again every round only delays the verdict.
   */
  private helpersFor(ring: LinkRing, target: string, now: number): string[] {
    const view = ring.live.includes(target) ? ring.live : [...ring.live, target].sort();
    const order = successorsInRing(view, target, view.length).filter((n) => n !== this.self && n !== target);
    // A node restarting in place answers nobody: asked last.
    const heard = (n: string): boolean => now - (ring.lastHeard.get(n) ?? -Infinity) < this.s.suspectAfterMs && !this.isPaused(n, now);
    return [...order.filter(heard), ...order.filter((n) => !heard(n))].slice(0, HELPERS);
  }

  private suspect(out: LanSend[], link: string, ring: LinkRing, target: string, now: number, since: number): void {
    const nonce = this.nextNonce();
    const helpers = this.helpersFor(ring, target, now);
    ring.suspicions.set(target, { nonce, deadline: now + this.s.confirmTimeoutMs, helpers: helpers.length, since });
    ring.steadySince.delete(target);
    this.send(out, link, ring, target, { kind: 'probe', nonce, target });
    this.askHelpers(out, link, ring, target, nonce, now);
  }

  private askHelpers(out: LanSend[], link: string, ring: LinkRing, target: string, nonce: number, now: number): void {
    const targetMac = ring.macs.get(target) ?? BROADCAST_MAC;
    for (const h of this.helpersFor(ring, target, now)) this.send(out, link, ring, h, { kind: 'probe-req', nonce, target, targetMac });
  }

  /**
   * A round of a suspicion ended with no answer. With helpers asked, that
   * means we heard none of them either: we may be the one cut off, so we
   * condemn nobody and ask again. Without helpers (a ring of two), there is
   * nobody to ask: the silence itself is the verdict.
   */
  private roundEnded(out: LanSend[], link: string, ring: LinkRing, target: string, s: Suspicion, now: number): void {
    // A quorum round that ended without a majority: we are on the smaller side; start over.
    if (s.helpers === 0) {
      this.condemn(out, link, ring, target, now, `no answer for ${Math.round(now - s.since + this.s.suspectAfterMs)} ms and no other node to ask`);
      return;
    }
    this.suspect(out, link, ring, target, now, s.since);
  }

  /**
   * A helper confirmed the silence. Before condemning, show that we are on
   * the majority side of the link: probe the whole live ring and condemn only
   * once more than half of it (ourselves and the suspect included) answered.
   * A group cut off from the rest, whose members vouch for each other, is
   * then never the one that condemns, and an even split condemns nobody.
   * (Not a sample: a side of 12 in a ring of 25 holds most of a random
   * sample of 16 often enough to condemn the other side.)
   */
  private seekQuorum(out: LanSend[], link: string, ring: LinkRing, target: string, s: Suspicion, why: string, now: number): void {
    const sample = new Set(ring.live.filter((n) => n !== this.self && n !== target));
    const q = { sample, acked: new Set<string>(), why, at: now };
    // Three ticks to find the majority (the probes are repeated at each, see tick).
    ring.suspicions.set(target, { ...s, deadline: now + this.s.probeTimeoutMs + 3 * this.s.helloIntervalMs, quorum: q });
    for (const n of sample) this.send(out, link, ring, n, { kind: 'probe', nonce: s.nonce, target: n });
    // The suspect is probed once more with them: a helper's "dead" may be stale (its probes went
    // out while a cut that has just healed kept them from the suspect), and the verdict waits a
    // probe timeout (see tick) so that an answer to this probe comes first.
    this.send(out, link, ring, target, { kind: 'probe', nonce: s.nonce, target });
  }

  /**
   * A node of the quorum answered. Once the answers make a majority, the suspect is probed
   * again and condemned only if it stays silent for a probe timeout from then (see tick): a
   * majority found only as a split heals is not evidence against a suspect that the heal
   * brought back too.
   */
  private quorumAnswer(out: LanSend[], link: string, ring: LinkRing, target: string, s: Suspicion, from: string, now: number): void {
    const q = s.quorum;
    if (q === undefined || !q.sample.has(from)) return;
    q.acked.add(from);
    if (q.reachedAt !== undefined) {
      if (now >= q.reachedAt) q.confirmed?.add(from);
      return;
    }
    if (!this.quorumReached(q)) return;
    q.reachedAt = now;
    q.confirmed = new Set();
    this.send(out, link, ring, target, { kind: 'probe', nonce: s.nonce, target });
    for (const m of q.sample) this.send(out, link, ring, m, { kind: 'probe', nonce: s.nonce, target: m });
  }

  /** Strict majority of the live ring, counting us as answered and the suspect as not. */
  private quorumReached(q: NonNullable<Suspicion['quorum']>): boolean {
    return 2 * (q.acked.size + 1) > q.sample.size + 2;
  }

  /**
   * We just condemned `target` with a majority's answers. A node of the ring that did not
   * answer either, and whose monitors all are among the silent (the target included), is
   * likely cut off with them, and nobody that can still hear the LAN watches it: left to the
   * ring, it would be found one node at a time, each when the ring has shrunk past the one
   * before it (a run of neighbours cut together). We suspect it now, ourselves: the same
   * helpers, majority and silence condemn it, so a node that answers is never condemned.
   */
  private adopt(out: LanSend[], link: string, ring: LinkRing, target: string, q: NonNullable<Suspicion['quorum']>, now: number): void {
    const silent = new Set([target, ...[...q.sample].filter((n) => !q.acked.has(n))]);
    if (silent.size < 2 || !ring.live.includes(target)) return;
    for (const n of silent) {
      if (n === target || ring.watched.has(n) || ring.suspicions.has(n) || this.isUnreachable(link, n) || !ring.live.includes(n)) continue;
      if (!successorsInRing(ring.live, n, MONITORS).every((m) => silent.has(m))) continue;
      this.suspect(out, link, ring, n, now, now - this.s.suspectAfterMs);
    }
  }

  private condemn(out: LanSend[], link: string, ring: LinkRing, target: string, now: number, why: string): void {
    ring.suspicions.delete(target);
    // Counted as heard now, so that a node still silent is suspected again after a whole period, not at once.
    ring.lastHeard.set(target, now);
    const k = key(link, target);
    const before = this.verdicts.get(k);
    this.verdicts.set(k, { at: now, by: this.self, why });
    if (before === undefined) this.changes++;
    if (before === undefined) out.push({ link, to: '*', toMac: BROADCAST_MAC, msg: { kind: 'down', nonce: this.nextNonce(), target } });
  }
}

function isRingSpec(x: RingSpec | readonly RingMember[]): x is RingSpec {
  return !Array.isArray(x);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMacs(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
