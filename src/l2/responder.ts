import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { BpfInsn } from '../packet/bpf-filter.js';
import type { FilterMode } from '../packet/bpf-filter.js';
import { passAllArpNdFilter, planFilter, rejectAllFilter } from '../packet/bpf-filter.js';
import { currentFilterBudget } from '../packet/filter-cost.js';
import type { IpAddr } from '../packet/ip.js';
import { parseIp } from '../packet/ip.js';
import { multicastMac, solicitedNodeAddress } from '../packet/ipv6.js';
import type { FrameSocket, OpenFrameSocket, SocketError } from '../packet/packet-socket.js';
import { errorCode, openPacketSocket } from '../packet/packet-socket.js';
import { parseMac } from '../packet/mac.js';
import type { LinkSource } from '../net/link-inventory.js';
import type { Decision, InterfaceView } from './decide.js';
import { decide } from './decide.js';
import type { BurstSettings } from './burst.js';
import { DEFAULT_BURST, burstDelays } from './burst.js';
import { gratuitousFrames } from './frames.js';

/** One address to announce on one interface. */
export interface AnnouncePair {
  readonly address: string;
  readonly interface: string;
  /** Answer ICMP/ICMPv6 echo requests to the address too (the ping opt-in), rate-limited. */
  readonly echo?: boolean;
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
  /** Errors the kernel reported on a socket (ENETDOWN on a link bounce, ...). */
  socketErrors: number;
  /** Sockets that answered again after such an error, with a gratuitous burst. */
  recoveries: number;
  /** Gratuitous frames sent to take an address back from a MAC that is no herald node's. */
  reannounced: number;
  /** Echo replies sent for addresses that answer ping. */
  echoReplies: number;
  /** Echo requests not answered because the rate limit was reached. */
  echoLimited: number;
  /** Filters the kernel refused, replaced by the pass-all program. */
  filterFallbacks: number;
}

/**
 * `recovering`: the kernel reported a socket error (the link bounced, say);
 * reading has resumed and the link is being watched until it runs again,
 * then the addresses are re-announced.
 */
export type InterfaceState = 'active' | 'recovering' | 'down' | 'missing' | 'error';

export interface ResponderEvents {
  reply: [{ interface: string; family: 4 | 6; address: string; asker: string; askerMac: string }];
  gratuitous: [{ interface: string; address: string; round: number }];
  /**
   * Another MAC claimed one of our addresses. Reported at most once per
   * CONFLICT_REPORT_MS for each address and MAC, and at most
   * CONFLICT_REPORTS_PER_SECOND per interface: a forger cannot make work.
   * `foreign`: the MAC is no herald node's (see ResponderOptions.foreignMac);
   * the address was re-announced.
   */
  conflict: [{ interface: string; family: 4 | 6; address: string; mac: string; foreign: boolean }];
  /** An interface's ability to answer changed. */
  state: [{ interface: string; state: InterfaceState; reason?: string }];
  /** A socket answers again after a socket error, `ms` after it. */
  recovered: [{ interface: string; code: string; ms: number }];
  /** Whether this node can answer on a link changed (see unfitLinks). */
  fitness: [{ interface: string; fit: boolean; reason?: string }];
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
  /**
   * True for a MAC that belongs to no herald node. Such a MAC claiming one of
   * our addresses is answered with a re-announcement, at most one every
   * REANNOUNCE_MIN_MS per address. Without it no MAC is foreign.
   */
  readonly foreignMac?: (mac: string) => boolean;
}

/** Re-announcements against a foreign MAC are at least this far apart (a later claim waits at most this long). */
export const REANNOUNCE_MIN_MS = 50;
/** A conflict for the same address and MAC is reported once per window; further frames are only counted. */
export const CONFLICT_REPORT_MS = 1000;
/** At most this many conflict reports per interface per second, however many MACs a forger makes up. */
export const CONFLICT_REPORTS_PER_SECOND = 10;
/** After a socket error, how often the link's flags are read until it runs again. */
const RECOVERY_CHECK_MS = 50;
/** A link not running this long after a socket error makes the node unfit there. */
export const RECOVERY_UNFIT_MS = 1000;
const FILTER_MODES: readonly FilterMode[] = ['exact', 'widened', 'pass-all', 'reject-all'];
const FILTER_UNFIT = 'cannot attach a socket filter';
/** Remembered (address, MAC) conflict reports before old ones are dropped. */
const CONFLICT_KEYS_MAX = 256;
/** Echo replies per address: this many a second on average, bursts up to ECHO_BURST (a few pings at once, then a steady ping). */
export const ECHO_PER_SECOND = 100;
export const ECHO_BURST = 20;
/** And per interface, whatever the number of addresses. */
export const ECHO_PER_SECOND_PER_INTERFACE = 1000;

interface Announced {
  readonly addr: IpAddr;
  timers: NodeJS.Timeout[];
  /** The last re-announcement against a foreign MAC, and one waiting for REANNOUNCE_MIN_MS. */
  defendedAt: number;
  defence: NodeJS.Timeout | undefined;
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
  /** Why no filter could be attached for the current set (the old one stays): the link is unfit meanwhile. */
  filterFailed: string | undefined;
  /** The addresses the attached filter passes. */
  filtered: Set<string>;
  viewCache: { answering: Set<string>; size: number; echo: Set<string>; mac: Buffer; view: InterfaceView } | undefined;
  /** The kernel filter's mode (see planFilter) and size, once a socket is open. */
  filter: { mode: FilterMode; ebpfLength: number } | undefined;
  /** Of those, the ones that answer ping, and their token buckets (and the interface's, under ''). */
  echo: Set<string>;
  echoBuckets: Map<string, { tokens: number; at: number }>;
  retry: NodeJS.Timeout | undefined;
  /** The announced set changed since the filter was attached. */
  filterDirty: boolean;
  /** IPv6 addresses whose solicited-node group could not be joined: NS to it would not reach us. */
  joinFailed: Set<string>;
  recovery: { since: number; code: string; timer: NodeJS.Timeout | undefined } | undefined;
  /** When each (address|MAC) conflict was last reported, and this second's report count. */
  conflictReports: Map<string, number>;
  reportWindow: { start: number; count: number };
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
  readonly #foreignMac: (mac: string) => boolean;
  readonly #ifaces = new Map<string, Iface>();
  /** Links this node cannot answer on, with why; kept after the link leaves the desired set, and probed. */
  readonly #unfit = new Map<string, { reason: string; probe: NodeJS.Timeout | undefined }>();
  readonly #counters: ResponderCounters = {
    requestsSeen: 0, repliesSent: 0, gratuitousSent: 0, conflictsSeen: 0, malformed: 0, errors: 0,
    socketErrors: 0, recoveries: 0, reannounced: 0, echoReplies: 0, echoLimited: 0, filterFallbacks: 0,
  };
  readonly #metrics: Record<keyof ResponderCounters, Counter> | undefined;
  readonly #socketErrorsBy: Counter<'interface' | 'code'> | undefined;
  readonly #unanswerable: Gauge<'interface'> | undefined;
  readonly #filterModes: Gauge<'interface' | 'mode'> | undefined;
  readonly #onLinks = () => { this.#reconcileAll(); };
  #closed = false;

  constructor(opts: ResponderOptions) {
    super();
    this.#links = opts.links;
    this.#open = opts.open ?? openPacketSocket;
    this.#burst = opts.burst ?? DEFAULT_BURST;
    this.#retryMs = opts.retryMs ?? 2000;
    this.#foreignMac = opts.foreignMac ?? (() => false);
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
        socketErrors: counter('socket_errors', 'Errors the kernel reported on an answering socket (ENETDOWN when its link bounced, ...)'),
        recoveries: counter('socket_recoveries', 'Answering sockets that answered again after a socket error, with a gratuitous burst'),
        reannounced: counter('reannouncements', 'Gratuitous frames sent to take an address back from a MAC that is no herald node\'s'),
        echoReplies: counter('echo_replies', 'ICMP and ICMPv6 echo replies sent for addresses that answer ping'),
        echoLimited: counter('echo_rate_limited', 'Echo requests not answered because the rate limit was reached'),
        filterFallbacks: counter('filter_fallbacks', 'Socket filters the kernel refused (optmem_max), replaced by the pass-all program'),
      };
      this.#socketErrorsBy = new Counter({
        name: 'herald_l2_socket_errors_by_code_total', help: 'Socket errors by interface and errno code',
        labelNames: ['interface', 'code'], registers: [reg],
      });
      this.#filterModes = new Gauge({
        name: 'herald_l2_filter_mode',
        help: 'The kernel filter on each answering socket: 1 for its mode (exact, widened, pass-all, reject-all), 0 for the others',
        labelNames: ['interface', 'mode'], registers: [reg],
      });
      this.#unanswerable = new Gauge({
        name: 'herald_l2_unanswerable_addresses',
        help: 'Addresses this node should answer for on an interface but cannot (link down or missing, socket error, group not joined)',
        labelNames: ['interface'], registers: [reg],
      });
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
    const echo = new Map<string, Set<string>>();
    for (const p of pairs) {
      const addr = parseIp(p.address);
      if (!addr) throw new Error(`not an IP address: "${p.address}"`);
      let m = wanted.get(p.interface);
      if (!m) wanted.set(p.interface, (m = new Map<string, IpAddr>()));
      m.set(addr.text, addr);
      if (p.echo === true) {
        let e = echo.get(p.interface);
        if (!e) echo.set(p.interface, (e = new Set()));
        e.add(addr.text);
      }
    }
    for (const [name, iface] of this.#ifaces) {
      if (!wanted.has(name)) {
        this.#shutdown(iface);
        this.#ifaces.delete(name);
        this.#unanswerable?.remove(name);
        // Still unfit: find out when that ends, or the node would claim there again at once.
        const unfit = this.#unfit.get(name);
        if (unfit) this.#probe(name, unfit);
      }
    }
    for (const [name, addrs] of wanted) {
      let iface = this.#ifaces.get(name);
      if (!iface) {
        iface = {
          name, addresses: new Map(), socket: undefined, ifindex: 0, mac: undefined, state: 'missing', answering: new Set(), retry: undefined,
          filterDirty: false, joinFailed: new Set(), recovery: undefined, conflictReports: new Map(), reportWindow: { start: 0, count: 0 },
          echo: new Set(), echoBuckets: new Map(), filter: undefined, filterFailed: undefined, filtered: new Set(), viewCache: undefined,
        };
        this.#ifaces.set(name, iface);
      }
      const added: IpAddr[] = [];
      for (const [text, a] of iface.addresses) {
        if (!addrs.has(text)) {
          this.#cancel(a);
          iface.addresses.delete(text);
          iface.filterDirty = true;
          // Stop answering before anything else can happen.
          iface.answering.delete(text);
          if (iface.socket && a.addr.family === 6 && !iface.joinFailed.delete(text)) this.#leave(iface, a.addr);
        }
      }
      const echoes = echo.get(name) ?? new Set<string>();
      if (!sameSet(echoes, iface.echo)) {
        iface.echo = echoes;
        iface.filterDirty = true;
        for (const key of iface.echoBuckets.keys()) if (key !== '' && !echoes.has(key)) iface.echoBuckets.delete(key);
      }
      for (const [text, addr] of addrs) {
        if (!iface.addresses.has(text)) {
          iface.addresses.set(text, { addr, timers: [], defendedAt: -Infinity, defence: undefined });
          iface.filterDirty = true;
          added.push(addr);
        }
      }
      this.#reconcile(iface, added);
    }
  }

  /** The desired pairs, whether each interface is answering, and the addresses it cannot answer for. */
  status(): {
    interface: string; state: InterfaceState; addresses: string[]; unanswerable: string[]; unfit?: string;
    filter?: { mode: FilterMode; ebpfLength: number }; echo?: string[];
  }[] {
    return [...this.#ifaces.values()].map((i) => {
      const unfit = this.#unfit.get(i.name)?.reason;
      return {
        interface: i.name, state: i.state, addresses: [...i.addresses.keys()], unanswerable: this.#unanswerableOf(i),
        ...(unfit === undefined ? {} : { unfit }),
        ...(i.socket && i.filter ? { filter: i.filter } : {}),
        ...(i.echo.size > 0 ? { echo: [...i.echo].sort() } : {}),
      };
    });
  }

  /**
   * Links on which this node cannot answer, and why: the socket cannot be
   * opened, a filter cannot be attached, a solicited-node group cannot be
   * joined, or the link has not run again RECOVERY_UNFIT_MS after a socket
   * error. While a link is here the node is no fit holder on it. An entry
   * stays after the link's addresses moved away, and is probed every
   * retryMs, until a socket opens there again.
   */
  unfitLinks(): ReadonlyMap<string, string> {
    return new Map([...this.#unfit].map(([name, u]) => [name, u.reason]));
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
    for (const u of this.#unfit.values()) clearTimeout(u.probe);
    this.#unfit.clear();
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
      // Down or missing is the link's own state, which selection already heeds.
      this.#markFit(iface.name);
      return;
    }
    const reopen = !iface.socket || iface.ifindex !== link.index || !iface.mac?.equals(mac);
    if (reopen) {
      this.#shutdown(iface);
      try {
        const filter = this.#filterFor(iface);
        const open = (program: readonly BpfInsn[]) => {
          const socket: FrameSocket = this.#open(
            iface.name, program, (frame) => { this.#onFrame(iface, frame); }, (e) => { this.#onSocketError(iface, socket, e); },
          );
          return socket;
        };
        try {
          iface.socket = open(filter.program);
          this.#filterMode(iface, filter.mode, filter.ebpfLength);
        } catch (err) {
          // The kernel refused the program (ENOMEM: optmem_max lowered, say): the smallest one that still answers.
          if (errorCode(err) !== 'ENOMEM' || filter.mode === 'pass-all') throw err;
          iface.socket = open(this.#passAll(iface));
          this.#filterFallback(iface, err);
        }
      } catch (err) {
        this.#count('errors');
        const code = errorCode(err);
        this.emit('problem', { interface: iface.name, message: err instanceof Error ? err.message : String(err), ...(code ? { code } : {}) });
        this.#setState(iface, 'error', err instanceof Error ? err.message : String(err));
        this.#markUnfit(iface.name, `cannot open a packet socket: ${err instanceof Error ? err.message : String(err)}`);
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
      iface.filterDirty = false;
      iface.answering = new Set(iface.addresses.keys());
      for (const a of iface.addresses.values()) if (a.addr.family === 6) this.#join(iface, a.addr);
      this.#setState(iface, 'active');
      this.#fitness(iface);
      // Coming (back) up: the LAN may have forgotten us or learned another MAC.
      for (const a of iface.addresses.values()) this.#startBurst(iface, a);
      return;
    }
    iface.answering = new Set(iface.addresses.keys());
    // Only a changed set costs a new program: a re-plan that changes nothing attaches nothing.
    if (iface.filterDirty) {
      iface.filterDirty = false;
      this.#setFilter(iface);
    }
    for (const text of [...iface.joinFailed]) {
      const a = iface.addresses.get(text);
      if (a) this.#join(iface, a.addr);
    }
    for (const addr of added) {
      if (addr.family === 6) this.#join(iface, addr);
      const a = iface.addresses.get(addr.text);
      if (a) this.#startBurst(iface, a);
    }
    this.#fitness(iface);
  }

  /** The kernel reported an error on the socket: resume is under way (PacketSocket); re-announce once the link runs. */
  #onSocketError(iface: Iface, socket: FrameSocket, e: SocketError): void {
    if (this.#closed || iface.socket !== socket) return;
    this.#count('socketErrors');
    this.#socketErrorsBy?.inc({ interface: iface.name, code: e.code });
    this.emit('problem', {
      interface: iface.name, code: e.code,
      message: e.fatal ? `socket error ${e.code} (${e.message ?? 'reading cannot resume'}): opening a new socket`
        : `socket error ${e.code}: reading resumed; the addresses are re-announced once the link runs`,
    });
    if (e.fatal) {
      this.#shutdown(iface);
      this.#reconcile(iface, []);
      return;
    }
    if (!iface.recovery) {
      iface.recovery = { since: performance.now(), code: e.code, timer: undefined };
      this.#setState(iface, 'recovering', `socket error ${e.code}`);
    }
    clearTimeout(iface.recovery.timer);
    iface.recovery.timer = undefined;
    this.#checkRecovery(iface, Math.max(0, e.resumeInMs));
  }

  /** Reads the link's flags (now, or after `delayMs`) until it runs; then bursts every address. */
  #checkRecovery(iface: Iface, delayMs = 0): void {
    const r = iface.recovery;
    if (!r) return;
    if (delayMs > 0) {
      r.timer = setTimeout(() => { r.timer = undefined; this.#checkRecovery(iface); }, delayMs);
      r.timer.unref();
      return;
    }
    const socket = iface.socket;
    if (!socket) return;
    let running: boolean;
    try {
      running = socket.linkState().running;
    } catch (err) {
      // The link went away under the socket: a new one, or the link's own state, decides.
      this.emit('problem', { interface: iface.name, message: `cannot read the link's state: ${String(err)}` });
      this.#shutdown(iface);
      this.#reconcile(iface, []);
      return;
    }
    const ms = performance.now() - r.since;
    if (!running) {
      if (ms >= RECOVERY_UNFIT_MS) this.#markUnfit(iface.name, `the link has not run for ${RECOVERY_UNFIT_MS} ms since socket error ${r.code}`);
      r.timer = setTimeout(() => { r.timer = undefined; this.#checkRecovery(iface); }, RECOVERY_CHECK_MS);
      r.timer.unref();
      return;
    }
    iface.recovery = undefined;
    this.#count('recoveries');
    this.#setState(iface, 'active');
    this.#fitness(iface);
    this.emit('recovered', { interface: iface.name, code: r.code, ms: Math.round(ms) });
    // A bounce is exactly when neighbours need to hear from us again.
    for (const a of iface.addresses.values()) this.#startBurst(iface, a);
  }

  #unanswerableOf(iface: Iface): string[] {
    if (iface.state !== 'active') return [...iface.addresses.keys()];
    // Not in the filter the kernel holds (a new one was refused), or their group not joined.
    return [...iface.addresses.keys()].filter((a) => iface.joinFailed.has(a) || !iface.filtered.has(a));
  }

  /** Unfit while a group cannot be joined; fit once every part works (an open error is marked where it happens). */
  #fitness(iface: Iface): void {
    this.#unanswerable?.set({ interface: iface.name }, this.#unanswerableOf(iface).length);
    if (iface.joinFailed.size > 0) {
      this.#markUnfit(iface.name, `cannot join the solicited-node group of ${[...iface.joinFailed].sort().join(', ')}`);
    } else if (iface.filterFailed !== undefined) {
      this.#markUnfit(iface.name, iface.filterFailed);
    } else if (iface.state === 'active') {
      this.#markFit(iface.name);
    }
  }

  #markUnfit(name: string, reason: string): void {
    const u = this.#unfit.get(name);
    if (u?.reason === reason) return;
    if (u) u.reason = reason;
    else this.#unfit.set(name, { reason, probe: undefined });
    this.emit('fitness', { interface: name, fit: false, reason });
  }

  #markFit(name: string): void {
    const u = this.#unfit.get(name);
    if (!u) return;
    clearTimeout(u.probe);
    this.#unfit.delete(name);
    this.emit('fitness', { interface: name, fit: true });
  }

  /** A link no longer desired but unfit: try a socket there every retryMs; fit once one opens (or the link is gone). */
  #probe(name: string, u: { probe: NodeJS.Timeout | undefined }): void {
    if (u.probe) return;
    u.probe = setTimeout(() => {
      u.probe = undefined;
      if (this.#closed || this.#unfit.get(name) !== u || this.#ifaces.has(name)) return;
      const link = this.#links.get(name);
      if (!link?.up) {
        this.#markFit(name);
        return;
      }
      try {
        this.#open(name, rejectAllFilter(), () => undefined).close();
        this.#markFit(name);
      } catch {
        this.#probe(name, u);
      }
    }, this.#retryMs);
    u.probe.unref();
  }

  /** The program for the interface's set, within the budget of this namespace's optmem_max (read afresh). */
  #filterFor(iface: Iface): { program: BpfInsn[]; mode: FilterMode; ebpfLength: number } {
    const addrs = [...iface.addresses.values()].map((a) => a.addr);
    const echo = addrs.filter((a) => iface.echo.has(a.text));
    return planFilter({
      ipv4: addrs.filter((a) => a.family === 4).map((a) => a.bytes),
      ipv6: addrs.filter((a) => a.family === 6).map((a) => a.bytes),
      echo4: echo.filter((a) => a.family === 4).map((a) => a.bytes),
      echo6: echo.filter((a) => a.family === 6).map((a) => a.bytes),
    }, currentFilterBudget());
  }

  #passAll(iface: Iface): BpfInsn[] {
    const addrs = [...iface.addresses.values()].map((a) => a.addr);
    if (addrs.length === 0) return rejectAllFilter();
    return passAllArpNdFilter(addrs.some((a) => a.family === 4), addrs.some((a) => a.family === 6), iface.echo.size > 0);
  }

  /**
   * Swaps in the program for the new set. If the kernel refuses it, the
   * compact pass-all program (decide() still checks every address); if
   * that is refused too, the old program stays, the link is unfit, and the
   * next change tries again.
   */
  #setFilter(iface: Iface): void {
    const socket = iface.socket;
    if (!socket) return;
    const filter = this.#filterFor(iface);
    try {
      socket.setFilter(filter.program);
      this.#filterMode(iface, filter.mode, filter.ebpfLength);
      iface.filterFailed = undefined;
      return;
    } catch (err) {
      try {
        socket.setFilter(this.#passAll(iface));
        this.#filterFallback(iface, err);
        iface.filterFailed = undefined;
      } catch (err2) {
        this.#count('errors');
        this.emit('problem', { interface: iface.name, message: `cannot update filter, even to pass all ARP/NDP: ${String(err2)}`, ...(errorCode(err2) ? { code: errorCode(err2) } : {}) });
        iface.filterFailed = `${FILTER_UNFIT}: ${String(err2)}`;
        iface.filterDirty = true;
      }
    }
  }

  #filterFallback(iface: Iface, err: unknown): void {
    this.#count('filterFallbacks');
    this.#filterMode(iface, 'pass-all', 0);
    this.emit('problem', {
      interface: iface.name, ...(errorCode(err) ? { code: errorCode(err) } : {}),
      message: `the kernel refused the socket filter (${err instanceof Error ? err.message : String(err)}); passing all ARP/NDP to herald instead, which checks every address (raise net.core.optmem_max to filter in the kernel)`,
    });
  }

  #filterMode(iface: Iface, mode: FilterMode, ebpfLength: number): void {
    iface.filter = { mode, ebpfLength };
    iface.filtered = new Set(iface.addresses.keys());
    if (!this.#filterModes) return;
    for (const m of FILTER_MODES) this.#filterModes.set({ interface: iface.name, mode: m }, m === mode ? 1 : 0);
  }

  #join(iface: Iface, addr: IpAddr): void {
    if (!iface.socket) return;
    try {
      iface.socket.join(multicastMac(solicitedNodeAddress(addr.bytes)));
      iface.joinFailed.delete(addr.text);
    } catch (err) {
      this.#count('errors');
      iface.joinFailed.add(addr.text);
      this.emit('problem', { interface: iface.name, message: `cannot join solicited-node group of ${addr.text}: ${String(err)}` });
      // Retried at the next reconcile; until then the node is unfit here (#fitness).
      iface.retry ??= setTimeout(() => {
        iface.retry = undefined;
        if (!this.#closed && this.#ifaces.get(iface.name) === iface) this.#reconcile(iface, []);
      }, this.#retryMs);
      iface.retry.unref();
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
    if (!iface.mac) return;
    // A frame is proof the link runs again.
    if (iface.state === 'recovering') this.#checkRecovery(iface);
    if (iface.state !== 'active' && iface.state !== 'recovering') return;
    let d: Decision;
    try {
      d = decide(frame, this.#view(iface, iface.mac));
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
      case 'echo':
        if (!iface.answering.has(d.address)) return;
        if (!this.#echoAllowed(iface, d.address)) {
          this.#count('echoLimited');
          return;
        }
        if (this.#send(iface, d.frame)) this.#count('echoReplies');
        return;
      case 'conflict': {
        // O(1) per frame, whatever a forger sends: a counter, a map lookup, at most a timer.
        this.#count('conflictsSeen');
        const foreign = this.#foreignMac(d.mac);
        if (foreign) this.#defend(iface, d.address);
        if (this.#mayReport(iface, `${d.address}|${d.mac}`)) {
          this.emit('conflict', { interface: iface.name, family: d.family, address: d.address, mac: d.mac, foreign });
        }
        return;
      }
      case 'malformed':
        this.#count('malformed');
        return;
      case 'ignore':
        if (d.request) this.#count('requestsSeen');
        return;
    }
  }

  /**
   * What decide() sees, built once per change rather than per frame. The
   * answering set is only ever replaced, or shrunk by delete(), so its
   * identity and size tell whether the cached view is still true.
   */
  #view(iface: Iface, mac: Buffer): InterfaceView {
    const c = iface.viewCache;
    if (c && c.answering === iface.answering && c.size === iface.answering.size && c.echo === iface.echo && c.mac === mac) return c.view;
    const ipv4 = new Set<number>();
    for (const text of iface.answering) {
      const a = iface.addresses.get(text)?.addr;
      if (a?.family === 4) ipv4.add(a.bytes.readUInt32BE(0));
    }
    const view: InterfaceView = { mac, addresses: iface.answering, echo: iface.echo, ipv4 };
    iface.viewCache = { answering: iface.answering, size: iface.answering.size, echo: iface.echo, mac, view };
    return view;
  }

  /** Token buckets: ECHO_PER_SECOND (burst ECHO_BURST) per address, ECHO_PER_SECOND_PER_INTERFACE per interface. */
  #echoAllowed(iface: Iface, address: string): boolean {
    const now = performance.now();
    const take = (key: string, rate: number, burst: number): boolean => {
      const b = iface.echoBuckets.get(key) ?? { tokens: burst, at: now };
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      iface.echoBuckets.set(key, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    };
    return take('', ECHO_PER_SECOND_PER_INTERFACE, ECHO_PER_SECOND_PER_INTERFACE / 10) && take(address, ECHO_PER_SECOND, ECHO_BURST);
  }

  /** Once per CONFLICT_REPORT_MS per key, and at most CONFLICT_REPORTS_PER_SECOND per interface. */
  #mayReport(iface: Iface, key: string): boolean {
    const now = performance.now();
    const last = iface.conflictReports.get(key);
    if (last !== undefined && now - last < CONFLICT_REPORT_MS) return false;
    const w = iface.reportWindow;
    if (now - w.start >= 1000) {
      w.start = now;
      w.count = 0;
    }
    if (w.count >= CONFLICT_REPORTS_PER_SECOND) return false;
    w.count++;
    if (iface.conflictReports.size >= CONFLICT_KEYS_MAX) {
      for (const [k, t] of iface.conflictReports) if (now - t >= CONFLICT_REPORT_MS) iface.conflictReports.delete(k);
      if (iface.conflictReports.size >= CONFLICT_KEYS_MAX) iface.conflictReports.clear();
    }
    iface.conflictReports.set(key, now);
    return true;
  }

  /**
   * Another MAC, no herald node's, claimed an address we answer: say it is
   * ours again at once, or REANNOUNCE_MIN_MS after the previous time, so each
   * claim is answered within that long and a flood costs at most one frame
   * set per REANNOUNCE_MIN_MS.
   */
  #defend(iface: Iface, address: string): void {
    const a = iface.addresses.get(address);
    if (!a || a.defence || !iface.answering.has(address)) return;
    const wait = a.defendedAt + REANNOUNCE_MIN_MS - performance.now();
    const fire = () => {
      a.defence = undefined;
      if (!iface.socket || !iface.mac || !iface.answering.has(address)) return;
      a.defendedAt = performance.now();
      for (const frame of gratuitousFrames(a.addr, iface.mac)) {
        if (this.#send(iface, frame)) this.#count('reannounced');
      }
    };
    if (wait <= 0) {
      fire();
      return;
    }
    a.defence = setTimeout(fire, wait);
    a.defence.unref();
  }

  #cancel(a: Announced): void {
    for (const t of a.timers) clearTimeout(t);
    a.timers = [];
    clearTimeout(a.defence);
    a.defence = undefined;
  }

  #shutdown(iface: Iface): void {
    iface.answering = new Set();
    clearTimeout(iface.retry);
    iface.retry = undefined;
    clearTimeout(iface.recovery?.timer);
    iface.recovery = undefined;
    iface.joinFailed.clear();
    iface.filterFailed = undefined;
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
    this.#unanswerable?.set({ interface: iface.name }, this.#unanswerableOf(iface).length);
    this.emit('state', { interface: iface.name, state, ...(reason ? { reason } : {}) });
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
