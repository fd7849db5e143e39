/**
 * Writes to node Leases (herald-agent-<node>): our own, when our links or
 * their MACs change (never periodically: liveness is judged on the LAN), and
 * other nodes' "unreachable" marks, when our LAN liveness condemns or clears
 * them. Every write is a read-modify-write through writeLease's
 * compare-and-swap, so a mark and the node's own update never undo each other.
 */
import type { MarkWrite } from '../core/l2/lan-liveness.js';
import { nodeLeaseName } from '../core/l2/lease-names.js';
import { writeLease, type Lease } from '../kube/lease-lock.js';
import { KubeApiError, type KubeTransport } from '../kube/transport.js';
import type { Logger } from '../log.js';
import { LEASE_KIND, LINK_MACS, RESTARTING_UNTIL, UNREACHABLE, UP_LINKS, nodeLeaseFacts } from './convert.js';
import type { AgentMetrics } from './metrics.js';

export interface NodeLeaseOptions {
  readonly transport: KubeTransport;
  readonly namespace: string;
  readonly node: string;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  /** Every write's outcome, for the core's view of whether the API answers. */
  readonly apiAnswered: (ok: boolean) => void;
}

export interface OwnLinks {
  readonly upLinks: readonly string[];
  readonly macs: Readonly<Record<string, string>>;
}

/** Nobody renews node Leases; the value only has to be valid. */
const LEASE_DURATION_SECONDS = 3600;
const ATTEMPTS = 4;

function render(l: OwnLinks): Record<string, string> {
  return {
    [UP_LINKS]: [...l.upLinks].sort().join(','),
    [LINK_MACS]: Object.entries(l.macs).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(','),
    // A new agent's first write ends the restart its predecessor announced.
    [RESTARTING_UNTIL]: '',
  };
}

export class NodeLeaseWriter {
  private written = '';
  private wanted: OwnLinks | undefined;
  private running: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = 200;
  private stopped = false;

  constructor(private readonly o: NodeLeaseOptions) {}

  /** Our links as they are now: written if they differ from what we last wrote. */
  sync(links: OwnLinks): void {
    this.wanted = links;
    this.kick();
  }

  private kick(): void {
    if (this.stopped || this.running !== undefined || this.wanted === undefined) return;
    const want = render(this.wanted);
    const key = JSON.stringify(want);
    if (key === this.written) return;
    this.running = this.update(this.o.node, (current) => ({ holder: this.o.node, annotations: want, current })).then((ok) => {
      this.running = undefined;
      if (ok) {
        this.written = key;
        this.backoffMs = 200;
        this.kick();
        return;
      }
      clearTimeout(this.retry);
      this.retry = setTimeout(() => { this.kick(); }, this.backoffMs);
      this.backoffMs = Math.min(5000, this.backoffMs * 2);
    });
  }

  /** Marks or clears a link of another node as unreachable. Never rejects. */
  async mark(w: MarkWrite): Promise<boolean> {
    const ok = await this.update(w.node, (current) => {
      if (current === undefined) return undefined; // no Lease, nothing to mark
      const facts = nodeLeaseFacts(current);
      const links = new Set(facts.unreachable);
      if (w.action === 'mark') links.add(w.link);
      else links.delete(w.link);
      const value = [...links].sort().join(',');
      if (value === [...facts.unreachable].sort().join(',')) return undefined;
      return { holder: facts.holder, annotations: { [UNREACHABLE]: value }, current };
    });
    this.o.log.info({ node: w.node, link: w.link, action: w.action, reason: w.reason, ok }, w.action === 'mark' ? 'marked a node unreachable on a link' : 'cleared a node\'s unreachable mark');
    return ok;
  }

  /**
   * Restart in place: stop writing, and put the deadline on our Lease (holder and links kept),
   * so that peers that missed our pause frames, or restart meanwhile, hold back too.
   */
  async restarting(untilIso: string): Promise<boolean> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.running;
    return this.update(this.o.node, (current) => (current === undefined ? undefined : { holder: this.o.node, annotations: { [RESTARTING_UNTIL]: untilIso }, current }));
  }

  /** Clears our holder, so that others see at once that we left. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.running;
    await this.update(this.o.node, (current) => (current === undefined ? undefined : { holder: '', annotations: {}, current }));
  }

  /**
   * Read, change, compare-and-swap; again on a lost race. `change` returns
   * undefined when there is nothing to write. Resolves to whether the Lease
   * is as wanted.
   */
  private async update(node: string, change: (current: Lease | undefined) => { holder: string; annotations: Record<string, string>; current: Lease | undefined } | undefined): Promise<boolean> {
    const name = nodeLeaseName(node);
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${name}`;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let current: Lease | undefined;
      try {
        current = await this.o.transport.json<Lease>(path, { timeoutMs: 5000 });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) return this.failed(node, err);
      }
      const next = change(current);
      if (next === undefined) return true;
      try {
        const written = await writeLease(this.o.transport, {
          namespace: this.o.namespace, name, current: next.current, holder: next.holder, leaseDurationSeconds: LEASE_DURATION_SECONDS,
          labels: { [LEASE_KIND]: 'node' }, annotations: next.annotations, timeoutMs: 5000,
        });
        this.o.apiAnswered(true);
        this.o.metrics.nodeLeaseWrites.inc({ lease: node === this.o.node ? 'own' : 'other', result: written === undefined ? 'conflict' : 'ok' });
        if (written !== undefined) return true;
      } catch (err) {
        return this.failed(node, err);
      }
    }
    return false;
  }

  private failed(node: string, err: unknown): false {
    this.o.apiAnswered(false);
    this.o.metrics.nodeLeaseWrites.inc({ lease: node === this.o.node ? 'own' : 'other', result: 'error' });
    this.o.log.warn({ node, err }, 'node Lease write failed');
    return false;
  }
}
