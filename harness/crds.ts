import type { ControlPlane } from './control-plane.js';
import { crdDirectory } from './paths.js';
import { waitFor } from './wait.js';

export const heraldCrds = [
  'ciliumloadbalancerippools.cilium.io',
  'ciliuml2announcementpolicies.cilium.io',
] as const;

/** Applies herald's CRDs and waits until the apiserver serves them. */
export async function installCrds(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['apply', '-f', crdDirectory]);
  await waitForCrds(cp, heraldCrds);
}

/** Waits until the apiserver serves these CRDs (by name, e.g. gateways.gateway.networking.k8s.io). */
export async function waitForCrds(cp: ControlPlane, names: readonly string[]): Promise<void> {
  // kubectl wait fails at once ("status.conditions accessor error: <nil>")
  // when it reads a CRD before the apiserver has written any condition, which
  // a loaded machine shows now and then: try again until it can wait.
  await waitFor(`the CRDs ${names.join(', ')} to be established`, async () => {
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((c) => `crd/${c}`)]);
    return true;
  }, 60_000, 200);
}
