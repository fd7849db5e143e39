/**
 * What herald writes into Service and pool status, and whether a write is
 * needed at all: the steady state costs no writes, and a condition keeps its
 * lastTransitionTime while its status stays the same.
 */
import { conditionsPatch, sameCondition, toWireCondition } from '../kube/conditions.js';
import type { ServiceObject } from '../kube/objects.js';
import { SERVICE_CONDITION, type ServiceDecision } from '../core/ipam/types.js';

export const FIELD_MANAGER = 'herald-operator';

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
export const poolStatusPatch = conditionsPatch;
