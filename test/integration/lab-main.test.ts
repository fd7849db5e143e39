/**
 * The README's first command runs lab/main.ts (./scripts/lab.sh installs and
 * builds first, as the test command has already done): seed 001 on a real
 * cluster's parts. This runs it as a user would and checks that what it shows
 * hangs together: the pods' addresses are what kube-proxy's rules on each
 * VIP's holder DNAT to, a pod answers curl, the client's ARP entry is the
 * holder's MAC, and it leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../harness/paths.js';

const namespaces = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);

/** The lines after the "[herald lab] <title>" line, up to the next blank line. */
function section(out: string, title: RegExp): string[] {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith('[herald lab] ') && title.test(l));
  assert.ok(start >= 0, `the lab shows ${String(title)}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.trim() === '');
  return end < 0 ? rest : rest.slice(0, end);
}

test('./scripts/lab.sh\'s walkthrough shows the chain from the VIP to a pod, consistently, and cleans up', async () => {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/lab/main.js')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], timeout: 10 * 60_000 });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `the lab exits 0; it printed:\n${stdout}`);
  // The lab's testbed names its namespaces after its pid (harness/testbed.ts).
  const mine = namespaces().filter((ns) => ns.startsWith(`hrl-${child.pid ?? ''}-`));

  const pods = new Map<string, { ip: string; node: string }>();
  for (const row of section(stdout, /kubectl get pods -n default -o wide$/).slice(1)) {
    const [name = '', ready, status, , , ip = '', node = ''] = row.split(/\s+/);
    assert.equal(`${ready ?? ''} ${status ?? ''}`, '1/1 Running', row);
    pods.set(name, { ip, node });
  }
  assert.equal(pods.size, 2, 'one pod for each of the seed\'s Deployments');
  const slices = section(stdout, /kubectl get endpointslices/).slice(1).map((r) => r.split(/\s+/)[3] ?? '');
  assert.deepEqual(slices.sort(), [...pods.values()].map((p) => p.ip).sort(), 'the EndpointSlices list the pods');

  const holders = new Map(section(stdout, /kubectl get lease -n kube-system/).slice(1)
    .map((r) => r.split(/\s+/)).map(([lease = '', holder = '']) => [lease.replace('cilium-l2announce-default-', ''), holder]));
  const vips = new Map(section(stdout, /kubectl get svc -n default$/).slice(1).map((r) => r.split(/\s+/))
    .filter((c) => c[1] === 'LoadBalancer').map((c) => [c[0] ?? '', c[3] ?? '']));
  assert.deepEqual([...vips.keys()].sort(), ['app1-service', 'app2-service']);
  const neigh = section(stdout, /^\[herald lab\] ip neigh/);
  for (const [svc, vip] of vips) {
    const holder = holders.get(svc) ?? '';
    const app = svc.replace('-service', '');
    const pod = [...pods].find(([name]) => name.startsWith(`${app}-deployment-`));
    assert.ok(pod, `a pod of ${app}`);
    const rules = section(stdout, new RegExp(`in ${holder} \\(holds ${svc}\\), the part for ${vip.replace(/\./g, '\\.')}:$`)).join('\n');
    assert.match(rules, new RegExp(`^  ${vip.replace(/\./g, '\\.')} \\. tcp \\. 80 : goto external-`, 'm'), 'the VIP in kube-proxy\'s service-ips map');
    assert.match(rules, new RegExp(`dnat ip to .*${pod[1].ip.replace(/\./g, '\\.')} \\. 80`), 'DNAT to the pod');
    assert.deepEqual(section(stdout, new RegExp(`curl ${vip.replace(/\./g, '\\.')} `)), [`${pod[0]} on ${pod[1].node}`], 'the pod answers curl');
    assert.ok(neigh.some((l) => l.startsWith(`${vip} at `) && l.endsWith(`(${holder})`)), `the client's ARP entry for ${vip} is ${holder}'s MAC: ${neigh.join('; ')}`);
  }
  assert.deepEqual(mine, [], 'no namespace left behind');
});
