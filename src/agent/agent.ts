/**
 * `herald agent`: makes exactly one node answer ARP/NDP for each announced
 * address. Wiring only: reflectors, liveness frames and the responder report
 * what they observe to the pure AgentCore (src/core/l2/agent-core.ts), which
 * holds every coordination rule, and the agent carries out the plans and
 * frames it returns. Its dependencies (API transport, clock, links, raw
 * sockets) come from outside, as the responder's do. Nothing is written to
 * the API while nothing changes: liveness is judged on the LAN, our node
 * Lease is written when our links change, a Service's Lease when its holder
 * changes, and a node's unreachable mark when its monitors condemn or clear it.
 */
import { AgentCore, type Change, type LanOutput, type LeaseWrite } from '../core/l2/agent-core.js';
import { tickIntervalMs, type MarkWrite } from '../core/l2/lan-liveness.js';
import { nodeLeaseName, serviceLeaseName } from '../core/l2/lease-names.js';
import { CandidateRanker } from '../core/l2/rendezvous.js';
import { restartDecision } from '../core/l2/restart.js';
import type { L2Selection } from '../core/l2/selection.js';
import { EventRecorder } from '../kube/event-recorder.js';
import type { Lease } from '../kube/lease-lock.js';
import { poolsPath, waitForPoolApiVersion, type PoolApiVersion } from '../kube/cilium-api-version.js';
import { KubeApiError } from '../kube/transport.js';
import { LivenessLinks } from '../l2/liveness-links.js';
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import { Reflector, type ReflectorOptions } from '../kube/reflector.js';
import { Responder, type AnnouncePair } from '../l2/responder.js';
import { HealthServer } from '../observability/health-server.js';
import type { AgentOptions } from './agent-options.js';
import { announcerChanged } from './announcer-changed.js';
import { LEASE_KIND, RESTARTING_UNTIL, leaseFacts, leaseSubject, nodeLeaseFacts, ownNodeFacts, restartingUntil, type EndpointSliceObject, type NodeObject, type PolicyObject } from './convert.js';
import { CRDS_PATH, GATEWAY_CRD, GATEWAYS_PATH, GatewayApi } from './gateway-api.js';
import { AgentMetrics } from './metrics.js';
import { NodeLeaseWriter } from './node-lease.js';
import { POLICIES_PATH, syncPolicyStatus } from './policy-status.js';
import { SelectionBuilder } from './selection-sources.js';
import { ServiceLeaseWriter } from './service-leases.js';
import { agentStatus } from './status.js';
import { PingOptIn } from './answer-ping.js';
import { AnswerLog } from './answer-log.js';
import { NotAnnouncedReport } from './not-announced.js';
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
  /** Built by start() at the version discovery finds serving pools (cilium.io/v2, else v2alpha1). */
  private pools: Reflector<PoolObject> | undefined;
  private poolApiVersion: PoolApiVersion | undefined;
  private readonly discovery = new AbortController();
  private readonly poolsReflector: (version: PoolApiVersion) => Reflector<PoolObject>;
  private readonly leases: Reflector<Lease>;
  private readonly gatewayApi: GatewayApi;
  private readonly responder: Responder;
  private readonly nodeLease: NodeLeaseWriter;
  private readonly liveness: LivenessLinks;
  private tickTimer: NodeJS.Timeout | undefined;
  private tickDueAt = Infinity;
  private readonly leaseWriter: ServiceLeaseWriter;
  private readonly selections: SelectionBuilder;
  private readonly events: EventRecorder;
  private readonly notAnnounced: NotAnnouncedReport;
  private readonly ping: PingOptIn;
  /** Replies and gratuitous rounds per (address, interface), for /status (`herald explain`). */
  private readonly answers = new AnswerLog();
  private readonly health: HealthServer;
  private readonly onLinks = (): void => { this.changed('selection'); if (this.started && !this.stopped) this.syncLinks(); };
  private selection: L2Selection | undefined;
  private selectionDirty = true;
  private planTimer: NodeJS.Timeout | undefined;
  private livenessLinks = '';
  private started = false;
  private stopped = false;
  /** Our node Lease has named us in the API since we started: peers count us live. */
  private published = false;
  /** By node: a malformed restart deadline we already said we ignore. */
  private readonly badDeadlines = new Map<string, string>();

  constructor(private readonly o: AgentOptions) {
    const { transport, settings, log } = o;
    transport.observe((method, code) => { this.metrics.apiRequests.inc({ method, code }); });
    this.core = new AgentCore({ self: settings.nodeName, settings: settings.coordination, ranker: this.ranker });
    // Every reflector is built here. Backoff capped at 5 s: after an API outage an agent must see Leases again within seconds.
    const reflector = <T extends { metadata?: object }>(path: string, name: string, extra: Partial<ReflectorOptions<T>> = {}): Reflector<T> =>
      new Reflector<T>({ transport, path, log: log.child({ reflector: name }), backoff: { initialMs: 200, maxMs: 5000 }, ...extra });
    // Each kind is cached slimmed to the fields the agent reads (slim.ts).
    this.nodes = reflector('/api/v1/nodes', 'nodes', { transform: slimNode });
    this.services = reflector('/api/v1/services', 'services', { transform: slimService });
    this.slices = reflector('/apis/discovery.k8s.io/v1/endpointslices', 'endpointslices', { transform: slimEndpointSlice });
    this.policies = reflector(POLICIES_PATH, 'policies', { transform: slimPolicy });
    this.poolsReflector = (version) => reflector(poolsPath(version), 'pools', { transform: slimPool });
    this.leases = reflector(`/apis/coordination.k8s.io/v1/namespaces/${settings.namespace}/leases`, 'leases', { labelSelector: LEASE_KIND, transform: slimLease });
    this.gatewayApi = new GatewayApi({
      crds: reflector(CRDS_PATH, 'gateway-crd', { fieldSelector: `metadata.name=${GATEWAY_CRD}` }),
      gateways: () => reflector(GATEWAYS_PATH, 'gateways', { transform: slimGateway }),
      onChange: () => { this.changed('selection'); }, log,
    });
    for (const r of [this.nodes, this.services, this.slices] as Reflector<object>[]) r.onEvent(() => { this.changed('selection'); });
    this.policies.onEvent(() => { this.changed('selection'); this.syncPolicies(); if (this.started) this.syncLinks(); });
    this.leases.onEvent((e) => { this.onLease(e.type === 'deleted' ? undefined : e.object, e.object); });
    this.leaseWriter = new ServiceLeaseWriter({ transport, namespace: settings.namespace, cached: (key) => this.leases.get(key) });
    this.selections = new SelectionBuilder({ loadBalancerClasses: settings.loadBalancerClasses, externalIPsMustBeInPool: settings.externalIPsMustBeInPool });
    this.nodeLease = new NodeLeaseWriter({
      transport, namespace: settings.namespace, node: settings.nodeName, metrics: this.metrics, log,
      apiAnswered: (ok) => { this.changed(this.core.apiState(ok)); },
    });
    this.liveness = new LivenessLinks({
      links: o.links, nodeName: settings.nodeName, registry: this.metrics.registry, ...(o.openSocket ? { open: o.openSocket } : {}),
    });
    this.liveness.on('frame', (r) => {
      this.lanOutput(this.core.lanReceived(r, this.o.clock()));
      // A frame may start a deadline (a probe-req, a suspicion's answer): tick sooner.
      if (this.core.lan.busy && this.tickDueAt - this.o.clock() > tickIntervalMs(this.o.settings.coordination)) this.scheduleTick();
    });
    this.liveness.on('problem', (e) => { log.warn(e, 'liveness problem'); });
    this.liveness.on('state', (e) => { log.info(e, 'liveness link state'); });
    this.responder = new Responder({
      links: o.links, registry: this.metrics.registry, ...(o.openSocket ? { open: o.openSocket } : {}),
      burst: { rounds: settings.coordination.burstRounds, intervalMs: settings.coordination.burstIntervalMs },
      foreignMac: (mac) => !this.core.isHeraldMac(mac),
    });
    // Reported at most once a second per address and MAC (the responder counts the rest).
    this.responder.on('conflict', (e) => {
      log.warn(e, e.foreign ? 'a MAC that is no herald node\'s announced one of our addresses; re-announcing' : 'another MAC announced one of our addresses');
      if (e.foreign) this.foreignClaim(e);
      this.changed(this.core.conflict(e.address, o.clock()));
    });
    this.responder.on('reply', (e) => { this.answers.reply(e); });
    this.responder.on('gratuitous', (e) => { this.answers.gratuitous(e); });
    this.responder.on('problem', (e) => { log.warn(e, 'responder problem'); });
    this.responder.on('state', (e) => { log.info(e, 'interface state'); });
    this.responder.on('recovered', (e) => { log.info(e, 'answering again after a socket error; re-announced'); });
    // A link we cannot answer on leaves our up-links (node Lease, selection) until we can.
    this.responder.on('fitness', (e) => {
      (e.fit ? log.info : log.warn).call(log, e, e.fit ? 'this node can answer on the link again' : 'this node cannot answer on the link: not a candidate there');
      this.onLinks();
    });
    o.links.on('change', this.onLinks);
    this.events = new EventRecorder(transport, 'herald.io/agent', settings.nodeName, log);
    this.notAnnounced = new NotAnnouncedReport(this.events, log);
    this.ping = new PingOptIn(this.events, log);
    this.health = new HealthServer({
      address: settings.healthAddress, port: settings.healthPort, registry: this.metrics.registry,
      live: () => undefined,
      ready: () => this.readiness(),
      json: { '/status': () => this.status() },
    });
  }

  async start(): Promise<number> {
    const port = await this.health.listen();
    const version = await waitForPoolApiVersion(this.o.transport, this.o.log, this.discovery.signal);
    if (version === undefined || this.stopped || this.discovery.signal.aborted) return port;
    this.poolApiVersion = version;
    this.pools = this.poolsReflector(version);
    this.pools.onEvent(() => { this.changed('selection'); });
    for (const r of this.reflectors()) r.start();
    this.gatewayApi.start();
    await Promise.all([...this.reflectors().map((r) => r.waitSynced()), this.gatewayApi.waitSynced()]);
    this.started = true;
    this.o.log.info({ node: this.o.settings.nodeName }, 'agent synced; announcing');
    this.syncPolicies();
    this.syncLinks();
    this.scheduleTick();
    this.changed('plan', 0);
    return port;
  }

  /**
   * SIGTERM. While our Node stays (a rolling update of the agents), restart in place: keep
   * every Lease, go on answering until we exit, and tell our rings (pause frames) and the API
   * (our node Lease) not to suspect us for --restart-grace. When the Node leaves (drain,
   * shutdown, deletion) or the grace is 0: hand every Service over, then stop answering and
   * clear our node Lease. restartDecision (src/core/l2/restart.ts) is the rule.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const own = this.started ? ownNodeFacts(await this.ownNodeNow()) : undefined;
    const decision = restartDecision(this.o.settings.restartGraceMs, own);
    this.o.log.info({ mode: decision.mode, reason: decision.reason }, decision.mode === 'restart' ? 'stopping: restarting in place' : 'stopping: handing Services over');
    if (decision.mode === 'restart') {
      await this.restartInPlace(decision.graceMs);
      return;
    }
    this.core.leave('shutting down');
    const deadline = this.o.clock() + this.o.settings.handoverTimeoutMs;
    this.plan();
    while (this.o.clock() < deadline && (this.core.plans.some((p) => p.decision.action === 'handover') || this.core.inflightWrites > 0)) {
      await new Promise((r) => setTimeout(r, 10));
      this.plan();
    }
    this.stopped = true;
    clearTimeout(this.planTimer);
    clearTimeout(this.tickTimer);
    this.responder.setDesired([]);
    await this.nodeLease.release();
    await this.close();
  }

  /**
   * Our Node as the API has it now, else as our watch last showed it. The kubelet marks a
   * node that shuts down NotReady just before it stops the pods, so the SIGTERM can come
   * before the watch event does: one read settles handover or restart. A read that fails or
   * takes over a second (the API away) leaves the watch's copy to decide.
   */
  private async ownNodeNow(): Promise<NodeObject | undefined> {
    const name = this.o.settings.nodeName;
    try {
      return slimNode(await this.o.transport.json<unknown>(`/api/v1/nodes/${encodeURIComponent(name)}`, { timeoutMs: 1000 }));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      this.o.log.warn({ err }, 'reading our Node on SIGTERM failed; deciding from the watch');
      return this.nodes.get(name);
    }
  }

  /**
   * Restart in place: the pause frames at once (and twice more, 20 ms apart, against loss), the
   * deadline on our node Lease (bounded by the handover timeout), then exit without releasing
   * anything. We answer ARP/NDP until the sockets close; the new agent finds its Leases.
   */
  private async restartInPlace(graceMs: number): Promise<void> {
    const frames = this.core.restartInPlace(graceMs);
    clearTimeout(this.tickTimer);
    const sendAll = (): void => { for (const f of frames) this.liveness.send(f); };
    sendAll();
    const until = new Date(Date.now() + graceMs).toISOString();
    const written = this.nodeLease.restarting(until);
    const timeout = new Promise<false>((r) => { setTimeout(() => { r(false); }, Math.min(this.o.settings.handoverTimeoutMs, graceMs)).unref(); });
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      sendAll();
    }
    const ok = await Promise.race([written, timeout]);
    this.o.log.info({ until, leaseWritten: ok }, ok ? 'restarting in place: peers wait for the new agent until the deadline' : 'restarting in place: the deadline could not be written to our node Lease; peers rely on the pause frames');
    this.stopped = true;
    clearTimeout(this.planTimer);
    await this.close();
  }

  private async close(): Promise<void> {
    this.discovery.abort();
    this.o.links.off('change', this.onLinks);
    this.responder.close();
    this.liveness.close();
    this.events.stop();
    await Promise.all([...this.reflectors().map((r) => r.stop()), this.gatewayApi.stop()]);
    await this.health.close();
  }

  /**
   * Ready once synced and our node Lease names us, as our Lease watch shows
   * it: other agents count a node live, a candidate for the Services they
   * hand over, from that Lease, which our predecessor cleared when it left.
   * A rolling update waits for this before it stops the next node's agent,
   * whose Services can then come here.
   */
  private readiness(): string | undefined {
    if (!this.started) return 'waiting for the first lists';
    if (!this.published) {
      const own = this.leases.get(`${this.o.settings.namespace}/${nodeLeaseName(this.o.settings.nodeName)}`);
      if (own?.spec?.holderIdentity !== this.o.settings.nodeName) return 'waiting for our node Lease to name us (other agents count a node live by it)';
      this.published = true;
    }
    return undefined;
  }

  status(): object {
    const { o, core, responder, leases: leaseWatch } = this;
    const status = agentStatus({ node: o.settings.nodeName, now: o.clock(), core, responder, leaseWatch, gatewayApi: this.gatewayApi.installed });
    // Each link's MAC, and per announced (address, interface) the replies sent and the last gratuitous round.
    const macs = Object.fromEntries(o.links.list().flatMap((l) => (l.mac === undefined ? [] : [[l.name, l.mac]])));
    return {
      ...status, notAnnounced: this.notAnnounced.current, poolApiVersion: this.poolApiVersion === undefined ? null : `cilium.io/${this.poolApiVersion}`,
      macs, answers: this.answers.list(),
    };
  }

  private reflectors(): Reflector<object>[] {
    const all: (Reflector<object> | undefined)[] = [this.nodes, this.services, this.slices, this.policies, this.pools, this.leases];
    return all.filter((r): r is Reflector<object> => r !== undefined);
  }

  /** Up, not loopback, and not a link where our responder cannot answer (Responder.unfitLinks). */
  private localUpLinks(): string[] {
    const unfit = this.responder.unfitLinks();
    return this.o.links.list().filter((l) => l.up && l.kind !== 'loopback' && !unfit.has(l.name)).map((l) => l.name).sort();
  }

  /** A foreign MAC claimed an address we answer (the responder re-announced it): counted, and an Event on its Service. */
  private foreignClaim(e: { interface: string; address: string; mac: string }): void {
    this.metrics.foreignClaims.inc();
    const service = this.core.serviceOf(e.address);
    if (service === undefined) return;
    const [namespace = '', name = ''] = service.split('/');
    const uid = this.services.get(service)?.metadata.uid;
    // The note names the MAC, so the recorder writes one Event per MAC and address per ten minutes.
    this.events.record({ apiVersion: 'v1', kind: 'Service', name, namespace, ...(uid === undefined ? {} : { uid }) }, {
      type: 'Warning', reason: 'WireConflict', action: 'Reannounce',
      note: `MAC ${e.mac}, which is no herald node's, announced ${e.address} on ${e.interface}; ` +
        `${this.o.settings.nodeName} holds it and re-announced it (ARP spoofing, or a host configured with this address)`,
    });
  }

  /**
   * The links liveness runs on: up, with a MAC, and matched by some policy's
   * interface list. Our node Lease publishes them with their MACs, so that
   * the rings (and selection) know them; written only when they change.
   */
  private syncLinks(): void {
    const policies = this.policies.list().map((p) => this.selections.compile(p)).filter((p) => p.ok);
    const macs: Record<string, string> = {};
    for (const l of this.o.links.list()) {
      if (!l.up || l.kind === 'loopback' || l.mac === undefined) continue;
      if (policies.some((p) => p.allLinks || p.matchesLink(l.name))) macs[l.name] = l.mac;
    }
    const names = Object.keys(macs).sort();
    if (names.join(',') !== this.livenessLinks) {
      this.livenessLinks = names.join(',');
      this.liveness.setLinks(names);
    }
    this.nodeLease.sync({ upLinks: this.localUpLinks(), macs });
  }

  /** A herald Lease from the watch. */
  private onLease(lease: Lease | undefined, any: Lease): void {
    const subject = leaseSubject(any);
    if (subject?.kind === 'node') {
      this.changed(this.core.nodeLease(subject.node, lease === undefined ? undefined : { ...nodeLeaseFacts(lease), ...this.restarting(subject.node, lease) }));
    } else if (subject?.kind === 'service') {
      this.leaseWriter.observed(subject.service, lease);
      this.changed(this.core.serviceLease(subject.service, lease === undefined ? undefined : leaseFacts(lease)));
    }
  }

  /**
   * A node Lease's restart deadline in our monotonic clock, its text as its identity. A
   * malformed one (written by hand) is ignored, and said so once per value.
   */
  private restarting(node: string, lease: Lease): { restarting: { until: number; token: string } } | undefined {
    const r = restartingUntil(lease);
    if (r === undefined) return undefined;
    if (r.wallMs === 'malformed') {
      if (this.badDeadlines.get(node) !== r.text) {
        this.badDeadlines.set(node, r.text);
        this.o.log.warn({ node, annotation: RESTARTING_UNTIL, value: r.text }, 'ignoring a restart deadline that is not an RFC 3339 date-time on a node Lease');
      }
      return undefined;
    }
    return { restarting: { until: this.o.clock() + (r.wallMs - Date.now()), token: r.text } };
  }

  /** The liveness tick: every hello interval, every half interval while a deadline is pending. */
  private scheduleTick(): void {
    clearTimeout(this.tickTimer);
    if (this.stopped || this.core.restarting) return;
    const c = this.o.settings.coordination;
    const ms = this.core.lan.busy ? tickIntervalMs(c) : c.helloIntervalMs;
    this.tickDueAt = this.o.clock() + ms;
    this.tickTimer = setTimeout(() => {
      this.lanOutput(this.core.lanTick(this.o.clock()));
      this.scheduleTick();
    }, ms);
  }

  /** Frames to send and marks to write, from a tick or a received frame. */
  private lanOutput(out: LanOutput): void {
    // Restarting in place: nothing more leaves (an ack would tell the ring we are back).
    if (this.stopped || this.core.restarting) return;
    for (const s of out.sends) this.liveness.send(s);
    for (const m of out.marks) this.mark(m);
    this.changed(out.change);
  }

  private mark(m: MarkWrite): void {
    void this.nodeLease.mark(m).then(() => { this.core.lan.markWriteFinished(m); });
  }

  /** After each observation: re-plan soon when it changed something (2 ms gathers a burst of events into one plan). */
  private changed(change: Change, delayMs = 2): void {
    if (change === 'selection') this.selectionDirty = true;
    if (!this.started || this.stopped || change === 'none') return;
    this.planTimer ??= setTimeout(() => { this.plan(); }, delayMs);
  }

  private plan(): void {
    if (!this.started || this.stopped) return;
    clearTimeout(this.planTimer);
    this.planTimer = undefined;
    this.metrics.plans.inc();
    if (this.selectionDirty || !this.selection) {
      const now = this.o.clock();
      const upLinksOf = (node: string): readonly string[] => (node === this.o.settings.nodeName ? this.core.selfUpLinks(this.localUpLinks(), now) : this.core.upLinksOf(node));
      this.selection = this.selections.build({
        policies: this.policies.list(), services: this.services.list(), nodes: this.nodes.list(), slices: this.slices.list(),
        pools: this.pools?.list() ?? [], gatewayLabels: this.gatewayApi.labels(), upLinksOf,
      });
      this.selectionDirty = false;
      this.ranker.retain(new Set(this.selection.services.keys()));
      this.notAnnounced.update(this.selection, (key) => this.services.get(key)?.metadata.uid);
      // Who watches whom follows the policies and node labels (one ring per link and group a policy selects).
      const nodes = this.nodes.list();
      this.core.ringScope(this.policies.list().map((p) => this.selections.compile(p)), new Map(nodes.map((n) => [n.metadata.name, n.metadata.labels ?? {}])));
    }
    const plan = this.core.plan(this.selection, this.o.clock());
    const pairs = new Map<string, AnnouncePair>();
    for (const p of plan.plans) {
      if (p.answer.length === 0) continue;
      const echo = this.ping.echo(p.service, this.services.get(p.service));
      for (const a of p.answer) for (const i of a.interfaces) pairs.set(`${a.address}|${i}`, { address: a.address, interface: i, echo });
    }
    this.responder.setDesired([...pairs.values()]);
    this.answers.retain(pairs.values());
    this.metrics.announced.set(new Set([...pairs.values()].map((p) => p.address)).size);
    // An address that some node could answer but nobody holds, or whose holder no longer can (dead, cut off,
    // ineligible) whether or not another node could. Not: an address no node may announce and nobody holds
    // (no policy selects it, or externalTrafficPolicy: Local with no endpoint), which is as the user asked.
    let unheld = 0;
    for (const [key, c] of this.selection.services) {
      if (c.skipped !== undefined) continue;
      const holder = this.core.holderOf(key);
      unheld += c.addresses.filter((a) => !a.nodes.has(holder) && (a.nodes.size > 0 || holder !== '')).length;
    }
    this.metrics.unheld.set(unheld);
    for (const w of plan.writes) this.write(w);
    for (const k of plan.reads) this.read(k);
  }

  /** A fresh read of a Service Lease the core asked for (a wire conflict, a lost write): the watch may be behind. */
  private read(service: string): void {
    const [namespace = '', name = ''] = service.split('/');
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.o.settings.namespace}/leases/${serviceLeaseName(namespace, name)}`;
    void this.o.transport.json<Lease>(path, { timeoutMs: 2000 }).then(
      (lease) => {
        this.metrics.leaseReads.inc({ result: 'ok' });
        this.changed(this.core.leaseRead(service, { result: 'ok', lease: leaseFacts(lease) }));
      },
      (err: unknown) => {
        if (err instanceof KubeApiError && err.status === 404) {
          this.metrics.leaseReads.inc({ result: 'ok' });
          this.changed(this.core.leaseRead(service, { result: 'ok', lease: undefined }));
          return;
        }
        this.metrics.leaseReads.inc({ result: 'error' });
        this.o.log.warn({ service, err }, 'Service Lease read failed: yielding the addresses another MAC announced');
        this.changed(this.core.leaseRead(service, { result: 'error', message: String(err) }));
      },
    );
  }

  /** Writes a Service Lease the core asked for, then tells the core how it went. */
  private write(w: LeaseWrite): void {
    void this.leaseWriter.write(w).then((outcome) => {
      this.metrics.ownershipChanges.inc({ action: w.action, result: outcome.result === 'lost' ? 'conflict' : outcome.result });
      if (outcome.result === 'ok') {
        const addresses = this.selection?.services.get(w.service)?.addresses.map((a) => a.address) ?? [];
        announcerChanged(w, addresses, this.services.get(w.service)?.metadata.uid, this.events, this.o.log);
      }
      if (outcome.result === 'error') this.o.log.warn({ service: w.service, action: w.action, err: outcome.err }, 'Service Lease write failed');
      if (outcome.result === 'denied') this.o.log.info({ service: w.service, action: w.action, holder: w.previousHolder, message: outcome.message }, 'Service Lease write refused by the admission policy; claiming again once the holder\'s node Lease shows its unreachable mark');
      // Without the API, retrying every 2 ms only adds load.
      this.changed(this.core.writeFinished(w, outcome), this.core.apiReachable() ? 2 : 250);
    });
  }

  private syncPolicies(): void {
    if (this.started) syncPolicyStatus(this.o.transport, this.policies.list(), (p) => this.selections.compile(p), this.o.log, this.events);
  }
}
