/**
 * The lab: herald's main job end to end on one machine. It starts a real
 * control plane (etcd and kube-apiserver on loopback), `herald operator`,
 * three node network namespaces on one LAN bridge with `herald agent` each
 * and a client namespace. Then it walks through seed 001: the seed's
 * Services and L2 policy unchanged, its pool on a documentation range
 * (192.0.2.240-250 instead of 172.19.0.240-250), and shows what the seed
 * shows: EXTERNAL-IPs, the Leases' holders, curl and the client's ARP table.
 * `--keep` leaves it running until Ctrl-C, with a kubeconfig to explore.
 * `--image` runs the operator and the agents from the container image, as
 * the pods of deploy/manifests, with podman (harness/pod-runner.ts).
 * By default it runs a real cluster's parts (harness/real-cluster.ts):
 * kube-controller-manager, kube-scheduler, a real kube-proxy (nftables
 * mode) in each node and the seed's Deployments as pods in network
 * namespaces of their own, so it shows the whole chain: the pods and
 * EndpointSlices, the holder's kube-proxy rules for each VIP, and curl
 * answered by a pod. `--stand-in` runs the older, lighter lab instead (an
 * HTTP "pod" per node behind a catch-all DNAT stand-in for kube-proxy).
 */
import { L2Lab } from '../harness/l2-lab.js';
import { serviceIps, serviceLeaseHolder } from '../harness/kube-objects.js';
import { waitFor } from '../harness/wait.js';
import { seed001Pool } from '../harness/seeds.js';
import { rulesForAddress } from '../harness/kube-proxy-rules.js';

const keep = process.argv.includes('--keep');
const fromImage = process.argv.includes('--image');
// --real was the opt-in before the real cluster became the default; still accepted.
const real = !process.argv.includes('--stand-in');
const say = (s: string): void => { console.log(`\n[herald lab] ${s}`); };
const NODES = ['node-a', 'node-b', 'node-c'];

say('starting etcd, kube-apiserver and herald operator on 127.0.0.1, and three node namespaces and a client on one LAN bridge...');
const started = Date.now();
const lab = await L2Lab.start({ nodes: 3, fromImage, ...(real ? { cluster: 'real' } : {}) });
let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping the agents, the operator, the namespaces and the control plane');
  await lab.stop();
  process.exit(code);
}
process.on('SIGINT', () => { void shutdown(130); });
process.on('SIGTERM', () => { void shutdown(143); });

const kubectl = async (...args: string[]): Promise<void> => {
  say(`kubectl ${args.join(' ')}`);
  process.stdout.write(await lab.cp.kubectl(args));
};

try {
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; starting herald agent in ${NODES.join(', ')}${fromImage ? ' (the DaemonSet\'s pod, from the image)' : ''}`);
  for (const n of NODES) {
    if (fromImage) await lab.startAgentPod(n);
    else await lab.startAgent(n);
  }
  const pool = seed001Pool();
  say('seed 001 step 3, its pool on a documentation range:');
  process.stdout.write(pool);
  await lab.cp.kubectl(['apply', '-f', '-'], pool);
  for (const file of ['001-l2announce.yaml', '001-apps-and-svcs.yaml', '003-rendered.yaml', '004-layer2-policy.yaml']) {
    await kubectl('apply', '-f', `examples/seeds/${file}`);
  }
  say('waiting for addresses and announcers...');
  const vips: string[] = [];
  for (const svc of ['app1-service', 'app2-service']) {
    vips.push(await waitFor(`${svc} to get an address`, async () => (await serviceIps(lab.cp, svc))[0]));
    await waitFor(`a node to announce ${svc}`, async () =>
      (await serviceLeaseHolder(lab.cp, svc)) || undefined);
  }
  await kubectl('get', 'ciliumloadbalancerippool');
  await kubectl('get', 'l2announcement');
  await kubectl('get', 'svc', '-n', 'default');
  await kubectl('get', 'lease', '-n', 'kube-system', '-l', 'herald.io/lease=service');
  if (real) {
    await waitFor('the seed\'s pods to run', async () => {
      const phases = (await lab.cp.kubectl(['get', 'pods', '-n', 'default', '-o', 'jsonpath={.items[*].status.phase}'])).split(' ').filter((x) => x !== '');
      return phases.length >= 2 && phases.every((x) => x === 'Running') ? true : undefined;
    }, 60_000, 300);
    say('the pods, each in a network namespace of its own, bound to a node by kube-scheduler and run by the lab kubelet:');
    await kubectl('get', 'pods', '-n', 'default', '-o', 'wide');
    say('their EndpointSlices, written by kube-controller-manager:');
    await kubectl('get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name in (app1-service,app2-service)');
  }
  for (const [i, vip] of vips.entries()) {
    const svc = i === 0 ? 'app1-service' : 'app2-service';
    if (real) {
      const holder = await serviceLeaseHolder(lab.cp, svc);
      const rules = await waitFor(`kube-proxy on ${holder} to have rules for ${vip}`, async () => {
        const { stdout } = await lab.bed.exec(lab.node(holder).host, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
        const r = rulesForAddress(stdout, vip);
        return /\bdnat\b/.test(r) ? r : undefined;
      }, 30_000, 300);
      say(`nft list table ip kube-proxy, in ${holder} (holds ${svc}), the part for ${vip}:`);
      console.log(rules);
    }
    say(real ? `curl ${vip}   (from the client namespace; a pod answers with its name and node)`
      : `curl ${vip}   (from the client namespace; the "pod" answers with its node's name)`);
    console.log(await waitFor(`curl ${vip}`, async () => lab.curl(vip).catch(() => undefined), 30_000, 200));
  }
  say('ip neigh   (the client\'s ARP table: each address at the MAC of the node that holds its Lease)');
  for (const vip of vips) {
    const mac = await lab.neighMac(vip);
    console.log(`${vip} at ${mac ?? '?'} (${lab.nodeOfMac(mac) ?? 'unknown node'})`);
  }
  if (keep) {
    say(`running until Ctrl-C. In another shell:\n  export KUBECONFIG=${lab.cp.kubeconfigPath}\n  ~/.cache/herald/bin/kubernetes/kubectl get svc,lease -A`);
    await new Promise(() => undefined);
  }
  await shutdown(0);
} catch (err) {
  console.error(err);
  await shutdown(1);
}
