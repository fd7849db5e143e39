/**
 * One Lease as a lock: acquire, renew, release, hand over and take over,
 * every write a compare-and-swap on resourceVersion (409 means the race was
 * lost). Expiry is judged with this process's monotonic clock from the moment
 * it saw the lease change, never from the holder's timestamps, so clock skew
 * between nodes cannot make two holders. `writeLease` is the compare-and-swap
 * itself; the agent's per-Service Leases go through it too, so there is one.
 */
import { performance } from 'node:perf_hooks';
import { KubeApiError, type KubeTransport } from './transport.js';

/** Deadline of a Lease request whose caller sets none: the operator's default renew deadline, so one hung request cannot outlast it. */
const LEASE_REQUEST_TIMEOUT_MS = 10_000;

/** coordination.k8s.io/v1 Lease, as JSON (MicroTime fields are strings). */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaseLockOptions {
  /**
   * Keep-alive HTTPS to the apiserver. (client-node's typed APIs open a new
   * TLS connection per call, which a lease renewed every half second should not pay.)
   */
  transport: KubeTransport;
  namespace: string;
  name: string;
  /** Our holderIdentity (a node name, or a pod name for leader election). */
  identity: string;
  leaseDurationSeconds: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
  labels?: Record<string, string>;
  /** Annotations written with every create and renewal (read at write time). */
  annotations?: () => Record<string, string>;
  /** Deadline for each request. */
  timeoutMs?: number;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace('Z', '000Z');
}

export type LeaseOutcome =
  | { held: true; lease: Lease }
  | { held: false; holder: string; reason: 'held-by-other' | 'lost-race' };

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export interface LeaseWriteRequest {
  namespace: string;
  name: string;
  /** The Lease as last observed; its resourceVersion is the compare-and-swap. Undefined: create it. */
  current: Lease | undefined;
  /** The new holderIdentity; '' frees the Lease. */
  holder: string;
  leaseDurationSeconds: number;
  /** Merged into the Lease's own labels and annotations. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * The one Lease compare-and-swap: POST when there is no current Lease, PUT
 * with the observed resourceVersion otherwise. Resolves to the written Lease,
 * or undefined when somebody else got there first (409, or 404 for a PUT: the
 * Lease was deleted). acquireTime and leaseTransitions move only when the
 * Lease changes hands, as client-go's leader election does.
 */
export async function writeLease(transport: KubeTransport, req: LeaseWriteRequest): Promise<Lease | undefined> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${req.namespace}/leases`;
  const now = microTime();
  const timeoutMs = req.timeoutMs ?? LEASE_REQUEST_TIMEOUT_MS;
  const holderIdentity = req.holder === '' ? undefined : req.holder;
  if (req.current === undefined) {
    const body: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: req.name, namespace: req.namespace, labels: req.labels, annotations: req.annotations },
      spec: { holderIdentity, leaseDurationSeconds: req.leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    };
    try {
      return await transport.json<Lease>(path, { method: 'POST', body, timeoutMs });
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }
  const current = req.current;
  const spec = current.spec ?? {};
  const changesHands = (spec.holderIdentity ?? '') !== req.holder;
  const merge = (have: unknown, add: Record<string, string> | undefined): Record<string, string> | undefined =>
    (add === undefined ? (have as Record<string, string> | undefined) : { ...(have as Record<string, string> | undefined), ...add });
  const body: Lease = {
    ...current,
    metadata: { ...current.metadata, labels: merge(current.metadata?.labels, req.labels), annotations: merge(current.metadata?.annotations, req.annotations) },
    spec: {
      ...spec,
      holderIdentity,
      leaseDurationSeconds: req.leaseDurationSeconds,
      renewTime: now,
      acquireTime: changesHands ? now : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (changesHands && req.holder !== '' ? 1 : 0),
    },
  };
  try {
    return await transport.json<Lease>(`${path}/${req.name}`, { method: 'PUT', body, timeoutMs });
  } catch (err) {
    if (isConflict(err) || isNotFound(err)) return undefined;
    throw err;
  }
}

export class LeaseLock {
  private observed: Lease | undefined;
  /** resourceVersion of our own last successful write. */
  private lastWritten: string | undefined;
  private readonly path: string;
  /** Local monotonic time at which `observed` was first seen in its current form. */
  private observedAt = 0;
  private readonly now: () => number;

  constructor(private readonly opts: LeaseLockOptions) {
    if (!(opts.leaseDurationSeconds >= 1)) throw new RangeError('leaseDurationSeconds must be at least 1');
    this.now = opts.now ?? (() => performance.now());
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases`;
  }

  private read(): Promise<Lease> {
    return this.opts.transport.json<Lease>(`${this.path}/${this.opts.name}`, { timeoutMs: this.opts.timeoutMs ?? LEASE_REQUEST_TIMEOUT_MS });
  }

  get identity(): string { return this.opts.identity; }

  /** Who holds it as far as we last saw ('' when free or unknown). */
  get holder(): string {
    return this.observed?.spec?.holderIdentity ?? '';
  }

  get heldByUs(): boolean {
    return this.holder === this.opts.identity;
  }

  /** True when the last observed holder has not renewed for a whole lease duration, by our clock. */
  expired(): boolean {
    if (!this.observed) return true;
    const duration = (this.observed.spec?.leaseDurationSeconds ?? this.opts.leaseDurationSeconds) * 1000;
    return this.now() - this.observedAt >= duration;
  }

  /**
   * Records a version of the lease seen elsewhere (a watch, say) so that
   * expiry counts from when it last changed. Older versions are ignored.
   */
  observe(lease: Lease): void {
    const rv = lease.metadata?.resourceVersion;
    if (rv !== undefined && rv === this.observed?.metadata?.resourceVersion) return;
    this.observed = lease;
    this.observedAt = this.now();
  }

  /** Acquires a free or expired lease, or renews ours. */
  async acquireOrRenew(): Promise<LeaseOutcome> {
    // Fast path: nothing changed since our own last write, so renew without reading first.
    const mine = this.observed;
    if (mine !== undefined && this.heldByUs && this.lastWritten !== undefined && mine.metadata?.resourceVersion === this.lastWritten) {
      const renewed = await this.write(mine, this.opts.identity);
      if (renewed) return { held: true, lease: renewed };
    }
    let current: Lease;
    try {
      current = await this.read();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return this.create(this.opts.identity);
    }
    this.observe(current);
    const holder = current.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.opts.identity && !this.expired()) {
      return { held: false, holder, reason: 'held-by-other' };
    }
    const written = await this.write(current, this.opts.identity);
    return written ? { held: true, lease: written } : { held: false, holder: this.holder, reason: 'lost-race' };
  }

  /**
   * Passes a lease we hold to `successor` (graceful handover), or frees it
   * when successor is ''. Returns false when we did not hold it or lost a race.
   */
  async handOver(successor: string): Promise<boolean> {
    let current: Lease;
    try {
      current = await this.read();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    this.observe(current);
    if (current.spec?.holderIdentity !== this.opts.identity) return false;
    return (await this.write(current, successor)) !== undefined;
  }

  /** Frees a lease we hold so that others need not wait for it to expire. */
  async release(): Promise<boolean> {
    return this.handOver('');
  }

  private async create(holder: string): Promise<LeaseOutcome> {
    const created = await writeLease(this.opts.transport, this.request(undefined, holder));
    if (!created) return { held: false, holder: '', reason: 'lost-race' };
    this.wrote(created);
    return { held: true, lease: created };
  }

  /**
   * Compare-and-swap: replace `current` with `holder` as holder. Resolves to
   * the written lease, or undefined when somebody else wrote first.
   */
  private async write(current: Lease, holder: string): Promise<Lease | undefined> {
    const written = await writeLease(this.opts.transport, this.request(current, holder));
    if (written) this.wrote(written);
    return written;
  }

  private request(current: Lease | undefined, holder: string): LeaseWriteRequest {
    const annotations = this.opts.annotations?.();
    return {
      namespace: this.opts.namespace, name: this.opts.name, current, holder, leaseDurationSeconds: this.opts.leaseDurationSeconds,
      // Labels are set when the Lease is created; annotations with every write.
      ...(current === undefined && this.opts.labels ? { labels: this.opts.labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(this.opts.timeoutMs === undefined ? {} : { timeoutMs: this.opts.timeoutMs }),
    };
  }

  private wrote(lease: Lease): void {
    this.observe(lease);
    this.lastWritten = lease.metadata?.resourceVersion;
  }

}
