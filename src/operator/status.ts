/**
 * What herald writes into Service and pool status, and whether a write is
 * needed at all: the steady state costs no writes, and a condition keeps its
 * lastTransitionTime while its status stays the same.
 */
import type { ServiceObject, WireCondition } from '../kube/objects.js';
import { SERVICE_CONDITION, type Condition, type ServiceDecision } from '../core/ipam/types.js';

export const FIELD_MANAGER = 'herald-operator';

export function toWireCondition(c: Condition, observed: readonly WireCondition[] | undefined, now: string): WireCondition {
  const before = observed?.find((o) => o.type === c.type);
  return {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    lastTransitionTime: before?.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now,
  };
}

function sameCondition(a: WireCondition | undefined, b: Condition): boolean {
  return a !== undefined && a.status === b.status && a.reason === b.reason && (a.message ?? '') === b.message;
}

/** True when herald has written this Service's status before (it owns fields there). */
export function ownsServiceStatus(svc: ServiceObject): boolean {
  return (svc.metadata.managedFields ?? []).some((m) => m.manager === FIELD_MANAGER && m.subresource === 'status');
}

/**
 * The status herald should apply to a Service, or undefined when the stored
 * status already says it. An unmanaged decision (or none) clears herald's
 * fields, but only where herald had written some.
 */
export function serviceStatusPatch(svc: ServiceObject, decision: ServiceDecision | undefined, now: string): object | undefined {
  const observedIps = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
  const observedCondition = svc.status?.conditions?.find((c) => c.type === SERVICE_CONDITION);
  if (decision === undefined || !decision.managed) {
    return ownsServiceStatus(svc) && (observedIps.length > 0 || observedCondition !== undefined) ? {} : undefined;
  }
  const condition = decision.condition;
  const sameIps = observedIps.length === decision.ips.length && observedIps.every((ip, i) => ip === decision.ips[i]);
  if (sameIps && (condition === undefined || sameCondition(observedCondition, condition))) return undefined;
  return {
    loadBalancer: { ingress: decision.ips.map((ip) => ({ ip, ipMode: 'VIP' })) },
    ...(condition ? { conditions: [toWireCondition(condition, svc.status?.conditions, now)] } : {}),
  };
}

/** The pool status to apply, or undefined when the stored one already says it. */
export function poolStatusPatch(observed: readonly WireCondition[] | undefined, wanted: readonly Condition[], now: string): object | undefined {
  if (wanted.every((c) => sameCondition(observed?.find((o) => o.type === c.type), c))) return undefined;
  return { conditions: wanted.map((c) => toWireCondition(c, observed, now)) };
}

/** metav1.Time: RFC 3339 with whole seconds. */
export function nowRfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}
