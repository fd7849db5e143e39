/**
 * The parts of a real cluster the L2 lab runs with L2Lab.start({ cluster: 'real' }):
 *
 * - kube-controller-manager (deployment, replicaset, endpointslice,
 *   serviceaccount and garbage-collector controllers) and kube-scheduler, in
 *   the root namespace on loopback like the apiserver, under pdeathsig, logs
 *   in the lab's directory;
 * - a real kube-proxy per node namespace (nftables mode, iptables
 *   selectable), over the node's management link;
 * - a "lab kubelet" per node (LabKubelet): the kubelet's part only. It watches
 *   the Pods bound to its node (fieldSelector spec.nodeName), gives each a
 *   network namespace with a veth on the node's pod bridge and the next
 *   address of the node's pod CIDR, starts the pod's process there (HTTP on
 *   each TCP containerPort, answering "<pod> on <node>"; echo on UDP ports),
 *   and reports the Pod's status as the kubelet does (Running, podIP, Ready).
 *
 * Pod network (what a simple bridge/host-gw CNI does): POD_RANGE split into a
 * /28 per node up to 16 nodes, a /29 up to 32 (podCidr()), on a bridge cbr0 in the node namespace whose
 * first address is the pods' gateway; every node routes the other nodes'
 * pod CIDRs via their LAN addresses.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, Watch, type V1Pod } from '@kubernetes/client-node';
import { clusterBinaries, freePort, type ControlPlane } from './control-plane.js';
import { ManagedProcess } from './managed-process.js';
import type { Host, Node, Spawned, Testbed } from './testbed.js';

/** Every pod address comes from here (kube-proxy's --cluster-cidr). Not used elsewhere by the lab. */
export const POD_RANGE = '203.0.113.0/24';
/** kube-proxy's healthz (the health check node port of ETP Local Services), on each node's LAN address. */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;

export type ProxyMode = 'nftables' | 'iptables';

/** The most nodes POD_RANGE has room for (a /29 each: 5 pods). */
export const MAX_POD_NODES = 32;

/**
 * The prefix of each node's share of POD_RANGE for a lab of `nodes` nodes:
 * /28 (13 pods) up to 16 nodes, as it always was, /29 (5 pods) up to 32.
 */
export function podPrefix(nodes: number): number {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_POD_NODES) throw new Error(`the pod range has room for 1 to ${MAX_POD_NODES} nodes, not ${nodes}`);
  return nodes <= 16 ? 28 : 29;
}

/** How many pods fit in a node's share at `prefix` (the Node's pods capacity): all but network, gateway and broadcast. */
export function podsPerNode(prefix: number): number {
  return 2 ** (32 - prefix) - 3;
}

/** The pod CIDR of the node with index i in a lab of `nodes` nodes (203.0.113.16*i/28 up to 16 nodes). */
export function podCidr(i: number, nodes = 16): string {
  const prefix = podPrefix(nodes);
  if (!Number.isInteger(i) || i < 0 || i >= nodes) throw new Error(`no node ${i} in a lab of ${nodes}`);
  return `203.0.113.${(2 ** (32 - prefix)) * i}/${prefix}`;
}

/** Address `host` of node i's share (1 is the pods' gateway on cbr0). */
function podAddress(i: number, host: number, prefix: number): string {
  return `203.0.113.${(2 ** (32 - prefix)) * i + host}`;
}

export class ClusterControllers {
  private constructor(readonly kcm: ManagedProcess, readonly scheduler: ManagedProcess) {}

  /** Starts kube-controller-manager and kube-scheduler on loopback, as their own users (in system:masters). */
  static async start(cp: ControlPlane): Promise<ClusterControllers> {
    const bins = clusterBinaries();
    const kcmConfig = await cp.kubeconfigFor('system:kube-controller-manager', ['system:masters']);
    const schedConfig = await cp.kubeconfigFor('system:kube-scheduler', ['system:masters']);
    // Their serving ports only answer /healthz (always allowed): no need for
    // the apiserver's request-header CA, which this apiserver has none of
    // (looking it up would log an error every few seconds).
    const kcm = ManagedProcess.start('kube-controller-manager', bins.kubeControllerManager, [
      `--kubeconfig=${kcmConfig}`, `--authentication-kubeconfig=${kcmConfig}`, `--authorization-kubeconfig=${kcmConfig}`,
      '--authentication-skip-lookup',
      '--controllers=deployment,replicaset,endpointslice,serviceaccount,garbagecollector',
      '--use-service-account-credentials=false', '--leader-elect=false',
      '--bind-address=127.0.0.1', `--secure-port=${await freePort()}`, `--cert-dir=${join(cp.dir, 'kcm-certs')}`,
    ], { logFile: join(cp.dir, 'kube-controller-manager.log') });
    const scheduler = ManagedProcess.start('kube-scheduler', bins.kubeScheduler, [
      `--kubeconfig=${schedConfig}`, `--authentication-kubeconfig=${schedConfig}`, `--authorization-kubeconfig=${schedConfig}`,
      '--authentication-skip-lookup',
      '--leader-elect=false',
      '--bind-address=127.0.0.1', `--secure-port=${await freePort()}`, `--cert-dir=${join(cp.dir, 'scheduler-certs')}`,
    ], { logFile: join(cp.dir, 'kube-scheduler.log') });
    return new ClusterControllers(kcm, scheduler);
  }

  get running(): boolean {
    return this.kcm.running && this.scheduler.running;
  }

  async stop(): Promise<void> {
    await Promise.all([this.kcm.stop(), this.scheduler.stop()]);
  }
}

/** The node's side of the pod network: forwarding, the pod bridge, host-gw routes to the other nodes' pods. */
export async function setUpPodNetwork(bed: Testbed, nodes: readonly Node[]): Promise<void> {
  const prefix = podPrefix(nodes.length);
  for (const [i, node] of nodes.entries()) {
    const routes = nodes.flatMap((other, j) => (j === i || other.ipv4 === undefined ? [] : [`ip route add ${podCidr(j, nodes.length)} via ${other.ipv4} dev eth0`]));
    await bed.exec(node, ['sh', '-ec', [
      'sysctl -qw net.ipv4.ip_forward=1',
      'ip link add cbr0 type bridge', `ip addr add ${podAddress(i, 1, prefix)}/${prefix} dev cbr0`, 'ip link set cbr0 up',
      ...routes,
    ].join(' && ')]);
  }
}

/** Starts kube-proxy in the node's namespace; it logs to <dir>/kube-proxy-<node>.log. */
export function startKubeProxy(bed: Testbed, node: Node, kubeconfig: string, dir: string, mode: ProxyMode): Spawned {
  const bins = clusterBinaries();
  const proc = bed.spawn(node, ['setpriv', '--pdeathsig', 'KILL', '--', bins.kubeProxy,
    `--kubeconfig=${kubeconfig}`, `--hostname-override=${node.name}`, `--proxy-mode=${mode}`,
    `--cluster-cidr=${POD_RANGE}`, '--detect-local-mode=ClusterCIDR',
    // A network namespace cannot set the global conntrack table size, nor
    // (on older kernels) its timeouts: leave them as they are.
    '--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established=0', '--conntrack-tcp-timeout-close-wait=0',
    `--healthz-bind-address=${node.ipv4 ?? '127.0.0.1'}:${KUBE_PROXY_HEALTHZ_PORT}`, '--metrics-bind-address=127.0.0.1:10249',
    '--nodeport-addresses=primary', '--oom-score-adj=0',
  ]);
  const log = createWriteStream(join(dir, `kube-proxy-${node.name}.log`), { flags: 'a' });
  proc.child.stdout?.on('data', (chunk: string) => { log.write(chunk); });
  proc.child.stderr?.on('data', (chunk: string) => { log.write(chunk); });
  void proc.exited.then((code) => { log.end(`--- exited (${code ?? 'signal'})\n`); });
  return proc;
}

interface PodPorts { tcp: number[]; udp: number[] }

function portsOf(pod: V1Pod): PodPorts {
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  return {
    tcp: [...new Set(ports.filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort))],
    udp: [...new Set(ports.filter((p) => p.protocol === 'UDP').map((p) => p.containerPort))],
  };
}

/**
 * The pod's process: HTTP on each TCP port and an echo on each UDP port,
 * answering "<pod> on <node>"; HTTP GET /source answers with the peer's address.
 */
function podProgram(answer: string, ports: PodPorts): string {
  return `
    const answer = ${JSON.stringify(`${answer}\n`)};
    const tcp = ${JSON.stringify(ports.tcp)}, udp = ${JSON.stringify(ports.udp)};
    let pending = tcp.length + udp.length;
    const up = () => { if (--pending === 0) console.log('listening'); };
    // GET /source: the address the request came from (a client's own with externalTrafficPolicy: Local).
    const reply = (req, res) => res.end(req.url === '/source' ? req.socket.remoteAddress + '\\n' : answer);
    for (const p of tcp) require('node:http').createServer(reply).listen(p, '0.0.0.0', up);
    for (const p of udp) {
      const s = require('node:dgram').createSocket('udp4');
      s.on('message', (m, from) => s.send(answer.trimEnd() + ': ' + m.toString(), from.port, from.address));
      s.bind(p, '0.0.0.0', up);
    }
    if (pending === 0) console.log('listening');`;
}

interface RunningLabPod {
  readonly key: string;
  readonly host: Host;
  readonly index: number;
  readonly ip: string;
  proc: Spawned | undefined;
}

/**
 * The kubelet's part for one node, no more: runs the Pods bound to it and
 * reports their status. A watch on the Pods bound to the node (field
 * selector spec.nodeName) triggers a pass, which lists them and brings the
 * node in line; one pass at a time, another after it if anything changed
 * meanwhile, and one every `resyncMs` regardless (as the kubelet resyncs).
 */
export class LabKubelet {
  readonly #pods = new Map<string, RunningLabPod>();
  readonly #api: CoreV1Api;
  readonly #selector: string;
  #timer: NodeJS.Timeout | undefined;
  #watch: AbortController | undefined;
  #pass: Promise<void> = Promise.resolve();
  #passing = false;
  #dirty = false;
  #stopped = false;
  #counter = 0;
  /** Where #freeIndex() starts looking (2: the first address after the gateway). */
  #nextIndex = 2;
  /** The last error of a pass, for evidence. */
  lastError: unknown;

  constructor(
    private readonly bed: Testbed,
    private readonly cp: ControlPlane,
    private readonly node: Node,
    private readonly nodeIndex: number,
    /** The node's share of the pod range: podPrefix() of the lab's node count. */
    private readonly prefix = 28,
    private readonly resyncMs = 5000,
  ) {
    this.#api = cp.kubeConfig().makeApiClient(CoreV1Api);
    this.#selector = `spec.nodeName=${node.name}`;
  }

  start(): void {
    void this.#startWatch();
    const resync = (): void => {
      this.#kick();
      if (!this.#stopped) this.#timer = setTimeout(resync, this.resyncMs);
    };
    resync();
  }

  /** Watches the node's Pods; restarts the watch when it ends, as informers do. */
  async #startWatch(): Promise<void> {
    if (this.#stopped) return;
    const again = (): void => {
      this.#kick();
      if (!this.#stopped) setTimeout(() => { void this.#startWatch(); }, 500);
    };
    try {
      this.#watch = await new Watch(this.cp.kubeConfig()).watch('/api/v1/pods', { fieldSelector: this.#selector },
        () => { this.#kick(); }, again);
      if (this.#isStopped()) this.#watch.abort();  // stopped while it connected
    } catch (err) {
      this.lastError = err;
      again();
    }
  }

  #isStopped(): boolean {
    return this.#stopped;
  }

  /** Runs a pass now, or right after the one under way. */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#passing) {
      this.#dirty = true;
      return;
    }
    this.#passing = true;
    this.#pass = (async () => {
      do {
        this.#dirty = false;
        try {
          await this.#sync();
        } catch (err) {
          this.lastError = err;
          this.#dirty = true;
          await new Promise((r) => setTimeout(r, 300));
        }
      } while (this.#dirty && !this.#stopped);
    })().finally(() => { this.#passing = false; });
  }

  /** The network namespace of each pod running on this node, by "namespace/name". */
  get podNamespaces(): ReadonlyMap<string, string> {
    return new Map([...this.#pods].map(([k, p]) => [k, p.host.ns]));
  }

  /** The pod addresses in use on this node, by "namespace/name". */
  get podIPs(): ReadonlyMap<string, string> {
    return new Map([...this.#pods].map(([k, p]) => [k, p.ip]));
  }

  async #sync(): Promise<void> {
    const list = await this.#api.listPodForAllNamespaces({ fieldSelector: this.#selector });
    const seen = new Set<string>();
    for (const pod of list.items) {
      const name = pod.metadata?.name ?? '';
      const namespace = pod.metadata?.namespace ?? 'default';
      const key = `${namespace}/${name}`;
      seen.add(key);
      if (pod.metadata?.deletionTimestamp) {
        await this.#remove(key);
        // The kubelet confirms the deletion once the pod is gone.
        await this.#api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
      } else if (!this.#pods.has(key) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
        await this.#run(key, pod);
      }
    }
    for (const key of [...this.#pods.keys()]) if (!seen.has(key)) await this.#remove(key);
  }

  /**
   * The next free host index, searched round robin from the one after the
   * last handed out, as host-local IPAM does: an address freed a moment ago
   * is not the next pod's, whose new MAC the node's neighbour entry for it
   * would not know yet.
   */
  #freeIndex(): number {
    const used = new Set([...this.#pods.values()].map((p) => p.index));
    const room = podsPerNode(this.prefix);
    for (let k = 0; k < room; k++) {
      const i = 2 + ((this.#nextIndex - 2 + k) % room);
      if (used.has(i)) continue;
      this.#nextIndex = 2 + ((i - 1) % room);
      return i;
    }
    throw new Error(`no pod address left on ${this.node.name}`);
  }

  async #run(key: string, pod: V1Pod): Promise<void> {
    const index = this.#freeIndex();
    const ip = podAddress(this.nodeIndex, index, this.prefix);
    const k = this.#counter++;
    const host = await this.bed.addHost(`${this.node.name}-pod${k}`);
    const running: RunningLabPod = { key, host, index, ip, proc: undefined };
    this.#pods.set(key, running);
    try {
      await this.#start(running, pod);
    } catch (err) {
      await this.#remove(key);  // the next pass tries again
      throw err;
    }
  }

  async #start(running: RunningLabPod, pod: V1Pod): Promise<void> {
    const { host, ip } = running;
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    const k = host.ns.slice(host.ns.lastIndexOf('pod') + 3);
    const veth = `vp${k}`;
    await this.bed.exec(this.node, ['sh', '-ec', [
      `ip link add ${veth} type veth peer name eth0 netns ${host.ns}`,
      `ip link set ${veth} master cbr0`, `ip link set ${veth} up`,
    ].join(' && ')]);
    await this.bed.exec(host, ['sh', '-ec', [
      `ip addr add ${ip}/${this.prefix} dev eth0`, 'ip link set eth0 up',
      `ip route add default via ${podAddress(this.nodeIndex, 1, this.prefix)}`,
    ].join(' && ')]);
    const proc = this.bed.spawn(host, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, '-e',
      podProgram(`${name} on ${this.node.name}`, portsOf(pod))]);
    running.proc = proc;
    await proc.waitFor(/^listening$/);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = (type: string): Record<string, string> => ({ type, status: 'True', lastTransitionTime: now });
    const status = {
      phase: 'Running',
      hostIP: this.node.ipv4, hostIPs: this.node.ipv4 ? [{ ip: this.node.ipv4 }] : [],
      podIP: ip, podIPs: [{ ip }],
      startTime: now,
      conditions: ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled'].map(condition),
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name, image: c.image ?? '', imageID: '', containerID: `herald-lab://${host.ns}`,
        ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
      })),
    };
    await this.#api.patchNamespacedPodStatus({ name, namespace, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  async #remove(key: string): Promise<void> {
    const p = this.#pods.get(key);
    if (!p) return;
    this.#pods.delete(key);
    await p.proc?.stop(1000);
    await this.bed.removeHost(p.host);
    // The node's neighbour entry still names the gone pod's MAC: when the
    // address comes round again, the node would send the new pod's packets
    // there until the entry fails (about 10 s; the move bench saw it).
    await this.bed.execStatus(this.node, ['ip', 'neigh', 'del', p.ip, 'dev', 'cbr0']);
  }

  /** Stops watching, and every pod's process and namespace. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#watch?.abort();
    await this.#pass;
    for (const key of [...this.#pods.keys()]) await this.#remove(key);
  }
}
