/**
 * One simulated cluster run: N agents (each the real AgentCore and L2
 * selection) on a simulated API and LAN, a fault schedule applied to them,
 * the invariants checked every 50 ms of simulated time, and the costs
 * counted. Deterministic: the schedule (and its seed) is the whole input.
 */
import type { CoordinationSettings } from '../src/core/l2/coordination-settings.js';
import { DEFAULT_COORDINATION, failoverBoundMs } from '../src/core/l2/coordination-settings.js';
import { CLAIM_PATIENCE_MS, CONFLICT_READ_PATIENCE_MS, CONFLICT_REREAD_MS } from '../src/core/l2/agent-core.js';
import { tickIntervalMs } from '../src/core/l2/lan-liveness.js';
import { compileL2Policy } from '../src/core/l2/l2-policy.js';
import { CandidateRanker } from '../src/core/l2/rendezvous.js';
import { selectL2, type L2Selection, type L2ServiceView } from '../src/core/l2/selection.js';
import { SimClock } from './clock.js';
import { RESTART_GRACE_MS, describeFault, nodeNames, type Fault, type Schedule } from './faults.js';
import { InvariantChecker, type Bounds, type Gap, type Violation } from './invariants.js';
import { Rng } from './rng.js';
import { SimAgent, LINK, nodeLeaseName, serviceLeaseName, type SelectionSource } from './sim-agent.js';
import { SimApi } from './sim-api.js';
import { SimLan, macOf } from './sim-lan.js';

export interface RunOptions {
  readonly settings?: CoordinationSettings;
  /** Keep a trace of faults, Lease writes and answering changes (for a failing seed). */
  readonly trace?: boolean;
  /** Check the invariants (off for the scale runs, which measure costs). */
  readonly check?: boolean;
  /** Start from agreement: node and Service Leases exist, each Service held by its best-ranked node. */
  readonly seeded?: boolean;
  /** Called once everything is built, before time starts: a measurement attaches its listeners here. */
  readonly onStart?: (world: { clock: SimClock; api: SimApi; lan: SimLan; agents: ReadonlyMap<string, SimAgent> }) => void;
}

export interface RunResult {
  readonly schedule: Schedule;
  readonly violations: readonly Violation[];
  readonly gaps: readonly Gap[];
  readonly darkPeriodsMs: readonly number[];
  readonly dualPeriodsMs: readonly number[];
  readonly trace: readonly string[];
  readonly api: SimApi;
  readonly lan: SimLan;
  readonly clock: SimClock;
  readonly agents: ReadonlyMap<string, SimAgent>;
}

/** The bounds the checker holds a run to, from the settings and the schedule's worst latencies. */
export function boundsFor(s: CoordinationSettings, schedule: Pick<Schedule, 'latencyMs' | 'watchLagMs'>): Bounds {
  const lat = schedule.latencyMs[1];
  const lag = schedule.watchLagMs[1];
  const darkMs = failoverBoundMs(s, lat) + s.confirmTimeoutMs + 2 * lat + lag + 100;
  return {
    // The successor's burst reaches the stale answerer within (rounds − 1) × interval; it yields on the first frame it hears,
    // once its Lease read answers, or CONFLICT_READ_PATIENCE_MS (checked at a tick) after it asked, if the API does not.
    dualMs: (s.burstRounds - 1) * s.burstIntervalMs + Math.max(2 * lat, CONFLICT_READ_PATIENCE_MS + tickIntervalMs(s)) + lag + 100,
    // Crash failover (silence, a helper's probe, the claim), plus a ring of two's longer wait, the verdict
    // reaching the successor through the API when the broadcast is lost, and the plan's own delays.
    darkMs,
    // A node back with its mark: heard (or answered) without a break for clearAfterMs, the clear
    // written (two tries at a lost frame's cost) and seen by the watches.
    markClearMs: s.clearAfterMs + 2 * s.helloIntervalMs + 2 * lat + lag,
    // A holder back on the API after a conflict's read failed: its next read, then a failover's plan delays.
    holderBackMs: CONFLICT_REREAD_MS + darkMs,
    claimPatienceMs: CLAIM_PATIENCE_MS,
    // A holder is condemned only after a whole suspicion: one healthy for longer cannot be.
    movedAfterHealthyMs: s.suspectAfterMs + s.confirmTimeoutMs + 2 * s.helloIntervalMs + 4 * lat + lag + 100,
  };
}

/** Nodes per L2 segment (see runSchedule). */
export const SEGMENT_NODES = 50;

export function serviceAddress(i: number, total: number): string {
  return total <= 200 ? `192.0.2.${10 + i}` : `2001:db8::${(i + 1).toString(16)}`;
}

export function runSchedule(schedule: Schedule, opts: RunOptions = {}): RunResult {
  const s = opts.settings ?? DEFAULT_COORDINATION;
  const clock = new SimClock();
  const rng = new Rng(schedule.seed ^ 0x5eed);
  const api = new SimApi(clock, rng, { latencyMs: schedule.latencyMs, watchLagMs: schedule.watchLagMs, watchdogMs: 90_000 });
  const lan = new SimLan(clock, rng, { rounds: s.burstRounds, intervalMs: s.burstIntervalMs });
  lan.loss = schedule.loss;
  const trace: string[] = [];
  const log = opts.trace === true ? (line: string): void => { trace.push(`${clock.now.toFixed(1).padStart(9)} ms  ${line}`); } : (): void => undefined;

  const nodes = nodeNames(schedule.nodes);
  // An L2 segment holds at most SEGMENT_NODES nodes (one policy each, by node
  // and Service label), as a large cluster spans several L2 domains. Every
  // agent still watches every Lease; it is a candidate only in its segment.
  const segments = Math.max(1, Math.ceil(schedule.nodes / SEGMENT_NODES));
  const segmentOf = (i: number): string => String(Math.floor(i / SEGMENT_NODES));
  const nodeLabels = new Map(nodes.map((n, i) => [n, { segment: segmentOf(i) }]));
  const services: L2ServiceView[] = Array.from({ length: schedule.services }, (_, i) => ({
    namespace: 'default', name: `svc-${i}`, type: 'LoadBalancer', labels: { segment: String(i % segments) },
    ingressIPs: [serviceAddress(i, schedule.services)],
  }));
  const serviceOfAddress = new Map(services.map((v) => [v.ingressIPs?.[0] ?? '', `default/${v.name}`]));
  const policies = Array.from({ length: segments }, (_, k) => compileL2Policy({
    name: `segment-${k}`, loadBalancerIPs: true, interfaces: [`^${LINK}$`],
    nodeSelector: { matchLabels: { segment: String(k) } }, serviceSelector: { matchLabels: { segment: String(k) } },
  }));
  const selectionCache = new Map<string, L2Selection>();
  const selections: SelectionSource = {
    policies, labels: nodeLabels,
    get(up) {
      const key = up.join(',');
      let sel = selectionCache.get(key);
      if (sel === undefined) {
        sel = selectL2({
          policies, services, endpoints: new Map(), poolRanges: [],
          nodes: up.map((name) => ({ name, labels: nodeLabels.get(name) ?? {}, upLinks: [LINK] })),
        });
        if (selectionCache.size > 64) selectionCache.clear();
        selectionCache.set(key, sel);
      }
      return sel;
    },
  };
  const ranker = new CandidateRanker();

  if (opts.seeded === true) {
    for (const n of nodes) api.seed({ name: nodeLeaseName(n), kind: 'node', subject: n, holder: n, upLinks: [LINK], macs: { [LINK]: macOf(n) }, unreachable: [] });
    for (const v of services) {
      const key = `default/${v.name}`;
      const segment = v.labels?.segment ?? '0';
      api.seed({ name: serviceLeaseName(key), kind: 'service', subject: key, holder: ranker.rank(key, nodes.filter((n) => nodeLabels.get(n)?.segment === segment))[0] ?? '', upLinks: [], macs: {}, unreachable: [] });
    }
  }

  // ---- ground truth for the checker ----------------------------------------
  const agents = new Map<string, SimAgent>();
  const exitedNodes = new Set<string>();
  const nodeState = new Map<string, { hung: boolean; leaving: boolean; down: boolean }>(nodes.map((n) => [n, { hung: false, leaving: false, down: false }]));
  const healthySince = new Map<string, number>();
  let pausedUntil = -Infinity;
  const heardAt = new Map<string, number>();
  /** By node: when a write to its node Lease that a paused apiserver had held last executed. */
  const heldNodeWriteAt = new Map<string, number>();
  /** By node: its agent restarts in place until then (no new agent yet). */
  const restartingUntil = new Map<string, number>();
  const lastDeadline = new Map<string, number>();
  /** By node: the agents that did not know of its restart when one of its Services moved (a gap, not a violation). */
  const pausedFor = (n: string): boolean => clock.now < (restartingUntil.get(n) ?? -Infinity);
  /** By node: when it last came back on the LAN, after long enough off it to be condemned, with its Lease marked. */
  const markedBackAt = new Map<string, number>();

  const healthy = (n: string): boolean => {
    const a = agents.get(n);
    const st = nodeState.get(n);
    // An agent whose first list has not come back (sent into a blackholed API link, say) is silent on the LAN.
    return a !== undefined && a.isAlive && a.isSynced && st !== undefined && !st.hung && !st.leaving && !st.down && lan.reachesClient(n) && api.link(n) === 'up';
  };
  // A node can condemn another only from the majority side of the LAN (lan-liveness.ts), so
  // failover is owed only while the healthy nodes on the client's side are a majority of the
  // ring. The ring shrinks only by condemnations that could happen: a node off the LAN leaves
  // it once it has been off for a whole failover (darkMs) while the rest were a majority.
  // Two nodes lost together from a ring of three (or half of a ring at once) leave the rest a
  // minority that can condemn nobody, so the ring keeps its size and nothing is owed until a
  // node comes back (seeds 11, 44 of the check).
  const lanHealthy = (n: string): boolean => {
    const a = agents.get(n);
    const st = nodeState.get(n);
    // Before its first list comes back an agent has no ring: it sends and answers nothing on the LAN.
    return a !== undefined && a.running && a.isSynced && st !== undefined && !st.hung && lan.reachesClient(n);
  };
  /** Runs, not hung, NIC up: on the LAN on some side. */
  const lanRunning = (n: string): boolean => {
    const a = agents.get(n);
    return a !== undefined && a.running && a.isSynced && !(nodeState.get(n)?.hung ?? false) && lan.isNicUp(n);
  };
  const offLanSince = new Map<string, number>();
  /** Nodes off the LAN that the majority could condemn (out of the ring until they are back). */
  const condemnable = new Set<string>();
  let quorateSince: number | undefined;
  /** By node: the last time another side of the LAN held a strict majority of the ring without it. */
  const outvotedAt = new Map<string, number>();
  const refresh = (): void => {
    const condemnAfter = boundsFor(s, schedule).darkMs;
    let up = 0;
    const ring: string[] = [];
    for (const n of nodes) {
      if (!healthy(n)) healthySince.delete(n);
      else if (!healthySince.has(n)) healthySince.set(n, clock.now);
      const a = agents.get(n);
      // A new agent that runs (its first list back) ticks, and its first frames end the pause.
      if (pausedFor(n) && a !== undefined && a.running && a.isSynced && !a.core.restarting) restartingUntil.delete(n);
      // Restarting in place: nobody condemns it before its deadline, so it is not off the LAN yet.
      if (pausedFor(n)) offLanSince.delete(n);
      else if (lanHealthy(n)) {
        const off = offLanSince.get(n);
        if (off !== undefined && clock.now - off >= s.suspectAfterMs && (api.leases.get(nodeLeaseName(n))?.unreachable.length ?? 0) > 0) markedBackAt.set(n, clock.now);
        offLanSince.delete(n); condemnable.delete(n); up++;
      } else if (!offLanSince.has(n)) offLanSince.set(n, clock.now);
      // The agents' rings follow the node Leases: a node whose Lease shows its link down (it wrote
      // that when its NIC went down) has left the ring at once, without anyone condemning it.
      const linkInLease = api.leases.get(nodeLeaseName(n))?.upLinks.includes(LINK) ?? true;
      if (a !== undefined && !exitedNodes.has(n) && !condemnable.has(n) && linkInLease) ring.push(n);
    }
    // The agents count their majority over the ring minus the nodes marked unreachable in the API
    // (lan-liveness.ts derive): a node marked and back on the LAN is out of it until cleared, and a
    // node cleared on the far side of a cut is back in it (seeds 102845, 101325, 100050).
    const marked = (n: string): boolean => api.leases.get(nodeLeaseName(n))?.unreachable.includes(LINK) ?? false;
    const quorum = (): boolean => {
      const members = ring.filter((n) => !condemnable.has(n) && !marked(n));
      const size = members.length;
      const reachable = members.filter(lanHealthy).length;
      if (2 * reachable > size) return true;
      if (size !== 2 || reachable !== 1) return size === 1 && reachable === 1;
      // A ring of two condemns on silence, each side the other: when the silent node still
      // runs (cut off the LAN, NIC down, not crashed or hung), it condemns the client's side
      // too, and both withdraw. Nobody can tell which side the clients are on, so failover is
      // owed only when the other node is down, not when the ring split.
      const other = members.find((n) => !lanHealthy(n));
      const a = other === undefined ? undefined : agents.get(other);
      return a === undefined || !a.running || (nodeState.get(other ?? '')?.hung ?? false);
    };
    // A node that a strict majority of the ring cannot hear is, to that majority, a dead node:
    // the majority rightly condemns it and takes its Services, wherever the clients are.
    const live = ring.filter((n) => !condemnable.has(n) && !marked(n));
    const bySide = new Map<number, number>();
    for (const n of live) if (lanRunning(n)) bySide.set(lan.sideOf(n), (bySide.get(lan.sideOf(n)) ?? 0) + 1);
    for (const [side, count] of bySide) {
      // A ring of two condemns on silence (there is nobody else to ask): split, each side is the other's majority.
      if (2 * count <= live.length && !(live.length === 2 && count === 1 && bySide.size === 2)) continue;
      for (const n of nodes) if (!lanRunning(n) || lan.sideOf(n) !== side) outvotedAt.set(n, clock.now);
    }
    // A marked node alone on the LAN, not a strict majority of its ring as the agents count it
    // (dead and marked members included, exited ones not), waits for another node to clear its
    // mark: while alone, it counts as just back (invariants.ts).
    if (up === 1) {
      const members = nodes.filter((n) => agents.has(n) && !exitedNodes.has(n) && (api.leases.get(nodeLeaseName(n))?.upLinks.includes(LINK) ?? true)).length;
      for (const n of nodes) {
        if (members >= 2 && lanHealthy(n) && (api.leases.get(nodeLeaseName(n))?.unreachable.length ?? 0) > 0) markedBackAt.set(n, clock.now);
      }
    }
    for (;;) {
      if (!quorum()) { quorateSince = undefined; break; }
      quorateSince ??= clock.now;
      const since = quorateSince;
      const drop = ring.filter((n) => !condemnable.has(n) && !lanHealthy(n) && clock.now - Math.max(offLanSince.get(n) ?? clock.now, since) > condemnAfter);
      if (drop.length === 0) break;
      for (const n of drop) condemnable.add(n);
    }
  };

  const newAgent = (n: string): SimAgent => {
    exitedNodes.delete(n);
    const a = new SimAgent(n, {
      clock, rng, api, lan, settings: s, selections, ranker, trace: log,
      exited: (node) => { log(`${node} exited after handing over`); exitedNodes.add(node); refresh(); },
    });
    agents.set(n, a);
    return a;
  };
  for (const n of nodes) newAgent(n);
  api.onWatchBroken = (n) => { agents.get(n)?.watchBroken(); };

  const check = opts.check !== false;
  const addresses = services.map((v) => v.ingressIPs?.[0] ?? '');
  const checker = new InvariantChecker({
    get now() { return clock.now; },
    lan, nodes, healthy,
    healthySince: (n) => healthySince.get(n),
    outvotedAt: (n) => outvotedAt.get(n) ?? -Infinity,
    quorateSince: () => quorateSince,
    get apiPaused() { return api.paused; },
    get apiPausedUntil() { return pausedUntil; },
    holderOf: (address) => {
      const svc = serviceOfAddress.get(address);
      return svc === undefined ? '' : api.leases.get(serviceLeaseName(svc))?.holder ?? '';
    },
    lanAlive: (n) => lanHealthy(n),
    seesItHolds: (n, address) => {
      const svc = serviceOfAddress.get(address);
      return svc !== undefined && agents.get(n)?.core.holderOf(svc) === n;
    },
    apiLive: (n) => {
      const a = agents.get(n);
      return a !== undefined && a.running && api.link(n) === 'up';
    },
    heard: (from, to, address) => heardAt.get(`${from}|${to}|${address}`) ?? -Infinity,
    heldNodeWriteAt: (n) => heldNodeWriteAt.get(n) ?? -Infinity,
    markedBackAt: (n) => markedBackAt.get(n) ?? -Infinity,
    lastRestartDeadline: (n) => lastDeadline.get(n) ?? -Infinity,
    restartingUntil: (n) => (pausedFor(n) ? restartingUntil.get(n) ?? -Infinity : -Infinity),
    unawareOfRestart: (n) => [...agents].filter(([m, a]) => m !== n && a.running && !a.core.lan.isPaused(n, clock.now)).map(([m]) => m),
    passedOver: (address) => {
      const svc = serviceOfAddress.get(address);
      if (svc === undefined) return 0;
      const segment = services.find((v) => `default/${v.name}` === svc)?.labels?.segment ?? '0';
      let k = 0;
      for (const n of ranker.rank(svc, nodes.filter((x) => nodeLabels.get(x)?.segment === segment))) {
        if (healthy(n)) break;
        const a = agents.get(n);
        const st = nodeState.get(n);
        if (lanHealthy(n) && a !== undefined && (api.link(n) !== 'up' || (st?.leaving ?? false))) k++;
      }
      return k;
    },
  }, addresses, boundsFor(s, schedule));

  if (check) {
    lan.onHeard = (from, to, address) => { heardAt.set(`${from}|${to}|${address}`, clock.now); };
    api.onCommit = (lease, previous, writer, sentAt) => {
      // Held by a paused apiserver: executed later than any request's latency allows.
      const held = clock.now - sentAt > schedule.latencyMs[1] + 1;
      if (lease.kind !== 'service') {
        if (held) { log(`Lease ${lease.name} written by ${writer}, sent at ${sentAt.toFixed(1)} ms, held by the paused apiserver`); heldNodeWriteAt.set(lease.subject, clock.now); }
        return;
      }
      const before = previous?.holder ?? '';
      if (before !== lease.holder) {
        log(`Lease ${lease.name}: '${before}' → '${lease.holder}' (rv ${lease.rv}, written by ${writer}${held ? `, sent at ${sentAt.toFixed(1)} ms, held by the paused apiserver` : ''})`);
        checker.leaseMoved(lease.name, before, lease.holder, writer, held ? sentAt : undefined);
      }
    };
    lan.onChange = (addrs) => {
      const list = [...addrs];
      if (opts.trace === true) for (const a of list) log(`answering ${a}: ${JSON.stringify(Object.fromEntries(lan.answerers(a)))}`);
      checker.changed(list);
    };
    const tick = (): void => { refresh(); checker.sample(); clock.after(50, tick); };
    clock.at(0, tick);
  }

  // ---- faults ------------------------------------------------------------------
  const apply = (f: Fault): void => {
    log(`FAULT ${describeFault(f)}`);
    const st = (n: string): { hung: boolean; leaving: boolean; down: boolean } => nodeState.get(n) ?? { hung: false, leaving: false, down: false };
    switch (f.kind) {
      case 'crash':
      case 'node-down': {
        agents.get(f.node)?.crash();
        if (f.kind === 'node-down') { st(f.node).down = true; lan.cut([f.node], -1); }
        if (f.kind === 'crash' && f.restartAfterMs !== undefined) {
          clock.after(f.restartAfterMs, () => { log(`restart ${f.node}`); newAgent(f.node); refresh(); });
        }
        break;
      }
      case 'hang':
        st(f.node).hung = true;
        agents.get(f.node)?.hang();
        clock.after(f.ms, () => { log(`resume ${f.node}`); st(f.node).hung = false; agents.get(f.node)?.resume(); refresh(); });
        break;
      case 'nic-down':
        lan.setNic(f.node, false);
        agents.get(f.node)?.nicChanged();
        clock.after(f.ms, () => { log(`nic-up ${f.node}`); lan.setNic(f.node, true); agents.get(f.node)?.nicChanged(); refresh(); });
        break;
      case 'lan-cut': {
        const side = 1 + Math.floor(clock.now);
        lan.cut(f.nodes, side);
        clock.after(f.ms, () => { log(`lan-heal ${f.nodes.join(',')}`); lan.heal(f.nodes.filter((n) => !st(n).down)); refresh(); });
        break;
      }
      case 'api-partition':
        api.setLink(f.node, f.mode);
        clock.after(f.ms, () => { log(`api-heal ${f.node}`); api.setLink(f.node, 'up'); refresh(); });
        break;
      case 'api-pause':
        api.pause(f.ms);
        pausedUntil = Math.max(pausedUntil, clock.now + f.ms);
        break;
      case 'watch-stall':
        api.stallWatch(f.node);
        break;
      case 'watch-slow':
        api.slowWatch(f.node, f.extraMs);
        clock.after(f.ms, () => { api.slowWatch(f.node, 0); });
        break;
      case 'restart': {
        const until = clock.now + RESTART_GRACE_MS;
        restartingUntil.set(f.node, until);
        lastDeadline.set(f.node, until);
        agents.get(f.node)?.restartInPlace(RESTART_GRACE_MS);
        if (f.restartAfterMs !== undefined) {
          clock.after(f.restartAfterMs, () => { log(`start ${f.node} (restart in place)`); newAgent(f.node); refresh(); });
        }
        // From the deadline, a node without a running agent (never back, or its new agent's first list
        // not back) answers for nothing: the clients' neighbour entries go stale, nobody answers ARP.
        clock.at(until, () => {
          if (lastDeadline.get(f.node) !== until) return;
          if (restartingUntil.get(f.node) === until) restartingUntil.delete(f.node);
          if (agents.get(f.node)?.isSynced !== true || agents.get(f.node)?.isAlive !== true) {
            log(`${f.node}: restart deadline passed, no new agent answering`);
            lan.setAnswering(f.node, new Set());
          }
          refresh();
        });
        break;
      }
      case 'sigterm': {
        st(f.node).leaving = true;
        agents.get(f.node)?.terminate();
        if (f.restartAfterMs !== undefined) {
          clock.after(f.restartAfterMs, () => {
            log(`restart ${f.node}`);
            agents.get(f.node)?.crash(); // if it is still handing over, it is killed (as the kubelet would after the grace period)
            st(f.node).leaving = false;
            newAgent(f.node);
            refresh();
          });
        }
        break;
      }
    }
    refresh();
  };
  for (const { at, fault } of schedule.faults) clock.at(at, () => { apply(fault); });
  opts.onStart?.({ clock, api, lan, agents });

  clock.runUntil(schedule.endMs);
  if (check) {
    refresh();
    checker.final();
  }
  return {
    schedule, violations: checker.violations, gaps: checker.gaps,
    darkPeriodsMs: checker.darkPeriods, dualPeriodsMs: checker.dualPeriods,
    trace, api, lan, clock, agents,
  };
}
