/**
 * herald agent memory against a real kube-apiserver: one `herald agent`
 * process in an L2 lab node namespace (harness/l2-lab.ts, one node, no
 * operator), with up to 100 Nodes, 1,000 LoadBalancer Services and 5,000
 * EndpointSlices in the API.
 *
 *   npm run bench:agent-memory -- [--compare=<commit>[+<patch>] | <built checkout> ...]     (as root)
 *
 * The objects are built up in four steps, and at each the agent is started,
 * waited for (ready, then answering for every Service it should), left to
 * settle (until V8 has shrunk its heap after start-up, see measure()),
 * measured (VmRSS and its anonymous part, VmHWM, V8's heap from its
 * /metrics) and SIGKILLed:
 *   1. 10 Nodes, 100 Services, 500 EndpointSlices (the small size)
 *   2. 100 Nodes (+90)
 *   3. 1,000 Services (+900, without slices yet)
 *   4. 5,000 EndpointSlices (+4,500): 100 / 1,000 / 5,000, the target size
 * so the growth per Node, per Service and per EndpointSlice can be told
 * apart. With --compare, the same measurements are taken with other builds
 * against the same objects, the runs alternating: a commit (optionally
 * <commit>+<patch file>) is built with git archive (+ git apply) + tsc in a
 * temporary directory; a directory is taken as an already built checkout.
 * The floor (bare Node, and Node with only the agent's modules loaded) is
 * measured first, and at the end the heap the agent's caches alone hold,
 * with and without slimming (bench/agent-memory-caches.ts).
 *
 * Objects look like a real cluster's: Nodes with status (conditions,
 * addresses, capacity, nodeInfo, 30 images), Services from a Helm chart with
 * kubectl's last-applied annotation and the operator's status, EndpointSlices
 * as the EndpointSlice controller writes them (3 endpoints each, with pod
 * references). Every address is from a documentation range; Services are
 * IPv6 single-stack without node ports (the test apiserver's IPv4 Service
 * range is a /24). Everything lives in this lab's own control plane and
 * namespaces, and lab.stop() removes it all, also on failure.
 *
 * Environment: SCALE (multiplies every count; default 1), REPEATS (runs per
 * build at steps 1 and 4, default 1; steps 2 and 3 run this build once),
 * SETTLE_MAX_MS (the longest wait for settling, default 120000), SEMI=1 for
 * an extra run of each build with node --max-semi-space-size=1 at the target
 * size.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { KubeTransport } from '../src/kube/transport.js';
import { L2Lab } from '../harness/l2-lab.js';
import { repoRoot } from '../harness/paths.js';
import { sleep, waitFor } from '../harness/wait.js';
import { median } from './stats.js';

const run = promisify(execFile);
const { values: flags } = parseArgs({ options: { compare: { type: 'string', multiple: true } } });
const REPEATS = Number(process.env.REPEATS ?? 1);
const SETTLE_MAX_MS = Number(process.env.SETTLE_MAX_MS ?? 120_000);
const SEMI = process.env.SEMI === '1';
const NAMESPACES = 10;
const SLICES_PER_SERVICE = 5;
const ENDPOINTS_PER_SLICE = 3;
const NODE = 'node-a';
const floorScript = fileURLToPath(new URL('./agent-memory-floor.js', import.meta.url));
const cachesScript = fileURLToPath(new URL('./agent-memory-caches.js', import.meta.url));

/** repeats 0: only this build, once (the intermediate steps, for growth per kind). */
interface Step { label: string; nodes: number; services: number; slicedServices: number; repeats: number }
// SCALE shrinks every count (a quick check of the bench itself); the figures need SCALE=1.
const SCALE = Number(process.env.SCALE ?? 1);
const step = (nodes: number, services: number, slicedServices: number, repeats: number): Step => {
  const [n, s, ss] = [nodes, services, slicedServices].map((x) => Math.max(2, Math.round(x * SCALE))) as [number, number, number];
  return { label: `${n} Nodes, ${s} Services, ${ss * SLICES_PER_SERVICE} slices`, nodes: n, services: s, slicedServices: ss, repeats };
};
const STEPS: Step[] = [step(10, 100, 100, REPEATS), step(100, 100, 100, 0), step(100, 1000, 100, 0), step(100, 1000, 1000, REPEATS)];

interface Variant { name: string; cli?: string; nodeArgs?: readonly string[] }
interface Sample {
  rss: number; anon: number; hwm: number; heapUsed: number; heapTotal: number;
  readyS: number; announcedS: number; settledS: number;
  /** False when SETTLE_MAX_MS ended the wait. */
  settled: boolean;
}


function procMiB(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---- the objects -------------------------------------------------------------

const nodeName = (i: number): string => (i === 0 ? NODE : `worker-${String(i).padStart(3, '0')}`);
const serviceName = (i: number): string => `svc-${String(i).padStart(4, '0')}`;
const namespaceOf = (i: number): string => `mem-${i % NAMESPACES}`;
const isLocal = (i: number): boolean => i % 5 === 0;
const hex = (n: number): string => n.toString(16);
/** 203.0.113.1-250, then 2001:db8:a::/64. */
const ingressIp = (i: number): string => (i < 250 ? `203.0.113.${i + 1}` : `2001:db8:a::${hex(i)}`);
const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function nodeObject(i: number): object {
  const name = nodeName(i);
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': `rack-${i % 4}`, 'node.kubernetes.io/instance-type': 'bare-metal',
      },
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock', 'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { podCIDR: `2001:db8:c:${hex(i + 1)}::/64`, podCIDRs: [`2001:db8:c:${hex(i + 1)}::/64`] },
  };
}

function nodeStatus(i: number): object {
  const condition = (type: string, status: string, reason: string, message: string): object =>
    ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
  return {
    status: {
      capacity: { cpu: '32', 'ephemeral-storage': '960303848Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '131811084Ki', pods: '110' },
      allocatable: { cpu: '32', 'ephemeral-storage': '885012097992', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '131708684Ki', pods: '110' },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [{ type: 'InternalIP', address: `2001:db8:1::${hex(i + 1)}` }, { type: 'Hostname', address: nodeName(i) }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: randomUUID().replaceAll('-', ''), systemUUID: randomUUID(), bootID: randomUUID(), kernelVersion: '6.1.0-28-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)', containerRuntimeVersion: 'containerd://1.7.24', kubeletVersion: 'v1.36.3',
        kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64',
      },
      images: Array.from({ length: 30 }, (_, k) => ({
        names: [`registry.example.invalid/team-${k % 7}/app-${k}@sha256:${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '')}`,
          `registry.example.invalid/team-${k % 7}/app-${k}:v1.${k}.0`],
        sizeBytes: 10_000_000 + k * 1_234_567,
      })),
    },
  };
}

function serviceObject(i: number): object {
  const name = serviceName(i);
  const namespace = namespaceOf(i);
  const release = `release-${i % 50}`;
  const labels = {
    app: name, 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': release, 'app.kubernetes.io/managed-by': 'Helm',
    'helm.sh/chart': 'web-1.2.3', tier: i % 3 === 0 ? 'backend' : 'frontend',
  };
  const spec = {
    type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'],
    selector: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': release },
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }],
    externalTrafficPolicy: isLocal(i) ? 'Local' : 'Cluster',
  };
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: {
      name, namespace, labels,
      annotations: {
        'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace,
        'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels }, spec })}\n`,
      },
    },
    spec,
  };
}

function serviceStatus(i: number): object {
  return {
    status: {
      loadBalancer: { ingress: [{ ip: ingressIp(i), ipMode: 'VIP' }] },
      conditions: [{ type: 'cilium.io/IPAMRequestSatisfied', status: 'True', reason: 'satisfied', message: '', lastTransitionTime: now }],
    },
  };
}

function sliceObject(i: number, k: number, uid: string, nodes: number): object {
  const svc = serviceName(i);
  const namespace = namespaceOf(i);
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      name: `${svc}-${hex(0x10000 + i * 16 + k)}`, generateName: `${svc}-`, namespace,
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': svc,
        app: svc, 'app.kubernetes.io/name': svc, 'app.kubernetes.io/instance': `release-${i % 50}`, 'app.kubernetes.io/managed-by': 'Helm',
        'helm.sh/chart': 'web-1.2.3',
      },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': now },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc, uid, controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv6',
    endpoints: Array.from({ length: ENDPOINTS_PER_SLICE }, (_, j) => {
      // A Local Service has a ready endpoint on the lab's node in its first slice.
      const node = isLocal(i) && k === 0 && j === 0 ? NODE : nodeName((i * 7 + k * 3 + j) % nodes);
      const pod = `${svc}-7d9f8c6b5-${hex(0x10000 + k * 16 + j)}`;
      return {
        addresses: [`2001:db8:e:${hex(i + 1)}:${hex(k + 1)}::${hex(j + 1)}`],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: node,
        targetRef: { kind: 'Pod', namespace, name: pod, uid: randomUUID() },
        zone: `rack-${(i + j) % 4}`,
      };
    }),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'https', port: 8443, protocol: 'TCP' }],
  };
}

/** Runs jobs 32 at a time (the apiserver's create rate is the bound on 2 cores). */
async function concurrently(jobs: (() => Promise<unknown>)[], width = 32): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
}

class Cluster {
  nodes = 0;
  services = 0;
  slicedServices = 0;
  private readonly uids = new Map<number, string>();

  constructor(private readonly api: KubeTransport) {}

  private post(path: string, body: object): Promise<{ metadata: { uid: string } }> {
    return this.api.json(path, { method: 'POST', body, timeoutMs: 120_000 });
  }

  private patchStatus(path: string, body: object): Promise<unknown> {
    return this.api.json(`${path}/status?fieldManager=herald-operator`, {
      method: 'PATCH', body, contentType: 'application/merge-patch+json', timeoutMs: 120_000,
    });
  }

  async grow(step: Step): Promise<void> {
    const jobs: (() => Promise<unknown>)[] = [];
    // The lab created node 0 (node-a) itself.
    for (let i = Math.max(1, this.nodes); i < step.nodes; i++) {
      jobs.push(async () => {
        await this.post('/api/v1/nodes', nodeObject(i));
        await this.patchStatus(`/api/v1/nodes/${nodeName(i)}`, nodeStatus(i));
      });
    }
    for (let i = this.services; i < step.services; i++) {
      jobs.push(async () => {
        const path = `/api/v1/namespaces/${namespaceOf(i)}/services`;
        const created = await this.post(path, serviceObject(i));
        this.uids.set(i, created.metadata.uid);
        await this.patchStatus(`${path}/${serviceName(i)}`, serviceStatus(i));
      });
    }
    await concurrently(jobs);
    this.nodes = step.nodes;
    this.services = step.services;
    const slices: (() => Promise<unknown>)[] = [];
    for (let i = this.slicedServices; i < step.slicedServices; i++) {
      for (let k = 0; k < SLICES_PER_SERVICE; k++) {
        slices.push(() => this.post(`/apis/discovery.k8s.io/v1/namespaces/${namespaceOf(i)}/endpointslices`,
          sliceObject(i, k, this.uids.get(i) ?? '', step.nodes)));
      }
    }
    await concurrently(slices);
    this.slicedServices = step.slicedServices;
  }

  /** Services the lab's node should answer for: every Cluster one, and every Local one with its slices. */
  get announceable(): number {
    let n = 0;
    for (let i = 0; i < this.services; i++) if (!isLocal(i) || i < this.slicedServices) n++;
    return n;
  }
}

// ---- measuring ------------------------------------------------------------------

/** Each floor three times (at once: they are idle after loading), the median of each. */
async function floor(): Promise<Record<string, number>> {
  const kinds = ['empty', 'client-node', 'agent-core', 'agent-cli', 'all-commands'];
  const results = await Promise.all(kinds.flatMap((k) => [0, 1, 2].map(async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', floorScript, k, '20000']);
    return JSON.parse(stdout) as { what: string; rssMiB: number };
  })));
  return Object.fromEntries(kinds.map((k) => [k, median(results.filter((r) => r.what === k).map((r) => r.rssMiB))]));
}

/** A build of `ref` (with `patch` applied, if given) in a temporary directory, sharing node_modules and the addon. */
async function prepareBuild(ref: string, patch: string | undefined): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-baseline-'));
  await run('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', repoRoot, ref, dir]);
  if (patch !== undefined) await run('git', ['apply', resolve(patch)], { cwd: dir });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(repoRoot, 'native/build'), join(dir, 'native/build'), { recursive: true });
  writeFileSync(join(dir, 'tsconfig.bench.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src/**/*.ts'] }));
  await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.bench.json')]);
  return dir;
}

/** The agent's /metrics as text, and one sample of it (first series, or the one with `label`). */
function sample(text: string, name: string, label = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${label ? `{${label}` : ''}`) && (label !== '' || l.startsWith(`${name} `)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

const majorGcs = (text: string): number => sample(text, 'herald_agent_nodejs_gc_duration_seconds_count', 'kind="major"');

/**
 * Starts the agent, waits until it answers for `expected` Services, then
 * until it has settled, measures, and SIGKILLs it. V8 shrinks the heap it
 * grew during start-up only some time later (its memory reducer follows a
 * major GC; 30 to 90 s at the target size, and until then RSS is up to
 * 50 MiB higher), so settled means: 15 s since a major GC that ran after
 * the Services were answered, and RSS steady over 5 s. SETTLE_MAX_MS caps
 * the wait; a small heap may see no major GC that soon (reported as not
 * settled: its heap then holds little garbage anyway).
 */
async function measure(lab: L2Lab, variant: Variant, expected: number, settle: boolean): Promise<Sample> {
  const t0 = performance.now();
  const proc = await lab.startAgent(NODE, ['--log-level=warn'], {
    readyTimeoutMs: 180_000, ...(variant.cli ? { cli: variant.cli } : {}), ...(variant.nodeArgs ? { nodeArgs: variant.nodeArgs } : {}),
  });
  try {
    const pid = proc.child.pid;
    if (pid === undefined || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main.js')) throw new Error('the agent pid is not the node process');
    const readyS = (performance.now() - t0) / 1000;
    await waitFor(`${expected} Services answered`, async () => {
      const st = JSON.parse((await lab.agentHttp(NODE, '/status')).body) as { services: { answering: boolean }[] };
      return st.services.filter((s) => s.answering).length >= expected ? true : undefined;
    }, 300_000, 1000);
    const announced = performance.now();
    const announcedS = (announced - t0) / 1000;
    const metrics = async (): Promise<string> => (await lab.agentHttp(NODE, '/metrics')).body;
    const majors = majorGcs(await metrics());
    let majorAt: number | undefined;
    let rss = procMiB(pid, 'VmRSS');
    let settled = !settle;
    while (!settled && performance.now() - announced < SETTLE_MAX_MS) {
      await sleep(5000);
      const before = rss;
      rss = procMiB(pid, 'VmRSS');
      if (majorAt === undefined && majorGcs(await metrics()) > majors) majorAt = performance.now();
      settled = majorAt !== undefined && performance.now() - majorAt >= 15_000 && Math.abs(rss - before) < 1;
    }
    const text = await metrics();
    return {
      rss: procMiB(pid, 'VmRSS'), anon: procMiB(pid, 'RssAnon'), hwm: procMiB(pid, 'VmHWM'),
      heapUsed: sample(text, 'herald_agent_nodejs_heap_size_used_bytes') / 2 ** 20,
      heapTotal: sample(text, 'herald_agent_nodejs_heap_size_total_bytes') / 2 ** 20,
      readyS, announcedS, settledS: (performance.now() - announced) / 1000, settled,
    };
  } finally {
    await lab.killAgent(NODE);
  }
}

/** The heap the agent's caches alone hold, in a process of its own (bench/agent-memory-caches.ts). */
async function cacheHeap(kubeconfig: string, slim: boolean): Promise<number> {
  const { stdout } = await run(process.execPath, ['--expose-gc', cachesScript, kubeconfig, slim ? 'slim' : 'full'], { maxBuffer: 1 << 20 });
  return (JSON.parse(stdout) as { heldMiB: number }).heldMiB;
}

const t0 = performance.now();
// --compare=<git ref>[+<patch>]: built from that commit (with the patch) in a temporary directory; --compare=<dir>: a checkout already built.
const compared = await Promise.all((flags.compare ?? []).map(async (what) => {
  if (existsSync(join(what, 'dist/src/cli/main.js'))) return { name: basename(what), dir: what, temporary: false };
  const [ref = '', patch] = what.split('+');
  const dir = await prepareBuild(ref, patch);
  return { name: patch === undefined ? `baseline ${ref}` : `${ref} + ${basename(patch)}`, dir, temporary: true };
}));
const variants: Variant[] = [
  { name: 'this build' },
  ...compared.map((c) => ({ name: c.name, cli: join(c.dir, 'dist/src/cli/main.js') })),
];
const floors = await floor();
console.log(JSON.stringify({ floorMiB: floors }));

const rows: { step: string; variant: string; samples: Sample[] }[] = [];
let caches = { full: NaN, slim: NaN };
const lab = await L2Lab.start({
  nodes: 1, operator: false,
  controlPlane: { apiserverArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'] },
});
try {
  await lab.cp.kubectl(['apply', '-f', '-'], [
    'apiVersion: cilium.io/v2alpha1', 'kind: CiliumLoadBalancerIPPool', 'metadata: {name: mem-pool}',
    'spec: {blocks: [{cidr: 203.0.113.0/24}, {cidr: "2001:db8:a::/64"}]}',
  ].join('\n'));
  await lab.cp.kubectl(['apply', '-f', '-'], 'apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: mem-policy}\nspec: {interfaces: ["^eth0$"], loadBalancerIPs: true}\n');
  const api = new KubeTransport(lab.cp.kubeConfig());
  for (let n = 0; n < NAMESPACES; n++) await api.json('/api/v1/namespaces', { method: 'POST', body: { metadata: { name: `mem-${n}` } }, timeoutMs: 30_000 });
  const cluster = new Cluster(api);
  for (const step of STEPS) {
    const tc = performance.now();
    const before = cluster.services;
    await cluster.grow(step);
    console.log(`${step.label}: created in ${((performance.now() - tc) / 1000).toFixed(0)} s`);
    const expected = cluster.announceable;
    // New Services: one unmeasured run first writes their Leases, so every measured run sees the same API state.
    if (cluster.services > before) await measure(lab, variants[0]!, expected, false);
    const measured = step.repeats === 0 ? variants.slice(0, 1) : variants;
    const byVariant = measured.map((v) => ({ step: step.label, variant: v.name, samples: [] as Sample[] }));
    for (let r = 0; r < Math.max(1, step.repeats); r++) {
      for (const [vi, v] of measured.entries()) {
        const s = await measure(lab, v, expected, true);
        byVariant[vi]!.samples.push(s);
        console.log(JSON.stringify({ step: step.label, variant: v.name, ...s }));
      }
    }
    rows.push(...byVariant);
    if (SEMI && step === STEPS.at(-1)) {
      for (const base of variants) {
        const v = { ...base, name: `${base.name}, node --max-semi-space-size=1`, nodeArgs: ['--max-semi-space-size=1'] };
        const s = await measure(lab, v, expected, true);
        console.log(JSON.stringify({ step: step.label, variant: v.name, ...s }));
        rows.push({ step: step.label, variant: v.name, samples: [s] });
      }
    }
  }
  caches = { full: await cacheHeap(lab.cp.kubeconfigPath, false), slim: await cacheHeap(lab.cp.kubeconfigPath, true) };
  api.close();
} finally {
  await lab.stop();
  for (const c of compared) if (c.temporary) rmSync(c.dir, { recursive: true, force: true });
}

const f = (x: number): string => x.toFixed(1);
console.log(`\nFloor (idle Node, modules loaded, nothing running; VmRSS MiB): ${Object.entries(floors).map(([k, v]) => `${k} ${f(v)}`).join(', ')}`);
console.log('\n| objects | agent | VmRSS (MiB) | of which anonymous | VmHWM (MiB) | V8 heap used / total (MiB) | all answered after (s) | settled after (s) |\n|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const m = (k: 'rss' | 'anon' | 'hwm' | 'heapUsed' | 'heapTotal' | 'announcedS' | 'settledS'): number => median(r.samples.map((s) => s[k]));
  const unsettled = r.samples.some((s) => !s.settled) ? ' (no major GC by then)' : '';
  console.log(`| ${r.step} | ${r.variant}${r.samples.length > 1 ? ` (median of ${r.samples.length})` : ''} | ${f(m('rss'))} | ${f(m('anon'))} | ${f(m('hwm'))} | `
    + `${f(m('heapUsed'))} / ${f(m('heapTotal'))} | ${f(m('announcedS'))} | ${f(m('settledS'))}${unsettled} |`);
}
console.log(`\nThe caches alone at the target size (V8 heap between forced GCs): full objects ${f(caches.full)} MiB, slimmed ${f(caches.slim)} MiB`);
const rssOf = (step: Step, variant: string): number => median(rows.find((r) => r.step === step.label && r.variant === variant)?.samples.map((s) => s.rss) ?? []);
{
  const [s1, s2, s3, s4] = STEPS.map((s) => rssOf(s, variants[0]!.name)) as [number, number, number, number];
  const [a, b, c, d] = STEPS as [Step, Step, Step, Step];
  const per = (mib: number, n: number, unit: number): string => f((mib / n) * unit);
  console.log(`\nthis build: +${b.nodes - a.nodes} Nodes ${f(s2 - s1)} MiB (${per(s2 - s1, b.nodes - a.nodes, 100)} per 100); `
    + `+${c.services - b.services} Services ${f(s3 - s2)} MiB (${per(s3 - s2, c.services - b.services, 1000)} per 1,000); `
    + `+${(d.slicedServices - c.slicedServices) * SLICES_PER_SERVICE} EndpointSlices ${f(s4 - s3)} MiB `
    + `(${per(s4 - s3, (d.slicedServices - c.slicedServices) * SLICES_PER_SERVICE, 1000)} per 1,000); small → target size ${f(s4 - s1)} MiB`);
}
for (const v of variants.slice(1)) console.log(`${v.name}: small → target size ${f(rssOf(STEPS.at(-1)!, v.name) - rssOf(STEPS[0]!, v.name))} MiB`);
for (const v of variants.slice(1)) {
  for (const step of [STEPS[0]!, STEPS.at(-1)!]) {
    console.log(`${step.label}: ${v.name} / this build VmRSS = ${(rssOf(step, v.name) / rssOf(step, variants[0]!.name)).toFixed(2)}`);
  }
}
console.log(`\nwhole bench: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
