/**
 * The I/O behind `herald explain` and `herald status`: one list of each kind
 * from the API, then each running agent's /status, either through the
 * apiserver's node proxy (`/api/v1/nodes/<node>:<port>/proxy/status`, RBAC
 * `get` on `nodes/proxy`) or directly at the node's InternalIP (the agent is
 * on the host network). An agent that cannot be read is reported, never
 * fatal; an API that cannot be read is.
 */
import { request } from 'node:http';
import { LEASE_KIND, type EndpointSliceObject, type GatewayObject, type NodeObject, type PolicyObject } from '../agent/convert.js';
import { GATEWAYS_PATH } from '../agent/gateway-api.js';
import { POLICIES_PATH } from '../agent/policy-status.js';
import { DEFAULT_LOAD_BALANCER_CLASSES } from '../core/ipam/types.js';
import { discoverPoolApiVersion, poolsPath } from '../kube/cilium-api-version.js';
import type { Lease } from '../kube/lease-lock.js';
import type { PoolObject, ServiceObject } from '../kube/objects.js';
import { KubeApiError, type KubeTransport } from '../kube/transport.js';
import type { AgentAccess, AgentReport, AgentStatusView, ClusterSnapshot } from './snapshot.js';

export type { AgentAccess };
export const AGENT_ACCESS: readonly AgentAccess[] = ['proxy', 'direct', 'none'];

export interface ReadOptions {
  readonly leaseNamespace: string;
  readonly agents: AgentAccess;
  readonly agentPort: number;
  readonly timeoutMs: number;
  readonly loadBalancerClasses?: readonly string[];
  readonly externalIPsMustBeInPool?: boolean;
  /** Only these nodes' agents are asked (all whose node Lease names a holder when undefined). */
  readonly agentNodes?: (nodes: readonly NodeObject[], leases: readonly Lease[]) => readonly string[];
}

/** The API could not be read: a message for people. */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
}

interface List<T> { items?: T[] }

async function list<T>(transport: KubeTransport, path: string, timeoutMs: number, optional = false): Promise<T[]> {
  try {
    return (await transport.json<List<T>>(path, { timeoutMs })).items ?? [];
  } catch (err) {
    if (optional && err instanceof KubeApiError && err.status === 404) return [];
    throw describeApiError(err, transport.server);
  }
}

/** Turns a transport failure into one line that says what to check. */
export function describeApiError(err: unknown, server: string): Error {
  if (err instanceof KubeApiError) {
    if (err.status === 401) return new ApiUnreachableError(`the apiserver at ${server} rejected the kubeconfig's credentials (401 Unauthorized)`);
    if (err.status === 403) return new ApiUnreachableError(`not allowed: ${err.message}`);
    return new ApiUnreachableError(err.message);
  }
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  return new ApiUnreachableError(`cannot reach the apiserver at ${server}: ${typeof code === 'string' && !text.includes(code) ? `${code} ` : ''}${text}`);
}

function internalIp(node: NodeObject): string | undefined {
  const addresses = (node as { status?: { addresses?: { type: string; address: string }[] } }).status?.addresses ?? [];
  return addresses.find((a) => a.type === 'InternalIP')?.address;
}

function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    req.on('timeout', () => { req.destroy(new Error(`no answer within ${timeoutMs} ms`)); });
    req.on('error', reject);
    req.end();
  });
}

function errorText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}

/** One agent's /status, by the chosen way; never throws. */
export async function readAgent(transport: KubeTransport, node: NodeObject, o: Pick<ReadOptions, 'agents' | 'agentPort' | 'timeoutMs'>): Promise<AgentReport> {
  const name = node.metadata.name;
  try {
    if (o.agents === 'proxy') {
      const status = await transport.json<AgentStatusView>(`/api/v1/nodes/${encodeURIComponent(`${name}:${o.agentPort}`)}/proxy/status`, { timeoutMs: o.timeoutMs });
      return { reachable: true, status };
    }
    const ip = internalIp(node);
    if (ip === undefined) return { reachable: false, error: 'the Node has no InternalIP address (--agents=direct needs one)' };
    const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${o.agentPort}/status`;
    const res = await httpGet(url, o.timeoutMs);
    if (res.status !== 200) return { reachable: false, error: `GET ${url}: HTTP ${res.status}` };
    return { reachable: true, status: JSON.parse(res.body) as AgentStatusView };
  } catch (err) {
    if (o.agents === 'proxy') {
      if (err instanceof KubeApiError && err.status === 403) {
        return { reachable: false, error: `through the apiserver's node proxy: not allowed (RBAC: get on nodes/proxy), or use --agents=direct` };
      }
      // KubeApiError's message starts with the method and path, which say nothing here.
      const text = err instanceof KubeApiError ? err.message.replace(`${err.method} ${err.path}: `, '') : errorText(err);
      return { reachable: false, error: `through the apiserver's node proxy (${name}:${o.agentPort}): ${text}` };
    }
    return { reachable: false, error: `at ${internalIp(node) ?? '?'}:${o.agentPort}: ${errorText(err)}` };
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      const item = items[i];
      if (item !== undefined) out[i] = await f(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Nodes whose node Lease names a holder: where an agent runs. */
export function nodesWithAgents(nodes: readonly NodeObject[], leases: readonly Lease[]): string[] {
  const held = new Set(leases.filter((l) => l.metadata?.labels?.[LEASE_KIND] === 'node' && (l.spec?.holderIdentity ?? '') !== '')
    .map((l) => (l.metadata?.name ?? '').replace(/^herald-agent-/, '')));
  return nodes.map((n) => n.metadata.name).filter((n) => held.has(n));
}

export async function readCluster(transport: KubeTransport, o: ReadOptions, extraLeases: readonly string[] = []): Promise<ClusterSnapshot> {
  const t = o.timeoutMs;
  let version;
  // Discovery has its own 30 s deadline; --timeout bounds it here, so an apiserver that is not there is said at once.
  const deadline = AbortSignal.timeout(t);
  try {
    version = await discoverPoolApiVersion(transport, deadline);
  } catch (err) {
    if (deadline.aborted) throw new ApiUnreachableError(`no answer from the apiserver at ${transport.server} within ${t} ms`);
    throw describeApiError(err, transport.server);
  }
  const leasesPath = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.leaseNamespace)}/leases`;
  const problems: string[] = [];
  // Gateways only add their labels to their Services': without the right to list them, say so and go on.
  const gatewayList = list<GatewayObject>(transport, GATEWAYS_PATH, t, true).catch((err: unknown) => {
    problems.push(`Gateways not read (${err instanceof Error ? err.message : String(err)}): Services generated for a Gateway are matched on their own labels only`);
    return [];
  });
  const [services, pools, policies, nodes, slices, leases, gateways] = await Promise.all([
    list<ServiceObject>(transport, '/api/v1/services', t),
    version === undefined ? Promise.resolve([]) : list<PoolObject>(transport, poolsPath(version), t),
    list<PolicyObject>(transport, POLICIES_PATH, t, true),
    list<NodeObject>(transport, '/api/v1/nodes', t),
    list<EndpointSliceObject>(transport, '/apis/discovery.k8s.io/v1/endpointslices', t),
    list<Lease>(transport, `${leasesPath}?labelSelector=${encodeURIComponent(LEASE_KIND)}`, t),
    gatewayList,
  ]);
  if (version === undefined) problems.push('no version of cilium.io serves ciliumloadbalancerippools (is the CRD installed?): no pools read');
  // A Service Lease written by Cilium carries no herald label: read it by name.
  for (const name of extraLeases) {
    if (leases.some((l) => l.metadata?.name === name)) continue;
    try {
      leases.push(await transport.json<Lease>(`${leasesPath}/${encodeURIComponent(name)}`, { timeoutMs: t }));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw describeApiError(err, transport.server);
    }
  }
  const agents = new Map<string, AgentReport>();
  if (o.agents !== 'none') {
    const names = new Set((o.agentNodes ?? nodesWithAgents)(nodes, leases));
    const asked = nodes.filter((n) => names.has(n.metadata.name));
    const reports = await mapLimit(asked, 32, (n) => readAgent(transport, n, o));
    asked.forEach((n, i) => { const r = reports[i]; if (r !== undefined) agents.set(n.metadata.name, r); });
  }
  return {
    services, pools, policies, nodes, slices, gateways, leases, leaseNamespace: o.leaseNamespace, agents, agentAccess: o.agents,
    options: { loadBalancerClasses: o.loadBalancerClasses ?? DEFAULT_LOAD_BALANCER_CLASSES, externalIPsMustBeInPool: o.externalIPsMustBeInPool ?? true },
    now: Date.now(),
    problems,
  };
}
