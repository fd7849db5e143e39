/**
 * `herald operator`: LB-IPAM as a thin loop around the pure core.
 *
 * Every replica watches Services and pools; only the leader writes. On
 * becoming leader it builds a fresh core, imports the addresses already in
 * Service status before allocating anything, and from then on feeds watch
 * events to the core and writes what changed. Writes are server-side applies
 * of herald's own status fields, queued per object and retried with backoff.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { IpamState } from '../core/ipam/ipam-state.js';
import type { IpamEvent, ServiceDecision } from '../core/ipam/types.js';
import { EventRecorder, type EventSubject } from '../kube/event-recorder.js';
import { LeaderElector } from '../kube/leader-elector.js';
import { LeaseLock } from '../kube/lease-lock.js';
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import { Reflector, type ReflectorEvent } from '../kube/reflector.js';
import { applyStatus } from '../kube/server-side-apply.js';
import { poolsPath, waitForPoolApiVersion, type PoolApiVersion } from '../kube/cilium-api-version.js';
import { KubeTransport } from '../kube/transport.js';
import { WriteQueue } from '../kube/write-queue.js';
import type { Logger } from '../log.js';
import { HealthServer } from '../observability/health-server.js';
import { ingressIps, toPoolSpec, toServiceSpec } from './convert.js';
import { OperatorMetrics } from './metrics.js';
import { nowRfc3339 } from '../kube/conditions.js';
import { FIELD_MANAGER, poolStatusPatch, serviceStatusPatch } from './status.js';

export interface OperatorSettings {
  /** Namespace of the leader-election Lease. */
  namespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  loadBalancerClasses: string[];
  healthAddress: string;
  healthPort: number;
  writeConcurrency: number;
  resyncMs: number;
}

/** Watch events are gathered this long into one reconcile: a burst (a re-list, a pool change) costs one pass, and nobody notices the wait. */
const RECONCILE_BATCH_MS = 20;

/** One term of leadership: a core and a write queue that die with it. */
interface Term {
  state: IpamState;
  writes: WriteQueue;
  /** Per Service: the decision last queued, until the watch shows our write landed. */
  awaiting: Map<string, { decision: string; rv?: string }>;
  reconcileScheduled: boolean;
  touched: Set<string>;
}

export class Operator {
  readonly metrics = new OperatorMetrics();
  private readonly transport: KubeTransport;
  private readonly services: Reflector<ServiceObject>;
  /** Built once discovery has found the version that serves pools (cilium.io/v2, else v2alpha1). */
  private pools: { version: PoolApiVersion; reflector: Reflector<PoolObject> } | undefined;
  private poolsStarted: Promise<Reflector<PoolObject> | undefined> = Promise.resolve(undefined);
  private readonly discovery = new AbortController();
  private readonly elector: LeaderElector;
  private readonly events: EventRecorder;
  private readonly health: HealthServer;
  private term: Term | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private termGeneration = 0;

  constructor(kc: KubeConfig, private readonly settings: OperatorSettings, private readonly log: Logger) {
    this.transport = new KubeTransport(kc);
    this.transport.observe((method, code) => { this.metrics.apiRequests.inc({ method, code }); });
    this.services = new Reflector<ServiceObject>({ transport: this.transport, path: '/api/v1/services', log: log.child({ reflector: 'services' }) });
    this.services.onEvent((e) => { this.onService(e); });
    this.events = new EventRecorder(this.transport, 'herald.io/operator', settings.identity, log);
    const leaseSeconds = Math.max(1, Math.round(settings.leaseDurationMs / 1000));
    this.elector = new LeaderElector({
      lock: new LeaseLock({
        transport: this.transport, namespace: settings.namespace, name: 'herald-operator',
        identity: settings.identity, leaseDurationSeconds: leaseSeconds,
      }),
      leaseDurationMs: settings.leaseDurationMs,
      renewDeadlineMs: settings.renewDeadlineMs,
      retryPeriodMs: settings.retryPeriodMs,
      log,
      onStartedLeading: () => { void this.lead(); },
      onStoppedLeading: () => { this.abdicate(); },
    });
    this.health = new HealthServer({
      address: settings.healthAddress, port: settings.healthPort, registry: this.metrics.registry,
      live: () => undefined,
      ready: () => (this.services.synced && this.pools?.reflector.synced ? undefined : 'waiting for the first list of Services and pools'),
    });
  }

  /** Starts watching and campaigning; resolves to the health server's port. */
  async start(): Promise<number> {
    const port = await this.health.listen();
    this.services.start();
    this.poolsStarted = this.startPools();
    this.elector.start();
    this.resyncTimer = setInterval(() => { this.resync(); }, this.settings.resyncMs);
    return port;
  }

  /** Graceful stop: hands leadership over (releases the Lease) and stops watching. */
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.elector.stop();
    this.abdicate();
    this.events.stop();
    this.discovery.abort();
    await Promise.all([this.services.stop(), this.poolsStarted.then((pools) => pools?.stop())]);
    await this.health.close();
    this.transport.close();
  }

  /** Which cilium.io version pools are read and written at, once discovered. */
  get poolApiVersion(): PoolApiVersion | undefined { return this.pools?.version; }

  /** Finds the version that serves pools (waiting while none does), then watches them there. */
  private async startPools(): Promise<Reflector<PoolObject> | undefined> {
    const version = await waitForPoolApiVersion(this.transport, this.log, this.discovery.signal);
    if (version === undefined || this.discovery.signal.aborted) return undefined;
    const reflector = new Reflector<PoolObject>({ transport: this.transport, path: poolsPath(version), log: this.log.child({ reflector: 'pools' }) });
    reflector.onEvent((e) => { this.onPool(e); });
    this.pools = { version, reflector };
    reflector.start();
    return reflector;
  }

  get isLeader(): boolean { return this.term !== undefined; }

  /** Resolves when no write is pending (for tests and benchmarks). */
  async settled(): Promise<void> {
    await this.term?.writes.idle();
  }

  private async lead(): Promise<void> {
    const generation = ++this.termGeneration;
    const pools = await this.poolsStarted;
    if (!pools) return;
    await Promise.all([this.services.waitSynced(), pools.waitSynced()]);
    if (generation !== this.termGeneration || !this.elector.isLeader) return;
    const state = new IpamState({ loadBalancerClasses: this.settings.loadBalancerClasses });
    for (const pool of pools.list()) state.upsertPool(toPoolSpec(pool));
    const services = this.services.list();
    for (const svc of services) state.upsertService(toServiceSpec(svc));
    // Addresses already in status are adopted before anything new is allocated.
    const report = state.importAssignments(services
      .map((s) => ({ namespace: s.metadata.namespace ?? 'default', name: s.metadata.name, ips: ingressIps(s) }))
      .filter((e) => e.ips.length > 0));
    for (const r of report.rejected) this.log.info(r, 'not adopting an address found in Service status');
    this.log.info({ services: services.length, pools: pools.size, poolApiVersion: `cilium.io/${this.pools?.version ?? '?'}`, adopted: report.kept.length }, 'leading: imported existing assignments');
    this.term = {
      state,
      writes: new WriteQueue(this.settings.writeConcurrency, this.log, (key, ok) => {
        this.metrics.statusWrites.inc({ resource: key.startsWith('pool/') ? 'pools' : 'services', result: ok ? 'ok' : 'error' });
      }),
      awaiting: new Map(),
      reconcileScheduled: false,
      // Everything is checked once, so stale fields of ineligible Services are cleared too.
      touched: new Set(services.map((s) => keyOf(s))),
    };
    this.metrics.leader.set(1);
    this.scheduleReconcile();
  }

  private abdicate(): void {
    this.termGeneration++;
    if (!this.term) return;
    this.term.writes.stop();
    this.term = undefined;
    this.metrics.leader.set(0);
  }

  private onService(e: ReflectorEvent<ServiceObject>): void {
    const term = this.term;
    if (!term) return;
    const key = keyOf(e.object);
    if (e.type === 'deleted') {
      term.state.deleteService(e.object.metadata.namespace ?? 'default', e.object.metadata.name);
      term.writes.forget(key);
      term.awaiting.delete(key);
    } else {
      term.state.upsertService(toServiceSpec(e.object));
      const awaited = term.awaiting.get(key);
      if (awaited?.rv !== undefined && awaited.rv === e.object.metadata.resourceVersion) term.awaiting.delete(key);
      term.touched.add(key);
    }
    this.scheduleReconcile();
  }

  private onPool(e: ReflectorEvent<PoolObject>): void {
    const term = this.term;
    if (!term) return;
    if (e.type === 'deleted') term.state.deletePool(e.object.metadata.name);
    else term.state.upsertPool(toPoolSpec(e.object));
    this.scheduleReconcile();
  }

  /** Batches a burst of watch events into one reconcile. */
  private scheduleReconcile(): void {
    const term = this.term;
    if (!term || term.reconcileScheduled) return;
    term.reconcileScheduled = true;
    setTimeout(() => {
      term.reconcileScheduled = false;
      if (this.term === term) this.reconcile(term);
    }, RECONCILE_BATCH_MS);
  }

  private reconcile(term: Term): void {
    const end = this.metrics.reconcileSeconds.startTimer();
    try {
      const result = term.state.reconcile();
      if (result.services.length + result.pools.length > 0) {
        this.log.debug({ services: result.services.length, pools: result.pools.map((p) => p.name), events: result.events.length }, 'reconciled');
      }
      for (const d of result.services) {
        term.touched.add(d.key);
        this.countAddresses(d);
      }
      for (const key of term.touched) this.syncService(term, key);
      term.touched.clear();
      for (const pool of result.pools) this.syncPool(term, pool.name);
      for (const ev of result.events) this.recordEvent(ev);
      this.updateGauges(term);
    } catch (err) {
      this.metrics.reconcileErrors.inc();
      this.log.error({ err }, 'reconcile failed');
    } finally {
      end();
    }
  }

  private readonly lastIps = new Map<string, number>();
  private readonly satisfied = new Map<string, boolean>();

  private countAddresses(d: ServiceDecision): void {
    if (d.managed) this.satisfied.set(d.key, d.condition?.status === 'True');
    else this.satisfied.delete(d.key);
    const before = this.lastIps.get(d.key) ?? 0;
    const now = d.managed ? d.ips.length : 0;
    if (now > before) this.metrics.allocations.inc(now - before);
    if (now < before) this.metrics.releases.inc(before - now);
    if (now === 0) this.lastIps.delete(d.key);
    else this.lastIps.set(d.key, now);
  }

  private updateGauges(term: Term): void {
    let yes = 0;
    for (const v of this.satisfied.values()) if (v) yes++;
    this.metrics.services.set({ satisfied: 'true' }, yes);
    this.metrics.services.set({ satisfied: 'false' }, this.satisfied.size - yes);
    for (const p of term.state.poolStatuses()) {
      this.metrics.poolAddresses.set({ pool: p.name, state: 'total' }, Number(p.total));
      this.metrics.poolAddresses.set({ pool: p.name, state: 'used' }, Number(p.used));
      this.metrics.poolAddresses.set({ pool: p.name, state: 'available' }, Number(p.available));
    }
  }

  /** Queues a status write when the stored status differs from the decision. */
  private syncService(term: Term, key: string): void {
    const svc = this.services.get(key);
    if (!svc) return;
    const decision = term.state.decision(svc.metadata.namespace ?? 'default', svc.metadata.name);
    const patch = serviceStatusPatch(svc, decision, nowRfc3339());
    if (patch === undefined) {
      term.awaiting.delete(key);
      return;
    }
    // Our own write may not have come back through the watch yet.
    const wanted = JSON.stringify(decision ?? 'clear');
    if (term.awaiting.get(key)?.decision === wanted) return;
    this.log.debug({ service: key }, 'queueing a Service status write');
    const pending = { decision: wanted } as { decision: string; rv?: string };
    term.awaiting.set(key, pending);
    const target = {
      path: `/api/v1/namespaces/${svc.metadata.namespace ?? 'default'}/services/${svc.metadata.name}`,
      apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, namespace: svc.metadata.namespace,
    };
    term.writes.put(key, async () => {
      if (this.term !== term) return;
      const written = await applyStatus<ServiceObject>(this.transport, target, patch, FIELD_MANAGER);
      pending.rv = written.metadata.resourceVersion;
      // The watch may have delivered our write before this line ran.
      if (this.services.get(key)?.metadata.resourceVersion === pending.rv && term.awaiting.get(key) === pending) term.awaiting.delete(key);
    });
  }

  private syncPool(term: Term, name: string): void {
    const pools = this.pools;
    const pool = pools?.reflector.get(name);
    const status = term.state.poolStatuses().find((p) => p.name === name);
    if (!pools || !pool || !status) return;
    const patch = poolStatusPatch(pool.status?.conditions, status.conditions, nowRfc3339());
    if (!patch) return;
    this.log.debug({ pool: name }, 'queueing a pool status write');
    const target = { path: `${poolsPath(pools.version)}/${name}`, apiVersion: `cilium.io/${pools.version}`, kind: 'CiliumLoadBalancerIPPool', name };
    term.writes.put(`pool/${name}`, async () => {
      if (this.term !== term) return;
      await applyStatus(this.transport, target, patch, FIELD_MANAGER);
    });
  }

  /** Re-checks every object against the core: repairs status someone else changed. */
  private resync(): void {
    const term = this.term;
    if (!term) return;
    for (const svc of this.services.list()) term.touched.add(keyOf(svc));
    for (const p of term.state.poolStatuses()) this.syncPool(term, p.name);
    this.scheduleReconcile();
  }

  private recordEvent(ev: IpamEvent): void {
    let subject: EventSubject;
    if (ev.object.kind === 'Service') {
      const svc = this.services.get(`${ev.object.namespace}/${ev.object.name}`);
      subject = { apiVersion: 'v1', kind: 'Service', name: ev.object.name, namespace: ev.object.namespace, uid: svc?.metadata.uid };
    } else {
      subject = {
        apiVersion: `cilium.io/${this.pools?.version ?? 'v2'}`, kind: 'CiliumLoadBalancerIPPool',
        name: ev.object.name, uid: this.pools?.reflector.get(ev.object.name)?.metadata.uid,
      };
    }
    const action = ev.reason === 'IPAllocated' ? 'Allocate' : ev.reason === 'IPReleased' ? 'Release' : 'Reconcile';
    this.events.record(subject, { type: ev.type, reason: ev.reason, action, note: ev.message });
  }
}

function keyOf(o: { metadata: { namespace?: string; name: string } }): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}
