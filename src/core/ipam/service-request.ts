import type { Labels } from '../label-selector.js';
import { parseIp, type IpAddress, type IpFamily } from './address.js';
import type { ServiceSpec } from './types.js';

export const ANNOTATION_IPS = ['lbipam.cilium.io/ips', 'io.cilium/lb-ipam-ips'] as const;
export const ANNOTATION_SHARING_KEY = ['lbipam.cilium.io/sharing-key', 'io.cilium/lb-ipam-sharing-key'] as const;
export const ANNOTATION_SHARING_CROSS_NAMESPACE = ['lbipam.cilium.io/sharing-cross-namespace', 'io.cilium/lb-ipam-sharing-cross-namespace'] as const;

export const PSEUDO_LABEL_NAMESPACE = 'io.kubernetes.service.namespace';
export const PSEUDO_LABEL_NAME = 'io.kubernetes.service.name';

/** What one Service asks of LB-IPAM, derived once per Service update. */
export interface ServiceRequest {
  readonly key: string;
  readonly spec: ServiceSpec;
  /** Labels a pool selector sees: the Service's own plus pseudo-labels that cannot be faked. */
  readonly selectorLabels: Labels;
  /** Requested addresses, de-duplicated, in the order given. */
  readonly requested: readonly { readonly text: string; readonly address: IpAddress }[];
  readonly unparsable: readonly string[];
  /** Families wanted for automatic allocation, primary first. */
  readonly families: readonly IpFamily[];
  readonly familyPolicy: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  readonly sharingKey: string | undefined;
  readonly crossNamespace: ReadonlySet<string>;
  readonly ports: ReadonlySet<string>;
  readonly externalTrafficPolicy: string;
  readonly podSelector: string;
}

function firstAnnotation(spec: ServiceSpec, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = spec.annotations?.[n];
    if (v !== undefined) return v;
  }
  return undefined;
}

function commaList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function familyOf(text: string): IpFamily | undefined {
  return text === 'IPv4' ? 4 : text === 'IPv6' ? 6 : undefined;
}

export function isEligible(spec: ServiceSpec, classes: ReadonlySet<string>): boolean {
  if (spec.type !== 'LoadBalancer') return false;
  return spec.loadBalancerClass === undefined || spec.loadBalancerClass === '' || classes.has(spec.loadBalancerClass);
}

export function deriveRequest(key: string, spec: ServiceSpec): ServiceRequest {
  const texts = [...new Set([...commaList(spec.loadBalancerIP), ...commaList(firstAnnotation(spec, ANNOTATION_IPS))])];
  const requested: { text: string; address: IpAddress }[] = [];
  const unparsable: string[] = [];
  const seen = new Set<string>();
  for (const text of texts) {
    const parsed = parseIp(text);
    if (!parsed.ok) {
      unparsable.push(text);
      continue;
    }
    // "2001:db8::1" and "2001:DB8::1" are one address.
    const id = `${parsed.value.family}:${parsed.value.value}`;
    if (seen.has(id)) continue;
    seen.add(id);
    requested.push({ text, address: parsed.value });
  }
  const declared = (spec.ipFamilies ?? []).map(familyOf).filter((f): f is IpFamily => f !== undefined);
  const policy = spec.ipFamilyPolicy === 'PreferDualStack' || spec.ipFamilyPolicy === 'RequireDualStack' ? spec.ipFamilyPolicy : 'SingleStack';
  const primary: IpFamily = declared[0] ?? 4;
  const families: IpFamily[] = policy === 'SingleStack' ? [primary] : [primary, primary === 4 ? 6 : 4];
  const sharingKey = firstAnnotation(spec, ANNOTATION_SHARING_KEY)?.trim();
  const ports = new Set((spec.ports ?? []).map((p) => `${p.port}/${(p.protocol ?? 'TCP').toUpperCase()}`));
  const podSelector = Object.entries(spec.selector ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    key,
    spec,
    // Pseudo-labels last so a Service's own labels cannot fake them.
    selectorLabels: { ...spec.labels, [PSEUDO_LABEL_NAMESPACE]: spec.namespace, [PSEUDO_LABEL_NAME]: spec.name },
    requested,
    unparsable,
    families,
    familyPolicy: policy,
    sharingKey: sharingKey === '' ? undefined : sharingKey,
    crossNamespace: new Set(commaList(firstAnnotation(spec, ANNOTATION_SHARING_CROSS_NAMESPACE))),
    ports,
    externalTrafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    podSelector,
  };
}

/** Stable processing order: oldest first, then namespace/name. */
export function compareServices(a: ServiceSpec, b: ServiceSpec): number {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp < b.creationTimestamp ? -1 : 1;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
