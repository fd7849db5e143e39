import type { LabelSelector } from '../label-selector.js';

/** The fields of a CiliumLoadBalancerIPPool that LB-IPAM reads. */
export interface PoolSpec {
  readonly name: string;
  /** RFC 3339 (metadata.creationTimestamp); older pools win overlaps. */
  readonly creationTimestamp: string;
  readonly blocks: readonly PoolBlock[];
  readonly serviceSelector?: LabelSelector;
  readonly disabled?: boolean;
  /** "Yes", "No" or empty; only "No" reserves network/broadcast addresses. */
  readonly allowFirstLastIPs?: string;
}

export interface PoolBlock {
  readonly cidr?: string;
  readonly start?: string;
  readonly stop?: string;
}

export interface ServicePort {
  readonly port: number;
  /** TCP when unset, as in Kubernetes. */
  readonly protocol?: string;
}

/** The fields of a v1 Service that LB-IPAM reads. */
export interface ServiceSpec {
  readonly namespace: string;
  readonly name: string;
  /** RFC 3339 in UTC as the API server writes it ("2026-01-02T03:04:05Z"); compared as text. */
  readonly creationTimestamp: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly type: string;
  readonly loadBalancerClass?: string;
  readonly loadBalancerIP?: string;
  readonly ipFamilies?: readonly string[];
  readonly ipFamilyPolicy?: string;
  readonly ports?: readonly ServicePort[];
  readonly externalTrafficPolicy?: string;
  /** spec.selector (pod selector), compared for sharing between Local services. */
  readonly selector?: Readonly<Record<string, string>>;
}

/** "namespace/name". */
export type ServiceKey = string;

export function serviceKey(namespace: string, name: string): ServiceKey {
  return `${namespace}/${name}`;
}

/** A status condition as herald wants it written (metav1.Condition minus bookkeeping). */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

export const SERVICE_CONDITION = 'cilium.io/IPAMRequestSatisfied';

export type ServiceReason =
  | 'satisfied'
  | 'no_pool'
  | 'out_of_ips'
  | 'pool_selector_mismatch'
  | 'already_allocated'
  | 'already_allocated_incompatible_service';

/**
 * What the adapter should make true for one Service. `managed: false` means
 * herald has no claim on it (ineligible or deleted): remove herald's ingress
 * entries and its condition.
 */
export interface ServiceDecision {
  readonly key: ServiceKey;
  readonly namespace: string;
  readonly name: string;
  readonly managed: boolean;
  /** Canonical address strings, primary family first, ascending. */
  readonly ips: readonly string[];
  readonly condition?: Condition;
}

export interface PoolStatus {
  readonly name: string;
  readonly conflicting: boolean;
  /** Decimal strings: a /64 holds 2^64 addresses. */
  readonly total: string;
  readonly used: string;
  readonly available: string;
  /** Spec errors (bad block, bad selector); such a pool allocates nothing. */
  readonly problems: readonly string[];
  /** Fields read differently from how they were written (cidr with start: cidr wins, as in Cilium); the pool works. */
  readonly notices: readonly string[];
  readonly conditions: readonly Condition[];
}

export interface IpamEvent {
  /** The object the Event is about (regarding/involvedObject). */
  readonly object: { readonly kind: 'Service'; readonly namespace: string; readonly name: string } | { readonly kind: 'CiliumLoadBalancerIPPool'; readonly name: string };
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface ReconcileResult {
  /** Decisions that differ from the previous reconcile (or are new). */
  readonly services: readonly ServiceDecision[];
  /** Pool statuses that differ from the previous reconcile (or are new); deleted pools are not listed. */
  readonly pools: readonly PoolStatus[];
  readonly events: readonly IpamEvent[];
}

export interface ImportReport {
  readonly kept: readonly { readonly service: ServiceKey; readonly ip: string; readonly pool: string }[];
  readonly rejected: readonly { readonly service: ServiceKey; readonly ip: string; readonly reason: string }[];
}

export interface IpamOptions {
  /** loadBalancerClass values herald serves besides "unset". */
  readonly loadBalancerClasses?: readonly string[];
}

export const DEFAULT_LOAD_BALANCER_CLASSES: readonly string[] = ['io.cilium/l2-announcer'];
