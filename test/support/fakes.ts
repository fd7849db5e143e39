import { EventEmitter } from 'node:events';
import type { BpfInsn } from '../../src/packet/bpf-filter.js';
import type { FrameHandler, FrameSocket, LinkState, OpenFrameSocket, SocketError, SocketErrorHandler } from '../../src/packet/packet-socket.js';
import type { Link, LinkChange } from '../../src/net/ip-link.js';
import { diffLinks } from '../../src/net/ip-link.js';
import type { LinkSource } from '../../src/net/link-inventory.js';
import { formatMac } from '../../src/packet/mac.js';

export function link(name: string, index: number, mac: string, up = true): Link {
  return { name, index, mac, adminUp: up, up, kind: 'veth', parent: undefined, vlanId: undefined };
}

/** An in-memory link table that emits changes like LinkInventory. */
export class FakeLinks extends EventEmitter<{ change: [LinkChange] }> implements LinkSource {
  links = new Map<string, Link>();

  constructor(initial: readonly Link[]) {
    super();
    for (const l of initial) this.links.set(l.name, l);
  }

  get(name: string): Link | undefined {
    return this.links.get(name);
  }

  list(): Link[] {
    return [...this.links.values()];
  }

  set(next: readonly Link[]): void {
    const after = new Map(next.map((l) => [l.name, l]));
    const change = diffLinks(this.links, after);
    this.links = after;
    this.emit('change', change);
  }
}

/** Records what the responder does to its sockets and lets tests inject frames. */
export class FakeSocket implements FrameSocket {
  sent: Buffer[] = [];
  filters: (readonly BpfInsn[])[] = [];
  groups = new Map<string, number>();
  closed = false;
  failSends = false;
  /** What linkState() reports; a test flips `running` to play a bounce. */
  link: LinkState = { up: true, running: true };
  /** Set to make join() throw this code. */
  failJoins: string | undefined;

  constructor(
    readonly name: string, readonly ifindex: number, filter: readonly BpfInsn[], readonly onFrame: FrameHandler,
    readonly onError?: SocketErrorHandler,
  ) {
    this.filters.push(filter);
  }

  linkState(): LinkState {
    return this.link;
  }

  /** Reports a socket error as PacketSocket does after resuming. */
  error(e: Partial<SocketError> = {}): void {
    this.onError?.({ code: 'ENETDOWN', resumeInMs: 0, fatal: false, ...e });
  }

  /** When set, setFilter() throws ENOMEM for a program this refuses, as the kernel does past optmem_max. */
  refuseFilter: ((program: readonly BpfInsn[]) => boolean) | undefined;

  setFilter(program: readonly BpfInsn[]): void {
    if (this.refuseFilter?.(program)) throw Object.assign(new Error('attaching BPF filter (the kernel rejected the program): Cannot allocate memory (ENOMEM)'), { code: 'ENOMEM' });
    this.filters.push(program);
  }

  send(frame: Buffer): void {
    if (this.closed) throw new Error('closed');
    if (this.failSends) throw Object.assign(new Error('sending frame: No buffer space available (ENOBUFS)'), { code: 'ENOBUFS' });
    this.sent.push(frame);
  }

  join(mac: Buffer): void {
    if (this.failJoins) throw Object.assign(new Error(`joining multicast group: simulated (${this.failJoins})`), { code: this.failJoins });
    const k = formatMac(mac);
    this.groups.set(k, (this.groups.get(k) ?? 0) + 1);
  }

  leave(mac: Buffer): void {
    const k = formatMac(mac);
    const n = (this.groups.get(k) ?? 0) - 1;
    if (n <= 0) this.groups.delete(k);
    else this.groups.set(k, n);
  }

  close(): void {
    this.closed = true;
  }

  /** Delivers a frame as the kernel would, unless closed. */
  receive(frame: Buffer): void {
    if (!this.closed) this.onFrame(frame, 1);
  }
}

export function fakeOpener(links: FakeLinks): { open: OpenFrameSocket; sockets: FakeSocket[]; fail: { code?: string } } {
  const sockets: FakeSocket[] = [];
  const fail: { code?: string } = {};
  const open: OpenFrameSocket = (ifname, filter, onFrame, onError) => {
    if (fail.code) throw Object.assign(new Error(`simulated ${fail.code}`), { code: fail.code });
    const s = new FakeSocket(ifname, links.get(ifname)?.index ?? 0, filter, onFrame, onError);
    sockets.push(s);
    return s;
  };
  return { open, sockets, fail };
}
