/**
 * The agent's coordination targets, measured in the L2 lab (three node
 * namespaces, a client, a real control plane, herald operator and one
 * herald agent per node):
 *
 *   node dist/bench/l2-coordination.js        (as root; RUNS=10 by default)
 *
 * CLUSTER=real (default): the lab's real cluster (bench/lab-cluster.ts):
 * the client's requests go VIP → holder → its real kube-proxy → its own pod
 * of an echo Deployment (one pod per node), the probed Services have
 * externalTrafficPolicy: Local. CLUSTER=stand-in: the HTTP "pod" per node
 * behind a catch-all DNAT, as the older figures were measured.
 *
 * - crash failover: the holder's node drops off the LAN and its agent is
 *   SIGKILLed; blackout = longest run of failed HTTP requests (one every
 *   10 ms, fresh connection each) from the client;
 * - graceful handover: the holder's node shuts down: its Node turns
 *   NotReady (as the kubelet marks it), SIGTERM to its agent, which then
 *   hands over rather than restarting in place, and the node leaves the LAN;
 * - time from Service creation to the first ARP answer;
 * - steady-state API requests per second with 10, 100 and 1,000 announced
 *   Services, from the apiserver's own apiserver_request_total;
 * - agent RSS with 1,000 Services;
 * - the dual-answer window when a holder is cut from the apiserver only;
 * - (CLUSTER=real only) externalTrafficPolicy: Local, the only pod moved:
 *   a Service whose 1-replica Deployment is pinned by nodeSelector to one
 *   node; the nodeSelector is patched to another node (rolling update: the
 *   new pod starts there, then the old one is deleted, and the lab kubelet
 *   kills its process at once: no graceful termination); blackout, failed
 *   requests, and the time from the patch to the new node's claim of the
 *   Lease (its acquireTime). RUNS times, back and forth between two nodes.
 *
 * Each agent's log is kept in the lab's directory. A crash run that fails
 * (blackout over 2 s, or the Lease never changed hands) prints every agent's
 * /status and log tail, and saves them with the whole logs in EVIDENCE_DIR
 * (default: a new herald-l2-bench-* directory in the temporary directory),
 * which outlives the lab.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { L2Lab } from '../harness/l2-lab.js';
import { answerSequence, failures, longestBlackoutMs } from '../harness/blackout-probe.js';
import { apply, serviceIps, serviceManifest, serviceLeaseHolder } from '../harness/kube-objects.js';
import { waitFor, sleep } from '../harness/wait.js';
import { median } from './stats.js';
import { clusterMode, deployEcho, deploymentManifest, probedService, readyEndpoints, readyPods, waitEndpointsOn } from './lab-cluster.js';

const RUNS = Number(process.env.RUNS ?? 10);
// PARTS=first,crash,graceful,move,dual,load runs a subset (all by default).
// move runs before dual: dual's API partitions also cut the holder's kube-proxy.
const PARTS = new Set((process.env.PARTS ?? 'first,crash,graceful,move,dual,load').split(','));
const MODE = clusterMode();
/** How long the probe runs around one move of the pod: the rolling update takes seconds. */
const MOVE_PROBE_MS = Number(process.env.MOVE_PROBE_MS ?? 12_000);
const NODES = ['node-a', 'node-b', 'node-c'];
const arpWatch = fileURLToPath(new URL('./arp-watch.js', import.meta.url));

const fmt = (xs: number[]): string => `p50 ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (n=${xs.length})`;

function requestTotal(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) if (line.startsWith('apiserver_request_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

function rssMiB(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  if (pid === undefined) return NaN;
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const lab = await L2Lab.start({ nodes: 3, cluster: MODE });
console.log(`CLUSTER=${MODE} RUNS=${RUNS} PARTS=${[...PARTS].join(',')}`);
const results: Record<string, string> = {};
let evidenceDir: string | undefined;

/** Saves what explains a failed run where it survives the lab: /status, log tails, whole logs. */
async function keepEvidence(label: string): Promise<void> {
  const { text } = await lab.evidence(label);
  console.log(text);
  if (evidenceDir === undefined) {
    evidenceDir = process.env.EVIDENCE_DIR ?? mkdtempSync(join(tmpdir(), 'herald-l2-bench-'));
    mkdirSync(evidenceDir, { recursive: true });
  }
  const stem = label.replace(/[^\w.-]+/g, '-');
  writeFileSync(join(evidenceDir, `${stem}.txt`), `${text}\n`);
  for (const n of NODES) if (existsSync(lab.agentLogFile(n))) copyFileSync(lab.agentLogFile(n), join(evidenceDir, `${stem}-agent-${n}.log`));
  console.log(`evidence saved in ${evidenceDir}`);
}
try {
  await apply(lab.cp, [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: lan-pool}',
    'spec: {blocks: [{start: 192.0.2.200, stop: 192.0.2.250}, {cidr: "2001:db8::1:0/112"}]}',
  ].join('\n'));
  await apply(lab.cp, 'apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: all}\nspec: {interfaces: ["^eth0$"], loadBalancerIPs: true}\n');
  // Info level: watch restarts, view changes and Lease writes are what explain a failed run.
  for (const n of NODES) await lab.startAgent(n);
  if (MODE === 'real') await deployEcho(lab);
  const holderOf = async (svc: string): Promise<string> =>
    (await serviceLeaseHolder(lab.cp, svc)).trim();

  // Time from creation to the first ARP answer.
  const firstAnswer: number[] = [];
  // The later parts use first-0 as their Service, so it is always created.
  for (let i = 0; i < (PARTS.has('first') ? 5 : 1); i++) {
    const name = `first-${i}`;
    const vip = `192.0.2.${200 + i}`; // the lowest free addresses, in order
    const watch = lab.bed.spawn(lab.bed.client, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, arpWatch, 'eth0', '192.0.2.100', vip, '5', '15000']);
    await watch.waitFor(/^started /);
    const t0 = Date.now();
    await lab.cp.kubectl(['create', '-f', '-'], probedService(MODE, name));
    const line = await watch.waitFor(/^\{"t"/, 15_000);
    firstAnswer.push((JSON.parse(line) as { t: number }).t - t0);
    watch.kill('SIGTERM');
    await watch.exited;
    if ((await serviceIps(lab.cp, name))[0] !== vip) throw new Error(`${name} did not get ${vip}`);
  }
  if (PARTS.has('first')) results['Service created → first ARP answer'] = fmt(firstAnswer);
  console.log(results);

  const vip = '192.0.2.200';
  const svc = 'first-0';
  if (MODE === 'real') {
    await waitEndpointsOn(lab, svc, NODES);
    await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 30_000, 200);
  }
  const settle = async (): Promise<void> => {
    await waitFor('every agent live and a holder', async () => {
      const h = await holderOf(svc);
      if (!NODES.includes(h)) return undefined;
      const st = JSON.parse((await lab.agentHttp(h, '/status')).body) as { liveNodes: string[] };
      return st.liveNodes.length === 3 ? true : undefined;
    }, 30_000, 200);
    await sleep(500);
  };

  const crash: number[] = [];
  let crashFailures = 0;
  for (let i = 0; i < (PARTS.has('crash') ? RUNS : 0); i++) {
    await settle();
    const holder = await holderOf(svc);
    const probe = await lab.startProbe({ vip, durationMs: 5000 });
    await sleep(300);
    await lab.cutLan(holder);
    await lab.killAgent(holder);
    const report = await probe.done;
    const blackout = longestBlackoutMs(report.samples);
    const next = await holderOf(svc);
    crash.push(blackout);
    console.log(`crash run ${i}: ${holder} → ${next}, blackout ${blackout} ms`);
    if (blackout > 2000 || next === holder || !NODES.includes(next)) {
      crashFailures++;
      await keepEvidence(`crash run ${i} failed: ${holder} → ${next || 'nobody'}, blackout ${blackout} ms`);
    }
    await lab.restoreLan(holder);
    await lab.startAgent(holder);
  }
  if (crash.length) results['crash failover blackout'] = `${fmt(crash)}, failed runs: ${crashFailures}`;
  console.log(results);

  const graceful: number[] = [];
  for (let i = 0; i < (PARTS.has('graceful') ? RUNS : 0); i++) {
    await settle();
    const holder = await holderOf(svc);
    const probe = await lab.startProbe({ vip, durationMs: 3000 });
    await sleep(300);
    // A node shutting down, not a rolling update: without NotReady the agent
    // restarts in place (--restart-grace) and keeps its Services for 10 s.
    await lab.setNodeReady(holder, false);
    await lab.stopAgent(holder, 'SIGTERM');
    await lab.cutLan(holder);
    const report = await probe.done;
    graceful.push(longestBlackoutMs(report.samples));
    await lab.restoreLan(holder);
    await lab.setNodeReady(holder, true);
    await lab.startAgent(holder);
  }
  if (graceful.length) results['graceful handover blackout'] = fmt(graceful);
  console.log(results);

  // ETP Local: the only pod moves to another node, and the announcement with it.
  const moveBlackout: number[] = [];
  const moveFailed: number[] = [];
  const moveClaim: number[] = [];
  if (PARTS.has('move') && MODE !== 'real') console.log('move: needs CLUSTER=real (pods that move); skipped');
  if (PARTS.has('move') && MODE === 'real') {
    const [a, b] = ['node-a', 'node-b'];
    const pin = (node: string): Record<string, unknown> => ({ nodeSelector: { 'kubernetes.io/hostname': node } });
    await lab.cp.kubectl(['apply', '-f', '-'], deploymentManifest('move', 'move', 1, pin(a)));
    await lab.cp.kubectl(['apply', '-f', '-'], probedService(MODE, 'move', { app: 'move' }));
    const moveVip = await waitFor('move to get an address', async () => (await serviceIps(lab.cp, 'move'))[0], 30_000, 200);
    const lease = async (): Promise<{ holder: string; acquireTime?: string }> => {
      const l = JSON.parse(await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', 'cilium-l2announce-default-move', '-o', 'json']).catch(() => '{}')) as
        { spec?: { holderIdentity?: string; acquireTime?: string } };
      return { holder: l.spec?.holderIdentity ?? '', acquireTime: l.spec?.acquireTime };
    };
    let [from, to] = [a, b];
    for (let i = 0; i < RUNS; i++) {
      // At rest: the one pod on `from` (no other left terminating), its node holding the Lease, the pod answering.
      await waitFor(`move's only pod on ${from}, ${from} holding its Lease and answering`, async () => {
        const pods = await readyPods(lab, 'move');
        if (pods.length !== 1 || pods[0]?.spec.nodeName !== from) return undefined;
        if ((await lab.cp.kubectl(['get', 'pods', '-l', 'app=move', '-o', 'name'])).trim().split('\n').length !== 1) return undefined;
        if ((await lease()).holder !== from) return undefined;
        return (await lab.curl(moveVip).catch(() => '')).endsWith(` on ${from}`) ? true : undefined;
      }, 120_000, 300);
      await sleep(1000);
      const probe = await lab.startProbe({ vip: moveVip, durationMs: MOVE_PROBE_MS });
      await sleep(300);
      const patchAt = Date.now();
      await lab.cp.kubectl(['patch', 'deployment', 'move', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: pin(to) } } })]);
      const claimed = await waitFor(`${to} to hold move's Lease`, async () => {
        const l = await lease();
        return l.holder === to ? l : undefined;
      }, MOVE_PROBE_MS, 100).catch(() => undefined);
      const report = await probe.done;
      const blackout = longestBlackoutMs(report.samples);
      const failed = failures(report.samples).length;
      // acquireTime is written by the claimer, in µs: the moment it took the Lease, not when we looked.
      const claimMs = claimed?.acquireTime !== undefined ? Date.parse(claimed.acquireTime) - patchAt : NaN;
      moveBlackout.push(blackout);
      moveFailed.push(failed);
      if (Number.isFinite(claimMs)) moveClaim.push(claimMs);
      const errors = [...new Set(failures(report.samples).map((f) => f.error))].join(', ');
      console.log(`move run ${i}: ${from} → ${to}: blackout ${blackout} ms, ${failed} of ${report.samples.length} requests failed (${errors || 'none'}), ` +
        `${to} claimed the Lease ${Number.isFinite(claimMs) ? `${claimMs} ms` : 'not'} after the patch; answers ${answerSequence(report.samples).join(' → ')}`);
      if (claimed === undefined || blackout > 5000) {
        // What the new node's kube-proxy made of the Service, and the endpoints it should have followed.
        const rules = (await lab.bed.exec(lab.node(to).host, ['nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout.split('\n').filter((l) => l.includes('default/move')).join('\n');
        console.log(`${to}'s kube-proxy rules for move:\n${rules}\nendpoints: ${JSON.stringify([...(await readyEndpoints(lab, 'move'))])}`);
        await keepEvidence(`move run ${i}: ${from} → ${to}, blackout ${blackout} ms`);
      }
      [from, to] = [to, from];
    }
    const f = (xs: number[]): string => `p50 ${median(xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)} (n=${xs.length})`;
    results['ETP Local, only pod moved: blackout (old pod killed at once, no graceful termination)'] = fmt(moveBlackout);
    results['ETP Local, only pod moved: failed requests per move (one every 10 ms)'] = f(moveFailed);
    results['ETP Local, only pod moved: patch → new node claims the Lease'] = moveClaim.length ? fmt(moveClaim) : 'never';
    await lab.cp.kubectl(['delete', 'service', 'move']);
    await lab.cp.kubectl(['delete', 'deployment', 'move']);
  }
  console.log(results);

  // Dual answers while a holder is cut off from the apiserver only.
  const dual: number[] = [];
  for (let i = 0; i < (PARTS.has('dual') ? Math.min(RUNS, 5) : 0); i++) {
    await settle();
    const holder = await holderOf(svc);
    const watch = lab.bed.spawn(lab.bed.client, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, arpWatch, 'eth0', '192.0.2.100', vip, '5', '6000']);
    await watch.waitFor(/^started /);
    await lab.partition(holder);
    await watch.waitFor(/^done$/, 20_000);
    await lab.heal(holder);
    const replies = watch.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { t: number; mac: string });
    const old = lab.macOf(holder);
    const firstNew = replies.find((r) => r.mac !== old)?.t;
    const lastOld = replies.filter((r) => r.mac === old).at(-1)?.t;
    dual.push(firstNew !== undefined && lastOld !== undefined ? Math.max(0, lastOld - firstNew) : 0);
  }
  if (dual.length) results['two MACs answering during an API partition'] = fmt(dual);
  console.log(results);

  // Steady-state API load with 10, 100, 1000 announced Services (IPv6 single-stack: ClusterIPs).
  let created = 5;
  for (const target of PARTS.has('load') ? [10, 100, 1000] : []) {
    const batch: string[] = [];
    for (; created < target; created++) {
      batch.push(serviceManifest(`load-${created}`, { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] })
        .replace('spec:\n', 'spec:\n  allocateLoadBalancerNodePorts: false\n'));
    }
    for (let i = 0; i < batch.length; i += 100) await lab.cp.kubectl(['create', '-f', '-'], batch.slice(i, i + 100).join('---\n'));
    await waitFor(`${target} Service Leases`, async () => {
      const n = (await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', '-l', 'herald.io/lease=service', '-o', 'name'])).trim().split('\n').length;
      return n >= target ? true : undefined;
    }, 180_000, 1000);
    await sleep(5000);
    const [, a] = await lab.cp.get('/metrics', 30_000);
    const t0 = performance.now();
    await sleep(30_000);
    const [, b] = await lab.cp.get('/metrics', 30_000);
    const seconds = (performance.now() - t0) / 1000;
    // One /metrics GET of ours falls inside the window.
    const qps = (requestTotal(b) - requestTotal(a) - 1) / seconds;
    results[`API requests/s, ${target} Services, 3 agents + operator`] = `${qps.toFixed(2)} (Cilium, one election per Service at renewDeadline 2 s: about ${(target / 2).toFixed(0)})`;
    console.log(results);
  }
  if (PARTS.has('load')) {
    const rss = NODES.map((n) => rssMiB(lab.agent(n)?.child.pid, 'VmRSS'));
    results['agent RSS with 1,005 Services'] = rss.map((r) => `${r.toFixed(0)} MiB`).join(', ');
  }
} finally {
  await lab.stop();
}
console.log('\n| measurement | result |\n|---|---|');
for (const [k, v] of Object.entries(results)) console.log(`| ${k} | ${v} |`);
