/** A control plane with herald's CRDs and a `herald operator` running as its least-privilege user. */
import { crdDirectory, repoRoot } from './paths.js';
import type { ControlPlane } from './control-plane.js';
import { installCrds } from './crds.js';
import { startHerald, type HeraldProcess } from './herald-process.js';

/** Applies herald's RBAC and binds it to a client-certificate user; returns its kubeconfig. */
export async function operatorUser(cp: ControlPlane, user = 'herald-operator'): Promise<string> {
  await installCrds(cp);
  await cp.kubectl(['apply', '-f', `${repoRoot}deploy/manifests/operator-rbac.yaml`]);
  await cp.kubectl(['create', 'clusterrolebinding', `${user}-user`, '--clusterrole=herald-operator', `--user=${user}`]);
  await cp.kubectl(['create', 'rolebinding', `${user}-user`, '-n', 'kube-system', '--role=herald-operator-leader-election', `--user=${user}`]);
  return cp.kubeconfigFor(user);
}

export async function startOperator(cp: ControlPlane, kubeconfig: string, name: string, extra: readonly string[] = []): Promise<HeraldProcess> {
  return startHerald('operator', [`--kubeconfig=${kubeconfig}`, `--identity=${name}`, '--log-level=debug', ...extra], cp.dir, name);
}

export { crdDirectory };
