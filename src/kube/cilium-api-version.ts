/**
 * Which version of cilium.io serves CiliumLoadBalancerIPPools. Cilium 1.18
 * and later (and herald's own CRDs) serve pools at v2 and, deprecated, at
 * v2alpha1; Cilium 1.16 and 1.17 serve them only at v2alpha1, while their
 * cilium.io/v2 still exists for other kinds (CiliumNetworkPolicy, ...). So
 * the group's list of versions cannot tell: the answer is in each version's
 * list of resources (GET /apis/cilium.io/<version>).
 */
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';
import { KubeApiError, type KubeTransport } from './transport.js';

export type PoolApiVersion = 'v2' | 'v2alpha1';

const POOLS = 'ciliumloadbalancerippools';
/** Preferred first. */
const VERSIONS: readonly PoolApiVersion[] = ['v2', 'v2alpha1'];

/** metav1.APIResourceList, as much of it as the decision reads. */
export interface ApiResourceList { resources?: { name?: string }[] }

/**
 * The decision: v2 when it lists the pools resource, else v2alpha1 when that
 * does, else undefined (no pool CRD is served yet). A version the apiserver
 * does not serve at all (404) is given as undefined.
 */
export function poolApiVersion(discovery: Partial<Record<PoolApiVersion, ApiResourceList>>): PoolApiVersion | undefined {
  return VERSIONS.find((v) => (discovery[v]?.resources ?? []).some((r) => r.name === POOLS));
}

export function poolsPath(version: PoolApiVersion): string {
  return `/apis/cilium.io/${version}/${POOLS}`;
}

/** Reads the two discovery documents (a 404 is a version not served) and decides. */
export async function discoverPoolApiVersion(transport: KubeTransport, signal?: AbortSignal): Promise<PoolApiVersion | undefined> {
  const discovery: Partial<Record<PoolApiVersion, ApiResourceList>> = {};
  for (const v of VERSIONS) {
    try {
      discovery[v] = await transport.json<ApiResourceList>(`/apis/cilium.io/${v}`, { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
  }
  return poolApiVersion(discovery);
}

/**
 * Discovers the pools' version once, retrying with backoff while no pool CRD
 * is served (it may be installed after herald starts) or the apiserver does
 * not answer. Resolves undefined only when aborted.
 */
export async function waitForPoolApiVersion(transport: KubeTransport, log: Logger, signal: AbortSignal): Promise<PoolApiVersion | undefined> {
  const backoff = new Backoff(200, 5000);
  const aborted = (): boolean => signal.aborted;
  let said = false;
  while (!aborted()) {
    try {
      const version = await discoverPoolApiVersion(transport, signal);
      if (version !== undefined) {
        log.info({ apiVersion: `cilium.io/${version}` }, version === 'v2'
          ? 'CiliumLoadBalancerIPPools are served at cilium.io/v2: using it'
          : 'CiliumLoadBalancerIPPools are served only at cilium.io/v2alpha1 (CRDs of Cilium 1.17 or older): falling back to it');
        return version;
      }
      if (!said) log.warn('no version of cilium.io serves ciliumloadbalancerippools (is the CRD installed?); waiting for it');
      said = true;
    } catch (err) {
      if (aborted()) break;
      log.warn({ err }, 'API discovery of cilium.io failed; retrying');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, backoff.next());
      function done(): void { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
      signal.addEventListener('abort', done, { once: true });
      if (aborted()) done();
    });
  }
  return undefined;
}
