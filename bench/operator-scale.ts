/**
 * LB-IPAM end to end against a real kube-apiserver: N LoadBalancer Services
 * created at once, `herald operator` running as its own process.
 *
 *   node dist/bench/operator-scale.js [N ...]      (default: 1000 5000)
 *
 * Two rounds per size, each on a fresh control plane:
 * - "live": the operator runs while the Services are created (32 clients in
 *   parallel); the time from the first create until every Service has its
 *   address, and the operator's lag after the last create.
 * - "backlog": all Services exist before the operator starts; the time from
 *   its start until every Service has its address. This is the operator's own
 *   throughput, without the apiserver's create rate in the way.
 * Both report status writes per Service (the apiserver's own
 * apiserver_request_total) and the operator's peak RSS (VmHWM). Services are
 * IPv6 single-stack without node ports: the test apiserver's IPv4 service
 * range (a documentation /24) holds 254 ClusterIPs, and the NodePort range
 * 2,768 ports.
 */
import { readFileSync } from 'node:fs';
import { ControlPlane } from '../harness/control-plane.js';
import { operatorUser, startOperator } from '../harness/operator-setup.js';
import { apply, poolManifest } from '../harness/kube-objects.js';
import { Reflector } from '../src/kube/reflector.js';
import { KubeTransport } from '../src/kube/transport.js';
import type { ServiceObject } from '../src/kube/objects.js';
import { silentLogger } from '../src/log.js';

function statusPatches(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (line.includes('resource="services"') && line.includes('subresource="status"') && /verb="(PATCH|APPLY|UPDATE|PUT)"/.test(line)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function runOnce(n: number, mode: 'live' | 'backlog'): Promise<Record<string, string | number>> {
  const cp = await ControlPlane.start({ apiserverArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'] });
  try {
    const kubeconfig = await operatorUser(cp);
    await apply(cp, poolManifest('bench', { blocks: [{ cidr: '2001:db8:b::/64' }] }));
    const startOp = (): ReturnType<typeof startOperator> => startOperator(cp, kubeconfig, 'bench-operator', ['--log-level=warn']);
    let operator = mode === 'live' ? await startOp() : undefined;
    const transport = new KubeTransport(cp.kubeConfig());
    const watcher = new Reflector<ServiceObject>({ transport, path: '/api/v1/namespaces/default/services', log: silentLogger });
    let satisfied = 0;
    const done = new Set<string>();
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => { resolveAll = r; });
    const check = (s: ServiceObject): void => {
      if (done.has(s.metadata.name) || !(s.status?.loadBalancer?.ingress ?? []).length) return;
      done.add(s.metadata.name);
      if (++satisfied === n) resolveAll();
    };
    watcher.onEvent((e) => { if (e.type !== 'deleted') check(e.object); });
    watcher.start();
    await watcher.waitSynced();
    const [, before] = await cp.get('/metrics', 30_000);
    const startWrites = statusPatches(before);

    const t0 = performance.now();
    let next = 0;
    const create = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        await transport.json('/api/v1/namespaces/default/services', {
          method: 'POST', timeoutMs: 60_000,
          body: {
            apiVersion: 'v1', kind: 'Service', metadata: { name: `bench-${i}` },
            spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'], selector: { app: `bench-${i}` }, ports: [{ port: 80, protocol: 'TCP' }] },
          },
        });
      }
    };
    await Promise.all(Array.from({ length: 32 }, create));
    const created = performance.now();
    if (!operator) operator = await startOp();
    const operatorUp = performance.now();
    await all;
    const finished = performance.now();
    // Let stragglers (duplicate writes, if any) show up in the count.
    await new Promise((r) => setTimeout(r, 2000));
    const [, after] = await cp.get('/metrics', 30_000);
    const writes = statusPatches(after) - startWrites;
    const rss = peakRssMiB(operator.proc.pid);
    await watcher.stop();
    transport.close();
    await operator.proc.stop();
    return {
      services: n,
      mode,
      'create all (s)': ((created - t0) / 1000).toFixed(1),
      'all satisfied (s)': mode === 'live' ? ((finished - t0) / 1000).toFixed(1) : `${((finished - operatorUp) / 1000).toFixed(1)} after start`,
      'lag after last create (s)': mode === 'live' ? ((finished - created) / 1000).toFixed(2) : '-',
      'status writes / Service': (writes / n).toFixed(3),
      'operator peak RSS (MiB)': rss.toFixed(0),
    };
  } finally {
    await cp.stop();
  }
}

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
const rows: Record<string, string | number>[] = [];
for (const n of sizes.length ? sizes : [1000, 5000]) {
  for (const mode of (process.env.MODES ?? 'live,backlog').split(',') as ('live' | 'backlog')[]) {
    const row = await runOnce(n, mode);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
}
const cols = Object.keys(rows[0] ?? {});
console.log(`\n| ${cols.join(' | ')} |\n|${cols.map(() => '---:').join('|')}|`);
for (const r of rows) console.log(`| ${cols.map((c) => String(r[c])).join(' | ')} |`);
