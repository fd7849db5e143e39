/**
 * A simulated LAN segment: which node answers which address, gratuitous
 * bursts that other nodes (and the client) may hear, frame loss, NICs that go
 * down, and cuts that put any subset of nodes on a side of their own without
 * a carrier change. The client that uses the VIPs is on side 0.
 */
import type { LanReceived, LanSend } from '../src/core/l2/lan-messages.js';
import type { SimClock } from './clock.js';
import type { Rng } from './rng.js';

export interface FrameSink {
  /** Another node announced `address` (gratuitous ARP / unsolicited NA). */
  heard(address: string, from: string): void;
  /** A liveness frame for this node (unicast to it, or broadcast). */
  frame(r: LanReceived): void;
}

export interface LanCounters {
  framesSent: number;
  framesReceived: number;
  framesLost: number;
  /** Liveness frames only. */
  livenessSent: number;
  livenessReceived: number;
}

/** One-way delay of a liveness frame on the simulated switch, ms. */
const FRAME_DELAY_MS: readonly [number, number] = [0.05, 0.4];

export class SimLan {
  readonly counters: LanCounters = { framesSent: 0, framesReceived: 0, framesLost: 0, livenessSent: 0, livenessReceived: 0 };
  /** Liveness frames sent plus received, per node. */
  readonly livenessByNode = new Map<string, number>();
  private readonly side = new Map<string, number>();
  private readonly nicDown = new Set<string>();
  private readonly sinks = new Map<string, FrameSink>();
  /** What each node's responder answers right now (empty while its agent is down or hung). */
  private readonly answering = new Map<string, ReadonlySet<string>>();
  /** The reverse: address → the nodes whose responders have it. */
  private readonly byAddress = new Map<string, Set<string>>();
  loss = 0;
  /** Called with the addresses whose answerers, or where those are, may have changed. */
  onChange: (addresses: Iterable<string>) => void = () => undefined;
  /** Every frame that reaches someone: (time, from, to, address). The checker listens. */
  onHeard: (from: string, to: string, address: string) => void = () => undefined;

  constructor(private readonly clock: SimClock, private readonly rng: Rng, private readonly burst: { rounds: number; intervalMs: number }) {}

  attach(node: string, sink: FrameSink): void { this.sinks.set(node, sink); }
  detach(node: string): void { this.sinks.delete(node); this.setAnswering(node, new Set()); }
  /** The agent process is gone but the node stays: no frames reach it; what it answered stays (see SimAgent.restartInPlace). */
  detachFrames(node: string): void { this.sinks.delete(node); }

  sideOf(node: string): number { return this.side.get(node) ?? 0; }
  isNicUp(node: string): boolean { return !this.nicDown.has(node); }
  /** On the client's side with its NIC up. */
  reachesClient(node: string): boolean { return this.sideOf(node) === 0 && this.isNicUp(node); }

  private touched(nodes: readonly string[]): void {
    const addrs = new Set<string>();
    for (const n of nodes) for (const a of this.answering.get(n) ?? []) addrs.add(a);
    this.onChange(addrs);
  }

  cut(nodes: readonly string[], side: number): void {
    for (const n of nodes) this.side.set(n, side);
    this.touched(nodes);
  }

  heal(nodes: readonly string[]): void {
    for (const n of nodes) this.side.delete(n);
    this.touched(nodes);
  }

  setNic(node: string, up: boolean): void {
    if (up) this.nicDown.delete(node);
    else this.nicDown.add(node);
    this.touched([node]);
  }

  /** The nodes whose frames reach `node`'s segment. */
  private canHear(a: string, b: string): boolean {
    return this.isNicUp(a) && this.isNicUp(b) && this.sideOf(a) === this.sideOf(b);
  }

  answers(node: string): ReadonlySet<string> {
    return this.isNicUp(node) ? this.answering.get(node) ?? new Set() : new Set();
  }

  /** The responder's desired set; a newly answered address gets a gratuitous burst. */
  setAnswering(node: string, addresses: ReadonlySet<string>): void {
    const before = this.answering.get(node) ?? new Set<string>();
    this.answering.set(node, addresses);
    const changed: string[] = [];
    for (const a of before) {
      if (addresses.has(a)) continue;
      changed.push(a);
      this.byAddress.get(a)?.delete(node);
    }
    for (const a of addresses) {
      if (before.has(a)) continue;
      changed.push(a);
      let set = this.byAddress.get(a);
      if (set === undefined) this.byAddress.set(a, (set = new Set()));
      set.add(node);
      for (let r = 0; r < this.burst.rounds; r++) this.clock.after(r * this.burst.intervalMs, () => { this.announce(node, a); });
    }
    if (changed.length > 0) this.onChange(changed);
  }

  private announce(from: string, address: string): void {
    if (!(this.answering.get(from)?.has(address) ?? false) || !this.isNicUp(from)) return;
    this.counters.framesSent++;
    for (const [to, sink] of this.sinks) {
      if (to === from || !this.canHear(from, to)) continue;
      if (this.rng.chance(this.loss)) { this.counters.framesLost++; continue; }
      this.counters.framesReceived++;
      this.onHeard(from, to, address);
      sink.heard(address, from);
    }
  }

  /** A liveness frame from `from`'s agent: delivered after a short delay if the LAN lets it through. */
  sendFrame(from: string, s: LanSend): void {
    if (!this.isNicUp(from)) return;
    this.counters.livenessSent++;
    this.livenessByNode.set(from, (this.livenessByNode.get(from) ?? 0) + 1);
    const targets = s.to === '*' ? [...this.sinks.keys()].filter((n) => n !== from) : [s.to];
    const fromMac = macOf(from);
    for (const to of targets) {
      if (!this.canHear(from, to) || !this.sinks.has(to)) continue;
      if (this.loss > 0 && this.rng.chance(this.loss)) { this.counters.framesLost++; continue; }
      const r: LanReceived = { link: s.link, from, fromMac, msg: s.msg };
      this.clock.after(this.rng.between(FRAME_DELAY_MS[0], FRAME_DELAY_MS[1]), () => {
        const sink = this.sinks.get(to);
        // Still deliverable when it arrives: the cut or NIC may have changed meanwhile.
        if (sink === undefined || !this.canHear(from, to)) return;
        this.counters.livenessReceived++;
        this.livenessByNode.set(to, (this.livenessByNode.get(to) ?? 0) + 1);
        sink.frame(r);
      });
    }
  }

  /** Who answers `address`, per side (NIC up only). */
  answerers(address: string): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const node of this.byAddress.get(address) ?? []) {
      if (!this.isNicUp(node)) continue;
      const side = this.sideOf(node);
      let list = out.get(side);
      if (list === undefined) out.set(side, (list = []));
      list.push(node);
    }
    return out;
  }
}

/** A simulated node's MAC: its name stands in for it. */
export function macOf(node: string): string {
  return `mac-${node}`;
}
