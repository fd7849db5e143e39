import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from './command.js';

/** --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else the in-cluster service account. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new UsageError(`cannot load the kubeconfig${path ? ` ${path}` : ''}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!kc.getCurrentCluster()) throw new UsageError('the kubeconfig names no current cluster');
  return kc;
}
