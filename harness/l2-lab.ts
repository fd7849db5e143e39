/**
 * The L2 announcement lab (issue 5): three node namespaces and a client on
 * one LAN bridge, a real control plane with herald's CRDs, `herald operator`
 * in the root namespace, and per node: a Node object, an HTTP "pod" that
 * answers with the node's name, the kube-proxy stand-in, a management link to
 * the apiserver (api-bridge.ts) and a kubeconfig for that node's agent user.
 * The agents themselves are started by the test, one process per node
 * namespace, with startAgent().
 *
 *   const lab = await L2Lab.start();               // node-a, node-b, node-c
 *   await lab.startAgent('node-a');                // waits for /readyz
 *   const vip = ...;                               // from the operator
 *   assert.equal(await lab.curl(vip, 80), 'node-a');
 *   assert.equal(await lab.neighMac(vip), lab.macOf('node-a'));
 *   await lab.partition('node-a'); ... await lab.heal('node-a');   // API only
 *   await lab.cutLan('node-a'); await lab.killAgent('node-a');     // the node dies
 *   const probe = await lab.startProbe({ vip, durationMs: 5000 }); // blackout
 *   longestBlackoutMs((await probe.done).samples)
 *   console.log((await lab.evidence('why')).text); // every agent's /status and log tail
 *   // L2Lab.start({ operatorReplicas: 2 }): operator-0 and operator-1 elect a leader;
 *   await lab.stopOperatorReplica(await lab.operatorLeader() ?? ''); await lab.startOperatorReplica('operator-2');
 *   await lab.stop();                              // in after(): everything goes
 *
 * Teardown is guaranteed: stop() undoes every step that was taken, even after
 * a failed start, and the pieces also die with the test process (control
 * plane and root forwarders by pdeathsig, namespaces and what runs in them
 * by the testbed's exit handlers and its sweep of stale namespaces).
 */
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { ApiBridge, type PartitionMode } from './api-bridge.js';
import { ControlPlane, controlPlaneBinaries, type ControlPlaneOptions } from './control-plane.js';
import { heraldCli } from './entry-points.js';
import type { HeraldProcess } from './herald-process.js';
import { operatorUser, startOperator } from './operator-setup.js';
import { repoRoot } from './paths.js';
import { applyRbac, findWorkload, PodRunner, renderedManifests, type RunningPod, type Workload } from './pod-runner.js';
import { ClusterControllers, LabKubelet, podCidr, podPrefix, podsPerNode, setUpPodNetwork, startKubeProxy, type ProxyMode } from './real-cluster.js';
import { Testbed, type Node, type Spawned } from './testbed.js';
import type { ProbeReport } from './blackout-probe.js';
import { waitFor } from './wait.js';

export const blackoutProbeScript = fileURLToPath(new URL('./blackout-probe.js', import.meta.url));

/** Where an agent's /livez, /readyz and /metrics listen, on its namespace's own 127.0.0.1. */
export const AGENT_HEALTH_PORT = 9964;
/** Where each node's HTTP "pod" listens (on its backend addresses). */
export const BACKEND_PORT = 8080;

export interface LabNodeOptions {
  readonly name: string;
  /** Extra labels on the Node object. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface L2LabOptions {
  /** A count (names node-a, node-b, ...) or the nodes themselves. Default 3. */
  readonly nodes?: number | readonly LabNodeOptions[];
  /** Run `herald operator` (default true). */
  readonly operator?: boolean;
  readonly operatorArgs?: readonly string[];
  /**
   * How many `herald operator` replicas, named operator-0, operator-1, ...,
   * electing one leader as a Deployment's would (default 1).
   */
  readonly operatorReplicas?: number;
  /**
   * The kube-proxy stand-in. 'catch-all' (default): every node DNATs any
   * destination on these TCP ports, arriving on eth0, to its HTTP pod, so
   * VIPs the operator picks at run time work without further setup.
   * { perVip: true }: nothing until addService() names a VIP.
   */
  readonly kubeProxy?: { readonly ports: readonly number[] } | { readonly perVip: true };
  readonly controlPlane?: ControlPlaneOptions;
  /**
   * Run the operator and the agents as the pods of the rendered manifests
   * (deploy/manifests), from their image, with podman (pod-runner.ts): the
   * operator in a network namespace of its own, each agent in its node's,
   * with their ServiceAccounts' tokens. scripts/build-image.sh must have
   * built the image. Agents then start with startAgentPod().
   */
  readonly fromImage?: boolean;
  /**
   * 'stand-in' (default): hand-made Node objects, an HTTP "pod" per node and
   * the kube-proxy stand-in above. 'real': a real cluster's parts instead
   * (real-cluster.ts): kube-controller-manager and kube-scheduler, real
   * kube-proxy in each node namespace, a pod network (a /28 of 203.0.113.0/24
   * per node, a /29 beyond 16 nodes; at most 32) and a lab kubelet per node that runs the Pods the scheduler
   * binds to it. `kubeProxy` is then ignored.
   */
  readonly cluster?: 'stand-in' | 'real';
  /** kube-proxy's mode with cluster: 'real' (default nftables). */
  readonly proxyMode?: ProxyMode;
  /**
   * How each node's agent authenticates. 'token' (default): as the chart's
   * ServiceAccount herald-agent, with a token from the TokenRequest API bound
   * to the node's Node object, so it carries the node's name
   * (userInfo.extra authentication.kubernetes.io/node-name) as a Pod's
   * projected token does, and the admission policy holds it to that node.
   * 'user': a client-certificate user of its own per node (agentUser()),
   * bound to the agent roles, which the admission policy does not apply to
   * (tests that change one node's RBAC alone).
   */
  readonly agentAuth?: 'token' | 'user';
  /** Install the chart's admission policy (deploy/manifests/agent-admission.yaml; default true). */
  readonly admissionPolicy?: boolean;
}

export interface LabNode {
  readonly name: string;
  /** The testbed host: namespace, MAC, LAN and backend addresses. */
  readonly host: Node;
  /** The user the node's agent runs as: its client-certificate user, or the ServiceAccount's (agentAuth). */
  readonly user: string;
  /** A kubeconfig valid inside the node's namespace (server https://127.0.0.1:6443). */
  readonly kubeconfig: string;
}

export interface AgentOptions {
  /** Wait until GET /readyz answers 200 (default true). */
  readonly waitReady?: boolean;
  readonly readyTimeoutMs?: number;
  /** Another build's dist/src/cli/main.js (benchmarks compare builds); default this one. */
  readonly cli?: string;
  /** Flags for Node itself, before the script (e.g. --max-semi-space-size=1). */
  readonly nodeArgs?: readonly string[];
}

export interface ProbeOptions {
  readonly vip: string;
  readonly port?: number;
  readonly intervalMs?: number;
  readonly durationMs: number;
  /** Per-request timeout (default 250 ms). */
  readonly timeoutMs?: number;
}

export interface RunningProbe {
  /** Date.now() in the probe process when it sent its first request. */
  readonly startedAt: number;
  readonly done: Promise<ProbeReport>;
}

const NODE_LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function nodeOptions(nodes: L2LabOptions['nodes']): readonly LabNodeOptions[] {
  if (typeof nodes === 'object') return nodes;
  const n = nodes ?? 3;
  if (n < 1 || n > NODE_LETTERS.length) throw new Error(`between 1 and ${NODE_LETTERS.length} nodes, not ${n}`);
  return Array.from({ length: n }, (_, i) => ({ name: `node-${NODE_LETTERS[i] ?? ''}` }));
}

function url(vip: string, port: number): string {
  return vip.includes(':') ? `http://[${vip}]:${port}/` : `http://${vip}:${port}/`;
}

interface KubeconfigFile { clusters: { cluster: { server: string } }[] }

/** A copy of `path` whose server is `server`: the same user and CA, another address. */
function rewriteServer(path: string, server: string, to: string): void {
  const config = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  for (const c of config.clusters) c.cluster.server = server;
  writeFileSync(to, stringify(config), { mode: 0o600 });
}

/** The agent user of a node: a user of its own per node, so audit logs and RBAC tests can tell them apart. */
export function agentUser(node: string): string {
  return `herald-agent-${node}`;
}

/** Applies deploy/manifests/agent-rbac.yaml (ServiceAccount, roles and their bindings to it). */
export async function installAgentRbac(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['apply', '-f', `${repoRoot}deploy/manifests/agent-rbac.yaml`]);
}

/** Applies deploy/manifests/agent-admission.yaml (the ValidatingAdmissionPolicies and their bindings). */
export async function installAgentAdmission(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['apply', '-f', `${repoRoot}deploy/manifests/agent-admission.yaml`]);
}

/** The user a herald-agent ServiceAccount token authenticates as. */
export const AGENT_SERVICE_ACCOUNT_USER = 'system:serviceaccount:kube-system:herald-agent';

/**
 * A kubeconfig (server: the apiserver on the root namespace's loopback) with a
 * token of the ServiceAccount herald-agent (installAgentRbac first) from the
 * TokenRequest API, bound to Node `node` (which must exist): the token names
 * the node, as a DaemonSet pod's projected token does, and dies with the Node.
 */
export async function agentTokenKubeconfig(cp: ControlPlane, node: string): Promise<string> {
  const token = (await cp.kubectl(['create', 'token', 'herald-agent', '-n', 'kube-system',
    '--bound-object-kind=Node', `--bound-object-name=${node}`, '--duration=24h'])).trim();
  return cp.kubeconfigWithToken(`herald-agent-${node}-token`, token);
}

/**
 * Binds the agent roles (installAgentRbac first) to the client-certificate
 * user `user`; returns its kubeconfig (server: the apiserver on the root
 * namespace's loopback).
 */
export async function agentUserKubeconfig(cp: ControlPlane, user: string): Promise<string> {
  await cp.kubectl(['create', 'clusterrolebinding', `${user}-user`, '--clusterrole=herald-agent', `--user=${user}`]);
  await cp.kubectl(['create', 'rolebinding', `${user}-user`, '-n', 'kube-system', '--role=herald-agent-leases', `--user=${user}`]);
  return cp.kubeconfigFor(user);
}

export class L2Lab {
  readonly nodes: LabNode[] = [];
  #cp: ControlPlane | undefined;
  #bed: Testbed | undefined;
  /** The running operator replicas by identity, in the order they started. */
  readonly #operators = new Map<string, HeraldProcess>();
  #operatorKubeconfig: string | undefined;
  #operatorArgs: readonly string[] = [];
  #runner: PodRunner | undefined;
  #agentWorkload: Workload | undefined;
  #operatorPod: RunningPod | undefined;
  readonly #agentPods = new Map<string, RunningPod>();
  readonly #bridges = new Map<string, ApiBridge>();
  readonly #agents = new Map<string, Spawned>();
  readonly #probes = new Set<Spawned>();
  readonly #perVip: boolean;
  readonly #real: boolean;
  #controllers: ClusterControllers | undefined;
  readonly #kubelets = new Map<string, LabKubelet>();
  readonly #kubeProxies = new Map<string, Spawned>();
  #stopped = false;
  #evidenceCount = 0;

  private constructor(opts: L2LabOptions) {
    this.#perVip = opts.kubeProxy !== undefined && 'perVip' in opts.kubeProxy;
    this.#real = opts.cluster === 'real';
  }

  static async start(opts: L2LabOptions = {}): Promise<L2Lab> {
    const lab = new L2Lab(opts);
    try {
      await lab.#build(opts);
    } catch (err) {
      await lab.stop();
      throw err;
    }
    return lab;
  }

  async #build(opts: L2LabOptions): Promise<void> {
    const wanted = nodeOptions(opts.nodes);
    const cp = this.#cp = await ControlPlane.start(opts.controlPlane);
    const apiPort = Number(new URL(cp.server).port);
    const operatorKubeconfig = await operatorUser(cp);  // also installs the CRDs
    await installAgentRbac(cp);
    if (opts.admissionPolicy ?? true) await installAgentAdmission(cp);
    if (this.#real) this.#controllers = await ClusterControllers.start(cp);
    const proxyConfig = this.#real ? await cp.kubeconfigFor('system:kube-proxy') : undefined;
    const bed = this.#bed = await Testbed.create({ nodes: wanted.map((n) => ({ name: n.name })) });
    for (const [i, want] of wanted.entries()) {
      const host = bed.node(want.name);
      await this.#createNodeObject(want, host, i, wanted.length);
      const byToken = (opts.agentAuth ?? 'token') === 'token';
      const user = byToken ? AGENT_SERVICE_ACCOUNT_USER : agentUser(want.name);
      const bridge = await ApiBridge.start(bed, host, cp.dir, apiPort);
      this.#bridges.set(want.name, bridge);
      const kubeconfig = join(cp.dir, `${want.name}.kubeconfig`);
      rewriteServer(byToken ? await agentTokenKubeconfig(cp, want.name) : await agentUserKubeconfig(cp, user), bridge.server, kubeconfig);
      if (proxyConfig === undefined) {
        await this.#serveHttp(host);
        await this.#proxyTable(host, this.#perVip ? [] : (opts.kubeProxy && 'ports' in opts.kubeProxy ? opts.kubeProxy.ports : [80]));
      }
      this.nodes[i] = { name: want.name, host, user, kubeconfig };
    }
    if (proxyConfig !== undefined) await this.#startCluster(proxyConfig, opts.proxyMode ?? 'nftables');
    this.#operatorKubeconfig = operatorKubeconfig;
    this.#operatorArgs = opts.operatorArgs ?? [];
    if (opts.fromImage) {
      const objects = renderedManifests();
      await applyRbac(cp, objects);
      this.#runner = new PodRunner(cp, cp.dir);
      this.#agentWorkload = findWorkload(objects, 'DaemonSet');
      if (opts.operator ?? true) this.#operatorPod = await this.#startOperatorPod(findWorkload(objects, 'Deployment'), apiPort);
    } else if (opts.operator ?? true) {
      for (let i = 0; i < (opts.operatorReplicas ?? 1); i++) await this.startOperatorReplica(`operator-${i}`);
    }
  }

  /** The pod network, then per node a real kube-proxy (its kubeconfig over the node's management link) and a lab kubelet. */
  async #startCluster(proxyConfig: string, mode: ProxyMode): Promise<void> {
    const hosts = this.nodes.map((n) => n.host);
    await setUpPodNetwork(this.bed, hosts);
    for (const [i, n] of this.nodes.entries()) {
      const kubeconfig = join(this.cp.dir, `kube-proxy-${n.name}.kubeconfig`);
      rewriteServer(proxyConfig, this.#bridge(n.name).server, kubeconfig);
      this.#kubeProxies.set(n.name, startKubeProxy(this.bed, n.host, kubeconfig, this.cp.dir, mode));
      const kubelet = new LabKubelet(this.bed, this.cp, n.host, i, podPrefix(this.nodes.length));
      this.#kubelets.set(n.name, kubelet);
      kubelet.start();
    }
  }

  /** The node's lab kubelet (cluster: 'real'), else undefined. */
  kubelet(node: string): LabKubelet | undefined {
    return this.#kubelets.get(node);
  }

  /** Whether kube-controller-manager, kube-scheduler and every kube-proxy still run (cluster: 'real'). */
  get clusterRunning(): boolean {
    return (this.#controllers?.running ?? false) && [...this.#kubeProxies.values()].every((p) => p.child.exitCode === null && p.child.signalCode === null);
  }

  /** One operator pod, in a network namespace of its own whose 127.0.0.1:6443 is the apiserver (as a pod network would reach it). */
  async #startOperatorPod(deployment: Workload, apiPort: number): Promise<RunningPod> {
    const podName = `${deployment.name}-0`;
    const host = await this.bed.addHost(podName);
    this.#bridges.set(podName, await ApiBridge.start(this.bed, host, this.cp.dir, apiPort));
    const pod = await this.#pods.run(deployment, { podName, nodeName: this.nodes[0]?.name ?? podName, netns: host.ns });
    await pod.waitReady();
    return pod;
  }

  get #pods(): PodRunner {
    if (!this.#runner) throw new Error('this lab runs herald from dist/, not from the image (L2Lab.start({ fromImage: true }))');
    return this.#runner;
  }

  /** A Node as a kubelet would register it: hostname label, InternalIP, Ready. */
  async #createNodeObject(want: LabNodeOptions, host: Node, index: number, count: number): Promise<void> {
    const cp = this.cp;
    const cidr = this.#real ? podCidr(index, count) : undefined;
    await cp.kubectl(['apply', '-f', '-'], stringify({
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: want.name, labels: { 'kubernetes.io/hostname': want.name, 'kubernetes.io/os': 'linux', ...want.labels } },
      ...(cidr === undefined ? {} : { spec: { podCIDR: cidr, podCIDRs: [cidr] } }),
    }, { version: '1.1' }));
    if (this.#real) {
      // What the scheduler needs to bind Pods here: room, as many pods as the node's pod CIDR has addresses for.
      const room = { cpu: '4', memory: '8Gi', pods: String(podsPerNode(podPrefix(count))) };
      await cp.kubectl(['patch', 'node', want.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { capacity: room, allocatable: room } })]);
    }
    const addresses = [
      ...(host.ipv4 ? [{ type: 'InternalIP', address: host.ipv4 }] : []),
      ...(host.ipv6 ? [{ type: 'InternalIP', address: host.ipv6 }] : []),
      { type: 'Hostname', address: want.name },
    ];
    await cp.kubectl(['patch', 'node', want.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { addresses } })]);
    await this.setNodeReady(want.name, true);
    // The apiserver taints a new Node not-ready; node-lifecycle (not run in
    // the lab: no kubelet heartbeats) lifts the taint once the Node is Ready.
    if (this.#real) await cp.kubectl(['taint', 'node', want.name, 'node.kubernetes.io/not-ready:NoSchedule-']);
  }

  /**
   * Sets a Node's Ready condition as the kubelet does: False when its
   * graceful node shutdown begins (an agent SIGTERMed then hands over at
   * once), True when it is back.
   */
  async setNodeReady(node: string, ready: boolean): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = ready
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'herald lab' }
      : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'node is shutting down' };
    await this.cp.kubectl(['patch', 'node', node, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: {
      conditions: [{ ...condition, lastHeartbeatTime: now, lastTransitionTime: now }],
    } })]);
  }

  /**
   * The node's HTTP "pod": answers every request with the node's name, on its
   * backend addresses. Like the testbed's serveHttp, but under pdeathsig, so
   * it does not outlive a test process that is SIGKILLed.
   */
  async #serveHttp(host: Node): Promise<void> {
    const code = `
      const s = require('node:http').createServer((req, res) => res.end(${JSON.stringify(`${host.name}\n`)}));
      s.listen(${BACKEND_PORT}, '::', () => console.log('listening'));`;
    await this.bed.spawn(host, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, '-e', code]).waitFor(/^listening$/);
  }

  /** The lab's own nftables table for the kube-proxy stand-in, with catch-all rules for `ports`. */
  async #proxyTable(host: Node, ports: readonly number[]): Promise<void> {
    const rules = ports.flatMap((p) => [
      `iifname "eth0" meta nfproto ipv4 tcp dport ${p} dnat ip to ${host.backend4}:${BACKEND_PORT}`,
      `iifname "eth0" meta nfproto ipv6 tcp dport ${p} dnat ip6 to [${host.backend6}]:${BACKEND_PORT}`,
    ]);
    await this.#nft(host, [
      'table inet herald_lab_proxy {',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      ...rules.map((r) => `    ${r}`),
      '  }',
      '}',
    ].join('\n'));
  }

  async #nft(host: Node, script: string): Promise<void> {
    await this.#nftIn(host.ns, script);
  }

  get cp(): ControlPlane {
    if (!this.#cp) throw new Error('the lab has no control plane');
    return this.#cp;
  }

  get bed(): Testbed {
    if (!this.#bed) throw new Error('the lab has no testbed');
    return this.#bed;
  }

  /** The operator's pod when the lab runs from the image (fromImage), else undefined. */
  get operatorPod(): RunningPod | undefined {
    return this.#operatorPod;
  }

  /** The first running `herald operator` replica; undefined when started with operator: false or fromImage. */
  get operator(): HeraldProcess | undefined {
    return this.#operators.values().next().value;
  }

  /** Every running `herald operator` replica, by identity. */
  get operators(): ReadonlyMap<string, HeraldProcess> {
    return this.#operators;
  }

  /** Starts one more `herald operator` replica with identity `name` (the lab's operatorArgs too); resolves once it serves /readyz. */
  async startOperatorReplica(name: string, extraArgs: readonly string[] = []): Promise<HeraldProcess> {
    if (this.#operators.has(name)) throw new Error(`an operator replica ${name} already runs`);
    if (this.#operatorKubeconfig === undefined) throw new Error('the lab has no operator credentials yet');
    const p = await startOperator(this.cp, this.#operatorKubeconfig, name, [...this.#operatorArgs, ...extraArgs]);
    this.#operators.set(name, p);
    void p.proc.exited.then(() => { if (this.#operators.get(name) === p) this.#operators.delete(name); });
    return p;
  }

  /** SIGTERM to one operator replica (SIGKILL after graceMs, as a pod's grace period); resolves with its exit code once it is gone. */
  async stopOperatorReplica(name: string, graceMs = 15_000): Promise<number | null> {
    const p = this.#operators.get(name);
    if (!p) throw new Error(`no operator replica ${name} runs`);
    try {
      await p.proc.stop(graceMs);
      return await p.proc.exited;
    } finally {
      this.#operators.delete(name);
    }
  }

  /** The identity of the replica whose herald_operator_leader is 1, or undefined while none (or more than one) is. */
  async operatorLeader(): Promise<string | undefined> {
    const running = [...this.#operators].filter(([, p]) => p.proc.running);
    const flags = await Promise.all(running.map(([, p]) => p.metric('herald_operator_leader').catch(() => undefined)));
    const leaders = running.filter((_, i) => flags[i] === 1).map(([name]) => name);
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in the lab (${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /**
   * What the node's next agent authenticates as (its kubeconfig file is rewritten): 'token', the
   * ServiceAccount with a token bound to the node's Node (agentAuth's default), or 'user', the
   * node's own client-certificate user agentUser(node) with no role bound (the caller binds
   * what the test needs; the admission policy does not apply to it). Returns the user.
   */
  async setAgentCredentials(node: string, kind: 'token' | 'user'): Promise<string> {
    const n = this.node(node);
    const path = kind === 'token' ? await agentTokenKubeconfig(this.cp, node) : await this.cp.kubeconfigFor(agentUser(node));
    rewriteServer(path, this.#bridge(node).server, n.kubeconfig);
    const user = kind === 'token' ? AGENT_SERVICE_ACCOUNT_USER : agentUser(node);
    this.nodes[this.nodes.indexOf(n)] = { ...n, user };
    return user;
  }

  macOf(node: string): string {
    return this.node(node).host.mac;
  }

  /** Which node a MAC belongs to, or undefined. */
  nodeOfMac(mac: string | undefined): string | undefined {
    return this.nodes.find((n) => n.host.mac === mac?.toLowerCase())?.name;
  }

  /**
   * Starts `herald agent` for `node` inside its namespace, as its own user,
   * with its health server on the namespace's 127.0.0.1:AGENT_HEALTH_PORT.
   * Resolves once /readyz answers 200 (unless waitReady is false); rejects
   * with the agent's output if it exits first.
   */
  async startAgent(node: string, extraArgs: readonly string[] = [], opts: AgentOptions = {}): Promise<Spawned> {
    if (this.#runner) throw new Error('this lab runs herald from the image: startAgentPod()');
    const n = this.node(node);
    if (this.#agents.has(node)) throw new Error(`an agent already runs on ${node}`);
    const proc = this.bed.spawn(n.host, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, ...(opts.nodeArgs ?? []), opts.cli ?? heraldCli, 'agent',
      `--node-name=${node}`, `--kubeconfig=${n.kubeconfig}`,
      `--health-port=${AGENT_HEALTH_PORT}`, '--health-address=127.0.0.1', ...extraArgs]);
    this.#agents.set(node, proc);
    // Every run of the node's agent, appended to one file: what explains a failed run afterwards.
    const log = createWriteStream(this.agentLogFile(node), { flags: 'a' });
    log.write(`--- herald agent started ${new Date().toISOString()} ${extraArgs.join(' ')}\n`);
    proc.child.stdout?.on('data', (chunk: string) => { log.write(chunk); });
    proc.child.stderr?.on('data', (chunk: string) => { log.write(chunk); });
    void proc.exited.then((code) => {
      log.end(`--- exited (${code ?? 'signal'}) ${new Date().toISOString()}\n`);
      if (this.#agents.get(node) === proc) this.#agents.delete(node);
    });
    if (opts.waitReady ?? true) {
      // Whichever comes first: ready, or the agent exiting (fail fast, with its output).
      const ready = new AbortController();
      const exitedEarly = proc.exited.then((code) => {
        if (ready.signal.aborted) return;
        throw new Error(`the agent on ${node} exited (${code}) before it was ready; stdout:\n${proc.lines.join('\n')}\nstderr:\n${proc.stderr}`);
      });
      try {
        await Promise.race([exitedEarly, waitFor(`the agent on ${node} to be ready`, async () => {
          if (ready.signal.aborted) return true;
          return (await this.agentHttp(node, '/readyz')).status === 200 ? true : undefined;
        }, opts.readyTimeoutMs ?? 30_000, 100)]);
      } catch (err) {
        ready.abort();
        proc.kill('SIGKILL');
        await proc.exited;
        throw err;
      }
      ready.abort();
    }
    return proc;
  }

  /**
   * Starts the agent DaemonSet's pod for `node` from the image, in the
   * node's namespace, exactly as the manifest says (args, env, security
   * context); resolves once its readiness probe passes.
   */
  async startAgentPod(node: string, readyTimeoutMs = 60_000): Promise<RunningPod> {
    const n = this.node(node);
    if (this.#agentPods.has(node)) throw new Error(`an agent already runs on ${node}`);
    const workload = this.#agentWorkload;
    if (!workload) throw new Error('no agent DaemonSet in the rendered manifests');
    const pod = await this.#pods.run(workload, { podName: `${workload.name}-${node}`, nodeName: node, netns: n.host.ns, logFile: this.agentLogFile(node) });
    this.#agentPods.set(node, pod);
    await pod.waitReady(readyTimeoutMs);
    return pod;
  }

  /** The agent's pod on `node` when the lab runs from the image, else undefined. */
  agentPod(node: string): RunningPod | undefined {
    return this.#agentPods.get(node);
  }

  /** Where the agent of `node` logs: stdout and stderr of every run, in the lab's directory. */
  agentLogFile(node: string): string {
    return join(this.cp.dir, `agent-${this.node(node).name}.log`);
  }

  /** The last `lines` lines of the agent's log file ('' before it first ran). */
  agentLogTail(node: string, lines = 60): string {
    const file = this.agentLogFile(node);
    return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
  }

  /**
   * What explains a failed run: every node's agent /status (when one runs)
   * and the tail of its log, as text, also saved in the lab's directory.
   */
  async evidence(title: string, tailLines = 60): Promise<{ text: string; file: string }> {
    const parts = [`=== ${title} (${new Date().toISOString()})`];
    for (const n of this.nodes) {
      let status = 'no agent running';
      if (this.#agents.has(n.name) || this.#agentPods.has(n.name)) status = await this.agentHttp(n.name, '/status').then((r) => r.body, (err: unknown) => `no answer: ${String(err)}`);
      parts.push(`--- ${n.name} /status\n${status}`, `--- ${n.name} log tail\n${this.agentLogTail(n.name, tailLines)}`);
    }
    const text = parts.join('\n');
    const file = join(this.cp.dir, `evidence-${++this.#evidenceCount}.txt`);
    writeFileSync(file, `${text}\n`);
    return { text, file };
  }

  /** The running agent process of `node` (its stdout lines and stderr), or undefined. */
  agent(node: string): Spawned | undefined {
    return this.#agents.get(node);
  }

  /** Sends `signal` to the agent, SIGKILL after graceMs; resolves with its exit code (128 when killed by a signal). */
  async stopAgent(node: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<number | null> {
    const pod = this.#agentPods.get(node);
    if (pod) {
      this.#agentPods.delete(node);
      return signal === 'SIGKILL' ? pod.kill() : pod.stop(Math.ceil(graceMs / 1000));
    }
    const proc = this.#agents.get(node);
    if (!proc) throw new Error(`no agent runs on ${node}`);
    proc.kill(signal);
    const timer = setTimeout(() => { proc.kill('SIGKILL'); }, graceMs);
    try {
      return await proc.exited;
    } finally {
      clearTimeout(timer);
      this.#agents.delete(node);
    }
  }

  /** A crash: SIGKILL, no chance to hand over. */
  async killAgent(node: string): Promise<number | null> {
    return this.stopAgent(node, 'SIGKILL', 0);
  }

  /** GET on the agent's health server, from inside its namespace. Rejects when nothing listens. */
  async agentHttp(node: string, path: string): Promise<{ status: number; body: string }> {
    const { stdout } = await this.bed.exec(this.node(node).host, ['curl', '-sS', '--noproxy', '*', '--max-time', '3',
      '-w', '\n%{http_code}', `http://127.0.0.1:${AGENT_HEALTH_PORT}${path}`], { timeoutMs: 5000 });
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  }

  /** kubectl inside the node's namespace, as its agent user, over its management link. */
  async kubectlAs(node: string, args: readonly string[], timeoutMs = 15_000): Promise<string> {
    const n = this.node(node);
    const { stdout } = await this.bed.exec(n.host, [controlPlaneBinaries().kubectl, '--kubeconfig', n.kubeconfig, ...args], { timeoutMs });
    return stdout;
  }

  /** Cuts `node` from the apiserver, not from the LAN (see api-bridge.ts for the two modes). */
  async partition(node: string, mode: PartitionMode = 'reset'): Promise<void> {
    await this.#bridge(node).partition(mode);
  }

  /** The node's open watches go quiet without a sound; its requests keep working (ApiBridge.stallWatches). */
  async stallWatches(node: string): Promise<void> {
    await this.#bridge(node).stallWatches();
  }

  async releaseWatches(node: string): Promise<void> {
    await this.#bridge(node).releaseWatches();
  }

  async heal(node: string): Promise<void> {
    await this.#bridge(node).heal();
  }

  #bridge(node: string): ApiBridge {
    const b = this.#bridges.get(node);
    if (!b) throw new Error(`no management link for ${node}`);
    return b;
  }

  /**
   * Unplugs `node` from the LAN without it noticing: the bridge drops every
   * frame from and to its port, while its eth0 stays up with carrier. With
   * killAgent() this is a node that died; alone, a switch port that failed.
   */
  async cutLan(node: string): Promise<void> {
    const port = this.#lanPort(node);
    await this.#nftIn(this.bed.lan, [
      `table bridge herald_lab_cut_${port} {`,
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      `    iifname "${port}" drop`,
      `    oifname "${port}" drop`,
      '  }',
      '}',
    ].join('\n'));
  }

  async restoreLan(node: string): Promise<void> {
    await this.#nftIn(this.bed.lan, `delete table bridge herald_lab_cut_${this.#lanPort(node)}`);
  }

  /** The bridge port of a node in the lan namespace: the testbed names it n<index>. */
  #lanPort(node: string): string {
    const i = this.bed.nodes.findIndex((n) => n.name === node);
    if (i < 0) throw new Error(`no node ${node}`);
    return `n${i}`;
  }

  async #nftIn(ns: string, script: string): Promise<void> {
    await this.bed.exec(ns, ['sh', '-c', `printf '%s\\n' "$1" | nft -f -`, 'sh', script]);
  }

  /** Labels (or, with null, unlabels) a Node object. */
  async labelNode(node: string, labels: Readonly<Record<string, string | null>>): Promise<void> {
    const args = Object.entries(labels).map(([k, v]) => (v === null ? `${k}-` : `${k}=${v}`));
    await this.cp.kubectl(['label', 'node', node, '--overwrite', ...args]);
  }

  /**
   * Adds the kube-proxy stand-in rule for one VIP:port on every node (what
   * kube-proxy does for a LoadBalancer IP). Only needed with kubeProxy: { perVip: true }.
   */
  async addService(vip: string, port: number): Promise<void> {
    for (const n of this.nodes) {
      const rule = vip.includes(':')
        ? `ip6 daddr ${vip} tcp dport ${port} dnat ip6 to [${n.host.backend6}]:${BACKEND_PORT}`
        : `ip daddr ${vip} tcp dport ${port} dnat ip to ${n.host.backend4}:${BACKEND_PORT}`;
      await this.#nft(n.host, `add rule inet herald_lab_proxy prerouting ${rule}`);
    }
  }

  /**
   * GET http://vip:port/ from the client: resolves with the answer, the node's
   * name on the stand-in, "<pod> on <node>" on the real cluster
   * (answeringNode() reads the node from either); rejects when none answered.
   */
  async curl(vip: string, port = 80, timeoutMs = 3000): Promise<string> {
    const { stdout } = await this.bed.exec(this.bed.client, ['curl', '-sS', '--noproxy', '*', '--max-time', String(timeoutMs / 1000), url(vip, port)],
      { timeoutMs: timeoutMs + 2000 });
    return stdout.trim();
  }

  /** The MAC in the client's neighbour entry for `vip`, or undefined (none, or not resolved). */
  async neighMac(vip: string): Promise<string | undefined> {
    return (await this.bed.neighbour(this.bed.client, vip))?.mac;
  }

  /** Starts the blackout probe in the client namespace; resolves once it sends its first request. */
  async startProbe(o: ProbeOptions): Promise<RunningProbe> {
    const proc = this.bed.spawn(this.bed.client, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, blackoutProbeScript,
      `--url=${url(o.vip, o.port ?? 80)}`, `--interval=${o.intervalMs ?? 10}`, `--duration=${o.durationMs}`, `--timeout=${o.timeoutMs ?? 250}`]);
    this.#probes.add(proc);
    void proc.exited.then(() => { this.#probes.delete(proc); });
    const started = await proc.waitFor(/^started \d+$/, 10_000);
    const done = proc.exited.then((code) => {
      const last = proc.lines.at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) throw new Error(`blackout probe failed (${code}): ${proc.stderr}`);
      return JSON.parse(last) as ProbeReport;
    });
    // A test that fails before awaiting `done` must not leave an unhandled rejection.
    done.catch(() => undefined);
    return { startedAt: Number(started.split(' ')[1]), done };
  }

  /** Stops everything this lab started, in reverse order; safe to call twice and after a failed start. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const errors: unknown[] = [];
    const step = async (f: () => Promise<unknown>): Promise<void> => {
      try { await f(); } catch (err) { errors.push(err); }
    };
    for (const p of [...this.#agents.values(), ...this.#probes]) await step(() => p.stop(2000));
    this.#agents.clear();
    for (const k of this.#kubelets.values()) await step(() => k.stop());
    for (const p of this.#kubeProxies.values()) await step(() => p.stop(2000));
    await step(async () => { await this.#controllers?.stop(); });
    // The pods go before the namespaces they live in: a short grace, the lab is going.
    await step(async () => { await this.#runner?.stopAll(2); });
    this.#agentPods.clear();
    for (const p of this.#operators.values()) await step(() => p.proc.stop());
    this.#operators.clear();
    for (const b of this.#bridges.values()) await step(() => b.stop());
    await step(async () => { await this.#bed?.destroy(); });
    await step(async () => { await this.#cp?.stop(); });
    if (errors.length > 0) throw new AggregateError(errors, 'L2 lab teardown had errors');
  }
}
