/** A control plane with herald's CRDs and a `herald operator` running as its least-privilege user. */
import { crdDirectory, repoRoot } from './paths.js';
import type { ControlPlane } from './control-plane.js';
import { installCrds } from './crds.js';
import { startHerald, type HeraldProcess } from './herald-process.js';

/**
 * Applies herald's RBAC and returns a kubeconfig whose client certificate
 * carries the herald-operator ServiceAccount's identity, so the operator runs
 * with exactly the rights (and the API priority level) it has in a cluster.
 */
export async function operatorUser(cp: ControlPlane): Promise<string> {
  await installCrds(cp);
  await cp.kubectl(['apply', '-f', `${repoRoot}deploy/manifests/operator-rbac.yaml`]);
  return cp.kubeconfigFor('system:serviceaccount:kube-system:herald-operator',
    ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated']);
}

export async function startOperator(cp: ControlPlane, kubeconfig: string, name: string, extra: readonly string[] = []): Promise<HeraldProcess> {
  return startHerald('operator', [`--kubeconfig=${kubeconfig}`, `--identity=${name}`, '--log-level=debug', ...extra], cp.dir, name);
}

export { crdDirectory };
