import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly leader = new Gauge({ name: 'herald_operator_leader', help: '1 while this replica is the leader', registers: [this.registry] });
  readonly allocations = new Counter({ name: 'herald_ipam_allocations_total', help: 'Addresses given to Services', registers: [this.registry] });
  readonly releases = new Counter({ name: 'herald_ipam_releases_total', help: 'Addresses taken back from Services', registers: [this.registry] });
  readonly services = new Gauge({ name: 'herald_ipam_services', help: 'Managed LoadBalancer Services by IPAMRequestSatisfied status', labelNames: ['satisfied'], registers: [this.registry] });
  readonly poolAddresses = new Gauge({ name: 'herald_ipam_pool_addresses', help: 'Addresses per pool (a /64 is approximate)', labelNames: ['pool', 'state'], registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({
    name: 'herald_ipam_reconcile_duration_seconds', help: 'Time for one reconcile of the LB-IPAM core',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({ name: 'herald_ipam_reconcile_errors_total', help: 'Reconciles that threw', registers: [this.registry] });
  readonly apiRequests = new Counter({
    name: 'herald_operator_api_requests_total', help: 'Requests to the Kubernetes API by method and status code (error: no response)',
    labelNames: ['method', 'code'], registers: [this.registry],
  });
  readonly statusWrites = new Counter({ name: 'herald_status_writes_total', help: 'Status writes by result', labelNames: ['resource', 'result'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_operator_' });
  }
}
