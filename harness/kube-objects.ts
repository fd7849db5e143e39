/**
 * Small builders and readers for Services and pools in integration tests.
 * YAML 1.1 output, because kubectl reads a bare No as false.
 */
import { stringify } from 'yaml';
import type { ControlPlane } from './control-plane.js';
import type { PoolObject, ServiceObject, WireCondition } from '../src/kube/objects.js';

export interface SvcOptions {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  ports?: number[];
  type?: string;
  loadBalancerClass?: string;
  loadBalancerIP?: string;
  ipFamilyPolicy?: string;
  ipFamilies?: string[];
  externalTrafficPolicy?: string;
  externalIPs?: string[];
  selector?: Record<string, string>;
}

export function serviceManifest(name: string, o: SvcOptions = {}): string {
  const type = o.type ?? 'LoadBalancer';
  return stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.namespace ?? 'default', labels: o.labels, annotations: o.annotations, ownerReferences: o.ownerReferences },
    spec: {
      type,
      selector: o.selector ?? { app: name },
      ports: (o.ports ?? [80]).map((port) => ({ name: `p${port}`, port, protocol: 'TCP', targetPort: port })),
      loadBalancerClass: o.loadBalancerClass,
      loadBalancerIP: o.loadBalancerIP,
      ipFamilyPolicy: o.ipFamilyPolicy,
      ipFamilies: o.ipFamilies,
      externalTrafficPolicy: type === 'LoadBalancer' ? o.externalTrafficPolicy : undefined,
      externalIPs: o.externalIPs,
    },
  }, yaml11);
}

const yaml11 = { version: '1.1' } as const;

export function poolManifest(name: string, spec: Record<string, unknown>, apiVersion = 'cilium.io/v2alpha1'): string {
  return stringify({ apiVersion, kind: 'CiliumLoadBalancerIPPool', metadata: { name }, spec }, yaml11);
}

export async function getService(cp: ControlPlane, name: string, namespace = 'default'): Promise<ServiceObject> {
  return JSON.parse(await cp.kubectl(['get', 'svc', '-n', namespace, name, '-o', 'json'])) as ServiceObject;
}

export async function getPool(cp: ControlPlane, name: string): Promise<PoolObject> {
  return JSON.parse(await cp.kubectl(['get', 'ippool', name, '-o', 'json'])) as PoolObject;
}

export async function serviceIps(cp: ControlPlane, name: string, namespace = 'default'): Promise<string[]> {
  const svc = await getService(cp, name, namespace);
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
}

/** The holder of a Service's `cilium-l2announce-<ns>-<svc>` Lease; '' when none holds it or there is no Lease yet. */
export async function serviceLeaseHolder(cp: ControlPlane, name: string, namespace = 'default', leaseNamespace = 'kube-system'): Promise<string> {
  const out = await cp.kubectl(['get', 'lease', '-n', leaseNamespace, `cilium-l2announce-${namespace}-${name}`, '-o', 'jsonpath={.spec.holderIdentity}']).catch(() => '');
  return out.trim();
}

export function conditionOf(obj: { status?: { conditions?: WireCondition[] } }, type: string): WireCondition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

export async function apply(cp: ControlPlane, manifest: string): Promise<void> {
  await cp.kubectl(['apply', '-f', '-'], manifest);
}
