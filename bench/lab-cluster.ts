/**
 * What the L2 benches share to run on either lab (harness/l2-lab.ts):
 *
 * - CLUSTER=real (default): L2Lab.start({ cluster: 'real' }): real
 *   kube-controller-manager, kube-scheduler, kube-proxy (nftables) per node
 *   and the lab kubelets. The probed Services select an "echo" Deployment
 *   with one pod per node (required podAntiAffinity on the hostname, which
 *   the real scheduler honours) and have externalTrafficPolicy: Local, so
 *   the client's request goes VIP → holder → its kube-proxy → its own pod,
 *   and the answer ("<pod> on <node>") still names the holder.
 * - CLUSTER=stand-in: the lab as the older figures were measured: an HTTP
 *   "pod" per node answering with its name, behind a catch-all nftables DNAT.
 */
import { stringify } from 'yaml';
import type { L2Lab } from '../harness/l2-lab.js';
import { serviceManifest, type SvcOptions } from '../harness/kube-objects.js';
import { waitFor } from '../harness/wait.js';

export type ClusterMode = 'real' | 'stand-in';

/** CLUSTER from the environment: 'real' unless it says 'stand-in'. */
export function clusterMode(): ClusterMode {
  const v = process.env.CLUSTER ?? 'real';
  if (v !== 'real' && v !== 'stand-in') throw new Error(`CLUSTER=${v}: 'real' or 'stand-in'`);
  return v;
}

/** The echo Deployment's pods listen here (the probed Services' targetPort). */
export const ECHO_PORT = 8080;
export const ECHO_APP = 'echo';

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

/** The Running, Ready, not terminating pods with label app=`app`. */
export async function readyPods(lab: L2Lab, app: string): Promise<PodJson[]> {
  const list = JSON.parse(await lab.cp.kubectl(['get', 'pods', '-n', 'default', '-l', `app=${app}`, '-o', 'json'])) as { items: PodJson[] };
  return list.items.filter((p) => p.metadata.deletionTimestamp === undefined && p.status.phase === 'Running' && p.status.podIP !== undefined
    && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
}

/** The addresses of the ready endpoints of a Service's EndpointSlices, by node. */
export async function readyEndpoints(lab: L2Lab, service: string): Promise<Map<string, string[]>> {
  const slices = JSON.parse(await lab.cp.kubectl(['get', 'endpointslices', '-n', 'default', '-l', `kubernetes.io/service-name=${service}`, '-o', 'json'])) as
    { items: { endpoints?: { addresses: string[]; nodeName?: string; conditions?: { ready?: boolean } }[] }[] };
  const out = new Map<string, string[]>();
  for (const e of slices.items.flatMap((s) => s.endpoints ?? [])) {
    if (e.conditions?.ready !== true) continue;
    out.set(e.nodeName ?? '', [...(out.get(e.nodeName ?? '') ?? []), ...e.addresses]);
  }
  return out;
}

/** A Deployment of `replicas` lab pods answering HTTP on ECHO_PORT, with `spec` merged into the pod spec. */
export function deploymentManifest(name: string, app: string, replicas: number, podSpec: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        // The lab kubelet runs its own HTTP program whatever the image; the image is a label here.
        spec: { containers: [{ name: 'web', image: 'herald-lab/echo', ports: [{ containerPort: ECHO_PORT }] }], ...podSpec },
      },
    },
  }, { version: '1.1' });
}

/**
 * The echo Deployment, one pod on each node (required anti-affinity), and
 * waits until every node has one Ready. Herald lets only nodes with a ready
 * local endpoint announce an externalTrafficPolicy: Local Service, so
 * measuring before would measure the pods' start.
 */
export async function deployEcho(lab: L2Lab, timeoutMs = 300_000): Promise<void> {
  const n = lab.nodes.length;
  await lab.cp.kubectl(['apply', '-f', '-'], deploymentManifest(ECHO_APP, ECHO_APP, n, {
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { app: ECHO_APP } }, topologyKey: 'kubernetes.io/hostname' },
    ] } },
  }));
  await waitFor(`an ${ECHO_APP} pod Ready on each of the ${n} nodes`, async () => {
    const nodes = new Set((await readyPods(lab, ECHO_APP)).map((p) => p.spec.nodeName ?? ''));
    return lab.nodes.every((x) => nodes.has(x.name)) ? true : undefined;
  }, timeoutMs, 500);
}

/**
 * Waits until the EndpointSlices of `service` list a ready endpoint on each of
 * `nodes`: what herald's agents need before they may announce it with ETP Local.
 */
export async function waitEndpointsOn(lab: L2Lab, service: string, nodes: readonly string[], timeoutMs = 120_000): Promise<void> {
  await waitFor(`${service}'s EndpointSlices to list a ready endpoint on ${nodes.length} nodes`, async () => {
    const eps = await readyEndpoints(lab, service);
    return nodes.every((x) => (eps.get(x) ?? []).length > 0) ? true : undefined;
  }, timeoutMs, 500);
}

/**
 * A probed LoadBalancer Service: on the real cluster, port 80 to the echo
 * pods' ECHO_PORT with externalTrafficPolicy: Local (or `app`'s pods);
 * on the stand-in, what the benches always created (the catch-all DNAT
 * serves it without pods).
 */
export function probedService(mode: ClusterMode, name: string, o: SvcOptions & { app?: string } = {}): string {
  if (mode === 'stand-in') return serviceManifest(name, o);
  return stringify({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'LoadBalancer', externalTrafficPolicy: 'Local',
      selector: { app: o.app ?? ECHO_APP },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: ECHO_PORT }],
      ipFamilyPolicy: o.ipFamilyPolicy, ipFamilies: o.ipFamilies,
    },
  }, { version: '1.1' });
}
