/** The conditions of CiliumL2AnnouncementPolicies (bad selectors and regexes), written by every agent. */
import type { CompiledL2Policy } from '../core/l2/l2-policy.js';
import { conditionsPatch, nowRfc3339 } from '../kube/conditions.js';
import { applyStatus } from '../kube/server-side-apply.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../log.js';
import type { PolicyObject } from './convert.js';

export const POLICIES_PATH = '/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies';

/**
 * Every agent computes the same conditions, so a write happens only when the
 * stored ones differ: in the steady state, none.
 */
export function syncPolicyStatus(
  transport: KubeTransport, policies: readonly PolicyObject[], compile: (p: PolicyObject) => CompiledL2Policy, log: Logger,
): void {
  for (const p of policies) {
    const patch = conditionsPatch(p.status?.conditions, compile(p).conditions, nowRfc3339());
    if (!patch) continue;
    applyStatus(transport, { path: `${POLICIES_PATH}/${p.metadata.name}`, apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy', name: p.metadata.name },
      patch, 'herald-agent').catch((err: unknown) => { log.warn({ policy: p.metadata.name, err }, 'could not write policy status'); });
  }
}
