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
  /** The code of a socket error it cleared (one that came while paused), if any. */
  resume(): string | undefined;
  pause(): void;
  linkState(): LinkState;
  close(): void;
  readonly ifindex: number;
  readonly closed: boolean;
}

/** Frames back to back in `frames`; `meta` holds [length, pkttype] for each. */
type NativeCtor = new (
  ifname: string, filter: Uint32Array, onFrames: (frames: Buffer, meta: Uint32Array) => void, onError: (code: string, stopped: boolean) => void,
) => NativeSocket;

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

/** The bound link's flags as the kernel has them now. */
export interface LinkState {
  /** IFF_UP: administratively up. */
  readonly up: boolean;
  /** IFF_RUNNING: up with a carrier; frames flow. */
  readonly running: boolean;
}

/**
 * The kernel reported an error on the socket (ENETDOWN when its link went
 * down, however briefly). Reading has already been resumed, or will be after
 * `resumeInMs`; the link may still be down. The socket is unusable only if
 * `fatal`: then the consumer must close it and open a new one.
 */
export interface SocketError {
  readonly code: string;
  readonly resumeInMs: number;
  readonly fatal: boolean;
  readonly message?: string;
}

export type SocketErrorHandler = (e: SocketError) => void;

/** What the responder needs from a link-layer socket; tests substitute fakes. */
export interface FrameSocket {
  readonly ifindex: number;
  setFilter(program: readonly BpfInsn[]): void;
  send(frame: Buffer): void;
  join(mac: Buffer): void;
  leave(mac: Buffer): void;
  /** Throws (ENODEV) when the link is gone. */
  linkState(): LinkState;
  close(): void;
}

export type OpenFrameSocket = (ifname: string, filter: readonly BpfInsn[], onFrame: FrameHandler, onError?: SocketErrorHandler) => FrameSocket;

/** More errors than this within ERROR_WINDOW_MS: the next resume waits RESUME_BACKOFF_MS, so a flapping link cannot spin the loop. */
const ERROR_BURST = 5;
const ERROR_WINDOW_MS = 1000;
const RESUME_BACKOFF_MS = 100;
/**
 * Wake-ups closer together than this (a flood that passes the filter) pause
 * reading for as long, so frames are taken a batch at a time: at most about
 * 1,000 wake-ups a second per socket, for at most this much added delay,
 * and only while frames come that fast.
 */
export const COALESCE_MS = 1;
/** Frames per read in the addon (BATCH in packet_socket.c): a shorter batch means the queue is empty. */
const NATIVE_BATCH = 32;

/**
 * An AF_PACKET socket on one interface. Multicast memberships are counted
 * here, so two addresses sharing a solicited-node group keep it joined until
 * both are gone.
 */
export class PacketSocket implements FrameSocket {
  readonly #native: NativeSocket;
  readonly #groups = new Map<string, number>();
  readonly #onError: SocketErrorHandler | undefined;
  #errorTimes: number[] = [];
  #resumeTimer: NodeJS.Timeout | undefined;
  #lastWake = -Infinity;
  #coalesce: NodeJS.Timeout | undefined;

  /**
   * Throws with code EPERM (needs CAP_NET_RAW) or ENODEV (unknown interface).
   * After a socket error (see SocketError) reading resumes by itself; `onError` hears of each one.
   */
  constructor(ifname: string, filter: readonly BpfInsn[], onFrame: FrameHandler, onError?: SocketErrorHandler) {
    const Native = nativeCtor();
    this.#onError = onError;
    this.#native = new Native(ifname, toUint32Array(filter), (frames, meta) => { this.#frames(frames, meta, onFrame); }, (code, stopped) => { this.#socketError(code, stopped); });
  }

  /** A batch from one read: each frame is a view into `frames`, handed on in order. */
  #frames(frames: Buffer, meta: Uint32Array, onFrame: FrameHandler): void {
    let at = 0;
    for (let i = 0; i + 1 < meta.length; i += 2) {
      const len = meta[i] ?? 0;
      onFrame(frames.subarray(at, at + len), meta[i + 1] ?? 0);
      at += len;
      if (this.#native.closed) return;
    }
    const now = performance.now();
    // Only once the queue is drained (a short batch), so pausing never leaves frames to overflow it.
    const drained = meta.length / 2 < NATIVE_BATCH;
    if (drained && now - this.#lastWake < COALESCE_MS && this.#coalesce === undefined) {
      this.#native.pause();
      this.#coalesce = setTimeout(() => {
        this.#coalesce = undefined;
        if (this.#native.closed) return;
        let cleared: string | undefined;
        try {
          cleared = this.#native.resume();
        } catch (err) {
          this.#onError?.({ code: errorCode(err) ?? 'EIO', resumeInMs: 0, fatal: true, message: err instanceof Error ? err.message : String(err) });
          return;
        }
        // The link went down while we paused: the consumer must hear of it as of any other.
        if (cleared !== undefined) this.#onError?.({ code: cleared, resumeInMs: 0, fatal: false });
      }, COALESCE_MS);
    }
    this.#lastWake = now;
  }

  #socketError(code: string, stopped: boolean): void {
    const now = performance.now();
    this.#errorTimes = [...this.#errorTimes.filter((t) => now - t < ERROR_WINDOW_MS), now];
    let resumeInMs = 0;
    if (stopped) {
      if (this.#errorTimes.length > ERROR_BURST) {
        resumeInMs = RESUME_BACKOFF_MS;
        this.#resumeTimer ??= setTimeout(() => {
          this.#resumeTimer = undefined;
          this.#resume();
        }, resumeInMs);
      } else if (!this.#resume()) {
        return;
      }
    }
    this.#onError?.({ code, resumeInMs, fatal: false });
  }

  /** False (and the consumer told, fatal) if polling cannot start again. */
  #resume(): boolean {
    if (this.#native.closed) return false;
    try {
      this.#native.resume();
      return true;
    } catch (err) {
      this.#onError?.({ code: errorCode(err) ?? 'EIO', resumeInMs: 0, fatal: true, message: err instanceof Error ? err.message : String(err) });
      return false;
    }
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

  linkState(): LinkState {
    return this.#native.linkState();
  }

  /** Idempotent; the kernel drops the memberships with the socket. */
  close(): void {
    clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    clearTimeout(this.#coalesce);
    this.#coalesce = undefined;
    this.#groups.clear();
    this.#native.close();
  }
}

export const openPacketSocket: OpenFrameSocket = (ifname, filter, onFrame, onError) => new PacketSocket(ifname, filter, onFrame, onError);
