/**
 * The lab: herald's main job on one machine. It starts a real control plane
 * (etcd and kube-apiserver on loopback), installs herald's CRDs and RBAC,
 * runs `herald operator` as its own least-privilege user, applies the seed
 * manifests unchanged, and shows what `kubectl get` prints: seed 001's two
 * Services with the first two addresses of its pool.
 * `--keep` leaves it running until Ctrl-C, with a kubeconfig to explore.
 */
import { ControlPlane } from '../test/support/control-plane.js';
import type { HeraldProcess } from '../test/support/herald-process.js';
import { serviceIps } from '../test/support/kube-objects.js';
import { operatorUser, startOperator } from '../test/support/operator-setup.js';
import { seedDirectory } from '../test/support/paths.js';
import { waitFor } from '../test/support/wait.js';

const keep = process.argv.includes('--keep');
const say = (s: string): void => { console.log(`\n[herald lab] ${s}`); };

say('starting etcd and kube-apiserver on 127.0.0.1...');
const started = Date.now();
const cp = await ControlPlane.start();
let stopping = false;
let operator: HeraldProcess | undefined;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping herald operator and the control plane');
  await operator?.proc.stop();
  await cp.stop();
  process.exit(code);
}
process.on('SIGINT', () => { void shutdown(130); });
process.on('SIGTERM', () => { void shutdown(143); });

try {
  say(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cp.server}`);
  say('installing the CRDs (deploy/helm/herald/crds) and RBAC (deploy/manifests/operator-rbac.yaml)');
  const kubeconfig = await operatorUser(cp);
  say('starting herald operator');
  operator = await startOperator(cp, kubeconfig, 'herald-operator', ['--log-level=info']);
  say(`herald operator is ready; its JSON log is ${operator.logFile}`);
  for (const file of ['001-ipam.yaml', '001-l2announce.yaml', '001-apps-and-svcs.yaml', '003-rendered.yaml', '004-layer2-policy.yaml']) {
    say(`kubectl apply -f examples/seeds/${file}`);
    process.stdout.write(await cp.kubectl(['apply', '-f', `${seedDirectory}/${file}`]));
  }
  say('waiting for herald to give app1-service and app2-service their addresses...');
  for (const svc of ['app1-service', 'app2-service']) {
    await waitFor(`${svc} to get an address`, async () => ((await serviceIps(cp, svc)).length > 0 ? true : undefined));
  }
  for (const args of [['get', 'ciliumloadbalancerippool'], ['get', 'l2announcement'], ['get', 'svc', '-n', 'default']]) {
    say(`kubectl ${args.join(' ')}`);
    process.stdout.write(await cp.kubectl(args));
  }
  if (keep) {
    say(`running until Ctrl-C. In another shell:\n  export KUBECONFIG=${cp.kubeconfigPath}\n  ~/.cache/herald/bin/kubernetes/kubectl get ippools`);
    await new Promise(() => undefined);
  }
  await shutdown(0);
} catch (err) {
  console.error(err);
  await shutdown(1);
}
