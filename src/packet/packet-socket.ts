import { createRequire } from 'node:module';
import type { BpfInsn } from './bpf-filter.js';
import { toUint32Array } from './bpf-filter.js';
import { formatMac } from './mac.js';

/** sll_pkttype values (linux/if_packet.h). */
export const PacketType = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

interface NativeSocket {
  setFilter(program: Uint32Array): void;
  send(frame: Buffer): void;
  addMembership(mac: Buffer): void;
  dropMembership(mac: Buffer): void;
  takeStats(): { packets: number; drops: number };
  close(): void;
  readonly ifindex: number;
  readonly closed: boolean;
}

type NativeCtor = new (ifname: string, filter: Uint32Array, onFrame: (frame: Buffer, pkttype: number) => void) => NativeSocket;

let ctor: NativeCtor | undefined;
function nativeCtor(): NativeCtor {
  if (!ctor) {
    // dist/src/packet/ → repository root → native/build
    const require = createRequire(import.meta.url);
    const path = '../../../native/build/Release/herald_packet.node';
    try {
      ctor = (require(path) as { PacketSocket: NativeCtor }).PacketSocket;
    } catch (err) {
      // Typically an install with --ignore-scripts: say how to build it.
      throw new Error(
        `herald's packet-socket addon cannot be loaded (${err instanceof Error ? err.message : String(err)}); ` +
        'build it with `npm run install` (needs make, a C compiler and python3)',
        { cause: err },
      );
    }
  }
  return ctor;
}

/** Errors from the addon carry an errno-style `code` (EPERM, ENODEV, ...). */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export type FrameHandler = (frame: Buffer, pkttype: number) => void;

/** What the responder needs from a link-layer socket; tests substitute fakes. */
export interface FrameSocket {
  readonly ifindex: number;
  setFilter(program: readonly BpfInsn[]): void;
  send(frame: Buffer): void;
  join(mac: Buffer): void;
  leave(mac: Buffer): void;
  close(): void;
}

export type OpenFrameSocket = (ifname: string, filter: readonly BpfInsn[], onFrame: FrameHandler) => FrameSocket;

/**
 * An AF_PACKET socket on one interface. Multicast memberships are counted
 * here, so two addresses sharing a solicited-node group keep it joined until
 * both are gone.
 */
export class PacketSocket implements FrameSocket {
  readonly #native: NativeSocket;
  readonly #groups = new Map<string, number>();

  /** Throws with code EPERM (needs CAP_NET_RAW) or ENODEV (unknown interface). */
  constructor(ifname: string, filter: readonly BpfInsn[], onFrame: FrameHandler) {
    const Native = nativeCtor();
    this.#native = new Native(ifname, toUint32Array(filter), onFrame);
  }

  get ifindex(): number {
    return this.#native.ifindex;
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  setFilter(program: readonly BpfInsn[]): void {
    this.#native.setFilter(toUint32Array(program));
  }

  send(frame: Buffer): void {
    this.#native.send(frame);
  }

  join(mac: Buffer): void {
    const key = formatMac(mac);
    const n = this.#groups.get(key) ?? 0;
    if (n === 0) this.#native.addMembership(mac);
    this.#groups.set(key, n + 1);
  }

  leave(mac: Buffer): void {
    const key = formatMac(mac);
    const n = this.#groups.get(key) ?? 0;
    if (n === 0) return;
    if (n === 1) {
      this.#groups.delete(key);
      this.#native.dropMembership(mac);
    } else {
      this.#groups.set(key, n - 1);
    }
  }

  /** Groups currently joined, with their reference counts. */
  memberships(): ReadonlyMap<string, number> {
    return this.#groups;
  }

  /** Kernel counters since the last call: frames passed by the filter, and drops. */
  takeStats(): { packets: number; drops: number } {
    return this.#native.takeStats();
  }

  /** Idempotent; the kernel drops the memberships with the socket. */
  close(): void {
    this.#groups.clear();
    this.#native.close();
  }
}

export const openPacketSocket: OpenFrameSocket = (ifname, filter, onFrame) => new PacketSocket(ifname, filter, onFrame);
