/**
 * What an agent does on SIGTERM: hand its Services over to other nodes, or
 * restart in place, keeping them (docs/l2-announcements.md, "Restart in
 * place"). Pure: the adapter passes its own Node as its watch shows it.
 *
 * A SIGTERM while the node stays (a DaemonSet rolling update: only the agent
 * process is replaced; the node's kube-proxy and pods go on forwarding, and
 * the clients' neighbour entries go on pointing at the node) restarts in
 * place: moving a VIP resets every connection open through it. A SIGTERM
 * while the node leaves hands over at once, as it must: the node is
 * cordoned (kubectl drain), NotReady (the kubelet's graceful node shutdown
 * marks it so before it stops the pods), being deleted, excluded from load
 * balancers (it is then no candidate anyway), or unknown to our watch.
 */

import { EXCLUDE_LABEL } from './selection.js';

/** Our Node, as far as the decision needs it. */
export interface OwnNodeFacts {
  readonly unschedulable: boolean;
  /** The Ready condition's status: 'True', 'False', 'Unknown', or undefined when absent. */
  readonly ready: string | undefined;
  readonly deleting: boolean;
  readonly labels: Readonly<Record<string, string>>;
}


export type RestartDecision =
  | { readonly mode: 'restart'; readonly graceMs: number; readonly reason: string }
  | { readonly mode: 'handover'; readonly reason: string };

/** restartGraceMs 0: always hand over. node undefined: our Node is not in the watch (deleted, or never seen). */
export function restartDecision(restartGraceMs: number, node: OwnNodeFacts | undefined): RestartDecision {
  if (!(restartGraceMs > 0)) return { mode: 'handover', reason: 'restart in place is off (--restart-grace=0)' };
  if (node === undefined) return { mode: 'handover', reason: 'our Node is not in the watch (deleted?)' };
  if (node.deleting) return { mode: 'handover', reason: 'our Node is being deleted' };
  if (node.unschedulable) return { mode: 'handover', reason: 'our Node is cordoned (spec.unschedulable: a drain)' };
  if (node.ready !== 'True') return { mode: 'handover', reason: `our Node is not Ready (Ready=${node.ready ?? 'absent'}: a node shutdown, or the kubelet is gone)` };
  if (Object.hasOwn(node.labels, EXCLUDE_LABEL)) return { mode: 'handover', reason: `our Node is labelled ${EXCLUDE_LABEL}` };
  return { mode: 'restart', graceMs: restartGraceMs, reason: `our Node stays (schedulable, Ready): restarting in place, peers wait up to ${restartGraceMs} ms` };
}
