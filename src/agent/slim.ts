/**
 * What the agent keeps of each object it watches: exactly the fields it
 * reads, so its caches do not hold managedFields, status it never looks at
 * (a Node's images and conditions), endpoint addresses or annotations it
 * ignores. One function per kind, each used as its reflector's transform;
 * each keeps metadata.name, namespace, uid and resourceVersion, which the
 * reflector itself needs.
 *
 * Who reads what:
 * - Service: toL2Service and owningGateway (convert.ts), the uid for Events,
 *   and one annotation, herald.io/answer-ping (answer-ping.ts).
 * - Node: toL2Node (name, labels, spec.unschedulable); for our own Node,
 *   restartDecision (also metadata.deletionTimestamp and the Ready condition's status).
 * - EndpointSlice: endpointFacts (the kubernetes.io/service-name label,
 *   endpoints[].nodeName and conditions.ready).
 * - CiliumL2AnnouncementPolicy: toPolicySpec (the spec fields L2PolicySpec
 *   names) and status.conditions for the status patch.
 * - CiliumLoadBalancerIPPool: toPoolSpec (operator/convert.ts).
 * - Lease: the agent writes a Service Lease back as it cached it (a PUT of
 *   the cached object with a new spec), so all of its metadata but
 *   managedFields is kept: dropping labels or annotations there would delete
 *   them on the next write. (An update without managedFields keeps the
 *   stored ones.)
 * - Gateway: its labels (merged into its generated Services' labels).
 *
 * The functions take the object as parsed from the wire and never throw:
 * a field of an unexpected type is left out, as if absent.
 */
import type { Lease } from '../kube/lease-lock.js';
import { ANSWER_PING } from './answer-ping.js';
import type { Meta, PoolObject, ServiceObject, WireCondition } from '../kube/objects.js';
import type { EndpointSliceObject, GatewayObject, NodeObject, PolicyObject } from './convert.js';

type Json = Record<string, unknown>;
type LabelSelector = NonNullable<NonNullable<PoolObject['spec']>['serviceSelector']>;

function record(x: unknown): Json | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : undefined;
}

function array(x: unknown): unknown[] | undefined {
  return Array.isArray(x) ? x : undefined;
}

function string(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

function number(x: unknown): number | undefined {
  return typeof x === 'number' ? x : undefined;
}

function boolean(x: unknown): boolean | undefined {
  return typeof x === 'boolean' ? x : undefined;
}

function strings(x: unknown): string[] | undefined {
  return array(x)?.filter((s): s is string => typeof s === 'string');
}

/** A map of strings (labels, matchLabels), optionally only the keys `keep` accepts. */
function stringMap(x: unknown, keep?: (key: string) => boolean): Record<string, string> | undefined {
  const r = record(x);
  if (r === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'string' && (keep === undefined || keep(k))) out[k] = v;
  return out;
}

/** Sets `key` only when the value is defined, so absent stays absent (not a key holding undefined). */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** name, namespace, uid and resourceVersion: what the reflector and every consumer need. */
function identity(raw: unknown): Meta {
  const m = record(record(raw)?.metadata) ?? {};
  const out: Meta = { name: string(m.name) ?? '' };
  put(out, 'namespace', string(m.namespace));
  put(out, 'uid', string(m.uid));
  put(out, 'resourceVersion', string(m.resourceVersion));
  return out;
}

function metadataOf(raw: unknown): Json {
  return record(record(raw)?.metadata) ?? {};
}

function labelSelector(x: unknown): LabelSelector | undefined {
  const r = record(x);
  if (r === undefined) return undefined;
  const out: LabelSelector = {};
  put(out, 'matchLabels', stringMap(r.matchLabels));
  const expressions = array(r.matchExpressions);
  if (expressions !== undefined) {
    out.matchExpressions = expressions.flatMap((e) => {
      const er = record(e);
      const key = string(er?.key);
      const operator = string(er?.operator);
      if (er === undefined || key === undefined || operator === undefined) return [];
      const values = strings(er.values);
      return [values === undefined ? { key, operator } : { key, operator, values }];
    });
  }
  return out;
}

function conditions(x: unknown): WireCondition[] | undefined {
  return array(x)?.flatMap((c) => {
    const r = record(c);
    const type = string(r?.type);
    const status = string(r?.status);
    if (r === undefined || type === undefined || status === undefined) return [];
    const out: WireCondition = { type, status };
    put(out, 'reason', string(r.reason));
    put(out, 'message', string(r.message));
    put(out, 'lastTransitionTime', string(r.lastTransitionTime));
    return [out];
  });
}

export function slimService(raw: unknown): ServiceObject {
  const m = metadataOf(raw);
  const metadata = identity(raw);
  put(metadata, 'labels', stringMap(m.labels));
  const ping = string(record(m.annotations)?.[ANSWER_PING]);
  if (ping !== undefined) metadata.annotations = { [ANSWER_PING]: ping };
  const owners = array(m.ownerReferences)?.flatMap((o) => {
    const r = record(o);
    const apiVersion = string(r?.apiVersion);
    const kind = string(r?.kind);
    const name = string(r?.name);
    if (r === undefined || apiVersion === undefined || kind === undefined || name === undefined) return [];
    return [{ apiVersion, kind, name, uid: string(r.uid) ?? '' }];
  });
  put(metadata, 'ownerReferences', owners);
  const out: ServiceObject = { metadata };
  const spec = record(record(raw)?.spec);
  if (spec !== undefined) {
    const s: NonNullable<ServiceObject['spec']> = {};
    put(s, 'type', string(spec.type));
    put(s, 'loadBalancerClass', string(spec.loadBalancerClass));
    put(s, 'externalTrafficPolicy', string(spec.externalTrafficPolicy));
    put(s, 'externalIPs', strings(spec.externalIPs));
    out.spec = s;
  }
  const ingress = array(record(record(record(raw)?.status)?.loadBalancer)?.ingress);
  if (ingress !== undefined) {
    const ips = ingress.flatMap((i) => {
      const ip = string(record(i)?.ip);
      return ip === undefined ? [] : [{ ip }];
    });
    out.status = { loadBalancer: { ingress: ips } };
  }
  return out;
}

export function slimNode(raw: unknown): NodeObject {
  const metadata = identity(raw);
  put(metadata, 'labels', stringMap(metadataOf(raw).labels));
  const out: NodeObject = { metadata };
  const spec = record(record(raw)?.spec);
  if (spec !== undefined) {
    const unschedulable = boolean(spec.unschedulable);
    out.spec = unschedulable === undefined ? {} : { unschedulable };
  }
  // For restartDecision (SIGTERM: hand over or restart in place): being deleted, and the Ready condition only.
  const deletion = string(metadataOf(raw).deletionTimestamp);
  if (deletion !== undefined) out.metadata.deletionTimestamp = deletion;
  const ready = array(record(record(raw)?.status)?.conditions)?.map(record).find((c) => c?.type === 'Ready');
  const status = string(ready?.status);
  if (status !== undefined) out.status = { conditions: [{ type: 'Ready', status }] };
  return out;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function slimEndpointSlice(raw: unknown): EndpointSliceObject {
  const metadata = identity(raw);
  put(metadata, 'labels', stringMap(metadataOf(raw).labels, (k) => k === SERVICE_NAME_LABEL));
  const out: EndpointSliceObject = { metadata };
  const endpoints = array(record(raw)?.endpoints);
  if (endpoints !== undefined) {
    out.endpoints = endpoints.map((e) => {
      const r = record(e);
      const ep: NonNullable<EndpointSliceObject['endpoints']>[number] = {};
      put(ep, 'nodeName', string(r?.nodeName));
      const c = record(r?.conditions);
      if (c !== undefined) {
        const ready = boolean(c.ready);
        ep.conditions = ready === undefined ? {} : { ready };
      }
      return ep;
    });
  }
  return out;
}

export function slimPolicy(raw: unknown): PolicyObject {
  const out: PolicyObject = { metadata: identity(raw) };
  const spec = record(record(raw)?.spec);
  if (spec !== undefined) {
    const s: NonNullable<PolicyObject['spec']> = {};
    put(s, 'nodeSelector', labelSelector(spec.nodeSelector));
    put(s, 'serviceSelector', labelSelector(spec.serviceSelector));
    put(s, 'interfaces', strings(spec.interfaces));
    put(s, 'externalIPs', boolean(spec.externalIPs));
    put(s, 'loadBalancerIPs', boolean(spec.loadBalancerIPs));
    out.spec = s;
  }
  const status = record(record(raw)?.status);
  if (status !== undefined) {
    const c = conditions(status.conditions);
    out.status = c === undefined ? {} : { conditions: c };
  }
  return out;
}

export function slimPool(raw: unknown): PoolObject {
  const metadata = identity(raw);
  put(metadata, 'creationTimestamp', string(metadataOf(raw).creationTimestamp));
  const out: PoolObject = { metadata };
  const spec = record(record(raw)?.spec);
  if (spec !== undefined) {
    const s: NonNullable<PoolObject['spec']> = {};
    const blocks = array(spec.blocks);
    if (blocks !== undefined) {
      s.blocks = blocks.map((b) => {
        const r = record(b);
        const block: { cidr?: string; start?: string; stop?: string } = {};
        put(block, 'cidr', string(r?.cidr));
        put(block, 'start', string(r?.start));
        put(block, 'stop', string(r?.stop));
        return block;
      });
    }
    put(s, 'serviceSelector', labelSelector(spec.serviceSelector));
    put(s, 'disabled', boolean(spec.disabled));
    put(s, 'allowFirstLastIPs', string(spec.allowFirstLastIPs));
    out.spec = s;
  }
  return out;
}

export function slimLease(raw: unknown): Lease {
  const r = record(raw) ?? {};
  const { managedFields: _dropped, labels, annotations, ...rest } = metadataOf(raw);
  const metadata: NonNullable<Lease['metadata']> = { ...rest, ...identity(raw) };
  put(metadata, 'labels', stringMap(labels));
  put(metadata, 'annotations', stringMap(annotations));
  const out: Lease = { metadata };
  put(out, 'apiVersion', string(r.apiVersion));
  put(out, 'kind', string(r.kind));
  const spec = record(r.spec);
  if (spec !== undefined) {
    const s: NonNullable<Lease['spec']> = {};
    put(s, 'holderIdentity', string(spec.holderIdentity));
    put(s, 'leaseDurationSeconds', number(spec.leaseDurationSeconds));
    put(s, 'acquireTime', string(spec.acquireTime));
    put(s, 'renewTime', string(spec.renewTime));
    put(s, 'leaseTransitions', number(spec.leaseTransitions));
    out.spec = s;
  }
  return out;
}

export function slimGateway(raw: unknown): GatewayObject {
  const metadata = identity(raw);
  put(metadata, 'labels', stringMap(metadataOf(raw).labels));
  return { metadata };
}
