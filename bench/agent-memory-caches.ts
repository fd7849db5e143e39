/**
 * The V8 heap the agent's caches alone hold: the agent's reflectors (same
 * paths, same label selector, with or without its slimming), synced, in a
 * fresh process, measured between forced GCs. Prints one JSON line. Run by
 * bench/agent-memory.ts.
 *
 *   node --expose-gc dist/bench/agent-memory-caches.js <kubeconfig> slim|full
 */
import { KubeConfig } from '@kubernetes/client-node';
import { slimEndpointSlice, slimLease, slimNode, slimPolicy, slimPool, slimService } from '../src/agent/slim.js';
import { Reflector, type KubeObject } from '../src/kube/reflector.js';
import { KubeTransport } from '../src/kube/transport.js';
import { silentLogger } from '../src/log.js';

const REFLECTED: readonly { path: string; labelSelector?: string; slim: (raw: unknown) => KubeObject }[] = [
  { path: '/api/v1/nodes', slim: slimNode },
  { path: '/api/v1/services', slim: slimService },
  { path: '/apis/discovery.k8s.io/v1/endpointslices', slim: slimEndpointSlice },
  { path: '/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies', slim: slimPolicy },
  { path: '/apis/cilium.io/v2/ciliumloadbalancerippools', slim: slimPool },
  { path: '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', labelSelector: 'herald.io/lease', slim: slimLease },
];

const [kubeconfig = '', mode = 'slim'] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const transport = new KubeTransport(kc);
const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed; };
const before = heap();
const reflectors = REFLECTED.map((r) => new Reflector<KubeObject>({
  transport, path: r.path, log: silentLogger,
  ...(r.labelSelector ? { labelSelector: r.labelSelector } : {}), ...(mode === 'slim' ? { transform: r.slim } : {}),
}));
for (const r of reflectors) r.start();
await Promise.all(reflectors.map((r) => r.waitSynced()));
const held = heap() - before;
console.log(JSON.stringify({ mode, objects: reflectors.reduce((n, r) => n + r.size, 0), heldMiB: held / 2 ** 20 }));
await Promise.all(reflectors.map((r) => r.stop()));
transport.close();
