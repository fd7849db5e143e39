/**
 * `herald agent`: makes exactly one node answer ARP/NDP for each announced
 * address. A thin loop around the pure L2 core (src/core/l2): it watches the
 * API, keeps its own heartbeat Lease renewed, asks the core what to answer
 * and which Lease to write, and drives the responder (src/l2).
 *
 * API load does not grow with Services: each agent renews one heartbeat
 * Lease, and a Service's Lease is written only when its holder changes.
 */
import { performance } from 'node:perf_hooks';
import type { KubeConfig } from '@kubernetes/client-node';
import { compileL2Policy, type CompiledL2Policy } from '../core/l2/l2-policy.js';
import { heartbeatLeaseName, serviceLeaseName } from '../core/l2/lease-names.js';
import { liveNodes, nextExpiryAtMs, type HeartbeatObservation } from '../core/l2/liveness.js';
import { planNode, type ServicePlan } from '../core/l2/node-plan.js';
import { CandidateRanker } from '../core/l2/rendezvous.js';
import { poolRanges, selectL2, type L2Selection, type NodeAssignment } from '../core/l2/selection.js';
import type { CoordinationSettings } from '../core/l2/coordination-settings.js';
import { Responder, type AnnouncePair } from '../l2/responder.js';
import { conditionsPatch, nowRfc3339 } from '../kube/conditions.js';
import { EventRecorder } from '../kube/event-recorder.js';
import { LeaseLock, microTime, type Lease } from '../kube/lease-lock.js';
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import { Reflector } from '../kube/reflector.js';
import { applyStatus } from '../kube/server-side-apply.js';
import { KubeApiError, KubeTransport } from '../kube/transport.js';
import type { Logger } from '../log.js';
import { LinkInventory } from '../net/link-inventory.js';
import { HealthServer } from '../observability/health-server.js';
import { toPoolSpec } from '../operator/convert.js';
import {
  endpointFacts, owningGateway, toL2Node, toL2Service, toPolicySpec,
  type EndpointSliceObject, type GatewayObject, type NodeObject, type PolicyObject,
} from './convert.js';
import { AgentMetrics } from './metrics.js';
import { slimEndpointSlice, slimGateway, slimLease, slimNode, slimPolicy, slimPool, slimService } from './slim.js';

export interface AgentSettings {
  nodeName: string;
  /** Namespace of the heartbeat and per-Service Leases. */
  namespace: string;
  coordination: CoordinationSettings;
  loadBalancerClasses: string[];
  externalIPsMustBeInPool: boolean;
  healthAddress: string;
  healthPort: number;
  /** How long SIGTERM waits for handovers to be written. */
  handoverTimeoutMs: number;
}

const LEASE_KIND = 'herald.io/lease';
const UP_LINKS = 'herald.io/up-links';
const POLICIES = '/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies';
const GATEWAYS = '/apis/gateway.networking.k8s.io/v1/gateways';

interface Heartbeat extends HeartbeatObservation { rv: string; upLinks: string[] }
interface Holder { holder: string; lease: Lease }

export class Agent {
  readonly metrics = new AgentMetrics();
  private readonly transport: KubeTransport;
  private readonly nodes: Reflector<NodeObject>;
  private readonly services: Reflector<ServiceObject>;
  private readonly slices: Reflector<EndpointSliceObject>;
  private readonly policies: Reflector<PolicyObject>;
  private readonly pools: Reflector<PoolObject>;
  private readonly leases: Reflector<Lease>;
  private gateways: Reflector<GatewayObject> | undefined;
  private links: LinkInventory | undefined;
  private responder: Responder | undefined;
  private readonly heartbeat: LeaseLock;
  private readonly events: EventRecorder;
  private readonly health: HealthServer;
  private readonly ranker = new CandidateRanker();

  private readonly heartbeats = new Map<string, Heartbeat>();
  private readonly holders = new Map<string, Holder>();
  private readonly compiled = new Map<string, { rv: string; policy: CompiledL2Policy }>();
  private selection: L2Selection | undefined;
  private selectionDirty = true;
  private plans: ServicePlan[] = [];
  private previous = new Map<string, readonly NodeAssignment[]>();
  private readonly inflight = new Set<string>();
  private readonly conflictsAt = new Map<string, number>();
  private lastRenewOkAt = -Infinity;
  private lastRenewFailed = false;
  private leaving: string | undefined;
  private planTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(kc: KubeConfig, private readonly settings: AgentSettings, private readonly log: Logger) {
    this.transport = new KubeTransport(kc);
    const reflector = <T extends { metadata?: object }>(path: string, name: string, transform: (raw: unknown) => T, labelSelector?: string): Reflector<T> => {
      // Backoff capped at 5 s: after an API outage an agent must see Leases again within seconds.
      return new Reflector<T>({
        transport: this.transport, path, log: log.child({ reflector: name }), backoff: { initialMs: 200, maxMs: 5000 }, transform,
        ...(labelSelector ? { labelSelector } : {}),
      });
    };
    this.nodes = reflector('/api/v1/nodes', 'nodes', slimNode);
    this.services = reflector('/api/v1/services', 'services', slimService);
    this.slices = reflector('/apis/discovery.k8s.io/v1/endpointslices', 'endpointslices', slimEndpointSlice);
    this.policies = reflector(POLICIES, 'policies', slimPolicy);
    this.pools = reflector('/apis/cilium.io/v2/ciliumloadbalancerippools', 'pools', slimPool);
    this.leases = reflector(`/apis/coordination.k8s.io/v1/namespaces/${settings.namespace}/leases`, 'leases', slimLease, LEASE_KIND);
    for (const r of [this.nodes, this.services, this.slices, this.pools] as Reflector<object>[]) {
      r.onEvent(() => { this.selectionDirty = true; this.schedulePlan(); });
    }
    this.policies.onEvent(() => { this.selectionDirty = true; this.schedulePlan(); this.syncPolicyStatus(); });
    this.leases.onEvent((e) => { this.onLease(e.type === 'deleted' ? undefined : e.object, e.object); });
    this.heartbeat = new LeaseLock({
      transport: this.transport, namespace: settings.namespace, name: heartbeatLeaseName(settings.nodeName),
      identity: settings.nodeName, leaseDurationSeconds: Math.max(1, Math.ceil(settings.coordination.heartbeatExpiryMs / 1000)),
      labels: { [LEASE_KIND]: 'heartbeat' },
      annotations: () => ({ [UP_LINKS]: this.localUpLinks().join(',') }),
      timeoutMs: settings.coordination.heartbeatExpiryMs,
    });
    this.events = new EventRecorder(this.transport, 'herald.io/agent', settings.nodeName, log);
    this.health = new HealthServer({
      address: settings.healthAddress, port: settings.healthPort, registry: this.metrics.registry,
      live: () => undefined,
      ready: () => (this.started ? undefined : 'waiting for the first lists and the link inventory'),
      json: { '/status': () => this.status() },
    });
  }

  async start(): Promise<number> {
    const port = await this.health.listen();
    this.links = await LinkInventory.start({ debounceMs: 10 });
    this.links.on('problem', (err) => { this.log.warn({ err: err.message }, 'reading links failed'); });
    this.responder = new Responder({
      links: this.links, registry: this.metrics.registry,
      burst: { rounds: this.settings.coordination.burstRounds, intervalMs: this.settings.coordination.burstIntervalMs },
    });
    this.responder.on('conflict', (e) => {
      this.log.warn(e, 'another MAC announced one of our addresses');
      this.conflictsAt.set(e.address, performance.now());
      this.schedulePlan();
    });
    this.responder.on('problem', (e) => { this.log.warn(e, 'responder problem'); });
    this.responder.on('state', (e) => { this.log.info(e, 'interface state'); });
    this.links.on('change', () => { this.selectionDirty = true; this.schedulePlan(); });
    if (await this.gatewayApiExists()) {
      this.gateways = new Reflector<GatewayObject>({
        transport: this.transport, path: GATEWAYS, log: this.log.child({ reflector: 'gateways' }), backoff: { initialMs: 200, maxMs: 5000 }, transform: slimGateway,
      });
    }
    this.gateways?.onEvent(() => { this.selectionDirty = true; this.schedulePlan(); });
    const all = this.reflectors();
    for (const r of all) r.start();
    this.renewLoop();
    await Promise.all(all.map((r) => r.waitSynced()));
    this.started = true;
    this.log.info({ node: this.settings.nodeName }, 'agent synced; announcing');
    this.syncPolicyStatus();
    this.schedulePlan(0);
    return port;
  }

  /** Graceful stop: hands every Service over, then stops answering and clears the heartbeat. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.leaving = 'shutting down';
    const deadline = performance.now() + this.settings.handoverTimeoutMs;
    this.plan();
    while (performance.now() < deadline && this.plans.some((p) => p.decision.action === 'handover' || this.inflight.has(p.service))) {
      await new Promise((r) => setTimeout(r, 10));
      this.plan();
    }
    this.stopped = true;
    clearTimeout(this.planTimer);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.heartbeatTimer);
    this.responder?.setDesired([]);
    try {
      await this.heartbeat.release();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not clear the heartbeat; it will expire');
    }
    this.responder?.close();
    this.links?.close();
    this.events.stop();
    await Promise.all(this.reflectors().map((r) => r.stop()));
    await this.health.close();
    this.transport.close();
  }

  private reflectors(): Reflector<object>[] {
    return [this.nodes, this.services, this.slices, this.policies, this.pools, this.leases, ...(this.gateways ? [this.gateways] : [])] as Reflector<object>[];
  }

  private async gatewayApiExists(): Promise<boolean> {
    try {
      await this.transport.json('/apis/gateway.networking.k8s.io/v1', { timeoutMs: 5000 });
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) this.log.warn({ err: String(err) }, 'could not tell whether the Gateway API exists; assuming not');
      return false;
    }
  }

  private localUpLinks(): string[] {
    return (this.links?.list() ?? []).filter((l) => l.up && l.kind !== 'loopback').map((l) => l.name).sort();
  }

  // ---- heartbeat -----------------------------------------------------------

  private renewLoop(): void {
    if (this.stopped || this.leaving !== undefined) return;
    const started = performance.now();
    this.heartbeat.acquireOrRenew().then((outcome) => {
      this.metrics.renewSeconds.observe((performance.now() - started) / 1000);
      if (outcome.held) {
        const wasUnreachable = !this.apiReachable();
        this.lastRenewOkAt = performance.now();
        this.lastRenewFailed = false;
        this.onLease(outcome.lease, outcome.lease);
        if (wasUnreachable) this.schedulePlan();
      } else {
        this.metrics.renewFailures.inc();
        this.lastRenewFailed = true;
        this.log.warn({ holder: outcome.holder }, 'heartbeat Lease held by someone else');
      }
    }, (err: unknown) => {
      this.metrics.renewFailures.inc();
      this.lastRenewFailed = true;
      this.log.warn({ err: String(err) }, 'heartbeat renewal failed');
      this.schedulePlan();
    }).finally(() => {
      const wait = Math.max(0, this.settings.coordination.heartbeatIntervalMs - (performance.now() - started));
      if (!this.stopped && this.leaving === undefined) this.heartbeatTimer = setTimeout(() => { this.renewLoop(); }, wait);
    });
  }

  /**
   * Whether our own heartbeat is landing. A single failed renewal already
   * counts as unreachable: another node claims our addresses only after our
   * renewals stop landing, so a foreign MAC announcing one of them while the
   * last renewal failed means we have been replaced, and we yield at once.
   */
  private apiReachable(): boolean {
    return !this.lastRenewFailed && performance.now() - this.lastRenewOkAt < this.settings.coordination.heartbeatExpiryMs;
  }

  // ---- observations ----------------------------------------------------------

  private onLease(lease: Lease | undefined, any: Lease): void {
    const name = any.metadata?.name ?? '';
    const kind = any.metadata?.labels?.[LEASE_KIND];
    const now = performance.now();
    if (kind === 'heartbeat') {
      const node = name.replace(/^herald-agent-/, '');
      if (!lease) {
        this.heartbeats.delete(node);
      } else {
        const rv = lease.metadata?.resourceVersion ?? '';
        const before = this.heartbeats.get(node);
        if (before?.rv === rv) return;
        const annotations = (lease.metadata?.annotations ?? {}) as Record<string, string>;
        const upLinks = (annotations[UP_LINKS] ?? '').split(',').filter((s) => s !== '');
        if (before && before.upLinks.join() !== upLinks.join()) this.selectionDirty = true;
        if (!before) this.selectionDirty = true;
        // Expiry counts from when we saw the change, by our clock.
        this.heartbeats.set(node, { holder: lease.spec?.holderIdentity ?? '', lastChangeSeenAtMs: now, rv, upLinks });
        // A renewal of a live node changes no decision; only arrivals and departures do.
        if (before && before.holder === (lease.spec?.holderIdentity ?? '') && now - before.lastChangeSeenAtMs < this.settings.coordination.heartbeatExpiryMs && !this.selectionDirty) {
          this.armExpiry();
          return;
        }
      }
    } else if (kind === 'service') {
      const key = serviceKeyOf(any);
      if (!key) return;
      if (!lease) this.holders.delete(key);
      else {
        const before = this.holders.get(key);
        // Never go back to an older version than one we wrote ourselves.
        if (before && Number(before.lease.metadata?.resourceVersion ?? 0) > Number(lease.metadata?.resourceVersion ?? 0)) return;
        this.holders.set(key, { holder: lease.spec?.holderIdentity ?? '', lease });
      }
    } else {
      return;
    }
    this.schedulePlan();
  }

  // ---- planning --------------------------------------------------------------

  private schedulePlan(delayMs = 2): void {
    if (!this.started || this.stopped || this.planTimer) return;
    this.planTimer = setTimeout(() => {
      this.planTimer = undefined;
      this.plan();
    }, delayMs);
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    const now = performance.now();
    const next = nextExpiryAtMs(this.heartbeats, now, this.settings.coordination);
    if (next !== undefined) this.expiryTimer = setTimeout(() => { this.plan(); }, Math.max(1, next - now + 1));
  }

  private computeSelection(): L2Selection {
    const policies: CompiledL2Policy[] = [];
    for (const p of this.policies.list()) {
      const rv = p.metadata.resourceVersion ?? '';
      let c = this.compiled.get(p.metadata.name);
      if (c?.rv !== rv) this.compiled.set(p.metadata.name, (c = { rv, policy: compileL2Policy(toPolicySpec(p)) }));
      policies.push(c.policy);
    }
    const gatewayLabels = new Map<string, Record<string, string>>();
    for (const g of this.gateways?.list() ?? []) gatewayLabels.set(`${g.metadata.namespace ?? ''}/${g.metadata.name}`, g.metadata.labels ?? {});
    const services = this.services.list().map((svc) => {
      const gw = owningGateway(svc);
      return toL2Service(svc, gw === undefined ? undefined : gatewayLabels.get(`${svc.metadata.namespace ?? ''}/${gw}`));
    });
    const nodes = this.nodes.list().map((n) => toL2Node(n,
      n.metadata.name === this.settings.nodeName ? this.localUpLinks() : this.heartbeats.get(n.metadata.name)?.upLinks ?? []));
    return selectL2({
      policies, services, nodes,
      endpoints: endpointFacts(this.slices.list()),
      poolRanges: poolRanges(this.pools.list().map(toPoolSpec)),
      options: { loadBalancerClasses: this.settings.loadBalancerClasses, externalIPsMustBeInPool: this.settings.externalIPsMustBeInPool },
    });
  }

  private plan(): void {
    if (!this.started || !this.responder) return;
    clearTimeout(this.planTimer);
    this.planTimer = undefined;
    this.metrics.plans.inc();
    if (this.selectionDirty || !this.selection) {
      this.selection = this.computeSelection();
      this.selectionDirty = false;
      this.ranker.retain(new Set(this.selection.services.keys()));
    }
    const now = performance.now();
    const conflicted = new Set<string>();
    for (const [addr, at] of this.conflictsAt) {
      if (at > this.lastRenewOkAt) conflicted.add(addr);
      else this.conflictsAt.delete(addr);
    }
    this.plans = planNode({
      self: this.settings.nodeName,
      selection: this.selection,
      holders: new Map([...this.holders].map(([k, h]) => [k, h.holder])),
      live: liveNodes(this.heartbeats, now, this.settings.coordination),
      ...(this.leaving === undefined ? {} : { leaving: this.leaving }),
      apiReachable: this.apiReachable(),
      conflicted,
      previous: this.previous,
      ranker: this.ranker,
    });
    const pairs = new Map<string, AnnouncePair>();
    const previous = new Map<string, readonly NodeAssignment[]>();
    for (const p of this.plans) {
      if (p.answer.length > 0) previous.set(p.service, p.answer);
      for (const a of p.answer) for (const i of a.interfaces) pairs.set(`${a.address}|${i}`, { address: a.address, interface: i });
      if (p.decision.action !== 'none') this.act(p);
    }
    this.previous = previous;
    this.responder.setDesired([...pairs.values()]);
    this.metrics.announced.set(new Set([...pairs.values()].map((p) => p.address)).size);
    this.armExpiry();
  }

  /** Writes the Service Lease a decision asks for: compare-and-swap on the observed version. */
  private act(plan: ServicePlan): void {
    const key = plan.service;
    if (this.inflight.has(key) || this.stopped) return;
    const { action, target = '' } = plan.decision;
    const [namespace = '', name = ''] = key.split('/');
    const leaseName = serviceLeaseName(namespace, name);
    const current = this.holders.get(key)?.lease;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.settings.namespace}/leases`;
    const now = microTime();
    const previousHolder = current?.spec?.holderIdentity ?? '';
    const spec = {
      holderIdentity: target === '' ? undefined : target,
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (target !== '' && current !== undefined ? 1 : 0),
    };
    const request = current === undefined
      ? this.transport.json<Lease>(path, {
        method: 'POST', timeoutMs: 5000,
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: leaseName, namespace: this.settings.namespace, labels: { [LEASE_KIND]: 'service' }, annotations: { 'herald.io/service': key } }, spec },
      })
      : this.transport.json<Lease>(`${path}/${leaseName}`, { method: 'PUT', timeoutMs: 5000, body: { ...current, spec } });
    this.inflight.add(key);
    request.then((written) => {
      this.metrics.ownershipChanges.inc({ action, result: 'ok' });
      this.log.info({ service: key, action, from: previousHolder, to: target, reason: plan.decision.reason }, 'Service Lease written');
      this.onLease(written, written);
      const ips = this.selection?.services.get(key)?.addresses.map((a) => a.address) ?? [];
      this.events.record(
        { apiVersion: 'v1', kind: 'Service', name, namespace, uid: this.services.get(key)?.metadata.uid },
        {
          type: 'Normal', reason: 'L2AnnouncerChanged', action: 'Announce',
          note: target === '' ? `${previousHolder} stopped announcing; no node announces it now`
            : `${target} announces ${[...new Set(ips)].join(', ') || 'the Service'} (was ${previousHolder || 'nobody'}): ${plan.decision.reason}`,
        });
    }, (err: unknown) => {
      const lost = err instanceof KubeApiError && (err.status === 409 || err.status === 404);
      this.metrics.ownershipChanges.inc({ action, result: lost ? 'conflict' : 'error' });
      if (!lost) this.log.warn({ service: key, action, err: String(err) }, 'Service Lease write failed');
    }).finally(() => {
      this.inflight.delete(key);
      this.schedulePlan(this.apiReachable() ? 2 : 250);
    });
  }

  /** Policy conditions: every agent computes the same ones; a write happens only when they differ. */
  private syncPolicyStatus(): void {
    if (!this.started) return;
    for (const p of this.policies.list()) {
      const compiled = compileL2Policy(toPolicySpec(p));
      const patch = conditionsPatch(p.status?.conditions, compiled.conditions, nowRfc3339());
      if (!patch) continue;
      applyStatus(this.transport, { path: `${POLICIES}/${p.metadata.name}`, apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy', name: p.metadata.name },
        patch, 'herald-agent').catch((err: unknown) => { this.log.warn({ policy: p.metadata.name, err: String(err) }, 'could not write policy status'); });
    }
  }

  /** What `curl <agent>/status` shows: what this node announces, where, and why. */
  status(): object {
    const now = performance.now();
    return {
      node: this.settings.nodeName,
      apiReachable: this.apiReachable(),
      liveNodes: [...liveNodes(this.heartbeats, now, this.settings.coordination)].sort(),
      leaving: this.leaving ?? null,
      services: this.plans.map((p) => ({
        service: p.service,
        holder: this.holders.get(p.service)?.holder ?? '',
        answering: p.decision.answer,
        addresses: p.answer.map((a) => ({ address: a.address, interfaces: a.interfaces })),
        action: p.decision.action,
        why: p.decision.reason,
      })),
      interfaces: this.responder?.status() ?? [],
      counters: this.responder?.counters() ?? {},
    };
  }
}

function serviceKeyOf(lease: Lease): string | undefined {
  const annotations = (lease.metadata?.annotations ?? {}) as Record<string, string>;
  return annotations['herald.io/service'];
}
