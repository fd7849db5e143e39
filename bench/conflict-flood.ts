/**
 * What forged conflicts cost: a Responder answering COUNTS addresses (one
 * run each) while another namespace claims one of them with gratuitous ARP
 * from a new random MAC per frame, at RATE per second for SECONDS. Reports
 * the responder's CPU (utime + stime from /proc), how many claims it saw,
 * how many it reported (each report is a log line and, in the agent, at most
 * a Lease read) and how many re-announcements it sent.
 *
 *   npm run build && npm run bench:conflict     (root: creates network namespaces)
 *
 * Environment: COUNTS (default 1,100,700), RATE (default 10000), DURATION_S
 * (default 10). Documentation addresses only, in the bench's own namespaces.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Testbed } from '../harness/testbed.js';
import { benchAddresses } from './bench-addresses.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const COUNTS = (process.env.COUNTS ?? '1,100,700').split(',').map(Number);
const RATE = Number(process.env.RATE ?? 10_000);
const SECONDS = Number(process.env.DURATION_S ?? 10);
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const bed = await Testbed.create({ nodes: [{ name: 'node0' }, { name: 'forger' }] });
const rows: string[] = [];
try {
  for (const count of COUNTS) {
    const claimed = benchAddresses(count)[0]!;
    const responder = bed.spawn(bed.node('node0'), [process.execPath, here('./conflict-responder.js'), 'eth0', String(count)]);
    const pid = (JSON.parse(await responder.waitFor(/"ready"/)) as { pid: number }).pid;
    await sleep(1500); // the start-up burst is over
    const idle0 = cpuSeconds(pid);
    await sleep(2000);
    const idle = (cpuSeconds(pid) - idle0) / 2;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const { stdout } = await bed.exec(bed.node('forger'), [process.execPath, here('./forged-claims.js'), 'eth0', claimed, String(RATE * SECONDS), String(RATE)], { timeoutMs: SECONDS * 1000 + 60_000 });
    const cpu = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
    const flood = JSON.parse(stdout) as { sent: number; rate: number };
    responder.kill('SIGTERM');
    const done = JSON.parse(await responder.waitFor(/"counters"/)) as { counters: { conflictsSeen: number; reannounced: number }; reports: number };
    await responder.stop();
    const row = {
      addresses: count, claimsSent: flood.sent, claimRate: Math.round(flood.rate), claimsSeen: done.counters.conflictsSeen,
      reports: done.reports, reannouncements: done.counters.reannounced, cpuPercentIdle: +(idle * 100).toFixed(2), cpuPercentUnderClaims: +(cpu * 100).toFixed(2),
      cpuMicrosPerClaim: +((cpu - idle) * 1e6 / flood.rate).toFixed(2),
    };
    console.log(JSON.stringify(row));
    rows.push(`| ${count} | ${row.claimRate} | ${row.claimsSeen} | ${row.reports} | ${row.reannouncements} | ${row.cpuPercentIdle} | ${row.cpuPercentUnderClaims} | ${row.cpuMicrosPerClaim} |`);
  }
  console.log(['', '| addresses answered | claims/s | claims seen | reported | re-announcement frames | CPU % idle | CPU % under claims | µs per claim |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|', ...rows].join('\n'));
} finally {
  await bed.destroy();
}
