import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { BpfInsn } from '../packet/bpf-filter.js';
import { buildFilter } from '../packet/bpf-filter.js';
import type { IpAddr } from '../packet/ip.js';
import { parseIp } from '../packet/ip.js';
import { multicastMac, solicitedNodeAddress } from '../packet/ipv6.js';
import type { FrameSocket, OpenFrameSocket } from '../packet/packet-socket.js';
import { errorCode, openPacketSocket } from '../packet/packet-socket.js';
import { parseMac } from '../packet/mac.js';
import type { LinkSource } from '../net/link-inventory.js';
import type { Decision } from './decide.js';
import { decide } from './decide.js';
import type { BurstSettings } from './burst.js';
import { DEFAULT_BURST, burstDelays } from './burst.js';
import { gratuitousFrames } from './frames.js';

/** One address to announce on one interface. */
export interface AnnouncePair {
  readonly address: string;
  readonly interface: string;
}

export interface ResponderCounters {
  /** ARP requests and neighbour solicitations that reached us (any target the filter let through). */
  requestsSeen: number;
  repliesSent: number;
  /** Gratuitous ARP and unsolicited NA frames sent. */
  gratuitousSent: number;
  /** Another MAC claimed one of our addresses. */
  conflictsSeen: number;
  /** Frames that failed to decode. */
  malformed: number;
  /** Failed sends and sockets that could not be opened. */
  errors: number;
}

export type InterfaceState = 'active' | 'down' | 'missing' | 'error';

export interface ResponderEvents {
  reply: [{ interface: string; family: 4 | 6; address: string; asker: string; askerMac: string }];
  gratuitous: [{ interface: string; address: string; round: number }];
  conflict: [{ interface: string; family: 4 | 6; address: string; mac: string }];
  /** An interface's ability to answer changed. */
  state: [{ interface: string; state: InterfaceState; reason?: string }];
  /** Something failed that the responder will retry or has counted; never thrown. */
  problem: [{ interface: string; message: string; code?: string }];
}

export interface ResponderOptions {
  readonly links: LinkSource;
  readonly open?: OpenFrameSocket;
  readonly burst?: BurstSettings;
  /** prom-client registry to publish counters in. */
  readonly registry?: Registry;
  /** Delay before retrying an interface whose socket could not be opened (default 2000 ms). */
  readonly retryMs?: number;
}

interface Announced {
  readonly addr: IpAddr;
  timers: NodeJS.Timeout[];
}

interface Iface {
  readonly name: string;
  readonly addresses: Map<string, Announced>;
  socket: FrameSocket | undefined;
  ifindex: number;
  mac: Buffer | undefined;
  state: InterfaceState;
  /** Address texts the decision answers for; empty unless active. */
  answering: Set<string>;
  retry: NodeJS.Timeout | undefined;
}

/**
 * Answers ARP and NDP for a desired set of (address, interface) pairs on raw
 * sockets, without ever adding an address to an interface. Decisions come
 * from the pure `decide`; this class owns sockets, timers and link state.
 */
export class Responder extends EventEmitter<ResponderEvents> {
  readonly #links: LinkSource;
  readonly #open: OpenFrameSocket;
  readonly #burst: BurstSettings;
  readonly #retryMs: number;
  readonly #ifaces = new Map<string, Iface>();
  readonly #counters: ResponderCounters = {
    requestsSeen: 0, repliesSent: 0, gratuitousSent: 0, conflictsSeen: 0, malformed: 0, errors: 0,
  };
  readonly #metrics: Record<keyof ResponderCounters, Counter> | undefined;
  readonly #onLinks = () => { this.#reconcileAll(); };
  #closed = false;

  constructor(opts: ResponderOptions) {
    super();
    this.#links = opts.links;
    this.#open = opts.open ?? openPacketSocket;
    this.#burst = opts.burst ?? DEFAULT_BURST;
    this.#retryMs = opts.retryMs ?? 2000;
    if (opts.registry) {
      const reg = opts.registry;
      const counter = (name: string, help: string) =>
        new Counter({ name: `herald_l2_${name}_total`, help, labelNames: [], registers: [reg] });
      this.#metrics = {
        requestsSeen: counter('requests_seen', 'ARP requests and neighbour solicitations received'),
        repliesSent: counter('replies_sent', 'ARP replies and solicited neighbour advertisements sent'),
        gratuitousSent: counter('gratuitous_sent', 'Gratuitous ARP and unsolicited neighbour advertisements sent'),
        conflictsSeen: counter('conflicts_seen', 'Frames in which another MAC claimed an announced address'),
        malformed: counter('malformed_frames', 'Received frames that failed to decode'),
        errors: counter('errors', 'Send failures and sockets that could not be opened'),
      };
    }
    this.#links.on('change', this.#onLinks);
  }

  /**
   * Replaces the announced set. Throws only for input that can never work (an
   * address that does not parse); interfaces that are missing or down are
   * kept and served as soon as they appear or come up.
   */
  setDesired(pairs: readonly AnnouncePair[]): void {
    if (this.#closed) throw new Error('responder is closed');
    const wanted = new Map<string, Map<string, IpAddr>>();
    for (const p of pairs) {
      const addr = parseIp(p.address);
      if (!addr) throw new Error(`not an IP address: "${p.address}"`);
      let m = wanted.get(p.interface);
      if (!m) wanted.set(p.interface, (m = new Map<string, IpAddr>()));
      m.set(addr.text, addr);
    }
    for (const [name, iface] of this.#ifaces) {
      if (!wanted.has(name)) {
        this.#shutdown(iface);
        this.#ifaces.delete(name);
      }
    }
    for (const [name, addrs] of wanted) {
      let iface = this.#ifaces.get(name);
      if (!iface) {
        iface = {
          name, addresses: new Map(), socket: undefined, ifindex: 0, mac: undefined, state: 'missing', answering: new Set(), retry: undefined,
        };
        this.#ifaces.set(name, iface);
      }
      const added: IpAddr[] = [];
      for (const [text, a] of iface.addresses) {
        if (!addrs.has(text)) {
          this.#cancel(a);
          iface.addresses.delete(text);
          // Stop answering before anything else can happen.
          iface.answering.delete(text);
          if (iface.socket && a.addr.family === 6) this.#leave(iface, a.addr);
        }
      }
      for (const [text, addr] of addrs) {
        if (!iface.addresses.has(text)) {
          iface.addresses.set(text, { addr, timers: [] });
          added.push(addr);
        }
      }
      this.#reconcile(iface, added);
    }
  }

  /** The desired pairs and whether each interface is answering. */
  status(): { interface: string; state: InterfaceState; addresses: string[] }[] {
    return [...this.#ifaces.values()].map((i) => ({ interface: i.name, state: i.state, addresses: [...i.addresses.keys()] }));
  }

  counters(): ResponderCounters {
    return { ...this.#counters };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#links.off('change', this.#onLinks);
    for (const iface of this.#ifaces.values()) this.#shutdown(iface);
    this.#ifaces.clear();
  }

  #count(key: keyof ResponderCounters, n = 1): void {
    this.#counters[key] += n;
    this.#metrics?.[key].inc(n);
  }

  #reconcileAll(): void {
    if (this.#closed) return;
    for (const iface of this.#ifaces.values()) this.#reconcile(iface, []);
  }

  /** Brings one interface in line with its link state; `added` get a gratuitous burst if active. */
  #reconcile(iface: Iface, added: readonly IpAddr[]): void {
    const link = this.#links.get(iface.name);
    const mac = link?.mac ? parseMac(link.mac) : undefined;
    if (!link || !mac || !link.up) {
      const state: InterfaceState = !link ? 'missing' : 'down';
      if (iface.state !== state) {
        this.#shutdown(iface);
        this.#setState(iface, state, !link ? 'no such link' : !mac ? 'link has no MAC address' : 'link is down');
      }
      return;
    }
    const reopen = !iface.socket || iface.ifindex !== link.index || !iface.mac?.equals(mac);
    if (reopen) {
      this.#shutdown(iface);
      try {
        iface.socket = this.#open(iface.name, this.#filterFor(iface), (frame) => { this.#onFrame(iface, frame); });
      } catch (err) {
        this.#count('errors');
        const code = errorCode(err);
        this.emit('problem', { interface: iface.name, message: err instanceof Error ? err.message : String(err), ...(code ? { code } : {}) });
        this.#setState(iface, 'error', err instanceof Error ? err.message : String(err));
        // Transient failures (a link renamed or re-created under us) heal on
        // their own; missing privileges do not, but retrying costs little.
        iface.retry ??= setTimeout(() => {
          iface.retry = undefined;
          if (!this.#closed && this.#ifaces.get(iface.name) === iface) this.#reconcile(iface, []);
        }, this.#retryMs);
        iface.retry.unref();
        return;
      }
      iface.ifindex = link.index;
      iface.mac = mac;
      iface.answering = new Set(iface.addresses.keys());
      for (const a of iface.addresses.values()) if (a.addr.family === 6) this.#join(iface, a.addr);
      this.#setState(iface, 'active');
      // Coming (back) up: the LAN may have forgotten us or learned another MAC.
      for (const a of iface.addresses.values()) this.#startBurst(iface, a);
      return;
    }
    iface.answering = new Set(iface.addresses.keys());
    this.#setFilter(iface);
    for (const addr of added) {
      if (addr.family === 6) this.#join(iface, addr);
      const a = iface.addresses.get(addr.text);
      if (a) this.#startBurst(iface, a);
    }
  }

  #filterFor(iface: Iface): BpfInsn[] {
    const addrs = [...iface.addresses.values()].map((a) => a.addr);
    return buildFilter({
      ipv4: addrs.filter((a) => a.family === 4).map((a) => a.bytes),
      ipv6: addrs.filter((a) => a.family === 6).map((a) => a.bytes),
    });
  }

  #setFilter(iface: Iface): void {
    try {
      iface.socket?.setFilter(this.#filterFor(iface));
    } catch (err) {
      this.#count('errors');
      this.emit('problem', { interface: iface.name, message: `cannot update filter: ${String(err)}` });
    }
  }

  #join(iface: Iface, addr: IpAddr): void {
    try {
      iface.socket?.join(multicastMac(solicitedNodeAddress(addr.bytes)));
    } catch (err) {
      this.#count('errors');
      this.emit('problem', { interface: iface.name, message: `cannot join solicited-node group of ${addr.text}: ${String(err)}` });
    }
  }

  #leave(iface: Iface, addr: IpAddr): void {
    try {
      iface.socket?.leave(multicastMac(solicitedNodeAddress(addr.bytes)));
    } catch (err) {
      this.#count('errors');
      this.emit('problem', { interface: iface.name, message: `cannot leave solicited-node group of ${addr.text}: ${String(err)}` });
    }
    // The filter is narrowed by the caller's reconcile.
  }

  #startBurst(iface: Iface, a: Announced): void {
    this.#cancel(a);
    burstDelays(this.#burst).forEach((delay, round) => {
      const fire = () => { this.#announce(iface, a, round); };
      if (delay === 0) {
        fire();
        return;
      }
      const t = setTimeout(fire, delay);
      t.unref();
      a.timers.push(t);
    });
  }

  #announce(iface: Iface, a: Announced, round: number): void {
    if (!iface.socket || !iface.mac || !iface.answering.has(a.addr.text)) return;
    for (const frame of gratuitousFrames(a.addr, iface.mac)) {
      if (this.#send(iface, frame)) this.#count('gratuitousSent');
    }
    this.emit('gratuitous', { interface: iface.name, address: a.addr.text, round });
  }

  #send(iface: Iface, frame: Buffer): boolean {
    try {
      iface.socket?.send(frame);
      return true;
    } catch (err) {
      this.#count('errors');
      this.emit('problem', { interface: iface.name, message: `send failed: ${String(err)}` });
      return false;
    }
  }

  #onFrame(iface: Iface, frame: Buffer): void {
    if (!iface.mac || iface.state !== 'active') return;
    let d: Decision;
    try {
      d = decide(frame, { mac: iface.mac, addresses: iface.answering });
    } catch (err) {
      // decide is total by design; this is a last line so one bad frame cannot kill the agent.
      this.#count('malformed');
      this.emit('problem', { interface: iface.name, message: `decision failed: ${String(err)}` });
      return;
    }
    switch (d.kind) {
      case 'reply':
        this.#count('requestsSeen');
        if (this.#send(iface, d.frame)) {
          this.#count('repliesSent');
          this.emit('reply', { interface: iface.name, family: d.family, address: d.address, asker: d.asker, askerMac: d.askerMac });
        }
        return;
      case 'conflict':
        this.#count('conflictsSeen');
        this.emit('conflict', { interface: iface.name, family: d.family, address: d.address, mac: d.mac });
        return;
      case 'malformed':
        this.#count('malformed');
        return;
      case 'ignore':
        if (d.request) this.#count('requestsSeen');
        return;
    }
  }

  #cancel(a: Announced): void {
    for (const t of a.timers) clearTimeout(t);
    a.timers = [];
  }

  #shutdown(iface: Iface): void {
    iface.answering = new Set();
    clearTimeout(iface.retry);
    iface.retry = undefined;
    for (const a of iface.addresses.values()) this.#cancel(a);
    if (iface.socket) {
      try {
        iface.socket.close();
      } catch {
        // Closing is best effort; the fd is gone either way.
      }
    }
    iface.socket = undefined;
    iface.mac = undefined;
    iface.ifindex = 0;
  }

  #setState(iface: Iface, state: InterfaceState, reason?: string): void {
    iface.state = state;
    this.emit('state', { interface: iface.name, state, ...(reason ? { reason } : {}) });
  }
}
