/** The conditions of CiliumL2AnnouncementPolicies (bad selectors and regexes), written by every agent. */
import { createHash } from 'node:crypto';
import type { CompiledL2Policy } from '../core/l2/l2-policy.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import { conditionsPatch, nowRfc3339 } from '../kube/conditions.js';
import { applyStatus } from '../kube/server-side-apply.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../log.js';
import type { PolicyObject } from './convert.js';

export const POLICIES_PATH = '/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies';

/**
 * Every agent computes the same conditions, so a write happens only when the
 * stored ones differ: in the steady state, none. A problem that appears also
 * gets a Warning Event on the policy, one for the whole cluster (every agent
 * derives the same Event name from the policy and the problem).
 */
export function syncPolicyStatus(
  transport: KubeTransport, policies: readonly PolicyObject[], compile: (p: PolicyObject) => CompiledL2Policy, log: Logger, events?: EventRecorder,
): void {
  for (const p of policies) {
    const wanted = compile(p).conditions;
    const patch = conditionsPatch(p.status?.conditions, wanted, nowRfc3339());
    if (!patch) continue;
    for (const c of wanted) {
      if (c.status !== 'True' || p.status?.conditions?.some((o) => o.type === c.type && o.status === 'True' && o.message === c.message) === true) continue;
      const digest = createHash('sha256').update(`${p.metadata.uid ?? ''}\n${c.type}\n${c.message}`).digest('hex').slice(0, 16);
      events?.record(
        { apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy', name: p.metadata.name, ...(p.metadata.uid === undefined ? {} : { uid: p.metadata.uid }) },
        { type: 'Warning', reason: 'InvalidPolicy', action: 'Validate', note: `${c.type}: ${c.message}; the policy selects nothing until fixed`, name: `${p.metadata.name}.${digest}` },
      );
    }
    applyStatus(transport, { path: `${POLICIES_PATH}/${p.metadata.name}`, apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy', name: p.metadata.name },
      patch, 'herald-agent').catch((err: unknown) => { log.warn({ policy: p.metadata.name, err }, 'could not write policy status'); });
  }
}
