import type { CompiledPool } from './compiled-pool.js';
import type { PoolConflict } from './pool-conflicts.js';
import type { Condition, IpamEvent, PoolStatus } from './types.js';

/** A pool's status: Cilium's conditions and counts, plus herald.io/PoolInvalid while its spec is broken. */
export function poolStatus(pool: CompiledPool, conflict: PoolConflict | undefined, used: number): PoolStatus {
  const total = pool.allocator.total();
  // As Cilium counts it: what the ranges have free (neither held nor named), also while the pool is disabled or conflicting.
  const available = total - BigInt(pool.allocator.used);
  const count = (type: string, n: bigint): Condition => ({ type, status: 'Unknown', reason: 'noreason', message: n.toString() });
  const conditions: Condition[] = [
    conflict === undefined
      ? { type: 'cilium.io/PoolConflict', status: 'False', reason: 'resolved', message: 'Pool does not conflict with other pools' }
      : { type: 'cilium.io/PoolConflict', status: 'True', reason: 'cidr_overlap', message: conflict.message },
    count('cilium.io/IPsTotal', total),
    count('cilium.io/IPsAvailable', available),
    count('cilium.io/IPsUsed', BigInt(used)),
  ];
  if (pool.problems.length > 0) {
    conditions.push({ type: 'herald.io/PoolInvalid', status: 'True', reason: 'invalid_spec', message: `Pool allocates nothing until fixed: ${pool.problems.join('; ')}` });
  }
  if (pool.notices.length > 0) {
    conditions.push({ type: 'herald.io/PoolFieldsIgnored', status: 'True', reason: 'ignored_fields', message: pool.notices.join('; ') });
  }
  return {
    name: pool.name,
    conflicting: conflict !== undefined,
    total: total.toString(),
    used: used.toString(),
    available: available.toString(),
    problems: pool.problems,
    notices: pool.notices,
    conditions,
  };
}

/**
 * The pool statuses last reported, so a reconcile reports only those that
 * changed, with the Events a change calls for (a conflict appearing or
 * going, a spec problem appearing or changing).
 */
export class PoolStatuses {
  readonly #text = new Map<string, string>();
  readonly #last = new Map<string, PoolStatus>();

  /** The statuses that differ from the last reported, and their Events; remembers them as reported. */
  changes(current: Iterable<{ readonly status: PoolStatus; readonly conflict: PoolConflict | undefined }>): { statuses: PoolStatus[]; events: IpamEvent[] } {
    const statuses: PoolStatus[] = [];
    const events: IpamEvent[] = [];
    for (const { status, conflict } of current) {
      const text = JSON.stringify(status);
      if (this.#text.get(status.name) === text) continue;
      const before = this.#last.get(status.name);
      const object = { kind: 'CiliumLoadBalancerIPPool', name: status.name } as const;
      if (status.conflicting && before?.conflicting !== true) {
        events.push({ object, type: 'Warning', reason: 'PoolConflict', message: conflict?.message ?? '' });
      } else if (!status.conflicting && before?.conflicting === true) {
        events.push({ object, type: 'Normal', reason: 'PoolConflictResolved', message: 'Pool no longer overlaps another pool' });
      }
      if (status.problems.length > 0 && before?.problems.join() !== status.problems.join()) {
        events.push({ object, type: 'Warning', reason: 'InvalidPool', message: status.problems.join('; ') });
      }
      if (status.notices.length > 0 && before?.notices.join() !== status.notices.join()) {
        events.push({ object, type: 'Warning', reason: 'PoolFieldsIgnored', message: status.notices.join('; ') });
      }
      this.#text.set(status.name, text);
      this.#last.set(status.name, status);
      statuses.push(status);
    }
    return { statuses, events };
  }

  /** A deleted pool: reported anew if it comes back. */
  forget(name: string): void {
    this.#text.delete(name);
    this.#last.delete(name);
  }
}
