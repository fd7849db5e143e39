/**
 * ARP reply latency: herald (`herald announce` in a node namespace) against
 * the node kernel's own reply for its own address, on the same link in the
 * same run, first on a quiet LAN and then while another namespace floods the
 * LAN with ARP requests for unrelated addresses. Also herald's CPU use during
 * the flood, from /proc/<pid>/stat.
 *
 *   npm run build && npm run bench:arp      (root: creates network namespaces)
 *
 * Environment: PROBES (per target and phase, default 2000), FLOOD_RATE
 * (default 25000/s), HERALD_NICE (run herald under `nice -n`, default: not). All traffic stays in the bench's own namespaces, on
 * documentation addresses, and is bounded in count and time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Host, Spawned } from '../harness/testbed.js';
import { Testbed } from '../harness/testbed.js';
import type { Summary } from './stats.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const cli = here('../src/cli/main.js');
const probeClient = here('./arp-probe-client.js');
const flooder = here('./arp-flood.js');

const PROBES = Number(process.env.PROBES ?? 2000);
const FLOOD_RATE = Number(process.env.FLOOD_RATE ?? 25000);
const HERALD_NICE = process.env.HERALD_NICE;
const VIP = '192.0.2.200';
const CLK_TCK = 100; // USER_HZ, fixed at 100 on Linux for /proc

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function probes(bed: Testbed, nodeIp: string, count: number): Promise<Record<string, Summary>> {
  const { stdout } = await bed.exec(bed.client, [process.execPath, probeClient, 'eth0', bed.client.ipv4!, String(count), '1', VIP, nodeIp], { timeoutMs: 120_000 });
  return JSON.parse(stdout) as Record<string, Summary>;
}

function row(label: string, s: Summary): string {
  const f = (x: number) => x.toFixed(3);
  return `| ${label} | ${s.n} | ${s.lost} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.p99)} | ${f(s.max)} |`;
}

const bed = await Testbed.create({ nodes: [{ name: 'node0' }, { name: 'flooder' }] });
let herald: Spawned | undefined;
try {
  const node: Host = bed.node('node0');
  const nodeIp = node.ipv4!;
  const nice = HERALD_NICE === undefined ? [] : ['nice', '-n', HERALD_NICE];
  herald = bed.spawn(node, [...nice, process.execPath, cli, 'announce', '--quiet', '--interface', 'eth0', VIP]);
  await herald.waitFor(/announcing/);
  const pid = herald.child.pid!;
  if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'node') throw new Error('herald pid is not the node process');

  await probes(bed, nodeIp, 200); // warm-up: JIT, caches, neighbour entries

  const cpuQuiet0 = cpuSeconds(pid);
  const tQuiet0 = performance.now();
  const quiet = await probes(bed, nodeIp, PROBES);
  const quietCpu = (cpuSeconds(pid) - cpuQuiet0) / ((performance.now() - tQuiet0) / 1000);

  // The flood outlasts the probe phase: about 2 probes/ms, plus a flood-only tail.
  const floodSeconds = Math.ceil((PROBES * 2 * 1.3) / 1000) + 5;
  const flood = bed.spawn(bed.node('flooder'), [process.execPath, flooder, 'eth0', String(FLOOD_RATE * floodSeconds), String(FLOOD_RATE)]);
  await sleep(500);
  const cpuFlood0 = cpuSeconds(pid);
  const tFlood0 = performance.now();
  const flooded = await probes(bed, nodeIp, PROBES);
  const cpuFlood1 = cpuSeconds(pid);
  const tFlood1 = performance.now();
  const floodedCpu = (cpuFlood1 - cpuFlood0) / ((tFlood1 - tFlood0) / 1000);
  // Flood only: herald has nothing to answer, so any CPU here is the flood's cost.
  await sleep(3000);
  const floodOnlyCpu = (cpuSeconds(pid) - cpuFlood1) / ((performance.now() - tFlood1) / 1000);
  const floodLine = await flood.waitFor(/"rate"/, floodSeconds * 1000 + 30_000);
  const floodResult = JSON.parse(floodLine) as { sent: number; errors: number; seconds: number; rate: number };

  await herald.stop();
  const countersLine = herald.lines.find((l) => l.includes('counters')) ?? '';
  const counters = JSON.parse(/counters (\{.*\})/.exec(countersLine)?.[1] ?? '{}') as Record<string, number>;

  const h = (s: Record<string, Summary>) => s[VIP]!;
  const k = (s: Record<string, Summary>) => s[nodeIp]!;
  const result = {
    date: new Date().toISOString(),
    probesPerTargetAndPhase: PROBES,
    heraldNice: HERALD_NICE ?? null,
    quiet: { herald: h(quiet), kernel: k(quiet), heraldCpuPercent: quietCpu * 100 },
    flood: {
      herald: h(flooded), kernel: k(flooded), flooder: floodResult,
      heraldCpuPercentWithProbes: floodedCpu * 100, heraldCpuPercentFloodOnly: floodOnlyCpu * 100,
    },
    heraldCounters: counters,
  };
  console.log(JSON.stringify(result, null, 2));
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log([
    '',
    '| phase / target | probes | lost | p50 ms | p90 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('quiet / herald', h(quiet)),
    row('quiet / kernel', k(quiet)),
    row('flood / herald', h(flooded)),
    row('flood / kernel', k(flooded)),
    '',
    `herald/kernel p50 ratio: quiet ${ratio(h(quiet).p50, k(quiet).p50)}, flood ${ratio(h(flooded).p50, k(flooded).p50)}`,
    `flood: ${floodResult.sent} ARP requests in ${floodResult.seconds.toFixed(2)} s = ${floodResult.rate.toFixed(0)}/s (${floodResult.errors} send errors)`,
    `herald CPU (% of one core): quiet ${(quietCpu * 100).toFixed(2)}, flood+probes ${(floodedCpu * 100).toFixed(2)}, flood only ${(floodOnlyCpu * 100).toFixed(2)}`,
    `herald counters: ${JSON.stringify(counters)}`,
  ].join('\n'));
} finally {
  await bed.destroy();
}
