/**
 * The agent's writes of per-Service Leases (cilium-l2announce-<ns>-<svc>, in
 * Cilium's format: holder = the announcing node). Each is writeLease's
 * compare-and-swap on the version the core planned from (LeaseWrite.expectedRv).
 * The body comes from the Lease watch's cache, or from our own last write
 * while the watch has not delivered it yet: the core may plan from a write's
 * result before the watch shows it.
 */
import type { LeaseWrite, WriteOutcome } from '../core/l2/agent-core.js';
import { compareResourceVersions } from '../core/l2/resource-version.js';
import { serviceLeaseName } from '../core/l2/lease-names.js';
import { writeLease, type Lease } from '../kube/lease-lock.js';
import { KubeApiError, type KubeTransport } from '../kube/transport.js';
import { LEASE_KIND, LEASE_SERVICE, leaseFacts } from './convert.js';

export interface ServiceLeaseWriterOptions {
  readonly transport: KubeTransport;
  readonly namespace: string;
  /** The Lease watch's cache, by namespace/name. */
  readonly cached: (key: string) => Lease | undefined;
}

/** The core's WriteOutcome; an error keeps what was thrown beside its message, for the log. */
export type LeaseWriteOutcome =
  | Exclude<WriteOutcome, { result: 'error' }>
  | (Extract<WriteOutcome, { result: 'error' }> & { readonly err: unknown });

/** Cilium's agents write 15 s; nobody renews these, so the value only has to be valid. */
const LEASE_DURATION_SECONDS = 15;

export class ServiceLeaseWriter {
  /** Our last write per Service, until the watch delivers it (or something newer). */
  private readonly written = new Map<string, Lease>();

  constructor(private readonly o: ServiceLeaseWriterOptions) {}

  /** A Service Lease as the watch delivered it (undefined: deleted). */
  observed(service: string, lease: Lease | undefined): void {
    const mine = this.written.get(service);
    if (mine !== undefined && (lease === undefined || compareResourceVersions(rv(lease), rv(mine)) >= 0)) this.written.delete(service);
  }

  /** Never rejects: a lost race and an error are outcomes for the core. */
  async write(w: LeaseWrite): Promise<LeaseWriteOutcome> {
    const [namespace = '', name = ''] = w.service.split('/');
    const leaseName = serviceLeaseName(namespace, name);
    try {
      const lease = await writeLease(this.o.transport, {
        namespace: this.o.namespace, name: leaseName, current: this.current(w, leaseName), holder: w.holder,
        leaseDurationSeconds: LEASE_DURATION_SECONDS, labels: { [LEASE_KIND]: 'service' }, annotations: { [LEASE_SERVICE]: w.service }, timeoutMs: 5000,
      });
      if (lease === undefined) return { result: 'lost' };
      this.written.set(w.service, lease);
      return { result: 'ok', lease: leaseFacts(lease) };
    } catch (err) {
      if (admissionDenied(err)) return { result: 'denied', message: err.message };
      return { result: 'error', message: String(err), err };
    }
  }

  /** The Lease at the version the core planned from; undefined when the core says there is none (create). */
  private current(w: LeaseWrite, leaseName: string): Lease | undefined {
    if (w.expectedRv === undefined) return undefined;
    const known = [this.o.cached(`${this.o.namespace}/${leaseName}`), this.written.get(w.service)];
    const exact = known.find((l) => l !== undefined && rv(l) === w.expectedRv);
    if (exact !== undefined) return exact;
    // Neither copy is at that version (rare: the cache moved on or lost it).
    // Write over the version the core decided on anyway; the apiserver judges.
    const base = known.find((l) => l !== undefined) ?? { metadata: { name: leaseName, namespace: this.o.namespace } };
    return { ...base, metadata: { ...base.metadata, resourceVersion: w.expectedRv } };
  }
}

/** A refusal by a ValidatingAdmissionPolicy (herald's: docs/security.md), which names itself in the message. */
export function admissionDenied(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && (err.status === 403 || err.status === 422) && err.message.includes('ValidatingAdmissionPolicy');
}

function rv(lease: Lease): string {
  return lease.metadata?.resourceVersion ?? '';
}
