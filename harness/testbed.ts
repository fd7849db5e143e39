/**
 * A LAN in network namespaces: a bridge inside a dedicated "lan" namespace,
 * N node namespaces and a client namespace joined to it by veth pairs, on
 * documentation addresses only. Nothing is created in the host namespace.
 *
 *   client(eth0 192.0.2.100) ─┐
 *   node0 (eth0 192.0.2.1)   ─┼─ br0 in lan
 *   node1 (eth0 192.0.2.2)   ─┘
 *
 * Each node also has a backend address on lo (198.51.100.N, 2001:db8:ffff::N)
 * where `serveHttp` listens and `kubeProxy` DNATs service VIPs to, as
 * kube-proxy would to a pod. Teardown kills every process in the namespaces
 * and deletes them, on destroy(), on process exit and on SIGINT/SIGTERM;
 * namespaces of runs whose process is gone are swept at the next create().
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every namespace a testbed makes is named with this prefix (cleanup and the benches' send guard rely on it). */
export const NS_PREFIX = 'hrl-';
let counter = 0;
const live = new Set<Testbed>();

export interface NodeOptions {
  readonly name: string;
  /** Give eth0 an address on the LAN (default true). Without one, only routes point at it. */
  readonly lanAddress?: boolean;
}

export interface Host {
  readonly name: string;
  readonly ns: string;
  /** LAN addresses; undefined for a node created without one. */
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  /** The MAC of eth0 (deterministic, locally administered). */
  readonly mac: string;
}

export interface Node extends Host {
  /** Where the node's "pods" live: DNAT targets for kubeProxy. */
  readonly backend4: string;
  readonly backend6: string;
}

export interface Service {
  readonly vip: string;
  readonly port: number;
  readonly targetPort: number;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(message: string, readonly code: number | null, readonly stdout: string, readonly stderr: string) {
    super(message);
  }
}

/** A process started in a namespace, in its own process group. */
export class Spawned {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  #partial = '';

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => { resolve(code ?? (signal ? 128 : null)); });
      child.once('error', () => { resolve(null); });
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const parts = (this.#partial + chunk).split('\n');
      this.#partial = parts.pop() ?? '';
      for (const line of parts) this.#line(line);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => { this.stderr += chunk; });
  }

  #line(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.re.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** Resolves with the first stdout line (already seen or future) matching `re`. */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return seen;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<string>((resolve, reject) => {
        this.#waiters.push({ re, resolve });
        timer = setTimeout(() => {
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(re)}; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`));
        }, timeoutMs);
        void this.exited.then((code) => {
          reject(new Error(`process exited (${code}) while waiting for ${String(re)}; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`));
        });
      });
    } finally {
      clearTimeout(timer);
    }
  }

  write(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** Signals the whole process group. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  async stop(timeoutMs = 3000): Promise<number | null> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => { this.kill('SIGKILL'); }, timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

function nodeMac(i: number): string {
  return `02:48:52:00:${(i + 1).toString(16).padStart(2, '0')}:00`;
}

/** Namespaces named hrl-<pid>-... whose pid no longer runs. */
function staleNamespaces(all: readonly string[]): string[] {
  return all.filter((ns) => {
    const m = /^hrl-(\d+)-/.exec(ns);
    if (!m) return false;
    const pid = Number(m[1]);
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
}

function listNamespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(NS_PREFIX));
  } catch {
    return [];
  }
}

/** Kills every process inside `ns`, then deletes it. Synchronous so it also works in an 'exit' handler. */
function removeNamespaceSync(ns: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    let pids: number[] = [];
    try {
      pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n').filter(Boolean).map(Number);
    } catch {
      break;
    }
    if (pids.length === 0) break;
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    execFileSync('sleep', ['0.05']);
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
}

let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', () => { for (const bed of live) bed.destroySync(); });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const bed of live) bed.destroySync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export class Testbed {
  readonly prefix: string;
  readonly lan: string;
  readonly client: Host;
  readonly nodes: Node[] = [];
  readonly #namespaces: string[] = [];
  readonly #processes = new Set<Spawned>();
  #destroyed = false;

  private constructor() {
    this.prefix = `${NS_PREFIX}${process.pid}-${counter++}-`;
    this.lan = `${this.prefix}lan`;
    this.client = { name: 'client', ns: `${this.prefix}client`, ipv4: '192.0.2.100', ipv6: '2001:db8::100', mac: '02:48:52:00:ff:00' };
  }

  /** Builds the LAN. `nodes` is a count or per-node options; names default to node0, node1, ... */
  static async create(opts: { nodes?: number | readonly NodeOptions[] } = {}): Promise<Testbed> {
    for (const ns of staleNamespaces(listNamespaces())) removeNamespaceSync(ns);
    installExitHandlers();
    const bed = new Testbed();
    live.add(bed);
    try {
      await bed.#build(typeof opts.nodes === 'object' ? opts.nodes : Array.from({ length: opts.nodes ?? 1 }, (_, i) => ({ name: `node${i}` })));
    } catch (err) {
      await bed.destroy();
      throw err;
    }
    return bed;
  }

  async #addNamespace(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns]);
    this.#namespaces.push(ns);
    // No duplicate address detection: addresses are usable at once, and no
    // stray solicitations from the stack muddy what the tests count.
    await this.#sh(ns, 'sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && ip link set lo up');
  }

  async #sh(ns: string, script: string): Promise<void> {
    await run('ip', ['netns', 'exec', ns, 'sh', '-ec', script]);
  }

  async #build(nodeOpts: readonly NodeOptions[]): Promise<void> {
    await this.#addNamespace(this.lan);
    await this.#sh(this.lan, 'ip link add br0 type bridge && ip link set br0 up');
    await this.#addNamespace(this.client.ns);
    await this.#plug(this.client.ns, 'c0', this.client.mac);
    await this.#sh(this.client.ns, `ip addr add ${this.client.ipv4}/24 dev eth0 && ip addr add ${this.client.ipv6}/64 dev eth0 nodad`);
    for (const [i, o] of nodeOpts.entries()) {
      const ns = `${this.prefix}${o.name}`;
      const withAddr = o.lanAddress ?? true;
      const node: Node = {
        name: o.name, ns, mac: nodeMac(i),
        ipv4: withAddr ? `192.0.2.${i + 1}` : undefined,
        ipv6: withAddr ? `2001:db8::${i + 1}` : undefined,
        backend4: `198.51.100.${i + 1}`,
        backend6: `2001:db8:ffff::${i + 1}`,
      };
      await this.#addNamespace(ns);
      await this.#plug(ns, `n${i}`, node.mac);
      await this.#sh(ns, [
        `ip addr add ${node.backend4}/32 dev lo`,
        `ip addr add ${node.backend6}/128 dev lo`,
        withAddr
          ? `ip addr add ${node.ipv4}/24 dev eth0 && ip addr add ${node.ipv6}/64 dev eth0 nodad`
          : 'ip route add 192.0.2.0/24 dev eth0 && ip -6 route add 2001:db8::/64 dev eth0',
      ].join(' && '));
      this.nodes.push(node);
    }
  }

  /** A veth from the LAN bridge (end `lanEnd` in lan) to `ifname` in `ns`. */
  async #plug(ns: string, lanEnd: string, mac: string, ifname = 'eth0'): Promise<void> {
    await run('ip', ['-n', this.lan, 'link', 'add', lanEnd, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns]);
    await this.#sh(this.lan, `ip link set ${lanEnd} master br0 && ip link set ${lanEnd} up`);
    await this.#sh(ns, `ip link set ${ifname} address ${mac} && ip link set ${ifname} up`);
  }

  /** A namespace of this bed with only lo, off the LAN (e.g. a pod network for the operator), removed with the bed. */
  async addHost(name: string): Promise<Host> {
    const ns = `${this.prefix}${name}`;
    await this.#addNamespace(ns);
    return { name, ns, ipv4: undefined, ipv6: undefined, mac: '' };
  }

  /** Removes a namespace that addHost() made: kills what runs in it, then deletes it (and so its links). */
  async removeHost(host: Host): Promise<void> {
    const i = this.#namespaces.indexOf(host.ns);
    if (i < 0) return;
    this.#namespaces.splice(i, 1);
    removeNamespaceSync(host.ns);
    await Promise.resolve();
  }

  /** Adds another LAN port to a host, e.g. a second NIC with no address. */
  async addLanPort(host: Host, ifname: string, mac: string): Promise<void> {
    const lanEnd = `x${this.#namespaces.length}${ifname}`.slice(0, 15);
    await this.#plug(host.ns, lanEnd, mac, ifname);
  }

  node(name: string): Node {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Runs a command in a host's namespace and resolves with its output; rejects on a non-zero exit. */
  async exec(host: Host | string, cmd: readonly string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    const ns = typeof host === 'string' ? host : host.ns;
    try {
      const r = await run('ip', ['netns', 'exec', ns, ...cmd], { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 });
      return { stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
      throw new CommandError(`${cmd.join(' ')} in ${ns}: ${e.message}`, typeof e.code === 'number' ? e.code : null, e.stdout ?? '', e.stderr ?? '');
    }
  }

  /** Like exec, but resolves with the exit code instead of rejecting. */
  async execStatus(host: Host | string, cmd: readonly string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    try {
      return { code: 0, ...(await this.exec(host, cmd, opts)) };
    } catch (err) {
      if (err instanceof CommandError) return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      throw err;
    }
  }

  /** Starts a long-running process in a host's namespace; stopped at teardown at the latest. */
  spawn(host: Host | string, cmd: readonly string[]): Spawned {
    const ns = typeof host === 'string' ? host : host.ns;
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new Spawned(child);
    this.#processes.add(p);
    void p.exited.then(() => { this.#processes.delete(p); });
    return p;
  }

  /** A tiny HTTP server on the node's backend addresses that answers with the node's name. */
  async serveHttp(node: Node, port = 8080): Promise<Spawned> {
    const code = `
      const http = require('node:http');
      const s = http.createServer((req, res) => res.end(${JSON.stringify(node.name)} + '\\n'));
      s.listen(${port}, '::', () => console.log('listening'));`;
    const p = this.spawn(node, [process.execPath, '-e', code]);
    await p.waitFor(/^listening$/);
    return p;
  }

  /** The kube-proxy stand-in: DNAT from each VIP:port to the node's backend. Replaces earlier rules. */
  async kubeProxy(node: Node, services: readonly Service[]): Promise<void> {
    const rules = services.map((s) => s.vip.includes(':')
      ? `ip6 daddr ${s.vip} tcp dport ${s.port} dnat ip6 to [${node.backend6}]:${s.targetPort}`
      : `ip daddr ${s.vip} tcp dport ${s.port} dnat ip to ${node.backend4}:${s.targetPort}`);
    const ruleset = [
      'table inet herald_kube_proxy',
      'delete table inet herald_kube_proxy',
      'table inet herald_kube_proxy {',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      ...rules.map((r) => `    ${r}`),
      '  }',
      '}',
    ].join('\n');
    await this.exec(node, ['sh', '-c', `printf '%s\\n' "$1" | nft -f -`, 'sh', ruleset]);
  }

  /** The client's neighbour entry for `ip`: MAC and state, or undefined. */
  async neighbour(host: Host, ip: string, dev = 'eth0'): Promise<{ mac: string | undefined; state: string } | undefined> {
    const { stdout } = await this.exec(host, ['ip', '-json', 'neigh', 'show', 'to', ip, 'dev', dev]);
    const entries = JSON.parse(stdout || '[]') as { lladdr?: string; state?: string[] }[];
    const e = entries[0];
    return e ? { mac: e.lladdr?.toLowerCase(), state: (e.state ?? []).join(',') } : undefined;
  }

  async flushNeighbours(host: Host, dev = 'eth0'): Promise<void> {
    await this.exec(host, ['ip', 'neigh', 'flush', 'dev', dev]);
  }

  /** Stops processes, then removes every namespace (and so every link) of this bed. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    await Promise.all([...this.#processes].map((p) => p.stop(1000)));
    this.destroySync();
  }

  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const p of this.#processes) p.kill('SIGKILL');
    for (const ns of [...this.#namespaces].reverse()) removeNamespaceSync(ns);
  }
}

/** Parses arping output into the MACs that answered. */
export function arpingReplies(stdout: string): string[] {
  return [...stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase());
}

/** Parses ndisc6 output into the target link-layer addresses received. */
export function ndisc6Replies(stdout: string): string[] {
  return [...stdout.matchAll(/Target link-layer address: ([0-9A-Fa-f:]{17})/g)].map((m) => m[1]!.toLowerCase());
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 25): Promise<{ value: T; elapsedMs: number }> {
  const start = performance.now();
  for (;;) {
    const value = await probe();
    const elapsedMs = performance.now() - start;
    if (value !== undefined) return { value, elapsedMs };
    if (elapsedMs > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
