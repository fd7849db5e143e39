/**
 * L2 coordination as the cluster grows, measured in the L2 lab: the same
 * figures as the simulator's scale table (sim/scale.ts), from real processes.
 *
 *   NODES=3,8,16,24 SERVICES=100 RUNS=3 node dist/bench/l2-scale.js     (as root)
 *
 * For each N, a lab of its own (harness/l2-lab.ts: control plane,
 * herald operator, N node namespaces on one LAN bridge, one `herald agent`
 * per node, a client), SERVICES announced Services (one IPv4 for the probe,
 * the rest IPv6 single-stack), then:
 *
 * CLUSTER=real (default) runs the lab's real cluster (bench/lab-cluster.ts):
 * kube-controller-manager, kube-scheduler, a real kube-proxy per node and an
 * echo pod on every node; the probe Service has externalTrafficPolicy: Local
 * and selects the echo pods, so the blackout includes the real service
 * proxy. The IPv6 Services are never probed (the lab's pod network is
 * IPv4-only) and stay ETP Cluster without pods. The apiserver then also
 * serves the lab kubelets' resync LISTs of pods (one per node every 5 s),
 * counted apart. CLUSTER=stand-in: the older lab (an HTTP "pod" per node
 * behind a catch-all DNAT).
 *
 * - steady state, WINDOW_S (30) seconds once every Service has a holder,
 *   every agent sees all N nodes live and SETTLE_MS (5 s, longer than a
 *   gratuitous burst) have passed:
 *   - API requests/s and writes/s cluster-wide, from the apiserver's own
 *     apiserver_request_total (writes: POST, PUT, PATCH, APPLY, DELETE,
 *     DELETECOLLECTION);
 *   - Lease watch events/s delivered, from apiserver_watch_events_total
 *     {resource="leases"} (counted per watcher, per event written to it);
 *   - agent CPU summed over all nodes: utime + stime from /proc/<pid>/stat
 *     of every agent process, as % of one core; the same for the apiserver,
 *     etcd, the operator and the lab's API forwarders, and the whole machine;
 *   - LAN frames per node per second: the bridge's per-port packet counters
 *     (frames each node sent plus frames delivered to it, as the simulator
 *     counts sent + received), and herald's own frames from the agents'
 *     herald_l2_* counters;
 * - crash failover, RUNS times: the probe Service's holder is cut off the
 *   LAN and its agent SIGKILLed (as bench/l2-coordination.ts does); blackout
 *   = the longest run of failed HTTP requests from the client
 *   (harness/blackout-probe.ts), and for every Service the victim held,
 *   the time from the cut to the new holder's claim (the Lease's
 *   acquireTime, written by the claimer).
 *
 * Beside each N, the simulator's figures for the same N and Services
 * (sim/scale.ts, default settings and seed), so the two can be compared.
 *
 * The agents are driven only through the lab and HTTP (/status, /metrics),
 * and read through the API. Every agent's output, the apiserver's and the
 * operator's logs are kept under LOG_DIR (default /tmp/herald-l2-scale-<time>).
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { L2Lab } from '../harness/l2-lab.js';
import { longestBlackoutMs } from '../harness/blackout-probe.js';
import { apply, serviceManifest, serviceLeaseHolder } from '../harness/kube-objects.js';
import type { Spawned } from '../harness/testbed.js';
import { waitFor, sleep } from '../harness/wait.js';
import { measureScale, type ScaleRow } from '../sim/scale.js';
import { median } from './stats.js';
import { clusterMode, deployEcho, probedService, waitEndpointsOn } from './lab-cluster.js';

const SIZES = (process.env.NODES ?? '3,8,16,24').split(',').map(Number);
const SERVICES = Number(process.env.SERVICES ?? 100);
const RUNS = Number(process.env.RUNS ?? 3);
const WINDOW_S = Number(process.env.WINDOW_S ?? 30);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 5000);
const LOG_DIR = process.env.LOG_DIR ?? `/tmp/herald-l2-scale-${new Date().toISOString().replace(/[:.]/g, '-')}`;
const PROBE_MS = 8000;
const MODE = clusterMode();
const NS = 'kube-system';
const SERVICE_LEASES = 'herald.io/lease=service';
const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 on every Linux this runs on.
}

// ---- reading Prometheus text -------------------------------------------------

interface Sample { readonly name: string; readonly labels: Record<string, string>; readonly value: number }

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples: readonly Sample[], name: string, match: (l: Record<string, string>) => boolean = () => true): number {
  let total = 0;
  for (const s of samples) if (s.name === name && match(s.labels)) total += s.value;
  return total;
}

function has(samples: readonly Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

/** Per key, b - a, for counters summed by `key`. */
function deltaBy(a: readonly Sample[], b: readonly Sample[], name: string, key: (l: Record<string, string>) => string): Map<string, number> {
  const d = new Map<string, number>();
  for (const s of b) if (s.name === name) d.set(key(s.labels), (d.get(key(s.labels)) ?? 0) + s.value);
  for (const s of a) if (s.name === name) d.set(key(s.labels), (d.get(key(s.labels)) ?? 0) - s.value);
  for (const [k, v] of d) if (v === 0) d.delete(k);
  return d;
}

// ---- CPU from /proc -----------------------------------------------------------

/** utime + stime of a process in seconds, or NaN when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return NaN;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The whole machine: [busy, total] jiffies. */
function machineJiffies(): [number, number] {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((x, y) => x + y, 0);
  return [total - (f[3] ?? 0) - (f[4] ?? 0), total];
}

type Role = 'apiserver' | 'etcd' | 'operator' | 'forwarders' | 'kube-proxy' | 'controllers';

/** The lab's other processes, found by the control plane's directory in their command line. */
function labProcesses(dir: string): Map<Role, number[]> {
  const roles = new Map<Role, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const cmd = cmdline(pid);
    if (!cmd.includes(dir)) continue;
    const role: Role | undefined = cmd.includes('/kube-proxy ') ? 'kube-proxy'
      : cmd.includes('/kube-controller-manager ') || cmd.includes('/kube-scheduler ') ? 'controllers'
      : cmd.includes('kube-apiserver') ? 'apiserver' : cmd.includes('/etcd') ? 'etcd'
      : cmd.includes('unix-forwarder') ? 'forwarders' : cmd.includes(' operator ') ? 'operator' : undefined;
    if (role === undefined || cmd.startsWith('setpriv') || cmd.startsWith('ip ')) continue;
    roles.set(role, [...(roles.get(role) ?? []), pid]);
  }
  return roles;
}

// ---- helpers --------------------------------------------------------------------


const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');

interface LeaseJson {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { holderIdentity?: string; acquireTime?: string };
}

interface Row {
  nodes: number;
  services: number;
  requestsPerS: number;
  /** Of them, requests on pods: the lab kubelets' resync LISTs (CLUSTER=real). */
  podRequestsPerS: number;
  writesPerS: number;
  leaseWritesPerS: number;
  leaseWatchEventsPerS: number;
  allWatchEventsPerS: number;
  agentCpuPct: number;
  perAgentCpuPct: number;
  apiserverCpuPct: number;
  etcdCpuPct: number;
  forwardersCpuPct: number;
  operatorCpuPct: number;
  kubeProxyCpuPct: number;
  controllersCpuPct: number;
  machineBusyPct: number;
  loadAvg: number;
  lanFramesPerNodePerS: number;
  heraldFramesPerS: number;
  serviceLeaseWrites: number;
  /** Node Lease writes (own links, marks) per second, all agents, as the agents count them. */
  nodeLeaseWritesPerS: number;
  /** Liveness frames sent plus received per node per second (herald_liveness_frames_*), mean and busiest node. */
  livenessPerNodePerS: number;
  livenessBusiestPerS: number;
  writesByKind: string;
  blackoutMs: number[];
  moveMs: number[];
  neverMoved: number;
  timings: string;
}

// ---- one N --------------------------------------------------------------------------

async function measure(n: number): Promise<Row> {
  const dir = join(LOG_DIR, `n${String(n).padStart(2, '0')}`);
  mkdirSync(dir, { recursive: true });
  const t = { start: performance.now(), lab: 0, agents: 0, announced: 0 };
  const lab = await L2Lab.start({ nodes: n, cluster: MODE });
  // Every agent process this N ran, with its output, for the logs.
  const started: { node: string; gen: number; proc: Spawned }[] = [];
  const startAgent = async (node: string): Promise<void> => {
    const gen = started.filter((s) => s.node === node).length;
    const proc = await lab.startAgent(node, [], { readyTimeoutMs: 120_000 });
    started.push({ node, gen, proc });
    const pid = proc.child.pid ?? -1;
    if (!cmdline(pid).includes(' agent ')) throw new Error(`pid ${pid} of ${node}'s agent is not the agent: ${cmdline(pid)}`);
  };
  try {
    t.lab = performance.now();
    const names = lab.nodes.map((x) => x.name);
    await apply(lab.cp, [
      'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: lan-pool}',
      'spec: {blocks: [{start: 192.0.2.200, stop: 192.0.2.250}, {cidr: "2001:db8::1:0/112"}]}',
    ].join('\n'));
    await apply(lab.cp, 'apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: all}\nspec: {interfaces: ["^eth0$"], loadBalancerIPs: true}\n');
    for (const node of names) await startAgent(node);
    if (MODE === 'real') await deployEcho(lab, 600_000);
    t.agents = performance.now();

    // One IPv4 Service for the probe (it gets 192.0.2.200), the rest IPv6
    // single-stack without node ports (the test apiserver's ranges are small).
    const manifests = [probedService(MODE, 'probe-0')];
    for (let i = 1; i < SERVICES; i++) {
      manifests.push(serviceManifest(`scale-${i}`, { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] })
        .replace('spec:\n', 'spec:\n  allocateLoadBalancerNodePorts: false\n'));
    }
    for (let i = 0; i < manifests.length; i += 50) await lab.cp.kubectl(['create', '-f', '-'], manifests.slice(i, i + 50).join('---\n'));

    const serviceLeases = async (): Promise<LeaseJson[]> =>
      (JSON.parse(await lab.cp.kubectl(['get', 'lease', '-n', NS, '-l', SERVICE_LEASES, '-o', 'json'])) as { items: LeaseJson[] }).items;
    const running = (): Set<string> => new Set(names.filter((x) => lab.agent(x) !== undefined));
    const allLive = async (): Promise<true | undefined> => {
      for (const node of names) {
        const st = JSON.parse((await lab.agentHttp(node, '/status')).body) as { liveNodes?: string[]; liveness?: { unreachable?: Record<string, string[]> } };
        if ((st.liveNodes ?? []).length !== n) return undefined;
        if (Object.values(st.liveness?.unreachable ?? {}).some((l) => l.length > 0)) return undefined;
      }
      return true;
    };
    const probeVip = async (): Promise<string> => {
      const svc = JSON.parse(await lab.cp.kubectl(['get', 'svc', 'probe-0', '-o', 'json'])) as { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } };
      const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip === undefined) throw new Error('probe-0 has no address yet');
      return ip;
    };
    const holderOf = async (svc: string): Promise<string> =>
      serviceLeaseHolder(lab.cp, svc, 'default', NS);

    await waitFor(`${SERVICES} Services held by running agents`, async () => {
      const up = running();
      const leases = await serviceLeases();
      const held = leases.filter((l) => up.has(l.spec?.holderIdentity ?? '')).length;
      return held >= SERVICES ? true : undefined;
    }, 600_000, 1000);
    await waitFor('every agent to see every node live', allLive, 300_000, 500);
    // Each agent's own count of addresses it answers, where it publishes one.
    await waitFor('the agents to announce every address', async () => {
      let announced = 0;
      for (const node of names) {
        const m = parseMetrics((await lab.agentHttp(node, '/metrics')).body);
        if (!has(m, 'herald_agent_addresses_announced')) return true;
        announced += sum(m, 'herald_agent_addresses_announced');
      }
      return announced >= SERVICES ? true : undefined;
    }, 120_000, 1000);
    const vip = await probeVip();
    if (MODE === 'real') {
      await waitEndpointsOn(lab, 'probe-0', names, 300_000);
      await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 60_000, 200);
    }
    t.announced = performance.now();
    console.log(`N=${n}: lab ${((t.lab - t.start) / 1000).toFixed(0)} s, agents ${((t.agents - t.lab) / 1000).toFixed(0)} s, ` +
      `${SERVICES} Services announced ${((t.announced - t.agents) / 1000).toFixed(0)} s; probe VIP ${vip}`);
    await sleep(SETTLE_MS);

    // ---- steady state ----
    let perAgentLatest = new Map<string, Sample[]>();
    const agentMetrics = async (): Promise<Sample[]> => {
      const all: Sample[] = [];
      perAgentLatest = new Map();
      for (const node of names) {
        const m = parseMetrics((await lab.agentHttp(node, '/metrics')).body);
        perAgentLatest.set(node, m);
        all.push(...m);
      }
      return all;
    };
    const bridgeFrames = async (): Promise<number> => {
      const ports = new Set(lab.bed.nodes.map((_, i) => `n${i}`));
      const { stdout } = await lab.bed.exec(lab.bed.lan, ['ip', '-s', '-j', 'link', 'show']);
      const links = JSON.parse(stdout) as { ifname: string; stats64?: { rx: { packets: number }; tx: { packets: number } } }[];
      return links.filter((l) => ports.has(l.ifname.replace(/@.*/, ''))).reduce((x, l) => x + (l.stats64?.rx.packets ?? 0) + (l.stats64?.tx.packets ?? 0), 0);
    };
    const agentPids = names.map((x) => lab.agent(x)?.child.pid ?? -1);
    const others = labProcesses(lab.cp.dir);
    const cpuOf = (pids: readonly number[]): number => pids.reduce((x, p) => x + cpuSeconds(p), 0);
    const otherCpu = (): Record<Role, number> => ({
      apiserver: cpuOf(others.get('apiserver') ?? []), etcd: cpuOf(others.get('etcd') ?? []),
      operator: cpuOf(others.get('operator') ?? []), forwarders: cpuOf(others.get('forwarders') ?? []),
      'kube-proxy': cpuOf(others.get('kube-proxy') ?? []), controllers: cpuOf(others.get('controllers') ?? []),
    });

    // Each reading is stamped with the middle of the time it took: at N=24 an
    // apiserver /metrics GET or a round of N agent scrapes takes long enough
    // (0.1-2 s) to bias a 30 s window by several events per second otherwise.
    const timed = async <T>(read: () => Promise<T>): Promise<{ v: T; at: number }> => {
      const s = performance.now();
      const v = await read();
      return { v, at: (s + performance.now()) / 2 };
    };
    const apiMetrics = async (): Promise<string> => (await lab.cp.get('/metrics', 30_000))[1];
    const agentsA = await timed(agentMetrics);
    const perAgent = perAgentLatest;
    const framesA = await timed(bridgeFrames);
    const apiA = await timed(apiMetrics);
    const cpuA = cpuOf(agentPids);
    const othersA = otherCpu();
    const machineA = machineJiffies();
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const cpuB = cpuOf(agentPids);
    const othersB = otherCpu();
    const machineB = machineJiffies();
    const seconds = (performance.now() - t0) / 1000;
    const apiB = await timed(apiMetrics);
    const framesB = await timed(bridgeFrames);
    const agentsB = await timed(agentMetrics);
    const perAgentAfter = perAgentLatest;
    const load = loadavg()[0] ?? NaN;

    const a = parseMetrics(apiA.v);
    const b = parseMetrics(apiB.v);
    const apiSeconds = (apiB.at - apiA.at) / 1000;
    const agentSeconds = (agentsB.at - agentsA.at) / 1000;
    const [am, bm] = [agentsA.v, agentsB.v];
    const isWrite = (l: Record<string, string>): boolean => WRITE_VERBS.has(l.verb ?? '');
    const isLease = (l: Record<string, string>): boolean => l.resource === 'leases';
    // One /metrics GET of ours lands inside the window.
    const requests = sum(b, 'apiserver_request_total') - sum(a, 'apiserver_request_total') - 1;
    const isPods = (l: Record<string, string>): boolean => l.resource === 'pods';
    const podRequests = sum(b, 'apiserver_request_total', isPods) - sum(a, 'apiserver_request_total', isPods);
    const writes = sum(b, 'apiserver_request_total', isWrite) - sum(a, 'apiserver_request_total', isWrite);
    const leaseWrites = sum(b, 'apiserver_request_total', (l) => isWrite(l) && isLease(l)) - sum(a, 'apiserver_request_total', (l) => isWrite(l) && isLease(l));
    const leaseEvents = sum(b, 'apiserver_watch_events_total', isLease) - sum(a, 'apiserver_watch_events_total', isLease);
    const allEvents = sum(b, 'apiserver_watch_events_total') - sum(a, 'apiserver_watch_events_total');
    const byKind = deltaBy(a.filter((s) => isWrite(s.labels)), b.filter((s) => isWrite(s.labels)), 'apiserver_request_total',
      (l) => `${l.verb ?? ''} ${l.resource ?? ''}${l.subresource ? `/${l.subresource}` : ''} ${l.code ?? ''}`);
    const writesByKind = [...byKind].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k}: ${(v / apiSeconds).toFixed(2)}/s`).join('; ');
    const herald = (name: string, m: readonly Sample[]): number => sum(m, name);
    const heraldDelta = (name: string): number => herald(name, bm) - herald(name, am);
    const heraldFrames = ['herald_l2_gratuitous_sent_total', 'herald_l2_replies_sent_total']
      .reduce((x, name) => x + heraldDelta(name), 0);
    const liveness = ['herald_liveness_frames_sent_total', 'herald_liveness_frames_received_total'].reduce((x, name) => x + heraldDelta(name), 0);
    const busiest = Math.max(0, ...[...perAgent.entries()].map(([node, m0]) => {
      const m1 = perAgentAfter.get(node) ?? [];
      return ['herald_liveness_frames_sent_total', 'herald_liveness_frames_received_total'].reduce((x, name) => x + sum(m1, name) - sum(m0, name), 0);
    }));
    const pct = (x: number): number => (x / seconds) * 100;
    const row: Row = {
      nodes: n, services: SERVICES,
      requestsPerS: requests / apiSeconds, podRequestsPerS: podRequests / apiSeconds, writesPerS: writes / apiSeconds, leaseWritesPerS: leaseWrites / apiSeconds,
      leaseWatchEventsPerS: leaseEvents / apiSeconds, allWatchEventsPerS: allEvents / apiSeconds,
      agentCpuPct: pct(cpuB - cpuA), perAgentCpuPct: pct(cpuB - cpuA) / n,
      apiserverCpuPct: pct(othersB.apiserver - othersA.apiserver), etcdCpuPct: pct(othersB.etcd - othersA.etcd),
      forwardersCpuPct: pct(othersB.forwarders - othersA.forwarders), operatorCpuPct: pct(othersB.operator - othersA.operator),
      kubeProxyCpuPct: pct(othersB['kube-proxy'] - othersA['kube-proxy']), controllersCpuPct: pct(othersB.controllers - othersA.controllers),
      machineBusyPct: ((machineB[0] - machineA[0]) / (machineB[1] - machineA[1])) * 100,
      loadAvg: load,
      lanFramesPerNodePerS: (framesB.v - framesA.v) / ((framesB.at - framesA.at) / 1000) / n,
      heraldFramesPerS: heraldFrames / agentSeconds,
      serviceLeaseWrites: has(bm, 'herald_agent_ownership_changes_total') ? heraldDelta('herald_agent_ownership_changes_total') : NaN,
      nodeLeaseWritesPerS: heraldDelta('herald_agent_node_lease_writes_total') / agentSeconds,
      livenessPerNodePerS: liveness / agentSeconds / n,
      livenessBusiestPerS: busiest / agentSeconds,
      writesByKind,
      blackoutMs: [], moveMs: [], neverMoved: 0,
      timings: `lab ${((t.lab - t.start) / 1000).toFixed(0)} s, agents ${((t.agents - t.lab) / 1000).toFixed(0)} s, announce ${((t.announced - t.agents) / 1000).toFixed(0)} s`,
    };
    console.log(`N=${n} steady state (${seconds.toFixed(1)} s; API ${apiSeconds.toFixed(2)} s, agents ${agentSeconds.toFixed(2)} s):`, JSON.stringify({ ...row, blackoutMs: undefined, moveMs: undefined }));

    // ---- crash failover ----
    for (let i = 0; i < RUNS; i++) {
      await waitFor('every agent live and the probe Service held', async () => {
        const h = await holderOf('probe-0');
        if (lab.agent(h) === undefined) return undefined;
        return allLive();
      }, 300_000, 500);
      await sleep(3000); // past any burst and handover after the last restart
      const victim = await holderOf('probe-0');
      const before = await serviceLeases();
      const victims = new Set(before.filter((l) => l.spec?.holderIdentity === victim).map((l) => l.metadata.name));
      const probe = await lab.startProbe({ vip, durationMs: PROBE_MS });
      await sleep(300);
      const cutAt = Date.now();
      await lab.cutLan(victim);
      await lab.killAgent(victim);
      const report = await probe.done;
      const blackout = longestBlackoutMs(report.samples);
      row.blackoutMs.push(blackout);
      // Every Service the victim held, claimed by someone else: when (acquireTime is written by the claimer).
      let moved: number[] = [];
      let left = victims.size;
      await waitFor(`the ${victims.size} Services of ${victim} to move`, async () => {
        const now = await serviceLeases();
        const mine = now.filter((l) => victims.has(l.metadata.name));
        const gone = mine.filter((l) => (l.spec?.holderIdentity ?? victim) !== victim && l.spec?.acquireTime !== undefined);
        moved = gone.map((l) => Date.parse(l.spec?.acquireTime ?? '') - cutAt);
        left = mine.length - gone.length;
        return left === 0 ? true : undefined;
      }, 20_000, 1000).catch(() => undefined);
      row.moveMs.push(...moved);
      row.neverMoved += left;
      console.log(`N=${n} crash ${i}: ${victim} (held ${victims.size}) → ${await holderOf('probe-0')}, blackout ${f0(blackout)} ms, ` +
        `Services re-held after ${f0(median(moved))} ms median, ${f0(Math.max(...moved))} ms max${left > 0 ? `, ${left} not within 20 s` : ''}`);
      await lab.restoreLan(victim);
      await startAgent(victim);
    }
    return row;
  } finally {
    // The control plane's directory goes with stop(): its logs first.
    for (const f of ['kube-apiserver.log', 'operator-0.log']) {
      try { copyFileSync(join(lab.cp.dir, f), join(dir, f)); } catch { /* not there */ }
    }
    try {
      await lab.stop();
    } finally {
      // After stop(), so what an agent wrote while handing over is in too.
      for (const s of started) {
        writeFileSync(join(dir, `${s.node}.${s.gen}.log`), `${s.proc.lines.join('\n')}\n--- stderr ---\n${s.proc.stderr}`);
      }
    }
  }
}

// ---- main -----------------------------------------------------------------------------

mkdirSync(LOG_DIR, { recursive: true });
console.log(`CLUSTER=${MODE} NODES=${SIZES.join(',')} SERVICES=${SERVICES} RUNS=${RUNS} WINDOW_S=${WINDOW_S}; logs in ${LOG_DIR}`);
const rows: { lab: Row; sim: ScaleRow }[] = [];
for (const n of SIZES) {
  const lab = await measure(n);
  rows.push({ lab, sim: measureScale(n, SERVICES) });
  printTables(rows);
}

function printTables(both: readonly { lab: Row; sim: ScaleRow }[]): void {
  const done = both.map((r) => r.lab);
  console.log(`\nCLUSTER=${MODE}`);
  console.log('\n| nodes | Services | API requests/s (of which pods: the lab kubelets) | API writes/s | Lease watch events/s | agent CPU, all nodes (% of a core) | LAN frames/s per node | crash blackout p50 / max (ms) | victim\'s Services re-held p50 / max (ms) | machine busy |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---|---|---:|');
  for (const r of done) {
    const moved = `${f0(median(r.moveMs))} / ${f0(Math.max(...r.moveMs))} (n=${r.moveMs.length}${r.neverMoved > 0 ? `, ${r.neverMoved} never` : ''})`;
    console.log(`| ${r.nodes} | ${r.services} | ${f1(r.requestsPerS)} (${f1(r.podRequestsPerS)}) | ${f1(r.writesPerS)} | ${f0(r.leaseWatchEventsPerS)} | ${f1(r.agentCpuPct)} | ` +
      `${f1(r.lanFramesPerNodePerS)} | ${f0(median(r.blackoutMs))} / ${f0(Math.max(...r.blackoutMs))} (n=${r.blackoutMs.length}) | ${moved} | ${f0(r.machineBusyPct)} % |`);
  }
  console.log('\n| nodes | Lease writes/s | all watch events/s | per agent CPU (%) | apiserver / etcd / operator / lab forwarders / kube-proxies / kcm + scheduler CPU (%) | herald ARP/NDP frames/s (all nodes) | Service Lease writes in window | node Lease writes/s (agents\' count) | liveness frames/s per node, mean / busiest | load avg | setup |');
  console.log('|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---|');
  for (const r of done) {
    console.log(`| ${r.nodes} | ${f1(r.leaseWritesPerS)} | ${f0(r.allWatchEventsPerS)} | ${f1(r.perAgentCpuPct)} | ` +
      `${f0(r.apiserverCpuPct)} / ${f0(r.etcdCpuPct)} / ${f1(r.operatorCpuPct)} / ${f0(r.forwardersCpuPct)} / ${f1(r.kubeProxyCpuPct)} / ${f1(r.controllersCpuPct)} | ${f1(r.heraldFramesPerS)} | ${f0(r.serviceLeaseWrites)} | ${f1(r.nodeLeaseWritesPerS)} | ` +
      `${f1(r.livenessPerNodePerS)} / ${f1(r.livenessBusiestPerS)} | ${r.loadAvg.toFixed(1)} | ${r.timings} |`);
  }
  console.log('\n| nodes | API writes/s lab / sim | Lease watch events/s lab / sim | LAN frames/s per node lab (herald\'s) / sim | crash failover (ms) lab blackout p50 / max | lab Services re-held p50 / max | sim dark p50 / max |');
  console.log('|---:|---|---|---|---|---|---|');
  for (const { lab: r, sim } of both) {
    const dark = sim.failoverMs;
    console.log(`| ${r.nodes} | ${f1(r.writesPerS)} / ${f1(sim.apiWritesPerS)} | ${f0(r.leaseWatchEventsPerS)} / ${f0(sim.watchEventsPerS)} | ` +
      `${f1(r.lanFramesPerNodePerS)} (${f1(r.heraldFramesPerS / r.nodes)}) / ${f1(sim.lanFramesPerNodePerS)} | ` +
      `${f0(median(r.blackoutMs))} / ${f0(Math.max(...r.blackoutMs))} | ${f0(median(r.moveMs))} / ${f0(Math.max(...r.moveMs))} | ` +
      `${f0(median(dark))} / ${f0(Math.max(...dark))} (n=${dark.length}) |`);
  }
  for (const r of done) console.log(`N=${r.nodes} writes by verb, resource, code: ${r.writesByKind}`);
}
