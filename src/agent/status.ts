/** What `curl <agent>/status` shows: what this node announces, where and why, and the evidence behind it. */
import type { AgentCore } from '../core/l2/agent-core.js';
import type { Lease } from '../kube/lease-lock.js';
import type { Reflector } from '../kube/reflector.js';
import type { Responder } from '../l2/responder.js';

export interface StatusSources {
  readonly node: string;
  /** Now, on the clock the core's times are on. */
  readonly now: number;
  readonly core: AgentCore;
  readonly responder: Responder;
  readonly leaseWatch: Reflector<Lease>;
  readonly gatewayApi: boolean;
}

export function agentStatus(s: StatusSources): object {
  const evidence = s.core.status(s.now);
  return {
    node: s.node,
    clockMs: Math.round(s.now),
    apiReachable: evidence.apiReachable,
    liveNodes: evidence.liveNodes,
    leaving: s.core.leaving ?? null,
    // Liveness on the LAN: each link's ring (monitors, watched, suspects), where we are deaf, and who is unreachable.
    deaf: evidence.deaf,
    liveness: evidence.lan,
    inflightWrites: evidence.inflightWrites,
    conflicted: evidence.conflicted,
    leaseWatch: { resourceVersion: s.leaseWatch.lastResourceVersion, ...s.leaseWatch.stats },
    gatewayApi: s.gatewayApi,
    services: s.core.plans.map((p) => ({
      service: p.service,
      holder: s.core.holderOf(p.service),
      answering: p.decision.answer,
      addresses: p.answer.map((a) => ({ address: a.address, interfaces: a.interfaces })),
      action: p.decision.action,
      why: p.decision.reason,
    })),
    interfaces: s.responder.status(),
    /** Links this node cannot answer on, and why: it is no candidate there (Responder.unfitLinks). */
    unfitLinks: Object.fromEntries(s.responder.unfitLinks()),
    counters: s.responder.counters(),
  };
}
