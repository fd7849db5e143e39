/** metav1.Condition bookkeeping shared by every status herald writes. */
import type { WireCondition } from './objects.js';

export interface DesiredCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** The condition to write: lastTransitionTime kept while the status stays the same. */
export function toWireCondition(c: DesiredCondition, observed: readonly WireCondition[] | undefined, now: string): WireCondition {
  const before = observed?.find((o) => o.type === c.type);
  return {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    lastTransitionTime: before?.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now,
  };
}

export function sameCondition(a: WireCondition | undefined, b: DesiredCondition): boolean {
  return a !== undefined && a.status === b.status && (a.reason ?? '') === b.reason && (a.message ?? '') === b.message;
}

/** Condition types herald adds only while they hold (herald.io/PoolInvalid), so their absence is news. */
const OPTIONAL_CONDITION = /^herald\.io\//;

/**
 * The conditions to apply, or undefined when the stored ones already say it:
 * every wanted condition as stored, and none of herald's optional ones left
 * over (a server-side apply without it removes it).
 */
export function conditionsPatch(observed: readonly WireCondition[] | undefined, wanted: readonly DesiredCondition[], now: string): object | undefined {
  const stale = (observed ?? []).some((o) => OPTIONAL_CONDITION.test(o.type) && !wanted.some((w) => w.type === o.type));
  if (!stale && wanted.every((c) => sameCondition(observed?.find((o) => o.type === c.type), c))) return undefined;
  return { conditions: wanted.map((c) => toWireCondition(c, observed, now)) };
}

/** metav1.Time: RFC 3339 with whole seconds. */
export function nowRfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}
