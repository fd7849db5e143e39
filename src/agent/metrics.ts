import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly announced = new Gauge({ name: 'herald_agent_addresses_announced', help: 'Addresses this node answers for', registers: [this.registry] });
  readonly ownershipChanges = new Counter({ name: 'herald_agent_ownership_changes_total', help: 'Service Lease writes by this node', labelNames: ['action', 'result'], registers: [this.registry] });
  readonly renewSeconds = new Histogram({
    name: 'herald_agent_heartbeat_renew_seconds', help: 'Heartbeat Lease renewal latency',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry],
  });
  readonly renewFailures = new Counter({ name: 'herald_agent_heartbeat_renew_failures_total', help: 'Failed heartbeat renewals', registers: [this.registry] });
  readonly plans = new Counter({ name: 'herald_agent_plans_total', help: 'Times the agent re-planned its announcements', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_agent_' });
  }
}
