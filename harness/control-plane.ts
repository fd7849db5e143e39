/**
 * A real Kubernetes control plane for tests: etcd and kube-apiserver, built
 * from their Go modules by scripts/ensure-controlplane.sh, started on loopback
 * on free ports with client-certificate auth and RBAC. Each test file that
 * needs a clean API starts its own (see docs/architecture.md).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { ManagedProcess } from './managed-process.js';

const run = promisify(execFile);

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
  /** The lab's real cluster (L2Lab.start({ cluster: 'real' })); checked when it starts, see clusterBinaries(). */
  kubeControllerManager: string;
  kubeScheduler: string;
  kubeProxy: string;
}

function cacheBin(): string {
  return join(process.env.HERALD_CACHE ?? join(homedir(), '.cache', 'herald'), 'bin');
}

/** Where scripts/ensure-controlplane.sh caches the binaries. */
export function controlPlaneBinaries(): Binaries {
  const bin = cacheBin();
  const found = {
    etcd: join(bin, 'etcd-current', 'etcd'),
    kubeApiserver: join(bin, 'kubernetes', 'kube-apiserver'),
    kubectl: join(bin, 'kubernetes', 'kubectl'),
    kubeControllerManager: join(bin, 'kubernetes', 'kube-controller-manager'),
    kubeScheduler: join(bin, 'kubernetes', 'kube-scheduler'),
    kubeProxy: join(bin, 'kubernetes', 'kube-proxy'),
  };
  for (const path of [found.etcd, found.kubeApiserver, found.kubectl]) mustExist(path);
  return found;
}

/** The kube-apiserver of the oldest Kubernetes herald supports (scripts/ensure-controlplane.sh builds it). */
export function oldestApiserver(): string {
  const path = join(cacheBin(), 'kubernetes-oldest', 'kube-apiserver');
  mustExist(path);
  return path;
}

/** controlPlaneBinaries(), also checking the real cluster's kube-controller-manager, kube-scheduler and kube-proxy. */
export function clusterBinaries(): Binaries {
  const found = controlPlaneBinaries();
  for (const path of [found.kubeControllerManager, found.kubeScheduler, found.kubeProxy]) mustExist(path);
  return found;
}

function mustExist(path: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/ensure-controlplane.sh first`);
}

/** The helm that scripts/ensure-controlplane.sh builds from its Go module (hack/helm), for the chart's tests. */
export function helmBinary(): string {
  const path = join(cacheBin(), 'helm-current', 'helm');
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/ensure-controlplane.sh first`);
  return path;
}

/** Prometheus' rule and PromQL parsers (hack/promql-check), for the monitoring files' tests. */
export function promqlCheckBinary(): string {
  const path = join(cacheBin(), 'promql-check-current', 'promql-check');
  mustExist(path);
  return path;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function keyAndCsr(dir: string, name: string, subject: string): Promise<void> {
  await openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
}

async function sign(dir: string, name: string, extensions: string): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '30', '-extfile', `${name}.ext`]);
}

export interface ControlPlaneOptions {
  /** Extra kube-apiserver flags. */
  apiserverArgs?: readonly string[];
  /**
   * Which kube-apiserver: 'current' (default, the version everything else is
   * built from) or 'oldest', the oldest Kubernetes herald supports (README).
   */
  apiserver?: 'current' | 'oldest';
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
}

export class ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly kubeconfigPath: string;
  private apiserver: ManagedProcess | undefined;
  private readonly extra: ManagedProcess[] = [];
  private adminTls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;
  private etcd: ManagedProcess | undefined;

  private constructor(
    readonly dir: string,
    private readonly bins: Binaries,
    private readonly etcdUrl: string,
    private readonly apiPort: number,
    private readonly options: ControlPlaneOptions,
  ) {
    this.server = `https://127.0.0.1:${apiPort}`;
    this.kubeconfigPath = join(dir, 'admin.kubeconfig');
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const bins = options.apiserver === 'oldest' ? { ...controlPlaneBinaries(), kubeApiserver: oldestApiserver() } : controlPlaneBinaries();
    const dir = mkdtempSync(join(tmpdir(), 'herald-cp-'));
    try {
      const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
      const cp = new ControlPlane(dir, bins, `http://127.0.0.1:${etcdClient}`, apiPort, options);
      await cp.makeCertificates();
      cp.etcd = ManagedProcess.start('etcd', bins.etcd, [
        '--name=herald-test', `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${cp.etcdUrl}`, `--advertise-client-urls=${cp.etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=herald-test=http://127.0.0.1:${etcdPeer}`,
        // Test data is disposable; fsync only slows the suite down.
        '--unsafe-no-fsync', '--log-level=warn',
      ], { logFile: join(dir, 'etcd.log') });
      cp.writeKubeconfig(cp.kubeconfigPath, 'herald-admin');
      await cp.startApiserver();
      return cp;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async makeCertificates(): Promise<void> {
    const dir = this.dir;
    await openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=herald-test-ca']);
    await keyAndCsr(dir, 'apiserver', '/CN=kube-apiserver');
    await sign(dir, 'apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await this.makeClientCert('herald-admin', ['system:masters']);
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], { cwd: dir });
    await run('openssl', ['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], { cwd: dir });
  }

  private async makeClientCert(user: string, groups: readonly string[]): Promise<void> {
    const subject = `/CN=${user}` + groups.map((g) => `/O=${g}`).join('');
    await keyAndCsr(this.dir, `user-${user}`, subject);
    await sign(this.dir, `user-${user}`, 'extendedKeyUsage=clientAuth\n');
  }

  private writeKubeconfig(path: string, user: string, server = this.server): void {
    const b64 = (file: string): string => readFileSync(join(this.dir, file)).toString('base64');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'herald-test', cluster: { server, 'certificate-authority-data': b64('ca.crt') } }],
      users: [{ name: user, user: {
        'client-certificate-data': b64(`user-${user}.crt`), 'client-key-data': b64(`user-${user}.key`) } }],
      contexts: [{ name: 'herald-test', context: { cluster: 'herald-test', user } }],
      'current-context': 'herald-test',
    };
    writeFileSync(path, stringify(config), { mode: 0o600 });
  }

  /** A kubeconfig for another user, for RBAC tests and per-node agents. */
  async kubeconfigFor(user: string, groups: readonly string[] = []): Promise<string> {
    await this.makeClientCert(user, groups);
    const path = join(this.dir, `${user}.kubeconfig`);
    this.writeKubeconfig(path, user);
    return path;
  }

  /**
   * A kubeconfig that authenticates with a bearer token (a ServiceAccount
   * token from the TokenRequest API, say), written as <name>.kubeconfig.
   */
  kubeconfigWithToken(name: string, token: string): string {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'herald-test', cluster: { server: this.server, 'certificate-authority-data': readFileSync(join(this.dir, 'ca.crt')).toString('base64') } }],
      users: [{ name, user: { token } }],
      contexts: [{ name: 'herald-test', context: { cluster: 'herald-test', user: name } }],
      'current-context': 'herald-test',
    };
    const path = join(this.dir, `${name}.kubeconfig`);
    writeFileSync(path, stringify(config), { mode: 0o600 });
    return path;
  }

  kubeConfig(path = this.kubeconfigPath): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return kc;
  }

  async startApiserver(): Promise<void> {
    if (this.apiserver?.running) return;
    this.apiserver = this.launchApiserver(this.apiPort, 'kube-apiserver.log');
    await this.waitReady(this.server, this.apiserver, this.options.readyTimeoutMs ?? 120_000);
  }

  /**
   * A second kube-apiserver on the same etcd, with its own admin kubeconfig:
   * lets a test change the cluster while the primary apiserver is down.
   */
  async startExtraApiserver(): Promise<{ kubeconfigPath: string; stop: () => Promise<void> }> {
    const port = await freePort();
    const proc = this.launchApiserver(port, `kube-apiserver-${port}.log`);
    const server = `https://127.0.0.1:${port}`;
    try {
      await this.waitReady(server, proc, this.options.readyTimeoutMs ?? 120_000);
    } catch (err) {
      await proc.stop();
      throw err;
    }
    const kubeconfigPath = join(this.dir, `admin-${port}.kubeconfig`);
    this.writeKubeconfig(kubeconfigPath, 'herald-admin', server);
    this.extra.push(proc);
    return { kubeconfigPath, stop: () => proc.stop() };
  }

  private launchApiserver(port: number, logFile: string): ManagedProcess {
    const d = (f: string): string => join(this.dir, f);
    return ManagedProcess.start('kube-apiserver', this.bins.kubeApiserver, [
      `--etcd-servers=${this.etcdUrl}`,
      '--bind-address=127.0.0.1', `--secure-port=${port}`, '--advertise-address=127.0.0.1',
      `--tls-cert-file=${d('apiserver.crt')}`, `--tls-private-key-file=${d('apiserver.key')}`,
      `--client-ca-file=${d('ca.crt')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${d('sa.pub')}`, `--service-account-signing-key-file=${d('sa.key')}`,
      // Dual-stack on documentation ranges; IPv6 first-class so large benches
      // can use the big IPv6 range. ClusterIPs carry no traffic in these tests.
      '--service-cluster-ip-range=198.51.100.0/24,2001:db8:ffff::/108',
      // No kube-controller-manager or real network: the endpoint reconciler
      // would only complain that 127.0.0.1 is loopback.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      // Tokens bound to a Node (the lab's agents: L2LabOptions.agentAuth) are
      // alpha in 1.30, off by default (beta and on from 1.31, GA in 1.33).
      ...(this.options.apiserver === 'oldest' ? ['--feature-gates=ServiceAccountTokenNodeBinding=true'] : []),
      ...(this.options.apiserverArgs ?? []),
    ], { logFile: d(logFile) });
  }

  async stopApiserver(): Promise<void> {
    await this.apiserver?.stop();
  }

  /** SIGSTOP / SIGCONT: the apiserver's connections go silent, without FIN or RST. */
  pauseApiserver(): void { this.apiserver?.pause(); }
  resumeApiserver(): void { this.apiserver?.resume(); }

  get apiserverRunning(): boolean {
    return this.apiserver?.running ?? false;
  }

  /** GET a path as the admin user; resolves to [status, body]. */
  async get(path: string, timeoutMs = 5000, server = this.server): Promise<[number, string]> {
    // Read once: readiness polls and benchmarks call this many times.
    this.adminTls ??= {
      ca: readFileSync(join(this.dir, 'ca.crt')),
      cert: readFileSync(join(this.dir, 'user-herald-admin.crt')),
      key: readFileSync(join(this.dir, 'user-herald-admin.key')),
    };
    const tls = this.adminTls;
    return new Promise((resolve, reject) => {
      const req = request(`${server}${path}`, {
        ...tls,
        timeout: timeoutMs,
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => { resolve([res.statusCode ?? 0, body]); });
        res.on('error', reject);
      });
      req.on('timeout', () => { req.destroy(new Error(`GET ${path} timed out`)); });
      req.on('error', reject);
      req.end();
    });
  }

  private async waitReady(server: string, proc: ManagedProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!proc.running) throw new Error(`kube-apiserver exited; see the logs in ${this.dir}`);
      try {
        const [status, body] = await this.get('/readyz', 5000, server);
        if (status === 200) return;
        last = `${status} ${body.slice(0, 500)}`;
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`kube-apiserver not ready after ${timeoutMs} ms: ${last}`);
  }

  /** Runs kubectl as the admin user. Rejects with stderr on a non-zero exit. */
  async kubectl(args: readonly string[], input?: string): Promise<string> {
    return kubectl(this.bins.kubectl, this.kubeconfigPath, args, input);
  }

  /** Stops everything and removes the temporary directory. Safe to call twice. */
  async stop(): Promise<void> {
    for (const p of this.extra) await p.stop();
    await this.apiserver?.stop();
    await this.etcd?.stop();
    if (process.env.HERALD_KEEP_CONTROL_PLANE === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

export class KubectlError extends Error {
  constructor(readonly args: readonly string[], readonly stderr: string, readonly code: number | null) {
    super(`kubectl ${args.join(' ')} failed (${code}): ${stderr.trim()}`);
  }
}

export function kubectl(bin: string, kubeconfig: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new KubectlError(args, stderr, typeof err.code === 'number' ? err.code : null));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
