/**
 * Cilium's own operator (cilium-operator-generic, built from the
 * github.com/cilium/cilium module by scripts/ensure-controlplane.sh, see
 * hack/cilium-operator) run against a test control plane, as a cluster that
 * moved to herald but still runs Cilium's operator with LB-IPAM off.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from './control-plane.js';
import { ManagedProcess } from './managed-process.js';

/** The cached binary; throws with the fix when it is missing. */
export function ciliumOperatorBinary(): string {
  const path = join(process.env.HERALD_CACHE ?? join(homedir(), '.cache', 'herald'), 'bin', 'cilium-operator-current', 'cilium-operator-generic');
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/ensure-controlplane.sh first`);
  return path;
}

export interface CiliumOperator {
  proc: ManagedProcess;
  logFile: string;
  /** The log so far. */
  log(): string;
  /** Stops it and removes /var/run/cilium (its shell socket's directory) if it made it and left it empty. */
  stop(): Promise<void>;
}

const runDir = '/var/run/cilium';

/**
 * Starts it as the cluster admin, outside a cluster: kubeconfig, identities in
 * CRDs (no kvstore), pod IPAM cluster-pool on a range nothing here uses, its
 * API, metrics and gops off or on loopback. Leader election stays on (it takes
 * the Lease kube-system/cilium-operator-resource-lock). LB-IPAM is off; L2
 * announcements are the agents' job, so the operator has no switch for them.
 */
export function startCiliumOperator(cp: ControlPlane, extra: readonly string[] = []): CiliumOperator {
  const logFile = join(cp.dir, 'cilium-operator.log');
  const hadRunDir = existsSync(runDir);
  const proc = ManagedProcess.start('cilium-operator', ciliumOperatorBinary(), [
    `--k8s-kubeconfig-path=${cp.kubeconfigPath}`,
    '--enable-lb-ipam=false',
    '--identity-allocation-mode=crd',
    '--k8s-namespace=kube-system',
    '--cluster-name=default',
    '--cluster-pool-ipv4-cidr=10.244.0.0/16', '--enable-ipv6=false',
    '--operator-api-serve-addr=127.0.0.1:0', '--operator-prometheus-serve-addr=', '--enable-gops=false',
    ...extra,
  ], { logFile });
  const stop = async (): Promise<void> => {
    await proc.stop();
    if (!hadRunDir && existsSync(runDir) && readdirSync(runDir).length === 0) rmdirSync(runDir);
  };
  return { proc, logFile, log: () => readFileSync(logFile, 'utf8'), stop };
}
