/**
 * One simulated `herald agent`: the real AgentCore (with its LAN liveness)
 * and L2 selection, driven the way src/agent/agent.ts drives them (its node
 * Lease written when its links change, a Lease reflector that lists then
 * watches and re-lists after a break with capped backoff, a debounced plan,
 * Lease writes with a 5 s timeout, reads when the core asks, a liveness tick
 * every hello interval, frames in and out, conflict reports from the
 * responder), against the simulated API and LAN. A hung agent runs nothing
 * until it resumes (like SIGSTOP: timers and socket data wait), and its
 * user-space responder does not answer meanwhile.
 */
import { AgentCore, type Change, type LanOutput, type LeaseWrite } from '../src/core/l2/agent-core.js';
import type { CoordinationSettings } from '../src/core/l2/coordination-settings.js';
import { tickIntervalMs, type MarkWrite } from '../src/core/l2/lan-liveness.js';
import type { LanReceived } from '../src/core/l2/lan-messages.js';
import type { Labels } from '../src/core/label-selector.js';
import type { CompiledL2Policy } from '../src/core/l2/l2-policy.js';
import type { CandidateRanker } from '../src/core/l2/rendezvous.js';
import type { L2Selection } from '../src/core/l2/selection.js';
import type { SimClock, Timer } from './clock.js';
import type { Rng } from './rng.js';
import type { SimApi, SimLease } from './sim-api.js';
import { macOf, type SimLan } from './sim-lan.js';

/** Selections are pure functions of which nodes have the announcing link up; agents that agree share one. */
export interface SelectionSource {
  get(upNodes: readonly string[]): L2Selection;
  /** The policies and node labels, which split the liveness rings by segment. */
  readonly policies: readonly CompiledL2Policy[];
  readonly labels: ReadonlyMap<string, Labels>;
}

export interface SimAgentDeps {
  readonly clock: SimClock;
  readonly rng: Rng;
  readonly api: SimApi;
  readonly lan: SimLan;
  readonly settings: CoordinationSettings;
  readonly selections: SelectionSource;
  readonly ranker: CandidateRanker;
  readonly trace: (line: string) => void;
  /** Called when the agent has handed over and exits after SIGTERM. */
  readonly exited: (node: string) => void;
}

export const LINK = 'eth0';
export const nodeLeaseName = (node: string): string => `herald-agent-${node}`;
export const serviceLeaseName = (svc: string): string => `cilium-l2announce-${svc.replace('/', '-')}`;

const WRITE_TIMEOUT_MS = 5000;
const HANDOVER_TIMEOUT_MS = 3000;
/** The agent's Service Lease read timeout (agent.ts). */
const READ_TIMEOUT_MS = 2000;

export class SimAgent {
  readonly core: AgentCore;
  private alive = true;
  private hung = false;
  private readonly deferred: (() => void)[] = [];
  private synced = false;
  private selection: L2Selection | undefined;
  private selectionDirty = true;
  private planTimer: Timer | undefined;
  private tickTimer: Timer | undefined;
  private tickDueAt = Infinity;
  private ownLinks = '';
  private writingOwn = false;
  private readonly cache = new Map<string, SimLease>();
  private backoffMs = 200;
  private leaving = false;
  private leaveDeadline = Infinity;
  readonly services = new Map<string, string>();

  constructor(readonly node: string, private readonly d: SimAgentDeps) {
    this.core = new AgentCore({ self: node, settings: d.settings, ranker: d.ranker });
    this.core.ringScope(d.selections.policies, d.selections.labels);
    d.lan.attach(node, {
      heard: (address) => { this.run(() => { this.onHeard(address); }); },
      frame: (r) => { this.onFrame(r); },
    });
    this.list();
  }

  get running(): boolean { return this.alive && !this.hung; }
  get isAlive(): boolean { return this.alive; }
  get isLeaving(): boolean { return this.leaving; }
  /** Its first list has come back: it ticks, plans and answers (before that it is silent on the LAN). */
  get isSynced(): boolean { return this.synced; }

  /** Runs `fn` as the process would: not at all after a crash, later while hung. */
  private run(fn: () => void): void {
    if (!this.alive) return;
    if (this.hung) this.deferred.push(fn);
    else fn();
  }

  /** A liveness frame: a hot path (every hello), so no closure unless hung. */
  private onFrame(r: LanReceived): void {
    if (!this.alive) return;
    if (this.hung) this.deferred.push(() => { this.onFrame(r); });
    else {
      this.lanOutput(this.core.lanReceived(r, this.d.clock.now));
      if (this.tickTimer !== undefined && this.core.lan.busy && this.tickDueAt - this.d.clock.now > tickIntervalMs(this.d.settings)) this.scheduleTick();
    }
  }

  /** A watch event: no closure unless hung. */
  private onWatch(l: SimLease, deleted: boolean): void {
    if (!this.alive) return;
    if (this.hung) this.deferred.push(() => { this.onWatch(l, deleted); });
    else if (deleted) this.observeDeleted(l);
    else this.observe(l);
  }

  private after(ms: number, fn: () => void): Timer {
    return this.d.clock.after(ms, () => { this.run(fn); });
  }

  // ---- faults ---------------------------------------------------------------

  crash(): void {
    this.alive = false;
    this.d.api.closeWatch(this.node);
    this.d.lan.detach(this.node);
  }

  hang(): void {
    this.hung = true;
    this.d.lan.setAnswering(this.node, new Set());
  }

  resume(): void {
    if (!this.alive || !this.hung) return;
    this.hung = false;
    for (const fn of this.deferred.splice(0)) {
      if (!this.running) break; // a deferred step may end the process (exit after handing over)
      fn();
    }
    this.applyAnswering();
  }

  /**
   * SIGTERM while the node stays (a rolling update): restart in place. The pause frames go out
   * at once and twice more 20 ms apart, the deadline is written to the node Lease, and the
   * process exits 50 ms later without releasing anything. Its addresses stay answered: the
   * node's kube-proxy still forwards to the Services, and the clients' neighbour entries still
   * point at the node (cluster.ts drops them at the deadline if no new agent came).
   */
  restartInPlace(graceMs: number): void {
    this.run(() => {
      const frames = this.core.restartInPlace(graceMs);
      const send = (): void => { if (this.running) for (const f of frames) this.d.lan.sendFrame(this.node, f); };
      send();
      this.d.api.write(this.node, { name: nodeLeaseName(this.node), kind: 'node', subject: this.node, holder: this.node, restarting: this.d.clock.now + graceMs, expectRv: 'any' },
        WRITE_TIMEOUT_MS, () => undefined);
      this.after(20, send);
      this.after(40, send);
      this.after(50, () => {
        this.alive = false;
        this.d.api.closeWatch(this.node);
        this.d.lan.detachFrames(this.node);
        this.d.trace(`${this.node} exited to restart in place`);
      });
    });
  }

  /** SIGTERM: hand everything over, then clear the node Lease and exit. */
  terminate(): void {
    this.run(() => {
      this.leaving = true;
      this.leaveDeadline = this.d.clock.now + HANDOVER_TIMEOUT_MS;
      this.changed(this.core.leave('shutting down'));
    });
  }

  nicChanged(): void {
    this.run(() => { this.selectionDirty = true; this.schedulePlan(); this.writeOwn(); });
  }

  // ---- the Lease reflector ------------------------------------------------------

  private list(): void {
    this.d.api.list(this.node, 30_000, (r) => {
      this.run(() => {
        if (r.kind !== 'ok') {
          this.after(this.backoff(), () => { this.list(); });
          return;
        }
        this.backoffMs = 200;
        const seen = new Set<string>();
        for (const l of r.items) { seen.add(l.name); this.observe(l); }
        for (const [name, l] of this.cache) if (!seen.has(name)) this.observeDeleted(l);
        this.d.api.watch(this.node, { deliver: (l, deleted) => { this.onWatch(l, deleted); } }, r.rv);
        if (!this.synced) {
          this.synced = true;
          this.writeOwn();
          // Ticks at a random phase, as independent processes would.
          this.after(this.d.rng.between(0, this.d.settings.helloIntervalMs), () => { this.tick(); });
        }
        this.schedulePlan();
      });
    });
  }

  /** The watch broke (reset link, watchdog): re-list after the reflector's backoff. */
  watchBroken(): void {
    this.run(() => { this.after(this.backoff(), () => { this.list(); }); });
  }

  private backoff(): number {
    const ms = this.backoffMs * this.d.rng.between(0.8, 1.2);
    this.backoffMs = Math.min(5000, this.backoffMs * 2);
    return ms;
  }

  private observe(l: SimLease): void {
    if (this.cache.get(l.name)?.rv === l.rv) return;
    this.cache.set(l.name, l);
    if (l.kind === 'node') this.changed(this.core.nodeLease(l.subject, l.facts));
    else this.changed(this.core.serviceLease(l.subject, l.facts));
  }

  private observeDeleted(l: SimLease): void {
    this.cache.delete(l.name);
    if (l.kind === 'node') this.changed(this.core.nodeLease(l.subject, undefined));
    else this.changed(this.core.serviceLease(l.subject, undefined));
  }

  private changed(c: Change): void {
    if (c === 'none') return;
    if (c === 'selection') this.selectionDirty = true;
    this.schedulePlan();
  }

  // ---- LAN liveness ------------------------------------------------------------

  private tick(): void {
    this.lanOutput(this.core.lanTick(this.d.clock.now));
    this.scheduleTick();
  }

  /** As the adapter: every hello interval, every half interval while a deadline is pending. */
  private scheduleTick(): void {
    if (this.tickTimer !== undefined) this.tickTimer.cancelled = true;
    const ms = this.core.lan.busy ? tickIntervalMs(this.d.settings) : this.d.settings.helloIntervalMs;
    this.tickDueAt = this.d.clock.now + ms;
    this.tickTimer = this.after(ms, () => { this.tick(); });
  }

  private lanOutput(out: LanOutput): void {
    // Restarting in place: nothing more leaves (an ack would tell the ring we are back).
    if (this.core.restarting) return;
    for (const send of out.sends) this.d.lan.sendFrame(this.node, send);
    for (const m of out.marks) this.writeMark(m);
    this.changed(out.change);
  }

  /** Our node Lease, written when our links change (not periodically). */
  private writeOwn(): void {
    if (this.leaving) return;
    const upLinks = this.d.lan.isNicUp(this.node) ? [LINK] : [];
    const key = upLinks.join(',');
    if (key === this.ownLinks || this.writingOwn) return;
    this.writingOwn = true;
    this.d.api.write(this.node, { name: nodeLeaseName(this.node), kind: 'node', subject: this.node, holder: this.node, upLinks, macs: { [LINK]: macOf(this.node) }, restarting: null, expectRv: 'any' },
      WRITE_TIMEOUT_MS, (r) => {
        this.run(() => {
          this.writingOwn = false;
          // As the agent's NodeLeaseWriter does: every node Lease write tells whether the API answers.
          this.changed(this.core.apiState(r.kind !== 'error'));
          if (r.kind === 'ok') this.ownLinks = key;
          else this.after(this.backoff(), () => { this.writeOwn(); });
          // Links may have changed again while the write was out.
          if (r.kind === 'ok') this.writeOwn();
        });
      });
  }

  private writeMark(m: MarkWrite): void {
    this.d.trace(`${this.node} ${m.action === 'mark' ? 'marks' : 'clears'} ${m.node} unreachable on ${m.link}: ${m.reason}`);
    this.d.api.write(this.node, { name: nodeLeaseName(m.node), kind: 'node', subject: m.node, holder: '', mark: { link: m.link, on: m.action === 'mark' }, expectRv: 'any' },
      WRITE_TIMEOUT_MS, (r) => { this.run(() => { this.core.lan.markWriteFinished(m); this.changed(this.core.apiState(r.kind !== 'error')); }); });
  }

  // ---- planning ----------------------------------------------------------------

  private schedulePlan(delayMs = 2): void {
    if (!this.synced || this.planTimer !== undefined) return;
    this.planTimer = this.after(delayMs, () => {
      this.planTimer = undefined;
      this.plan();
    });
  }

  private currentSelection(): L2Selection {
    if (this.selection === undefined || this.selectionDirty) {
      const up: string[] = [];
      for (const n of this.knownNodes()) {
        const links = n === this.node ? this.core.selfUpLinks(this.d.lan.isNicUp(n) ? [LINK] : [], this.d.clock.now) : this.core.upLinksOf(n);
        if (links.includes(LINK)) up.push(n);
      }
      this.selection = this.d.selections.get(up.sort());
      this.selectionDirty = false;
    }
    return this.selection;
  }

  private knownNodes(): Set<string> {
    const nodes = new Set<string>([this.node]);
    for (const l of this.cache.values()) if (l.kind === 'node') nodes.add(l.subject);
    return nodes;
  }

  private plan(): void {
    const now = this.d.clock.now;
    const out = this.core.plan(this.currentSelection(), now);
    this.applyAnswering();
    for (const w of out.writes) this.write(w);
    for (const k of out.reads) this.read(k);
    if (this.leaving) this.maybeExit(now);
  }

  private read(service: string): void {
    this.d.api.get(this.node, serviceLeaseName(service), READ_TIMEOUT_MS, (r) => {
      this.run(() => {
        // As the agent's: a read does not touch the reflector's cache (the watch delivers that version too).
        if (r.kind === 'ok') {
          this.changed(this.core.leaseRead(service, { result: 'ok', lease: r.lease?.facts }));
        } else {
          this.changed(this.core.leaseRead(service, { result: 'error', message: r.why }));
        }
      });
    });
  }

  private applyAnswering(): void {
    if (!this.running) return;
    const addrs = new Set<string>();
    for (const p of this.core.plans) for (const a of p.answer) addrs.add(a.address);
    this.d.lan.setAnswering(this.node, addrs);
  }

  private write(w: LeaseWrite): void {
    const name = serviceLeaseName(w.service);
    const expectRv = w.expectedRv === undefined ? undefined : Number(w.expectedRv);
    this.d.trace(`${this.node} writes ${w.action} ${w.service} → '${w.holder}' (was '${w.previousHolder}'): ${w.reason}`);
    this.d.api.write(this.node, { name, kind: 'service', subject: w.service, holder: w.holder, expectRv }, WRITE_TIMEOUT_MS, (r) => {
      this.run(() => {
        // As the agent's: a write does not touch the reflector's cache, and without the API the
        // next plan (and its retry) waits 250 ms rather than 2.
        const c = this.core.writeFinished(w, r.kind === 'ok' ? { result: 'ok', lease: r.lease.facts } : r.kind === 'conflict' ? { result: 'lost' } : { result: 'error', message: r.why });
        if (c === 'selection') this.selectionDirty = true;
        if (c !== 'none') this.schedulePlan(this.core.apiReachable() ? 2 : 250);
      });
    });
  }

  private onHeard(address: string): void {
    if (!this.d.lan.answers(this.node).has(address)) return;
    this.changed(this.core.conflict(address, this.d.clock.now));
  }

  private maybeExit(now: number): void {
    const pending = this.core.plans.some((p) => p.decision.action === 'handover') || this.core.inflightWrites > 0;
    if (pending && now < this.leaveDeadline) {
      this.schedulePlan(10);
      return;
    }
    this.d.lan.setAnswering(this.node, new Set());
    this.d.api.write(this.node, { name: nodeLeaseName(this.node), kind: 'node', subject: this.node, holder: '', expectRv: 'any' }, 2000, () => undefined);
    this.crash();
    this.d.exited(this.node);
  }
}
