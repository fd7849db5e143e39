import type { ControlPlane } from './control-plane.js';
import { crdDirectory, repoRoot } from './paths.js';
import { waitFor } from './wait.js';

export const heraldCrds = [
  'ciliumloadbalancerippools.cilium.io',
  'ciliuml2announcementpolicies.cilium.io',
] as const;

/**
 * Which CRDs to install: herald's own (the chart's), or a fixture of Cilium's
 * (test/fixtures/cilium-crds): 'cilium-1.18' serves pools at v2 and, deprecated,
 * v2alpha1; 'cilium-1.16' serves pools only at v2alpha1.
 */
export type CrdSet = 'herald' | 'cilium-1.18' | 'cilium-1.16';

export function crdSetDirectory(set: CrdSet): string {
  return set === 'herald' ? crdDirectory : `${repoRoot}test/fixtures/cilium-crds/${set}`;
}

/** Applies herald's CRDs (or another set) and waits until the apiserver serves them. */
export async function installCrds(cp: ControlPlane, set: CrdSet = 'herald'): Promise<void> {
  await cp.kubectl(['apply', '-f', crdSetDirectory(set)]);
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
