import type { ControlPlane } from './control-plane.js';
import { crdDirectory } from './paths.js';

export const heraldCrds = [
  'ciliumloadbalancerippools.cilium.io',
  'ciliuml2announcementpolicies.cilium.io',
] as const;

/** Applies herald's CRDs and waits until the apiserver serves them. */
export async function installCrds(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['apply', '-f', crdDirectory]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...heraldCrds.map((c) => `crd/${c}`)]);
}
