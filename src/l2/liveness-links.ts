import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { LanReceived, LanSend } from '../core/l2/lan-messages.js';
import type { LinkSource } from '../net/link-inventory.js';
import { livenessFilter } from '../packet/bpf-filter.js';
import { decodeLivenessFrame, encodeLivenessFrame, MAX_NODE_NAME_BYTES } from '../packet/liveness-frame.js';
import { formatMac, parseMac } from '../packet/mac.js';
import type { FrameSocket, OpenFrameSocket } from '../packet/packet-socket.js';
import { errorCode, openPacketSocket } from '../packet/packet-socket.js';

export interface LivenessCounters {
  /** Frames handed to the kernel. */
  framesSent: number;
  /** Valid frames received and emitted as 'frame'. */
  framesReceived: number;
  /** Frames the filter passed that failed to decode. */
  malformed: number;
  /** Sends that failed or had no socket to go out on, and sockets that could not be opened. */
  errors: number;
}

export type LivenessLinkState = 'active' | 'down' | 'missing' | 'error';

export interface LivenessLinksEvents {
  /** A valid liveness message addressed to this node's MAC on `link`. */
  frame: [LanReceived];
  /** A link's ability to carry liveness frames changed. */
  state: [{ link: string; state: LivenessLinkState; reason?: string }];
  /** Something failed that is counted or will be retried; never thrown. Repeats are rate limited. */
  problem: [{ link: string; message: string; code?: string }];
}

export interface LivenessLinksOptions {
  readonly links: LinkSource;
  /** This node's name: the sender name in every frame sent. */
  readonly nodeName: string;
  readonly open?: OpenFrameSocket;
  /** prom-client registry to publish counters in. */
  readonly registry?: Registry;
  /** Delay before retrying a link whose socket could not be opened (default 2000 ms). */
  readonly retryMs?: number;
  /**
   * After a 'problem' of one kind on one link (malformed frames, failed
   * sends), further ones within this many ms are only counted; the next one
   * after it says how many were held back (default 10000; 0 reports all).
   */
  readonly problemIntervalMs?: number;
}

interface LinkEntry {
  readonly name: string;
  socket: FrameSocket | undefined;
  ifindex: number;
  /** The MAC the socket was opened (and filters) for; the source of what we send. */
  mac: Buffer | undefined;
  macText: string | undefined;
  state: LivenessLinkState;
  retry: NodeJS.Timeout | undefined;
}

interface Throttle {
  next: number;
  held: number;
}

/**
 * Carries the liveness protocol's messages on raw sockets, one per wanted
 * link, modelled on the Responder: the link inventory says when a socket can
 * be open (link present, up, with a MAC), a kernel filter passes only
 * 0x88B5 frames to our MAC, and nothing a peer sends can make it throw.
 */
export class LivenessLinks extends EventEmitter<LivenessLinksEvents> {
  readonly #links: LinkSource;
  readonly #nodeName: string;
  readonly #open: OpenFrameSocket;
  readonly #retryMs: number;
  readonly #problemIntervalMs: number;
  readonly #entries = new Map<string, LinkEntry>();
  readonly #throttles = new Map<string, Throttle>();
  readonly #counters: LivenessCounters = { framesSent: 0, framesReceived: 0, malformed: 0, errors: 0 };
  readonly #metrics: Record<keyof LivenessCounters, Counter> | undefined;
  readonly #onLinks = () => { this.#reconcileAll(); };
  #closed = false;

  /** Throws if `nodeName` could never be sent (empty or over 253 bytes). */
  constructor(opts: LivenessLinksOptions) {
    super();
    const nameBytes = Buffer.byteLength(opts.nodeName, 'utf8');
    if (nameBytes === 0 || nameBytes > MAX_NODE_NAME_BYTES) {
      throw new Error(`liveness: node name must be 1..${MAX_NODE_NAME_BYTES} bytes, got ${nameBytes}`);
    }
    this.#links = opts.links;
    this.#nodeName = opts.nodeName;
    this.#open = opts.open ?? openPacketSocket;
    this.#retryMs = opts.retryMs ?? 2000;
    this.#problemIntervalMs = opts.problemIntervalMs ?? 10_000;
    if (opts.registry) {
      const reg = opts.registry;
      const counter = (name: string, help: string) =>
        new Counter({ name: `herald_liveness_${name}_total`, help, labelNames: [], registers: [reg] });
      this.#metrics = {
        framesSent: counter('frames_sent', 'Liveness frames sent'),
        framesReceived: counter('frames_received', 'Valid liveness frames received'),
        malformed: counter('malformed_frames', 'Received liveness frames that failed to decode'),
        errors: counter('errors', 'Liveness sends that failed or had no socket, and sockets that could not be opened'),
      };
    }
    this.#links.on('change', this.#onLinks);
  }

  /**
   * The links to carry liveness frames on. A socket is open on each while it
   * exists, is up and has a MAC, and is reopened when it comes back; links
   * left out are closed. Throws only after close().
   */
  setLinks(names: readonly string[]): void {
    if (this.#closed) throw new Error('liveness links are closed');
    const wanted = new Set(names);
    for (const [name, entry] of this.#entries) {
      if (!wanted.has(name)) {
        this.#shutdown(entry);
        this.#entries.delete(name);
      }
    }
    for (const name of wanted) {
      let entry = this.#entries.get(name);
      if (!entry) {
        entry = { name, socket: undefined, ifindex: 0, mac: undefined, macText: undefined, state: 'missing', retry: undefined };
        this.#entries.set(name, entry);
      }
      this.#reconcile(entry);
    }
  }

  /** The link's MAC as the link inventory knows it (lower-case, colons), or undefined. */
  macOf(link: string): string | undefined {
    const text = this.#links.get(link)?.mac;
    const mac = text === undefined ? undefined : parseMac(text);
    return mac ? formatMac(mac) : undefined;
  }

  /**
   * Sends one message from this link's MAC to `s.toMac`. Returns false, counts
   * an error and reports a problem, without throwing, when the link has no
   * open socket, the message cannot be encoded or the kernel refuses it.
   * After close() it returns false and reports nothing.
   */
  send(s: LanSend): boolean {
    if (this.#closed) return false;
    const entry = this.#entries.get(s.link);
    if (!entry?.socket || !entry.macText) {
      this.#count('errors');
      const why = !entry ? 'not a liveness link' : `link is ${entry.state}`;
      this.#problem(s.link, 'send', `cannot send ${s.msg.kind} to ${s.to}: ${why}`);
      return false;
    }
    let frame: Buffer;
    try {
      frame = encodeLivenessFrame({ dstMac: s.toMac, srcMac: entry.macText, from: this.#nodeName, msg: s.msg });
    } catch (err) {
      this.#count('errors');
      this.#problem(s.link, 'encode', `cannot encode ${s.msg.kind} to ${s.to}: ${message(err)}`);
      return false;
    }
    try {
      entry.socket.send(frame);
    } catch (err) {
      this.#count('errors');
      const code = errorCode(err);
      this.#problem(s.link, 'send', `sending ${s.msg.kind} to ${s.to} failed: ${message(err)}`, code);
      return false;
    }
    this.#count('framesSent');
    return true;
  }

  get counters(): LivenessCounters {
    return { ...this.#counters };
  }

  /** Each wanted link, its state and the MAC its socket uses. */
  status(): { link: string; state: LivenessLinkState; mac: string | undefined }[] {
    return [...this.#entries.values()].map((e) => ({ link: e.name, state: e.state, mac: e.macText }));
  }

  /** Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#links.off('change', this.#onLinks);
    for (const entry of this.#entries.values()) this.#shutdown(entry);
    this.#entries.clear();
  }

  #count(key: keyof LivenessCounters): void {
    this.#counters[key] += 1;
    this.#metrics?.[key].inc();
  }

  /** Emits a problem unless one of the same kind on the same link went out less than the interval ago. */
  #problem(link: string, kind: string, text: string, code?: string): void {
    const key = `${link}\0${kind}`;
    const now = performance.now();
    const t = this.#throttles.get(key);
    if (t && now < t.next) {
      t.held++;
      return;
    }
    const held = t?.held ?? 0;
    this.#throttles.set(key, { next: now + this.#problemIntervalMs, held: 0 });
    const suffix = held > 0 ? ` (and ${held} more like it since the last report)` : '';
    this.emit('problem', { link, message: text + suffix, ...(code ? { code } : {}) });
  }

  #reconcileAll(): void {
    if (this.#closed) return;
    for (const entry of this.#entries.values()) this.#reconcile(entry);
  }

  #reconcile(entry: LinkEntry): void {
    const link = this.#links.get(entry.name);
    const mac = link?.mac ? parseMac(link.mac) : undefined;
    if (!link || !mac || !link.up) {
      const state: LivenessLinkState = !link ? 'missing' : 'down';
      if (entry.state !== state) {
        this.#shutdown(entry);
        this.#setState(entry, state, !link ? 'no such link' : !mac ? 'link has no MAC address' : 'link is down');
      }
      return;
    }
    // A re-created link or a new MAC needs a new socket, and the filter names the MAC.
    if (entry.socket && entry.ifindex === link.index && entry.mac?.equals(mac)) return;
    this.#shutdown(entry);
    try {
      // PacketSocket resumes reading after a socket error (a link bounce) by itself; counted and said here.
      entry.socket = this.#open(entry.name, livenessFilter(mac), (frame) => { this.#onFrame(entry, frame); }, (e) => {
        this.#count('errors');
        this.emit('problem', { link: entry.name, code: e.code, message: `socket error ${e.code}${e.fatal ? ': opening a new socket' : ': reading resumed'}` });
        if (e.fatal && !this.#closed && this.#entries.get(entry.name) === entry) {
          this.#shutdown(entry);
          this.#reconcile(entry);
        }
      });
    } catch (err) {
      this.#count('errors');
      const code = errorCode(err);
      this.emit('problem', { link: entry.name, message: message(err), ...(code ? { code } : {}) });
      this.#setState(entry, 'error', message(err));
      // Retrying costs little, and a link re-created under us heals by itself.
      entry.retry ??= setTimeout(() => {
        entry.retry = undefined;
        if (!this.#closed && this.#entries.get(entry.name) === entry) this.#reconcile(entry);
      }, this.#retryMs);
      entry.retry.unref();
      return;
    }
    entry.ifindex = link.index;
    entry.mac = mac;
    entry.macText = formatMac(mac);
    this.#setState(entry, 'active');
  }

  #onFrame(entry: LinkEntry, frame: Buffer): void {
    if (entry.state !== 'active' || !entry.macText) return;
    const d = decodeLivenessFrame(frame);
    if (!d.ok) {
      this.#count('malformed');
      const src = frame.length >= 12 ? ` from ${formatMac(frame.subarray(6, 12))}` : '';
      this.#problem(entry.name, 'malformed', `malformed frame${src}: ${d.error}`);
      return;
    }
    // The kernel filter already checks this; a socket without one (or a fake) must not change what we accept.
    if (d.value.dstMac !== entry.macText && d.value.dstMac !== 'ff:ff:ff:ff:ff:ff') return;
    this.#count('framesReceived');
    this.emit('frame', { link: entry.name, from: d.value.from, fromMac: d.value.srcMac, msg: d.value.msg });
  }

  #shutdown(entry: LinkEntry): void {
    clearTimeout(entry.retry);
    entry.retry = undefined;
    if (entry.socket) {
      try {
        entry.socket.close();
      } catch {
        // Best effort: the fd is gone either way.
      }
    }
    entry.socket = undefined;
    entry.mac = undefined;
    entry.macText = undefined;
    entry.ifindex = 0;
  }

  #setState(entry: LinkEntry, state: LivenessLinkState, reason?: string): void {
    entry.state = state;
    this.emit('state', { link: entry.name, state, ...(reason ? { reason } : {}) });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
