/**
 * Upgrades lose nothing (issue 10): a DaemonSet rolling update of every
 * agent, then the replacement of the operator's leader, in the L2 lab, while
 * a client probes every VIP every 10 ms.
 *
 *   NODES=3,5,8 RUNS=3 node dist/bench/upgrade.js        (as root)
 *
 * CLUSTER=real (default): the lab's real cluster (bench/lab-cluster.ts): an
 * echo pod on every node, each Service externalTrafficPolicy: Local to them,
 * so a request goes VIP → holder → its real kube-proxy → its own pod.
 * CLUSTER=stand-in: an HTTP "pod" per node behind a catch-all nftables DNAT,
 * as the older figures were measured.
 *
 * For each N, a lab of its own (harness/l2-lab.ts: control plane, N node
 * namespaces on one LAN bridge with one `herald agent` each, TWO `herald
 * operator` replicas electing a leader, a client), one L2 policy and SERVICES
 * (20) LoadBalancer Services with one IPv4 address each from 192.0.2.200-249.
 * Then RUNS times, once the lab is at rest (every Service held by a running
 * agent, every agent seeing all N nodes live, SETTLE_MS more):
 *
 * - the client (harness/vip-probe.ts) sends one HTTP GET to every VIP
 *   every 10 ms, each on a fresh TCP connection with a PROBE_TIMEOUT_MS
 *   (500 ms) timeout and no retry: a timeout, a reset or anything but a 200
 *   is a failed request. Per VIP: requests, failures by error and by how far
 *   the request got (a reset after the handshake is a connection that was
 *   open while its VIP moved), the longest time between two successive
 *   successes, which node answered. The same probe goes to every node without
 *   a VIP or herald: the control, which fails only when the lab itself
 *   stalls. On the stand-in, each node's own LAN address (its DNAT to the
 *   node's pod); on the real cluster, each node's address at the NodePort of
 *   a "control" Service (NodePort, ETP Local: kube-proxy to the node's own
 *   echo pod);
 * - rolling update (harness/rolling-update.ts), maxUnavailable 1: for
 *   each node in turn, SIGTERM its agent, wait for it to exit (the handover),
 *   start a new agent process, wait for /readyz; then the next node;
 * - operator: SIGTERM the leader, wait for it to exit, start a new replica;
 *   handover = SIGTERM to the standby reporting herald_operator_leader 1.
 *   Every Service's status (addresses, IPAMRequestSatisfied condition with its
 *   lastTransitionTime) is compared before and after, the operator's
 *   IPAllocated / IPReleased Events since the SIGTERM are counted, and so are
 *   the new leader's Service status writes.
 *
 * What explains a failure is counted too: TCP resets sent by each node's pod
 * (nftables in the node's namespace: on the stand-in the pod is a process
 * there, on the real cluster its resets are forwarded from the pod bridge
 * cbr0; there the resets the node itself sends, kube-proxy's rejects, are
 * counted apart), the nodes' conntrack statistics, and the TCP counters of
 * the client, the nodes and (real cluster) the echo pods that moved. A run with a failed request saves
 * lab.evidence() (every agent's /status and log tail); the agents' and
 * operators' logs are kept in LOG_DIR (default /tmp/herald-upgrade-<time>),
 * with runs.json.
 *
 * Experiments: STOP_SIGNAL=SIGKILL stops the old agents without a handover,
 * and AGENT_ARGS (space-separated) gives every agent flags, e.g.
 * STOP_SIGNAL=SIGKILL AGENT_ARGS=--suspect-after=5s: agents that restart in
 * place, keeping their Services, since their peers wait 5 s before
 * suspecting them (docs/benchmarks.md, "Upgrades").
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { L2Lab } from '../harness/l2-lab.js';
import { apply, serviceIps } from '../harness/kube-objects.js';
import {
  changedServices, lbSnapshot, reallocationEvents, replaceOperatorLeader, rollAgents, serviceHolders, startVipProbe, waitSteady,
  type AgentReplacement, type OperatorReplacement,
} from '../harness/rolling-update.js';
import { resetMidConnection, type VipProbeReport } from '../harness/vip-probe.js';
import { answeringNode } from '../harness/blackout-probe.js';
import { clusterMode, deployEcho, ECHO_APP, probedService, waitEndpointsOn, type ClusterMode } from './lab-cluster.js';
import { sleep, waitFor } from '../harness/wait.js';
import { median } from './stats.js';

const SIZES = (process.env.NODES ?? '3').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 3);
const SERVICES = Number(process.env.SERVICES ?? 20);
const PROBE_TIMEOUT_MS = Number(process.env.PROBE_TIMEOUT_MS ?? 500);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 3000);
/** Probing before the first SIGTERM and after each phase. */
const MARGIN_MS = 1000;
/** Experiments: how the old agent is stopped, and the agents' flags (space-separated). */
const STOP_SIGNAL = (process.env.STOP_SIGNAL ?? 'SIGTERM') as NodeJS.Signals;
const AGENT_ARGS = (process.env.AGENT_ARGS ?? '').split(' ').filter((a) => a !== '');
const MODE = clusterMode();
const LOG_DIR = process.env.LOG_DIR ?? `/tmp/herald-upgrade-${new Date().toISOString().replace(/[:.]/g, '-')}`;

if (SERVICES > 50) throw new Error('at most 50 Services (192.0.2.200-249)');

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');

/** How many of `names` each node holds, as "node-a 7, node-b 6, ...". */
function spread(holders: ReadonlyMap<string, string>, names: readonly string[], nodes: readonly string[]): string {
  const count = new Map(nodes.map((n) => [n, 0]));
  for (const l of names) {
    const h = holders.get(l) ?? '';
    count.set(h || 'nobody', (count.get(h || 'nobody') ?? 0) + 1);
  }
  return [...count].map(([n, c]) => `${n.replace('node-', '')} ${c}`).join(', ');
}

/**
 * Counts the TCP resets each node's "pod" sends (nftables, in the node's
 * namespace): a connection begun through one node whose next packets reach
 * another after its VIP moved is reset by the second node's pod. On the
 * stand-in the pod is a process in the node's namespace (its resets leave
 * by the output hook); on the real cluster it has a namespace of its own and
 * its resets cross the node's forward hook from the pod bridge, and the
 * resets the node sends itself (output: kube-proxy's reject of a Service
 * without a local endpoint) are counted in a second rule.
 */
const RST_TABLE = 'herald_bench_rst';

async function countResets(lab: L2Lab, mode: ClusterMode): Promise<void> {
  const chains = mode === 'stand-in'
    ? ['  chain out {', '    type filter hook output priority filter; policy accept;', '    tcp sport 8080 tcp flags rst counter', '  }']
    : [
      '  chain from_pods {', '    type filter hook forward priority filter; policy accept;', '    iifname "cbr0" tcp sport 8080 tcp flags rst counter', '  }',
      '  chain out {', '    type filter hook output priority filter; policy accept;', '    oifname "eth0" tcp sport 80 tcp flags rst counter', '  }',
    ];
  const script = [`table inet ${RST_TABLE} {`, ...chains, '}'].join('\n');
  for (const x of lab.nodes) await lab.bed.exec(x.host.ns, ['sh', '-c', `printf '%s\\n' "$1" | nft -f -`, 'sh', script]);
}

interface Resets {
  /** Sent by each node's pod. */
  readonly pods: Record<string, number>;
  /** Sent by each node itself to the client (real cluster only; 0 on the stand-in). */
  readonly nodes: Record<string, number>;
}

/** Resets sent per node since the last call (which zeroes the counters). */
async function resetsSent(lab: L2Lab): Promise<Resets> {
  const pods: Record<string, number> = {};
  const nodes: Record<string, number> = {};
  for (const x of lab.nodes) {
    const { stdout } = await lab.bed.exec(x.host.ns, ['nft', '-j', 'list', 'table', 'inet', RST_TABLE]);
    await lab.bed.exec(x.host.ns, ['nft', 'reset', 'counters', 'table', 'inet', RST_TABLE]);
    // The rules in the order countResets() wrote them: the pod's, then (real cluster) the node's own.
    const counts = [...stdout.matchAll(/"counter":\s*\{\s*"packets":\s*(\d+)/g)].map((m) => Number(m[1]));
    pods[x.name] = counts[0] ?? NaN;
    nodes[x.name] = counts[1] ?? 0;
  }
  return { pods, nodes };
}

/**
 * Each node's conntrack statistics (/proc/net/stat/nf_conntrack in its
 * namespace, summed over CPUs): a SYN whose reply tuple clashes with an
 * entry still in TIME_WAIT (every VIP on a node is DNATed to the same pod
 * address, and the client reuses its ports within the 120 s of TIME_WAIT)
 * is dropped here, and the client retries only after a second.
 */
const CONNTRACK_FIELDS = ['insert_failed', 'drop', 'early_drop', 'invalid', 'clashres'] as const;
type ConntrackStats = Record<(typeof CONNTRACK_FIELDS)[number], number>;

async function conntrackStats(lab: L2Lab): Promise<ConntrackStats> {
  const total: ConntrackStats = { insert_failed: 0, drop: 0, early_drop: 0, invalid: 0, clashres: 0 };
  for (const x of lab.nodes) {
    const { stdout } = await lab.bed.exec(x.host.ns, ['cat', '/proc/net/stat/nf_conntrack']);
    const [header = '', ...rows] = stdout.trim().split('\n');
    const names = header.trim().split(/\s+/);
    for (const row of rows) {
      const values = row.trim().split(/\s+/);
      for (const f of CONNTRACK_FIELDS) {
        const i = names.indexOf(f);
        if (i >= 0) total[f] += parseInt(values[i] ?? '0', 16);
      }
    }
  }
  return total;
}

/** TCP counters (/proc/net/netstat TcpExt and /proc/net/snmp Tcp) of one namespace. */
async function tcpCounters(lab: L2Lab, ns: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    const lines = (await lab.bed.exec(ns, ['cat', file])).stdout.trim().split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = (lines[i] ?? '').split(/\s+/);
      const values = (lines[i + 1] ?? '').split(/\s+/);
      const group = names[0] ?? '';
      if (group !== 'TcpExt:' && group !== 'Tcp:') continue;
      for (let k = 1; k < names.length; k++) out.set(`${group.slice(0, -1)}.${names[k] ?? ''}`, Number(values[k]));
    }
  }
  return out;
}

/** The echo pods' namespaces (real cluster), labelled "<node> pod". */
function echoPodNamespaces(lab: L2Lab): [string, string][] {
  return lab.nodes.flatMap((x) => [...(lab.kubelet(x.name)?.podNamespaces ?? new Map<string, string>())]
    .filter(([key]) => key.startsWith(`default/${ECHO_APP}-`)).map(([, ns]): [string, string] => [`${x.name} pod`, ns]));
}

/** Nodes', pods' and client's TCP counters that moved, as "client Tcp.AttemptFails 3, node-a TcpExt.PAWSEstab 1, ...". */
async function tcpSnapshot(lab: L2Lab): Promise<Map<string, number>> {
  const all = new Map<string, number>();
  const places: [string, string][] = [['client', lab.bed.client.ns], ...lab.nodes.map((x): [string, string] => [x.name, x.host.ns]), ...echoPodNamespaces(lab)];
  for (const [who, ns] of places) {
    for (const [k, v] of await tcpCounters(lab, ns)) all.set(`${who} ${k}`, v);
  }
  return all;
}

const TCP_SIGNS = /PAWS|TW|Challenge|AttemptFails|EstabResets|OutRsts|SynRetrans|ListenDrops|ListenOverflows|TCPAbortOnData|TCPBacklogDrop|TCPReqQFullDrop|TCPTimeouts|RetransSegs/;

function tcpDelta(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): string {
  return [...b].filter(([k, v]) => TCP_SIGNS.test(k) && v !== (a.get(k) ?? 0)).map(([k, v]) => `${k} ${v - (a.get(k) ?? 0)}`).join(', ');
}

interface Run {
  readonly n: number;
  readonly run: number;
  readonly requests: number;
  readonly failed: number;
  /** Failed requests that were connections reset after their handshake: their VIP moved while they were open. */
  readonly resetByMove: number;
  /** Failed requests while the operator was replaced (from its SIGTERM on). */
  readonly failedOperator: number;
  /** Per VIP, the longest time between two successive successes (whole probe). */
  readonly gapsMs: number[];
  /** Per VIP, how many times the client saw its answering node change. */
  readonly moves: number;
  readonly agents: AgentReplacement[];
  readonly operator: OperatorReplacement;
  readonly before: string;
  readonly afterRoll: string;
  readonly addressesChanged: number;
  readonly reallocations: number;
  readonly leaderStatusWrites: number;
  readonly failures: string[];
  /** Failed requests to the nodes' own addresses (no VIP, no herald): a lab that stalled. */
  readonly controlFailed: number;
  readonly controlFailures: string[];
  readonly probeLoopDelay: { readonly p99Ms: number; readonly maxMs: number };
  /** TCP resets sent by each node's pod during the run. */
  readonly resets: Record<string, number>;
  /** TCP resets each node sent itself (kube-proxy's rejects; real cluster only). */
  readonly nodeResets: Record<string, number>;
  /** Conntrack statistics over the run, all nodes. */
  readonly conntrack: ConntrackStats;
  /** The client's and nodes' TCP counters that moved over the run. */
  readonly tcp: string;
}

/**
 * An agent that restarts in place and never comes back (its node stays, its new agent never
 * starts): SIGTERM the agent holding the most VIPs, start nothing, and time from the SIGTERM
 * until another node holds each of its Services (Lease) and answers each of its VIPs (curl).
 * Expected: the restart grace (--restart-grace, 10 s by default) plus a crash failover.
 */
async function neverBack(lab: L2Lab, leases: readonly string[], vips: readonly string[]): Promise<void> {
  await waitSteady(lab, leases, 300_000);
  const holders = await serviceHolders(lab);
  const count = new Map<string, number>();
  for (const l of leases) count.set(holders.get(l) ?? '', (count.get(holders.get(l) ?? '') ?? 0) + 1);
  const node = [...count].filter(([h]) => h !== '').sort((x, y) => y[1] - x[1])[0]?.[0] ?? '';
  const mine = leases.map((l, i) => ({ lease: l, vip: vips[i] ?? '' })).filter((x) => holders.get(x.lease) === node);
  const t0 = performance.now();
  await lab.stopAgent(node, 'SIGTERM');
  const exitMs = performance.now() - t0;
  await waitFor(`${node}'s Services to move`, async () => {
    const h = await serviceHolders(lab);
    return mine.every((x) => (h.get(x.lease) ?? node) !== node) ? true : undefined;
  }, 120_000, 50);
  const leasesMs = performance.now() - t0;
  for (const x of mine) await waitFor(`${x.vip} answered by another node`, async () => (answeringNode(await lab.curl(x.vip).catch(() => node)) !== node ? true : undefined), 60_000, 50);
  const answeredMs = performance.now() - t0;
  console.log(`N=${lab.nodes.length} never back: ${node} (${mine.length} VIPs) SIGTERM→exit ${f0(exitMs)} ms; Services moved ${f0(leasesMs)} ms and every VIP answered by another node ${f0(answeredMs)} ms after the SIGTERM`);
  await lab.startAgent(node, AGENT_ARGS, { readyTimeoutMs: 120_000 });
}

/**
 * Where the control probes go: each node's own LAN address on the stand-in
 * (its DNAT to the node's pod); on the real cluster, each node's address at
 * the NodePort of a "control" Service (externalTrafficPolicy: Local, so the
 * node's own echo pod answers): the same kube-proxy and pod, no VIP, no herald.
 */
async function controlTargets(lab: L2Lab): Promise<string[]> {
  const addresses = lab.nodes.map((x) => x.host.ipv4 ?? '').filter((ip) => ip !== '');
  if (MODE === 'stand-in') return addresses;
  await lab.cp.kubectl(['apply', '-f', '-'], [
    'apiVersion: v1', 'kind: Service', 'metadata: {name: control, namespace: default}',
    `spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: ${ECHO_APP}}, ports: [{port: 80, targetPort: 8080, protocol: TCP}]}`,
  ].join('\n'));
  const port = Number(await lab.cp.kubectl(['get', 'svc', 'control', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  await waitEndpointsOn(lab, 'control', lab.nodes.map((x) => x.name));
  for (const a of addresses) {
    await waitFor(`the control NodePort on ${a}`, async () => {
      const r = await lab.bed.execStatus(lab.bed.client, ['curl', '-sS', '--noproxy', '*', '--max-time', '2', `http://${a}:${port}/`], { timeoutMs: 5000 });
      return r.code === 0 ? true : undefined;
    }, 60_000, 300);
  }
  return addresses.map((a) => `${a}:${port}`);
}

async function measure(n: number): Promise<Run[]> {
  const dir = join(LOG_DIR, `n${String(n).padStart(2, '0')}`);
  mkdirSync(dir, { recursive: true });
  const lab = await L2Lab.start({ nodes: n, operatorReplicas: 2, cluster: MODE });
  const runs: Run[] = [];
  const nodes = lab.nodes.map((x) => x.name);
  const names = Array.from({ length: SERVICES }, (_, i) => `upgrade-${i}`);
  const leases = names.map((s) => `cilium-l2announce-default-${s}`);
  let operators = 2;
  try {
    await apply(lab.cp, [
      'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: upgrade-pool}',
      'spec: {blocks: [{start: 192.0.2.200, stop: 192.0.2.249}]}',
    ].join('\n'));
    await apply(lab.cp, 'apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: all}\nspec: {interfaces: ["^eth0$"], loadBalancerIPs: true}\n');
    for (const node of nodes) await lab.startAgent(node, AGENT_ARGS, { readyTimeoutMs: 120_000 });
    if (MODE === 'real') await deployEcho(lab);
    await lab.cp.kubectl(['create', '-f', '-'], names.map((s) => probedService(MODE, s)).join('---\n'));
    const vips = await waitFor(`${SERVICES} Services with addresses`, async () => {
      const ips = await Promise.all(names.map(async (s) => (await serviceIps(lab.cp, s)).at(0)));
      const known = ips.filter((ip) => ip !== undefined);
      return known.length === names.length ? known : undefined;
    }, 120_000, 250);
    const controls = await controlTargets(lab);
    if (MODE === 'real') for (const s of names) await waitEndpointsOn(lab, s, nodes);
    await countResets(lab, MODE);

    for (let run = 0; run < RUNS; run++) {
      await waitSteady(lab, leases, 300_000);
      await sleep(SETTLE_MS);
      const before = spread(await serviceHolders(lab), leases, nodes);
      await resetsSent(lab);
      const conntrackBefore = await conntrackStats(lab);
      const tcpBefore = await tcpSnapshot(lab);
      // The nodes too, through the same kube-proxy (stand-in or real) and pod but no VIP: the control.
      const probe = await startVipProbe(lab, [...vips, ...controls], { timeoutMs: PROBE_TIMEOUT_MS, maxDurationMs: 900_000 });
      await sleep(MARGIN_MS);
      const agents = await rollAgents(lab, { args: AGENT_ARGS, signal: STOP_SIGNAL });
      await sleep(MARGIN_MS);
      const afterRoll = spread(await serviceHolders(lab), leases, nodes);
      const statusBefore = await lbSnapshot(lab);
      const operator = await replaceOperatorLeader(lab, `operator-${operators++}`);
      const leader = lab.operators.get(operator.newLeader);
      await waitFor('the new leader to count every Service satisfied', async () =>
        ((await leader?.metric('herald_ipam_services', { satisfied: 'true' })) === SERVICES ? true : undefined), 60_000, 100);
      await sleep(MARGIN_MS);
      const whole: VipProbeReport = await probe.stop();
      const report = { ...whole, vips: whole.vips.filter((v) => !controls.includes(v.vip)) };
      const control = whole.vips.filter((v) => controls.includes(v.vip));
      const controlFailed = control.reduce((x, v) => x + v.failures, 0);
      const { pods: resets, nodes: nodeResets } = await resetsSent(lab);
      const conntrackAfter = await conntrackStats(lab);
      const tcp = tcpDelta(tcpBefore, await tcpSnapshot(lab));
      const conntrack = Object.fromEntries(CONNTRACK_FIELDS.map((f) => [f, conntrackAfter[f] - conntrackBefore[f]])) as ConntrackStats;
      const changed = changedServices(statusBefore, await lbSnapshot(lab));
      const reallocations = await reallocationEvents(lab, operator.sigtermAt);
      const leaderStatusWrites = (await leader?.metric('herald_status_writes_total', { resource: 'services', result: 'ok' })) ?? 0;

      // Failures by phase, on the probe's clock (ms since its start; the first 100 per VIP).
      const operatorFrom = operator.sigtermAt - report.startedAt;
      const failures = report.vips.flatMap((v) => v.failed.map((f) => ({ vip: v.vip, ...f })));
      const failed = report.vips.reduce((x, v) => x + v.failures, 0);
      const resetByMove = report.vips.reduce((x, v) => x + Object.entries(v.errors).filter(([e]) => resetMidConnection(e)).reduce((y, [, c]) => y + c, 0), 0);
      const inOperator = failures.filter((f) => f.at >= operatorFrom).length;
      const describe = failures.map((f) => {
        const near = agents.map((a) => ({ a, d: f.at - (a.sigtermAt - report.startedAt) })).filter((x) => x.d >= 0).at(-1);
        return `${f.vip} at ${f0(f.at)} ms: ${f.error}${near ? ` (${f0(near.d)} ms after SIGTERM to ${near.a.node})` : ''}`;
      });
      const r: Run = {
        n, run,
        requests: report.vips.reduce((x, v) => x + v.requests, 0),
        failed, resetByMove, failedOperator: inOperator,
        gapsMs: report.vips.map((v) => v.longestGapMs),
        moves: report.vips.reduce((x, v) => x + v.sequence.length - 1, 0),
        agents, operator, before, afterRoll,
        addressesChanged: changed.length, reallocations: reallocations.length, leaderStatusWrites,
        failures: describe,
        controlFailed, controlFailures: control.flatMap((v) => v.failed.map((f) => `${v.vip} at ${f0(f.at)} ms: ${f.error}`)),
        probeLoopDelay: whole.loopDelay, resets, nodeResets, conntrack, tcp,
      };
      runs.push(r);
      console.log(`N=${n} run ${run}: ${r.requests} requests, ${failed} failed (${resetByMove} reset mid-connection, ${inOperator} after the operator's SIGTERM), ` +
        `longest gap p50 ${f0(median(r.gapsMs))} ms max ${f0(Math.max(...r.gapsMs))} ms, ${r.moves} VIP moves seen by the client; ` +
        `agents ${agents.map((a) => `${a.node} ${f0(a.stopMs)}+${f0(a.startMs)} ms`).join(', ')}; ` +
        `VIPs before [${before}] after the roll [${afterRoll}]; operator ${operator.oldLeader} → ${operator.newLeader} in ${f0(operator.handoverMs)} ms ` +
        `(exit ${operator.exitCode ?? 'signal'}), ${changed.length} addresses changed, ${reallocations.length} reallocation Events, ${leaderStatusWrites} status writes by the new leader`);
      console.log(`  control (node addresses): ${controlFailed} failed; the probe's event-loop delay p99 ${whole.loopDelay.p99Ms} ms, max ${whole.loopDelay.maxMs} ms; ` +
        `TCP resets sent by the pods: ${Object.entries(resets).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
        `by the nodes themselves: ${Object.entries(nodeResets).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
        `conntrack on the nodes: ${Object.entries(conntrack).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      console.log(`  TCP counters: ${tcp}`);
      for (const line of describe) console.log(`  failed: ${line}`);
      for (const line of r.controlFailures) console.log(`  control failed: ${line}`);
      for (const c of changed) console.log(`  changed: ${c}`);
      for (const e of reallocations) console.log(`  reallocated: ${e}`);
      if (agents.some((a) => a.exitCode !== 0)) console.log(`  agents that did not exit cleanly: ${agents.filter((a) => a.exitCode !== 0).map((a) => `${a.node} (${a.exitCode ?? 'signal'})`).join(', ')}`);
      if (failed > 0) {
        const { text } = await lab.evidence(`N=${n} run ${run}: ${failed} failed requests`);
        writeFileSync(join(dir, `run${run}-evidence.txt`), `${describe.join('\n')}\n\n${text}\n`);
      }
    }
    if (STOP_SIGNAL === 'SIGTERM') await neverBack(lab, leases, vips);
    return runs;
  } finally {
    for (const f of ['kube-apiserver.log', ...[...Array(operators).keys()].map((i) => `operator-${i}.log`), ...nodes.map((x) => `agent-${x}.log`)]) {
      const from = join(lab.cp.dir, f);
      if (existsSync(from)) copyFileSync(from, join(dir, f));
    }
    await lab.stop();
  }
}

mkdirSync(LOG_DIR, { recursive: true });
console.log(`CLUSTER=${MODE} NODES=${SIZES.join(',')} RUNS=${RUNS} SERVICES=${SERVICES} PROBE_TIMEOUT_MS=${PROBE_TIMEOUT_MS} STOP_SIGNAL=${STOP_SIGNAL} AGENT_ARGS='${AGENT_ARGS.join(' ')}'; logs in ${LOG_DIR}`);
const all: Run[] = [];
for (const n of SIZES) {
  all.push(...await measure(n));
  printTable(all);
}
writeFileSync(join(LOG_DIR, 'runs.json'), `${JSON.stringify(all, null, 2)}\n`);

function printTable(runs: readonly Run[]): void {
  const perRun = (rs: readonly Run[], f: (r: Run) => number): string => `${f0(median(rs.map(f)))} (${rs.map(f).join(', ')})`;
  console.log('\n| nodes | runs | requests per run | failed requests per run, p50 (each run) | of which reset mid-connection by a VIP move | other failures (all runs) | of them while the operator was replaced | longest gap between successes per VIP, p50 / max (ms) | VIP moves per roll | agent replacement p50: SIGTERM→exit / start→ready (ms) | VIPs per node before → after each roll | operator handover p50 (max) (ms) | addresses changed | reallocation Events | new leader\'s status writes | control failed | pod resets | node resets | conntrack insert_failed / drop on the nodes |');
  console.log('|---:|---:|---:|---|---|---:|---:|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const n of [...new Set(runs.map((r) => r.n))]) {
    const rs = runs.filter((r) => r.n === n);
    const agents = rs.flatMap((r) => r.agents);
    const sumOf = (f: (r: Run) => number): number => rs.reduce((x, r) => x + f(r), 0);
    console.log(`| ${n} | ${rs.length} | ${f0(median(rs.map((r) => r.requests)))} | ${perRun(rs, (r) => r.failed)} | ${perRun(rs, (r) => r.resetByMove)} | ${sumOf((r) => r.failed - r.resetByMove)} | ${sumOf((r) => r.failedOperator)} | ` +
      `${f0(median(rs.map((r) => median(r.gapsMs))))} / ${f0(Math.max(...rs.flatMap((r) => r.gapsMs)))} | ${perRun(rs, (r) => r.moves)} | ` +
      `${f0(median(agents.map((a) => a.stopMs)))} / ${f0(median(agents.map((a) => a.startMs)))} | ${rs.map((r) => `[${r.before}] → [${r.afterRoll}]`).join('; ')} | ` +
      `${f0(median(rs.map((r) => r.operator.handoverMs)))} (${f0(Math.max(...rs.map((r) => r.operator.handoverMs)))}) | ${sumOf((r) => r.addressesChanged)} | ${sumOf((r) => r.reallocations)} | ${sumOf((r) => r.leaderStatusWrites)} | ` +
      `${sumOf((r) => r.controlFailed)} | ${sumOf((r) => Object.values(r.resets).reduce((x, v) => x + v, 0))} | ${sumOf((r) => Object.values(r.nodeResets).reduce((x, v) => x + v, 0))} | ${sumOf((r) => r.conntrack.insert_failed)} / ${sumOf((r) => r.conntrack.drop)} |`);
  }
}
