/**
 * `herald agent`: makes exactly one node answer ARP/NDP for each announced
 * address. Wiring only: reflectors, heartbeat renewals and the responder
 * report what they observe to the pure AgentCore (src/core/l2/agent-core.ts),
 * which holds every coordination rule, and the agent carries out the plans
 * it returns. Its dependencies (API transport, clock, links, raw sockets)
 * come from outside, as the responder's do. API load does not grow with
 * Services: one heartbeat Lease per agent, and a Service's Lease is written
 * only when its holder changes.
 */
import { AgentCore, type Change, type LeaseWrite } from '../core/l2/agent-core.js';
import { staleAfterMs } from '../core/l2/api-view.js';
import { CandidateRanker } from '../core/l2/rendezvous.js';
import type { L2Selection } from '../core/l2/selection.js';
import { EventRecorder } from '../kube/event-recorder.js';
import type { Lease } from '../kube/lease-lock.js';
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import { Reflector, type ReflectorOptions } from '../kube/reflector.js';
import { Responder, type AnnouncePair } from '../l2/responder.js';
import { HealthServer } from '../observability/health-server.js';
import type { AgentOptions } from './agent-options.js';
import { announcerChanged } from './announcer-changed.js';
import { LEASE_KIND, heartbeatFacts, leaseFacts, leaseSubject, type EndpointSliceObject, type NodeObject, type PolicyObject } from './convert.js';
import { CRDS_PATH, GATEWAY_CRD, GATEWAYS_PATH, GatewayApi } from './gateway-api.js';
import { Heartbeat } from './heartbeat.js';
import { AgentMetrics } from './metrics.js';
import { POLICIES_PATH, syncPolicyStatus } from './policy-status.js';
import { SelectionBuilder } from './selection-sources.js';
import { ServiceLeaseWriter } from './service-leases.js';
import { agentStatus } from './status.js';
import { slimEndpointSlice, slimGateway, slimLease, slimNode, slimPolicy, slimPool, slimService } from './slim.js';

export type { AgentLinks, AgentOptions, AgentSettings } from './agent-options.js';

export class Agent {
  readonly metrics = new AgentMetrics();
  private readonly core: AgentCore;
  private readonly ranker = new CandidateRanker();
  private readonly nodes: Reflector<NodeObject>;
  private readonly services: Reflector<ServiceObject>;
  private readonly slices: Reflector<EndpointSliceObject>;
  private readonly policies: Reflector<PolicyObject>;
  private readonly pools: Reflector<PoolObject>;
  private readonly leases: Reflector<Lease>;
  private readonly gatewayApi: GatewayApi;
  private readonly responder: Responder;
  private readonly heartbeat: Heartbeat;
  private readonly leaseWriter: ServiceLeaseWriter;
  private readonly selections: SelectionBuilder;
  private readonly events: EventRecorder;
  private readonly health: HealthServer;
  private readonly onLinks = (): void => { this.changed('selection'); };
  private selection: L2Selection | undefined;
  private selectionDirty = true;
  private viewCurrent = false;
  private planTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  /** When wakeTimer fires (monotonic ms). */
  private wakeAtMs: number | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly o: AgentOptions) {
    const { transport, settings, log } = o;
    this.core = new AgentCore({ self: settings.nodeName, settings: settings.coordination, ranker: this.ranker });
    // Every reflector is built here. Backoff capped at 5 s: after an API outage an agent must see Leases again within seconds.
    const reflector = <T extends { metadata?: object }>(path: string, name: string, extra: Partial<ReflectorOptions<T>> = {}): Reflector<T> =>
      new Reflector<T>({ transport, path, log: log.child({ reflector: name }), backoff: { initialMs: 200, maxMs: 5000 }, ...extra });
    // Each kind is cached slimmed to the fields the agent reads (slim.ts).
    this.nodes = reflector('/api/v1/nodes', 'nodes', { transform: slimNode });
    this.services = reflector('/api/v1/services', 'services', { transform: slimService });
    this.slices = reflector('/apis/discovery.k8s.io/v1/endpointslices', 'endpointslices', { transform: slimEndpointSlice });
    this.policies = reflector(POLICIES_PATH, 'policies', { transform: slimPolicy });
    this.pools = reflector('/apis/cilium.io/v2/ciliumloadbalancerippools', 'pools', { transform: slimPool });
    this.leases = reflector(`/apis/coordination.k8s.io/v1/namespaces/${settings.namespace}/leases`, 'leases', { labelSelector: LEASE_KIND, transform: slimLease });
    this.gatewayApi = new GatewayApi({
      crds: reflector(CRDS_PATH, 'gateway-crd', { fieldSelector: `metadata.name=${GATEWAY_CRD}` }),
      gateways: () => reflector(GATEWAYS_PATH, 'gateways', { transform: slimGateway }),
      onChange: () => { this.changed('selection'); }, log,
    });
    for (const r of [this.nodes, this.services, this.slices, this.pools] as Reflector<object>[]) r.onEvent(() => { this.changed('selection'); });
    this.policies.onEvent(() => { this.changed('selection'); this.syncPolicies(); });
    this.leases.onEvent((e) => { this.onLease(e.type === 'deleted' ? undefined : e.object, e.object); });
    this.leaseWriter = new ServiceLeaseWriter({ transport, namespace: settings.namespace, cached: (key) => this.leases.get(key) });
    this.selections = new SelectionBuilder({ loadBalancerClasses: settings.loadBalancerClasses, externalIPsMustBeInPool: settings.externalIPsMustBeInPool });
    this.heartbeat = new Heartbeat({
      transport, namespace: settings.namespace, node: settings.nodeName, settings: settings.coordination, clock: o.clock,
      upLinks: () => this.localUpLinks(), ready: () => this.core.ready(this.o.clock()), metrics: this.metrics, log,
      started: (now) => { this.core.renewalStarted(now); this.changed('none'); },
      succeeded: (rv, now) => { this.changed(this.core.renewalSucceeded(rv, now)); },
      failed: (now) => { this.changed(this.core.renewalFailed(now)); },
    });
    this.responder = new Responder({
      links: o.links, registry: this.metrics.registry, ...(o.openSocket ? { open: o.openSocket } : {}),
      burst: { rounds: settings.coordination.burstRounds, intervalMs: settings.coordination.burstIntervalMs },
    });
    this.responder.on('conflict', (e) => {
      log.warn(e, 'another MAC announced one of our addresses');
      this.changed(this.core.conflict(e.address, o.clock()));
    });
    this.responder.on('problem', (e) => { log.warn(e, 'responder problem'); });
    this.responder.on('state', (e) => { log.info(e, 'interface state'); });
    o.links.on('change', this.onLinks);
    this.events = new EventRecorder(transport, 'herald.io/agent', settings.nodeName, log);
    this.health = new HealthServer({
      address: settings.healthAddress, port: settings.healthPort, registry: this.metrics.registry,
      live: () => undefined,
      ready: () => (this.started ? undefined : 'waiting for the first lists'),
      json: { '/status': () => this.status() },
    });
  }

  async start(): Promise<number> {
    const port = await this.health.listen();
    for (const r of this.reflectors()) r.start();
    this.gatewayApi.start();
    this.heartbeat.start();
    await Promise.all([...this.reflectors().map((r) => r.waitSynced()), this.gatewayApi.waitSynced()]);
    this.started = true;
    this.o.log.info({ node: this.o.settings.nodeName }, 'agent synced; announcing');
    this.syncPolicies();
    this.changed('plan', 0);
    return port;
  }

  /** Graceful stop: hands every Service over, then stops answering and clears the heartbeat. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.core.leave('shutting down');
    // As before leaving: no renewals while handing over; the release below ends the heartbeat.
    const renewalsStopped = this.heartbeat.stop();
    const deadline = this.o.clock() + this.o.settings.handoverTimeoutMs;
    this.plan();
    while (this.o.clock() < deadline && (this.core.plans.some((p) => p.decision.action === 'handover') || this.core.inflightWrites > 0)) {
      await new Promise((r) => setTimeout(r, 10));
      this.plan();
    }
    this.stopped = true;
    clearTimeout(this.planTimer);
    clearTimeout(this.wakeTimer);
    this.responder.setDesired([]);
    await renewalsStopped;
    await this.heartbeat.release();
    this.o.links.off('change', this.onLinks);
    this.responder.close();
    this.events.stop();
    await Promise.all([...this.reflectors().map((r) => r.stop()), this.gatewayApi.stop()]);
    await this.health.close();
  }

  status(): object {
    const { o, core, responder, leases: leaseWatch } = this;
    return agentStatus({ node: o.settings.nodeName, now: o.clock(), core, responder, leaseWatch, gatewayApi: this.gatewayApi.installed });
  }

  private reflectors(): Reflector<object>[] {
    return [this.nodes, this.services, this.slices, this.policies, this.pools, this.leases] as Reflector<object>[];
  }

  private localUpLinks(): string[] {
    return this.o.links.list().filter((l) => l.up && l.kind !== 'loopback').map((l) => l.name).sort();
  }

  /** A herald Lease from the watch; our own heartbeat too, since its arrival is what makes our view current. */
  private onLease(lease: Lease | undefined, any: Lease): void {
    const subject = leaseSubject(any);
    const now = this.o.clock();
    if (subject?.kind === 'heartbeat') {
      this.changed(this.core.heartbeat(subject.node, lease === undefined ? undefined : heartbeatFacts(lease), now));
    } else if (subject?.kind === 'service') {
      this.leaseWriter.observed(subject.service, lease);
      this.changed(this.core.serviceLease(subject.service, lease === undefined ? undefined : leaseFacts(lease), now));
    }
  }

  /**
   * After each observation: re-plan soon when it changed something (2 ms
   * gathers a burst of events into one plan); otherwise only move the
   * wake-up, which even a renewal that changes nothing can bring forward.
   */
  private changed(change: Change, delayMs = 2): void {
    if (change === 'selection') this.selectionDirty = true;
    if (!this.started || this.stopped) return;
    if (change !== 'none') {
      this.planTimer ??= setTimeout(() => { this.plan(); }, delayMs);
      return;
    }
    // Others' renewals only push expiries later; our own renewal can bring the view's next change forward.
    const at = this.core.viewChangeAt(this.o.clock());
    if (at !== undefined && (this.wakeAtMs === undefined || at < this.wakeAtMs)) this.wakeAt(at);
  }

  /**
   * One timer for everything that happens with time alone (expiries, the view
   * going stale, a watch stall due); it plans only if the core says time
   * changed something, since a live node's renewal pushes its expiry ahead.
   */
  private wakeAt(at: number | undefined): void {
    clearTimeout(this.wakeTimer);
    this.wakeAtMs = at;
    if (at === undefined) return;
    this.wakeTimer = setTimeout(() => {
      if (this.stopped) return;
      const now = this.o.clock();
      this.explain(now, false);
      if (this.core.wake(now) !== 'none') this.plan();
      else this.wakeAt(this.core.nextWakeAt(now));
    }, Math.max(1, Math.ceil(at - this.o.clock()) + 1));
  }

  private plan(): void {
    if (!this.started || this.stopped) return;
    clearTimeout(this.planTimer);
    this.planTimer = undefined;
    this.metrics.plans.inc();
    if (this.selectionDirty || !this.selection) {
      const upLinksOf = (node: string): readonly string[] => (node === this.o.settings.nodeName ? this.localUpLinks() : this.core.upLinksOf(node));
      this.selection = this.selections.build({
        policies: this.policies.list(), services: this.services.list(), nodes: this.nodes.list(), slices: this.slices.list(),
        pools: this.pools.list(), gatewayLabels: this.gatewayApi.labels(), upLinksOf,
      });
      this.selectionDirty = false;
      this.ranker.retain(new Set(this.selection.services.keys()));
    }
    const now = this.o.clock();
    const plan = this.core.plan(this.selection, now);
    const pairs = new Map<string, AnnouncePair>();
    for (const p of plan.plans) for (const a of p.answer) for (const i of a.interfaces) pairs.set(`${a.address}|${i}`, { address: a.address, interface: i });
    this.responder.setDesired([...pairs.values()]);
    this.metrics.announced.set(new Set([...pairs.values()].map((p) => p.address)).size);
    for (const w of plan.writes) this.write(w);
    this.explain(now, plan.restartLeaseWatch);
    this.wakeAt(plan.wakeAt);
  }

  /** Logs each change of the view (current ↔ stale) and restarts a Lease watch the core finds late, with the numbers. */
  private explain(now: number, restartLeaseWatch: boolean): void {
    const st = this.core.status(now);
    if (st.view.current !== this.viewCurrent) {
      this.viewCurrent = st.view.current;
      const evidence = { ...st.view, now, liveNodes: st.liveNodes, heartbeatAgeMs: st.heartbeatAgeMs };
      this.o.log.info(evidence, st.view.current ? 'view of the API is current' : 'view of the API is stale: no node is declared dead until it is current again');
    }
    if (restartLeaseWatch) {
      const limit = staleAfterMs(this.o.settings.coordination);
      this.leases.restart(`our heartbeat renewal has not come back on the Lease watch after ${Math.round(st.view.unseenWriteMs ?? 0)} ms (limit ${limit} ms)`);
    }
  }

  /** Writes a Service Lease the core asked for, then tells the core how it went. */
  private write(w: LeaseWrite): void {
    void this.leaseWriter.write(w).then((outcome) => {
      this.metrics.ownershipChanges.inc({ action: w.action, result: outcome.result === 'lost' ? 'conflict' : outcome.result });
      if (outcome.result === 'ok') {
        const addresses = this.selection?.services.get(w.service)?.addresses.map((a) => a.address) ?? [];
        announcerChanged(w, addresses, this.services.get(w.service)?.metadata.uid, this.events, this.o.log);
      }
      if (outcome.result === 'error') this.o.log.warn({ service: w.service, action: w.action, err: outcome.message }, 'Service Lease write failed');
      const now = this.o.clock();
      // Without the API, retrying every 2 ms only adds load.
      this.changed(this.core.writeFinished(w, outcome, now), this.core.apiReachable(now) ? 2 : 250);
    });
  }

  private syncPolicies(): void {
    if (this.started) syncPolicyStatus(this.o.transport, this.policies.list(), (p) => this.selections.compile(p), this.o.log);
  }
}
