import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly announced = new Gauge({ name: 'herald_agent_addresses_announced', help: 'Addresses this node answers for', registers: [this.registry] });
  readonly ownershipChanges = new Counter({ name: 'herald_agent_ownership_changes_total', help: 'Service Lease writes by this node', labelNames: ['action', 'result'], registers: [this.registry] });
  readonly nodeLeaseWrites = new Counter({
    name: 'herald_agent_node_lease_writes_total', help: 'Writes to node Leases: our own (links changed) and others\' (unreachable marks)',
    labelNames: ['lease', 'result'], registers: [this.registry],
  });
  readonly leaseReads = new Counter({ name: 'herald_agent_lease_reads_total', help: 'Service Lease reads (a wire conflict, a lost write)', labelNames: ['result'], registers: [this.registry] });
  readonly foreignClaims = new Counter({
    name: 'herald_agent_foreign_mac_claims_total',
    // No MAC label: a forger chooses MACs, and each would be a new series.
    help: 'Reported claims of an address this node answers by a MAC that is no herald node\'s (the MAC is in the Event and the log)',
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'herald_agent_api_requests_total', help: 'Requests to the Kubernetes API by method and status code (error: no response)',
    labelNames: ['method', 'code'], registers: [this.registry],
  });
  readonly unheld = new Gauge({
    name: 'herald_agent_unheld_addresses',
    help: 'Addresses with at least one candidate node whose Service Lease names no holder, or one that is no candidate any more, as this agent sees it (every agent reports the cluster)',
    registers: [this.registry],
  });
  readonly plans = new Counter({ name: 'herald_agent_plans_total', help: 'Times the agent re-planned its announcements', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_agent_' });
  }
}
