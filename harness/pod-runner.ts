/**
 * Runs the pods of herald's rendered manifests (deploy/manifests/*.yaml) with
 * podman, as a kubelet would: the container's image, command and args, env
 * (fieldRefs resolved), security context, network (the node's namespace for
 * hostNetwork, else the pod's own) and the ServiceAccount projection, so the
 * lab proves what the chart renders, not a hand-written copy of it.
 *
 *   const objects = renderedManifests();
 *   await applyRbac(cp, objects);                    // ServiceAccounts and roles
 *   const runner = new PodRunner(cp, dir);
 *   const pod = await runner.run(findWorkload(objects, 'DaemonSet'),
 *     { podName: 'herald-agent-node-a', nodeName: 'node-a', netns: 'hrl-...-node-a' });
 *   await pod.waitReady();   await pod.exec(['node', '-e', '...']);
 *   await runner.stopAll();                          // containers removed
 *
 * A field of the pod spec that would change what the container does and that
 * the runner does not emulate fails loudly (PodSpecError): a new field in the
 * chart must be taught here, not silently dropped. Containers carry the
 * owner's pid in a label: they are removed on stopAll(), at process exit, and
 * by the next runner once their owner is gone.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { NODE_API_PORT } from './api-bridge.js';
import type { ControlPlane } from './control-plane.js';
import { ManagedProcess } from './managed-process.js';
import { repoRoot } from './paths.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** Where a kubelet projects the ServiceAccount token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Containers the lab starts carry their owner's pid under this label. */
export const OWNER_LABEL = 'io.herald.lab.owner';

/**
 * This VM's quirks, not the image's or the chart's: crun cannot run on its
 * hybrid cgroups, and without CAP_SYS_RESOURCE podman's default rlimits
 * (above the host's hard limits) fail with "setrlimit: Operation not permitted".
 */
const VM_QUIRKS = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export class PodSpecError extends Error {
  override readonly name = 'PodSpecError';
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: unknown;
}

export interface Workload {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /** spec.template: what each pod of the workload is made from. */
  readonly template: unknown;
}

/** Every object of every YAML file in `dir` (the rendered manifests). */
export function renderedManifests(dir = join(repoRoot, 'deploy/manifests')): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const o = doc.toJS() as KubeObject | null;
      if (o !== null) objects.push(o);
    }
  }
  return objects;
}

/** The one workload of `kind` (DaemonSet, Deployment) in the manifests; fails unless there is exactly one. */
export function findWorkload(objects: readonly KubeObject[], kind: string): Workload {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`the rendered manifests hold ${found.length} ${kind}s (${found.map((o) => o.metadata.name).join(', ')}), not one`);
  const o = found[0]!;
  const template = (o.spec as { template?: unknown } | undefined)?.template;
  if (template === undefined) throw new Error(`${kind} ${o.metadata.name} has no spec.template`);
  return { kind, name: o.metadata.name, namespace: o.metadata.namespace ?? 'default', template };
}

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

/** Applies the manifests' ServiceAccounts, roles and bindings and admission policies, found by kind. */
export async function applyRbac(cp: ControlPlane, objects: readonly KubeObject[]): Promise<void> {
  const rbac = objects.filter((o) => RBAC_KINDS.has(o.kind));
  await cp.kubectl(['apply', '-f', '-'], rbac.map((o) => stringify(o)).join('---\n'));
}

// --- from a pod template to `podman run` arguments (pure) ---

/** Where and as what one pod runs: what a scheduler and kubelet would decide. */
export interface PodContext {
  readonly podName: string;
  readonly namespace: string;
  readonly nodeName: string;
  /** The namespace under /run/netns the pod's network is: the node's for hostNetwork, else the pod's own. */
  readonly netns: string;
  /** The image's USER ('' means root), for runAsNonRoot and the effective user. */
  readonly imageUser: string;
  /** A host directory holding token, ca.crt and namespace; mounted read-only at SERVICE_ACCOUNT_DIR. */
  readonly serviceAccountDir: string;
  /** The apiserver as the pod's network namespace reaches it (KUBERNETES_SERVICE_HOST/PORT). */
  readonly apiHost: string;
  readonly apiPort: number;
  readonly containerName: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PodPlan {
  readonly image: string;
  /** `podman run` arguments, image and args included (not the VM quirks). */
  readonly args: readonly string[];
  readonly hostNetwork: boolean;
  readonly serviceAccountName: string;
  /** The readiness probe's HTTP GET, when there is one. */
  readonly readiness: { readonly path: string; readonly port: number } | undefined;
  readonly terminationGraceSeconds: number;
  /** The effective user id, as the kernel will see it. */
  readonly uid: number;
}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj {
  if (v === undefined) return {};
  if (!isObj(v)) throw new PodSpecError(`${path} is not an object`);
  return v;
}

function list(v: unknown, path: string): readonly unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new PodSpecError(`${path} is not a list`);
  return v as readonly unknown[];
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new PodSpecError(`${path} is not a string`);
  return v;
}

function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new PodSpecError(`${path} is not an integer`);
  return v;
}

/**
 * Fields the runner knows. Each key of `o` must be handled (emulated) or
 * inert (no effect on what the container does in the lab, and why); any
 * other key fails loudly.
 */
function only(o: Obj, path: string, handled: readonly string[], inert: readonly string[] = []): void {
  for (const k of Object.keys(o)) {
    if (!handled.includes(k) && !inert.includes(k)) {
      throw new PodSpecError(`${path}.${k} is not emulated by harness/pod-runner.ts: teach it what a kubelet does with it`);
    }
  }
}

/** Kubernetes' $(VAR) expansion in command, args and env values; $$ escapes. Unknown references stay as written. */
export function expandVars(s: string, env: ReadonlyMap<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (name === undefined) return '$';
    return env.get(name) ?? m;
  });
}

/** A memory quantity in bytes ("512Mi", "1G", "1048576"). */
export function memoryBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new PodSpecError(`memory quantity "${q}" is not understood`);
  const unit = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? '']!;
  return Math.ceil(Number(m[1]) * unit);
}

/** A CPU quantity in cores ("500m", "2"). */
export function cpuCores(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(q);
  if (!m) throw new PodSpecError(`cpu quantity "${q}" is not understood`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

function uidOf(imageUser: string): number {
  const user = imageUser.split(':')[0] ?? '';
  if (user === '') return 0;
  if (!/^\d+$/.test(user)) {
    // What a kubelet says when it must check runAsNonRoot against a named user.
    throw new PodSpecError(`the image's user "${imageUser}" is not numeric: a kubelet cannot verify runAsNonRoot, and the runner cannot tell the uid`);
  }
  return Number(user);
}

/** Translates one pod template into `podman run` arguments, as a kubelet would run it; throws PodSpecError on what it cannot honour. */
export function planPod(template: unknown, ctx: PodContext): PodPlan {
  const t = obj(template, 'template');
  only(t, 'template', ['spec'], ['metadata']);
  const spec = obj(t.spec, 'spec');
  only(spec, 'spec',
    ['containers', 'serviceAccountName', 'hostNetwork', 'securityContext', 'terminationGracePeriodSeconds', 'automountServiceAccountToken', 'restartPolicy'],
    // Scheduling: the runner places the pod where it is told. DNS: herald
    // resolves no names (its apiserver is an address), so the policy changes
    // nothing; nor do the Service links' env vars, which herald never reads.
    // Pull secrets: the image is local.
    ['tolerations', 'affinity', 'nodeSelector', 'priorityClassName', 'topologySpreadConstraints', 'schedulerName', 'dnsPolicy',
      'enableServiceLinks', 'imagePullSecrets']);
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') {
    throw new PodSpecError(`spec.restartPolicy ${JSON.stringify(spec.restartPolicy)} is not emulated`);
  }
  const containers = list(spec.containers, 'spec.containers');
  if (containers.length !== 1) throw new PodSpecError(`spec.containers has ${containers.length} containers; the runner runs pods of one`);
  const c = obj(containers[0], 'spec.containers[0]');
  const cp = `spec.containers[0]`;
  only(c, cp,
    ['name', 'image', 'command', 'args', 'env', 'ports', 'readinessProbe', 'resources', 'securityContext', 'workingDir'],
    // Pulls: the image is local. Liveness: a kubelet restarts a container
    // that fails it; here it stays unready, which fails the test instead.
    // The termination message is only read back by kubectl.
    ['imagePullPolicy', 'livenessProbe', 'terminationMessagePath', 'terminationMessagePolicy']);

  const hostNetwork = spec.hostNetwork === undefined ? false : spec.hostNetwork === true;
  const serviceAccountName = spec.serviceAccountName === undefined ? 'default' : str(spec.serviceAccountName, 'spec.serviceAccountName');
  const grace = spec.terminationGracePeriodSeconds === undefined ? 30 : int(spec.terminationGracePeriodSeconds, 'spec.terminationGracePeriodSeconds');
  const image = str(c.image, `${cp}.image`);
  const args: string[] = [];

  // Security context: the container's fields override the pod's.
  const podSc = obj(spec.securityContext, 'spec.securityContext');
  only(podSc, 'spec.securityContext', ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile']);
  const sc = obj(c.securityContext, `${cp}.securityContext`);
  only(sc, `${cp}.securityContext`,
    ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'capabilities', 'privileged', 'seccompProfile']);
  const pick = (k: string): unknown => sc[k] ?? podSc[k];
  const runAsUser = pick('runAsUser') === undefined ? undefined : int(pick('runAsUser'), 'runAsUser');
  const runAsGroup = pick('runAsGroup') === undefined ? undefined : int(pick('runAsGroup'), 'runAsGroup');
  const uid = runAsUser ?? uidOf(ctx.imageUser);
  if (pick('runAsNonRoot') === true && uid === 0) {
    throw new PodSpecError(`runAsNonRoot is set but the container would run as root (runAsUser ${runAsUser ?? 'unset'}, image user "${ctx.imageUser}"): a kubelet refuses to start it`);
  }
  if (runAsUser !== undefined || runAsGroup !== undefined) {
    // Without runAsGroup the runtime takes the user's group from the image's /etc/passwd, as podman does.
    args.push('--user', runAsGroup === undefined ? String(uid) : `${uid}:${runAsGroup}`);
  }
  if (sc.privileged === true) throw new PodSpecError(`${cp}.securityContext.privileged: privileged containers are not emulated`);
  if (sc.readOnlyRootFilesystem === true) {
    // Kubernetes mounts no tmpfs on /tmp or /run; podman would, unless told not to.
    args.push('--read-only', '--read-only-tmpfs=false');
  }
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  const caps = obj(sc.capabilities, `${cp}.securityContext.capabilities`);
  only(caps, `${cp}.securityContext.capabilities`, ['add', 'drop']);
  const drop = list(caps.drop, 'capabilities.drop').map((x) => str(x, 'capabilities.drop[]').toUpperCase());
  const add = list(caps.add, 'capabilities.add').map((x) => str(x, 'capabilities.add[]').toUpperCase().replace(/^CAP_/, ''));
  if (!drop.includes('ALL')) {
    // The runtimes' default sets differ (containerd keeps NET_RAW, podman does not), so only "drop ALL, add what is needed" means the same everywhere.
    throw new PodSpecError(`${cp}.securityContext.capabilities.drop must include ALL: podman's default capabilities are not containerd's or CRI-O's`);
  }
  if (uid !== 0 && add.length > 0) {
    // containerd and CRI-O give a non-root process no ambient capabilities
    // (kubernetes/kubernetes#56374), so its capabilities vanish at exec;
    // podman would make them work, and the lab would prove what a cluster refutes.
    throw new PodSpecError(`${cp} runs as uid ${uid} with capabilities.add [${add.join(', ')}]: under Kubernetes a non-root container gets no ambient capabilities, so these would have no effect (run it as uid 0, or add none)`);
  }
  args.push('--cap-drop', 'ALL', ...add.flatMap((a) => ['--cap-add', a]));
  const seccomp = obj(sc.seccompProfile ?? podSc.seccompProfile, 'seccompProfile');
  only(seccomp, 'seccompProfile', ['type']);
  if (seccomp.type === undefined || seccomp.type === 'Unconfined') {
    // A kubelet runs containers unconfined unless told otherwise (--seccomp-default is off by default).
    args.push('--security-opt', 'seccomp=unconfined');
  } else if (seccomp.type !== 'RuntimeDefault') {
    throw new PodSpecError(`seccompProfile.type ${JSON.stringify(seccomp.type)} is not emulated`);
  }

  // Network: the node's namespace, or the pod's own; the host name follows it.
  args.push('--network', `ns:/run/netns/${ctx.netns}`, '--hostname', hostNetwork ? ctx.nodeName : ctx.podName);

  // Environment: what a kubelet injects for the `kubernetes` Service, then the container's own.
  const env = new Map<string, string>([
    ['KUBERNETES_SERVICE_HOST', ctx.apiHost],
    ['KUBERNETES_SERVICE_PORT', String(ctx.apiPort)],
    ['KUBERNETES_SERVICE_PORT_HTTPS', String(ctx.apiPort)],
  ]);
  for (const [i, raw] of list(c.env, `${cp}.env`).entries()) {
    const e = obj(raw, `${cp}.env[${i}]`);
    only(e, `${cp}.env[${i}]`, ['name', 'value', 'valueFrom']);
    const name = str(e.name, `${cp}.env[${i}].name`);
    if (e.valueFrom === undefined) {
      env.set(name, expandVars(e.value === undefined ? '' : str(e.value, `${cp}.env[${i}].value`), env));
      continue;
    }
    const from = obj(e.valueFrom, `${cp}.env[${i}].valueFrom`);
    only(from, `${cp}.env[${i}].valueFrom`, ['fieldRef']);
    const ref = obj(from.fieldRef, `${cp}.env[${i}].valueFrom.fieldRef`);
    only(ref, `${cp}.env[${i}].valueFrom.fieldRef`, ['fieldPath'], ['apiVersion']);
    const field = str(ref.fieldPath, `${cp}.env[${i}].valueFrom.fieldRef.fieldPath`);
    const fields: Readonly<Record<string, string>> = {
      'metadata.name': ctx.podName,
      'metadata.namespace': ctx.namespace,
      'spec.nodeName': ctx.nodeName,
      'spec.serviceAccountName': serviceAccountName,
    };
    const value = fields[field];
    if (value === undefined) throw new PodSpecError(`${cp}.env[${i}] (${name}): fieldRef ${field} is not emulated`);
    env.set(name, value);
  }
  for (const [k, v] of env) args.push('--env', `${k}=${v}`);

  // The ServiceAccount projection: token, CA and namespace.
  if (spec.automountServiceAccountToken !== false) args.push('--volume', `${ctx.serviceAccountDir}:${SERVICE_ACCOUNT_DIR}:ro`);

  const resources = obj(c.resources, `${cp}.resources`);
  // Requests only place a pod; limits bound it.
  only(resources, `${cp}.resources`, ['limits'], ['requests']);
  const limits = obj(resources.limits, `${cp}.resources.limits`);
  only(limits, `${cp}.resources.limits`, ['memory', 'cpu']);
  const quantity = (v: unknown, path: string): string | number => (typeof v === 'number' ? v : str(v, path));
  if (limits.memory !== undefined) args.push('--memory', String(memoryBytes(String(quantity(limits.memory, 'limits.memory')))));
  if (limits.cpu !== undefined) args.push('--cpus', String(cpuCores(quantity(limits.cpu, 'limits.cpu'))));

  // Ports: documentation only on a pod network; probes may name them.
  const ports = new Map<string, number>();
  for (const [i, raw] of list(c.ports, `${cp}.ports`).entries()) {
    const p = obj(raw, `${cp}.ports[${i}]`);
    only(p, `${cp}.ports[${i}]`, ['containerPort', 'name'], ['protocol']);
    if (p.name !== undefined) ports.set(str(p.name, `${cp}.ports[${i}].name`), int(p.containerPort, `${cp}.ports[${i}].containerPort`));
  }
  let readiness: PodPlan['readiness'];
  if (c.readinessProbe !== undefined) {
    const probe = obj(c.readinessProbe, `${cp}.readinessProbe`);
    only(probe, `${cp}.readinessProbe`, ['httpGet'], ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold']);
    const get = obj(probe.httpGet, `${cp}.readinessProbe.httpGet`);
    only(get, `${cp}.readinessProbe.httpGet`, ['path', 'port'], ['scheme']);
    if (get.scheme !== undefined && get.scheme !== 'HTTP') throw new PodSpecError('readinessProbe.httpGet.scheme other than HTTP is not emulated');
    const port = typeof get.port === 'string' ? ports.get(get.port) : int(get.port, 'readinessProbe.httpGet.port');
    if (port === undefined) throw new PodSpecError(`readinessProbe names port ${String(get.port)}, which the container does not declare`);
    readiness = { path: get.path === undefined ? '/' : str(get.path, 'readinessProbe.httpGet.path'), port };
  }

  if (c.workingDir !== undefined) args.push('--workdir', str(c.workingDir, `${cp}.workingDir`));
  const command = list(c.command, `${cp}.command`).map((x) => expandVars(str(x, `${cp}.command[]`), env));
  // As in Kubernetes: command replaces the image's entrypoint (and so its CMD); args replace CMD.
  if (command.length > 0) args.push('--entrypoint', JSON.stringify(command));
  for (const [k, v] of Object.entries(ctx.labels)) args.push('--label', `${k}=${v}`);
  args.push('--name', ctx.containerName, '--stop-timeout', String(grace), image,
    ...list(c.args, `${cp}.args`).map((x) => expandVars(str(x, `${cp}.args[]`), env)));
  return { image, args, hostNetwork, serviceAccountName, readiness, terminationGraceSeconds: grace, uid };
}

/** The image of a pod template's only container. */
export function imageOf(template: unknown): string {
  const containers = list(obj(obj(template, 'template').spec, 'spec').containers, 'spec.containers');
  return str(obj(containers[0], 'spec.containers[0]').image, 'spec.containers[0].image');
}

// --- running pods ---

async function podman(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    return (await run('podman', args, { timeout: timeoutMs, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`podman ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Runs the image once with `args` (a short-lived command such as `version`) and resolves with its output. */
export async function runImageOnce(image: string, args: readonly string[]): Promise<string> {
  return podman(['run', '--rm', '--pull=never', ...VM_QUIRKS, image, ...args]);
}

const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort (the testbed's signal handlers exit through here too).
  process.on('exit', () => {
    if (live.size === 0) return;
    try {
      execFileSync('podman', ['rm', '--force', '--ignore', '--time', '0', ...live], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // Best effort; the next runner's sweep removes what is left.
    }
  });
}

/** Removes lab containers whose owner process is gone. */
export async function sweepStaleContainers(): Promise<void> {
  const out = await podman(['ps', '--all', '--filter', `label=${OWNER_LABEL}`, '--format', `{{.ID}} {{index .Labels "${OWNER_LABEL}"}}`]);
  const stale = out.split('\n').filter(Boolean).flatMap((line) => {
    const [id, pid] = line.split(' ');
    if (id === undefined || pid === undefined || Number(pid) === process.pid) return [];
    try {
      process.kill(Number(pid), 0);
      return [];
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH' ? [id] : [];
    }
  });
  if (stale.length > 0) await podman(['rm', '--force', '--time', '0', ...stale]);
}

export interface Placement {
  readonly podName: string;
  readonly nodeName: string;
  /** The network namespace (name under /run/netns) for the pod: the node's for hostNetwork, else the pod's own. */
  readonly netns: string;
  /** Where the container's output goes (appended); default pod-<podName>.log in the runner's directory. */
  readonly logFile?: string;
}

export class RunningPod {
  #stopped = false;

  constructor(
    readonly podName: string,
    readonly container: string,
    readonly netns: string,
    readonly plan: PodPlan,
    readonly logFile: string,
    private readonly logs: ManagedProcess,
  ) {}

  /** The container's state as podman reports it (running, exited, ...). */
  async state(): Promise<string> {
    return (await podman(['inspect', '--format', '{{.State.Status}}', this.container])).trim();
  }

  /** The container's output so far. */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Runs a command inside the container, with its user, capabilities and filesystem. */
  async exec(cmd: readonly string[], timeoutMs = 15_000): Promise<string> {
    return podman(['exec', this.container, ...cmd], timeoutMs);
  }

  /** What the kernel says about the container's main process: /proc/<pid>/status, seen from the host. */
  async processStatus(): Promise<Record<string, string>> {
    const pid = (await podman(['inspect', '--format', '{{.State.Pid}}', this.container])).trim();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Object.fromEntries(status.split('\n').filter(Boolean).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1).trim()];
    }));
  }

  /** GET the readiness probe's URL from inside the pod's network namespace, as a kubelet probes it. */
  async ready(): Promise<boolean> {
    const probe = this.plan.readiness;
    if (!probe) return (await this.state()) === 'running';
    try {
      const { stdout } = await run('ip', ['netns', 'exec', this.netns, 'curl', '-s', '--noproxy', '*', '--max-time', '2', '-o', '/dev/null',
        '-w', '%{http_code}', `http://127.0.0.1:${probe.port}${probe.path}`], { timeout: 5000 });
      return stdout === '200';
    } catch {
      return false;
    }
  }

  /** Resolves once the readiness probe passes; rejects with the container's log if it exits first. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(`${this.podName} to be ready`, async () => {
      if (await this.ready()) return true;
      const state = await this.state();
      if (state !== 'running' && state !== 'created' && state !== 'configured') {
        throw new Error(`${this.podName} is ${state} before it was ready; its log:\n${this.log()}`);
      }
      return undefined;
    }, timeoutMs, 250);
  }

  /**
   * As a kubelet deletes a pod: SIGTERM, SIGKILL after graceSeconds (default:
   * the pod's), then the container is removed. Resolves with its exit code.
   */
  async stop(graceSeconds = this.plan.terminationGraceSeconds): Promise<number | null> {
    return this.#end(['stop', '--time', String(graceSeconds), this.container], (graceSeconds + 30) * 1000);
  }

  /** A crash: SIGKILL, no grace. */
  async kill(): Promise<number | null> {
    return this.#end(['kill', '--signal', 'KILL', this.container], 30_000);
  }

  async #end(command: readonly string[], timeoutMs: number): Promise<number | null> {
    if (this.#stopped) return null;
    this.#stopped = true;
    try {
      await podman(command, timeoutMs).catch(() => '');
      await podman(['wait', this.container], timeoutMs).catch(() => '');
      const code = await podman(['inspect', '--format', '{{.State.ExitCode}}', this.container]).then((out) => Number(out.trim()), () => NaN);
      return Number.isNaN(code) ? null : code;
    } finally {
      // --ignore: a container already gone (swept, or removed by hand) is no error.
      await podman(['rm', '--force', '--ignore', '--time', '0', this.container]);
      live.delete(this.container);
      await this.logs.stop(1000);
    }
  }
}

/** Starts pods of workloads on the lab's control plane; see the file comment. */
export class PodRunner {
  readonly #pods = new Set<RunningPod>();
  #count = 0;

  /** `dir` holds the pods' ServiceAccount projections and logs. Every lab namespace reaches the apiserver at 127.0.0.1:6443 (api-bridge.ts). */
  constructor(private readonly cp: ControlPlane, private readonly dir: string) {}

  /**
   * Runs one pod of `workload` at `placement`, as a kubelet would: a token
   * for its ServiceAccount, then the container. Resolves once the container
   * runs (waitReady() waits for its readiness probe).
   */
  async run(workload: Workload, placement: Placement): Promise<RunningPod> {
    installExitHook();
    if (this.#count === 0) await sweepStaleContainers();
    const container = `herald-lab-${process.pid}-${++this.#count}-${placement.podName}`;
    const saDir = join(this.dir, 'pods', placement.podName, 'serviceaccount');
    const imageUser = (await podman(['image', 'inspect', '--format', '{{.Config.User}}', imageOf(workload.template)])).trim();
    const plan = planPod(workload.template, {
      ...placement, namespace: workload.namespace, imageUser, serviceAccountDir: saDir,
      apiHost: '127.0.0.1', apiPort: NODE_API_PORT, containerName: container,
      labels: { [OWNER_LABEL]: String(process.pid), 'io.kubernetes.pod.name': placement.podName, 'io.kubernetes.pod.namespace': workload.namespace },
    });
    // The projection: files a container user may read (a kubelet's defaultMode 0644), in a directory of their own.
    mkdirSync(saDir, { recursive: true, mode: 0o755 });
    chmodSync(saDir, 0o755);
    // Bound to the pod's Node, so the token names it as a kubelet's projected token (bound to the Pod) does:
    // the chart's admission policy takes the agent's node from there (there is no Pod object to bind to here).
    const token = (await this.cp.kubectl(['create', 'token', plan.serviceAccountName, '-n', workload.namespace, '--duration=24h',
      '--bound-object-kind=Node', `--bound-object-name=${placement.nodeName}`])).trim();
    writeFileSync(join(saDir, 'token'), token, { mode: 0o644 });
    writeFileSync(join(saDir, 'ca.crt'), readFileSync(join(this.cp.dir, 'ca.crt')), { mode: 0o644 });
    writeFileSync(join(saDir, 'namespace'), workload.namespace, { mode: 0o644 });

    live.add(container);
    // k8s-file: the CRI log format; --pull=never: the image is local, and no registry is reachable.
    await podman(['run', '--detach', '--pull=never', '--log-driver=k8s-file', ...VM_QUIRKS, ...plan.args]);
    const logFile = placement.logFile ?? join(this.dir, `pod-${placement.podName}.log`);
    const logs = ManagedProcess.start(`logs-${placement.podName}`, 'podman', ['logs', '--follow', container], { logFile });
    const pod = new RunningPod(placement.podName, container, placement.netns, plan, logFile, logs);
    this.#pods.add(pod);
    return pod;
  }

  /** Stops and removes every pod this runner started (grace in seconds, default each pod's). */
  async stopAll(graceSeconds?: number): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all([...this.#pods].map(async (p) => {
      try { await p.stop(graceSeconds); } catch (err) { errors.push(err); }
    }));
    this.#pods.clear();
    if (errors.length > 0) throw new AggregateError(errors, 'stopping the lab\'s pods had errors');
  }
}
