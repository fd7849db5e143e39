/**
 * Upgrades in the L2 lab, as Kubernetes performs them: a DaemonSet rolling
 * update of the agents (maxUnavailable 1: SIGTERM one node's agent, wait for
 * it to exit, start the new one, wait for /readyz, then the next node), and
 * the replacement of the operator's leader (SIGTERM, wait for exit, start a
 * new replica). With them, what tells whether anything was lost: a client
 * probing every VIP (vip-probe.ts), a snapshot of every Service's address and
 * IPAM condition, and the operator's allocation Events.
 *
 *   const probe = await startVipProbe(lab, vips);
 *   const agents = await rollAgents(lab);
 *   const before = await lbSnapshot(lab);
 *   const op = await replaceOperatorLeader(lab, 'operator-2');
 *   const report = await probe.stop();            // failures per VIP: 0
 *   changedServices(before, await lbSnapshot(lab));   // []
 *   await reallocationEvents(lab, op.sigtermAt);      // []
 */
import { fileURLToPath } from 'node:url';
import type { L2Lab } from './l2-lab.js';
import type { VipProbeReport } from './vip-probe.js';
import { waitFor } from './wait.js';
import type { ServiceObject } from '../src/kube/objects.js';
import { SERVICE_CONDITION } from '../src/core/ipam/types.js';

export const vipProbeScript = fileURLToPath(new URL('./vip-probe.js', import.meta.url));

export interface RunningVipProbe {
  /** Date.now() in the probe process when it sent its first request. */
  readonly startedAt: number;
  /** Ends the probe; resolves with its report once every request in flight has finished. */
  stop(): Promise<VipProbeReport>;
}

export interface VipProbeOptions {
  readonly port?: number;
  readonly intervalMs?: number;
  /** Per request; a request without an answer by then has failed (default 500 ms). */
  readonly timeoutMs?: number;
  /** The probe stops by itself after this long (default 10 min). */
  readonly maxDurationMs?: number;
}

/** Starts vip-probe.ts in the client namespace; resolves once it has sent its first requests. */
export async function startVipProbe(lab: L2Lab, vips: readonly string[], o: VipProbeOptions = {}): Promise<RunningVipProbe> {
  const proc = lab.bed.spawn(lab.bed.client, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, vipProbeScript,
    `--port=${o.port ?? 80}`, `--interval=${o.intervalMs ?? 10}`, `--timeout=${o.timeoutMs ?? 500}`,
    `--max-duration=${o.maxDurationMs ?? 600_000}`, ...vips]);
  const started = await proc.waitFor(/^started \d+$/, 10_000);
  return {
    startedAt: Number(started.split(' ')[1]),
    async stop(): Promise<VipProbeReport> {
      proc.write('stop');
      const code = await proc.exited;
      const last = proc.lines.at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) throw new Error(`the VIP probe failed (${code}): ${proc.stderr}`);
      return JSON.parse(last) as VipProbeReport;
    },
  };
}

export interface AgentReplacement {
  readonly node: string;
  readonly oldPid: number | undefined;
  readonly newPid: number | undefined;
  /** The old agent's exit code (0 after a clean handover; 128 when it had to be killed). */
  readonly exitCode: number | null;
  /** Date.now() when SIGTERM was sent. */
  readonly sigtermAt: number;
  /** SIGTERM to exit: the handover. */
  readonly stopMs: number;
  /** Start of the new process to its first 200 on /readyz. */
  readonly startMs: number;
}

export interface ReplaceOptions {
  /** Arguments for the new agent. */
  readonly args?: readonly string[];
  /** How the old one is stopped: SIGTERM as the kubelet does (default), or SIGKILL for a crash. */
  readonly signal?: NodeJS.Signals;
  /** SIGKILL after this long, as the pod's terminationGracePeriodSeconds (default 10 s, deploy/manifests/agent.yaml). */
  readonly graceMs?: number;
}

/**
 * Replaces one node's agent as the DaemonSet controller and the kubelet do:
 * SIGTERM (SIGKILL after the grace period), wait for it to exit, start the
 * new one, wait until it is ready.
 */
export async function replaceAgent(lab: L2Lab, node: string, o: ReplaceOptions = {}): Promise<AgentReplacement> {
  const oldPid = lab.agent(node)?.child.pid;
  const sigtermAt = Date.now();
  const t0 = performance.now();
  const exitCode = await lab.stopAgent(node, o.signal ?? 'SIGTERM', o.graceMs ?? 10_000);
  const t1 = performance.now();
  const proc = await lab.startAgent(node, o.args ?? [], { readyTimeoutMs: 60_000 });
  const t2 = performance.now();
  return { node, oldPid, newPid: proc.child.pid, exitCode, sigtermAt, stopMs: t1 - t0, startMs: t2 - t1 };
}

/** A rolling update with maxUnavailable 1: every node's agent replaced in turn (default: in the lab's order). */
export async function rollAgents(lab: L2Lab, o: ReplaceOptions & { readonly nodes?: readonly string[] } = {}): Promise<AgentReplacement[]> {
  const done: AgentReplacement[] = [];
  for (const node of o.nodes ?? lab.nodes.map((n) => n.name)) done.push(await replaceAgent(lab, node, o));
  return done;
}

export interface OperatorReplacement {
  readonly oldLeader: string;
  /** The standby that took over. */
  readonly newLeader: string;
  /** The replica started in the old one's place. */
  readonly newReplica: string;
  readonly exitCode: number | null;
  /** Date.now() when SIGTERM was sent. */
  readonly sigtermAt: number;
  /** SIGTERM to another replica reporting herald_operator_leader 1 (it has imported every address and leads). */
  readonly handoverMs: number;
  /** SIGTERM to the old leader's exit. */
  readonly stopMs: number;
}

/**
 * Replaces the operator's leader as a Deployment's rollout does: SIGTERM,
 * wait for it to exit, start a new replica (identity `newReplica`) and wait
 * until it is ready. The handover is timed from SIGTERM until a standby leads
 * (its leader gauge, read every 20 ms).
 */
export async function replaceOperatorLeader(lab: L2Lab, newReplica: string, graceMs = 15_000): Promise<OperatorReplacement> {
  const oldLeader = await waitFor('one operator leader', () => lab.operatorLeader(), 30_000, 100);
  const standbys = [...lab.operators.keys()].filter((n) => n !== oldLeader);
  if (standbys.length === 0) throw new Error('no standby operator replica to take over');
  const sigtermAt = Date.now();
  const t0 = performance.now();
  const taken = waitFor('a standby to lead', async () => {
    for (const name of standbys) {
      if ((await lab.operators.get(name)?.metric('herald_operator_leader').catch(() => undefined)) === 1) return { name, at: performance.now() };
    }
    return undefined;
  }, 60_000, 20);
  const stopped = lab.stopOperatorReplica(oldLeader, graceMs).then((code) => ({ code, at: performance.now() }));
  const [next, exit] = await Promise.all([taken, stopped]);
  await lab.startOperatorReplica(newReplica);
  return { oldLeader, newLeader: next.name, newReplica, exitCode: exit.code, sigtermAt, handoverMs: next.at - t0, stopMs: exit.at - t0 };
}

/** Per LoadBalancer Service (namespace/name): its addresses and IPAM condition, as one comparable string. */
export async function lbSnapshot(lab: L2Lab): Promise<Map<string, string>> {
  const [status, body] = await lab.cp.get('/api/v1/services');
  if (status !== 200) throw new Error(`listing Services: ${status} ${body}`);
  const items = (JSON.parse(body) as { items: ServiceObject[] }).items.filter((s) => s.spec?.type === 'LoadBalancer');
  return new Map(items.map((s) => {
    const c = s.status?.conditions?.find((x) => x.type === SERVICE_CONDITION);
    return [`${s.metadata.namespace ?? ''}/${s.metadata.name}`, JSON.stringify({
      ips: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''),
      condition: c && { status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime },
    })];
  }));
}

/** The Services whose snapshot differs (or that appeared or went), each with before → after. */
export function changedServices(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).map((k) => `${k}: ${before.get(k) ?? 'none'} → ${after.get(k) ?? 'none'}`);
}

interface EventJson {
  metadata: { namespace?: string; name: string };
  eventTime?: string;
  reportingController?: string;
  reportingInstance?: string;
  reason?: string;
  note?: string;
  regarding?: { name?: string };
}

/** The operator's IPAllocated and IPReleased Events since `sinceMs` (Date.now() time): an allocation that moved. */
export async function reallocationEvents(lab: L2Lab, sinceMs: number): Promise<string[]> {
  const [status, body] = await lab.cp.get('/apis/events.k8s.io/v1/events');
  if (status !== 200) throw new Error(`listing Events: ${status} ${body}`);
  return (JSON.parse(body) as { items: EventJson[] }).items
    .filter((e) => e.reportingController === 'herald.io/operator' && (e.reason === 'IPAllocated' || e.reason === 'IPReleased'))
    .filter((e) => Date.parse(e.eventTime ?? '') >= sinceMs - 1000)
    .map((e) => `${e.eventTime ?? ''} ${e.reportingInstance ?? ''} ${e.reason ?? ''} ${e.metadata.namespace ?? ''}/${e.regarding?.name ?? ''}: ${e.note ?? ''}`);
}

/** Service key (namespace/name) to the holder its cilium-l2announce-* Lease names ('' when none). */
export async function serviceHolders(lab: L2Lab): Promise<Map<string, string>> {
  const out = await lab.cp.kubectl(['get', 'lease', '-n', 'kube-system', '-l', 'herald.io/lease=service', '-o', 'json']);
  const items = (JSON.parse(out) as { items: { metadata: { name: string }; spec?: { holderIdentity?: string } }[] }).items;
  return new Map(items.map((l) => [l.metadata.name, l.spec?.holderIdentity ?? '']));
}

/**
 * Waits until the lab is at rest: every Lease in `leases` names a running
 * agent, and every running agent sees every node live and nobody unreachable.
 */
export async function waitSteady(lab: L2Lab, leases: readonly string[], timeoutMs = 120_000): Promise<void> {
  const names = lab.nodes.map((n) => n.name);
  await waitFor('every Service held by a running agent, every agent seeing every node live', async () => {
    const holders = await serviceHolders(lab);
    if (!leases.every((l) => lab.agent(holders.get(l) ?? '') !== undefined)) return undefined;
    for (const node of names) {
      if (lab.agent(node) === undefined) return undefined;
      const st = JSON.parse((await lab.agentHttp(node, '/status')).body) as { liveNodes?: string[]; liveness?: { unreachable?: Record<string, string[]> } };
      if ((st.liveNodes ?? []).length !== names.length) return undefined;
      if (Object.values(st.liveness?.unreachable ?? {}).some((l) => l.length > 0)) return undefined;
    }
    return true;
  }, timeoutMs, 250);
}
