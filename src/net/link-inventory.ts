import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import type { Link, LinkChange } from './ip-link.js';
import { diffLinks, parseIpLinkJson } from './ip-link.js';

const run = promisify(execFile);

/** What the responder needs to know about links; tests substitute fakes. */
export interface LinkSource {
  get(name: string): Link | undefined;
  on(event: 'change', listener: (change: LinkChange) => void): unknown;
  off(event: 'change', listener: (change: LinkChange) => void): unknown;
}

export interface LinkInventoryOptions {
  /** Settle time after a monitor event before re-reading; keeps bursts to one read. */
  readonly debounceMs?: number;
  /** Full re-read period, a safety net should an event be missed. */
  readonly resyncMs?: number;
}

/**
 * Every link of the current network namespace, kept current. `ip monitor
 * link` only tells us *that* something changed; the state itself always comes
 * from a full `ip -json -details link show`, so a missed or garbled event
 * cannot leave the inventory wrong. Every link is listed, with or without
 * addresses (VLAN sub-interfaces and address-less NICs included).
 * Failures to read are reported as 'problem' events (never thrown: the last
 * good inventory stays in place and the next event or resync tries again).
 */
export class LinkInventory extends EventEmitter<{ change: [LinkChange]; problem: [Error] }> implements LinkSource {
  #links = new Map<string, Link>();
  #monitor: ChildProcess | undefined;
  #timer: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #closed = false;
  #reading: Promise<void> | undefined;
  #again = false;
  readonly #debounceMs: number;

  private constructor(opts: LinkInventoryOptions) {
    super();
    this.#debounceMs = opts.debounceMs ?? 30;
    this.#resync = setInterval(() => { this.#schedule(); }, opts.resyncMs ?? 10_000);
    this.#resync.unref();
  }

  static async start(opts: LinkInventoryOptions = {}): Promise<LinkInventory> {
    const inv = new LinkInventory(opts);
    inv.#startMonitor();
    await inv.refresh();
    return inv;
  }

  get(name: string): Link | undefined {
    return this.#links.get(name);
  }

  list(): Link[] {
    return [...this.#links.values()];
  }

  /** Re-reads all links now and emits a change if there is one. */
  async refresh(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        const { stdout } = await run('ip', ['-json', '-details', 'link', 'show'], { maxBuffer: 64 << 20 });
        if (this.#closed) return;
        const next = new Map(parseIpLinkJson(stdout).map((l) => [l.name, l]));
        const change = diffLinks(this.#links, next);
        this.#links = next;
        if (change.added.length + change.removed.length + change.changed.length > 0) this.emit('change', change);
      } while (this.#rereadRequested());
    })().finally(() => { this.#reading = undefined; });
    return this.#reading;
  }

  // A method, not an inline read: the flag changes while the read is awaited.
  #rereadRequested(): boolean {
    return this.#again && !this.#closed;
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh().catch((err: unknown) => { this.emit('problem', err instanceof Error ? err : new Error(String(err))); });
    }, this.#debounceMs);
  }

  #startMonitor(): void {
    if (this.#closed) return;
    const child = spawn('ip', ['monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.#monitor = child;
    child.stdout.on('data', () => { this.#schedule(); });
    child.on('error', (err) => { this.emit('problem', err); });
    child.on('exit', () => {
      if (this.#closed) return;
      // Restart, and re-read in case something changed while it was gone.
      setTimeout(() => { this.#startMonitor(); this.#schedule(); }, 500).unref();
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#resync) clearInterval(this.#resync);
    this.#monitor?.kill();
    this.#monitor = undefined;
  }
}
