/** Maps API objects onto the LB-IPAM core's plain inputs. */
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import type { PoolSpec, ServiceSpec } from '../core/ipam/types.js';

export function toServiceSpec(svc: ServiceObject): ServiceSpec {
  const s = svc.spec ?? {};
  return {
    namespace: svc.metadata.namespace ?? 'default',
    name: svc.metadata.name,
    creationTimestamp: svc.metadata.creationTimestamp ?? '',
    labels: svc.metadata.labels,
    annotations: svc.metadata.annotations,
    type: s.type ?? 'ClusterIP',
    loadBalancerClass: s.loadBalancerClass,
    loadBalancerIP: s.loadBalancerIP,
    ipFamilies: s.ipFamilies,
    ipFamilyPolicy: s.ipFamilyPolicy,
    ports: s.ports?.map((p) => ({ port: p.port, protocol: p.protocol })),
    externalTrafficPolicy: s.externalTrafficPolicy,
    selector: s.selector,
  };
}

/** v2alpha1 and v2 share one schema, so one mapping serves both. */
export function toPoolSpec(pool: PoolObject): PoolSpec {
  const s = pool.spec ?? {};
  return {
    name: pool.metadata.name,
    creationTimestamp: pool.metadata.creationTimestamp ?? '',
    blocks: s.blocks ?? [],
    serviceSelector: s.serviceSelector,
    disabled: s.disabled,
    allowFirstLastIPs: s.allowFirstLastIPs,
  };
}

/** The addresses a Service's status shows today, for import on start. */
export function ingressIps(svc: ServiceObject): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
}
