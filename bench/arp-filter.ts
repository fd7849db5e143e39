/**
 * Socket filter size and cost (issue 15 item 2):
 *
 * 1. For 10, 100, 1,000 and 2,000 addresses per family, clustered (as a pool
 *    allocates: consecutive, with 10 % released) and scattered (anywhere in
 *    three IPv4 /16s and four IPv6 /64s): the filter planned for the budget
 *    of optmem_max 20,480 and of 131,072 (mode, cBPF and eBPF length, time to
 *    plan), whether the kernel of a namespace at that optmem_max accepts it
 *    on a fresh socket and in a swap, and the time a swap takes. The sets
 *    are synthetic: no frame is sent.
 * 2. The CPU of a responder while another namespace floods the LAN with
 *    25,000 ARP requests/s for addresses it does not announce, with its
 *    filter forced exact, widened (the flood passes it) and pass-all
 *    (bench/filter-flood-runner.ts), and how many flood frames reach
 *    JavaScript; and, for comparison, a bare socket with the pass-all filter
 *    that only counts frames (what receiving them alone costs).
 *
 *   npm run build && npm run bench:arp-filter      (root: creates network namespaces)
 *
 * Environment: FLOOD_RATE (default 25000), FLOOD_SECONDS (default 10),
 * PARTS (default "sizes,flood").
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FilterSpec } from '../src/packet/bpf-filter.js';
import { planFilter, rejectAllFilter } from '../src/packet/bpf-filter.js';
import { filterBudget } from '../src/packet/filter-cost.js';
import { PacketSocket } from '../src/packet/packet-socket.js';
import { median } from './stats.js';
import { mulberry32 } from '../harness/seeded-random.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const OPTMEM = [20480, 131072];
const COUNTS = [10, 100, 1000, 2000];

const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
function v6(prefix: number, low: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x20010db8, 0);
  b.writeUInt32BE(prefix, 4);
  b.writeBigUInt64BE(low, 8);
  return b;
}

function specFor(shape: 'clustered' | 'scattered', n: number): FilterSpec {
  const r = mulberry32(n);
  if (shape === 'clustered') {
    const ipv4: Buffer[] = [];
    for (let i = 0; ipv4.length < n; i++) if (r() > 0.1) ipv4.push(u32(0x0a140001 + i));
    const ipv6: Buffer[] = [];
    for (let i = 0; ipv6.length < n; i++) if (r() > 0.1) ipv6.push(v6(7, BigInt(i + 1)));
    return { ipv4, ipv6 };
  }
  const bases = [0x0a010000, 0xac100000, 0xc0a80000];
  return {
    ipv4: Array.from({ length: n }, () => u32(bases[Math.floor(r() * 3)]! + Math.floor(r() * 65536))),
    ipv6: Array.from({ length: n }, () => v6(Math.floor(r() * 4), (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32)))),
  };
}

interface SizeRow {
  optmem: number; shape: string; n: number; mode: string; cbpf: number; ebpf: number; budget: number; exactEbpf: number | null;
  planMs: number; fresh: boolean; swap: boolean; swapMs: number | null;
}

/** Runs in a namespace whose optmem_max is `optmem`. */
function sizes(optmem: number): SizeRow[] {
  const rows: SizeRow[] = [];
  const budget = filterBudget(optmem);
  for (const shape of ['clustered', 'scattered'] as const) {
    for (const n of COUNTS) {
      const spec = specFor(shape, n);
      const times: number[] = [];
      let plan = planFilter(spec, budget);
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        plan = planFilter(spec, budget);
        times.push(performance.now() - t0);
      }
      const exact = planFilter(spec, 1 << 30);
      let fresh = false;
      let swap = false;
      const swapTimes: number[] = [];
      try {
        new PacketSocket('lo', plan.program, () => undefined).close();
        fresh = true;
      } catch { /* refused */ }
      const s = new PacketSocket('lo', rejectAllFilter(), () => undefined);
      try {
        s.setFilter(plan.program);
        for (let i = 0; i < 20; i++) {
          const t0 = performance.now();
          s.setFilter(plan.program);
          swapTimes.push(performance.now() - t0);
        }
        swap = true;
      } catch { /* refused */ }
      s.close();
      rows.push({
        optmem, shape, n, mode: plan.mode, cbpf: plan.program.length, ebpf: plan.ebpfLength, budget,
        exactEbpf: exact.mode === 'exact' ? exact.ebpfLength : null,
        planMs: median(times), fresh, swap, swapMs: swapTimes.length ? median(swapTimes) : null,
      });
    }
  }
  return rows;
}

const CLK_TCK = 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

if (process.argv[2] === '--sizes') {
  process.stdout.write(`${JSON.stringify(sizes(Number(process.argv[3])))}\n`);
} else {
  const { Testbed } = await import('../harness/testbed.js');
  const parts = (process.env.PARTS ?? 'sizes,flood').split(',');
  const rate = Number(process.env.FLOOD_RATE ?? 25000);
  const floodSeconds = Number(process.env.FLOOD_SECONDS ?? 10);
  const bed = await Testbed.create({ nodes: [{ name: 'node0', lanAddress: false }, { name: 'flooder', lanAddress: false }] });
  try {
    const node = bed.node('node0');
    const out: { sizes: SizeRow[]; flood: object[] } = { sizes: [], flood: [] };
    if (parts.includes('sizes')) {
      for (const optmem of OPTMEM) {
        await bed.exec(node, ['sysctl', '-qw', `net.core.optmem_max=${optmem}`]);
        const { stdout } = await bed.exec(node, [process.execPath, fileURLToPath(import.meta.url), '--sizes', String(optmem)], { timeoutMs: 600_000 });
        out.sizes.push(...(JSON.parse(stdout) as SizeRow[]));
      }
      await bed.exec(node, ['sysctl', '-qw', 'net.core.optmem_max=131072']);
    }
    const floodRows: string[] = [];
    if (parts.includes('flood')) {
      for (const mode of ['exact', 'widened', 'pass-all', 'receive-only']) {
        const runner = bed.spawn(node, [process.execPath, here('./filter-flood-runner.js'), mode]);
        const ready = JSON.parse(await runner.waitFor(/"event":"ready"/, 60_000)) as { pid: number; ebpfLength: number; cbpfLength: number; filterMode: string; ranges: object };
        const pid = runner.child.pid!;
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'node') throw new Error('runner pid is not the node process');
        const counters = async () => {
          const before = runner.lines.length;
          runner.write('counters');
          for (let i = 0; i < 200 && runner.lines.slice(before).every((l) => !l.includes('"counters"')); i++) await sleep(10);
          return JSON.parse(runner.lines.slice(before).find((l) => l.includes('"counters"'))!) as { requestsSeen: number };
        };
        await sleep(2000); // gratuitous burst and start-up work over
        const idle0 = cpuSeconds(pid);
        const tIdle = performance.now();
        await sleep(3000);
        const idleCpu = (cpuSeconds(pid) - idle0) / ((performance.now() - tIdle) / 1000);
        const flood = bed.spawn(bed.node('flooder'), [process.execPath, here('./arp-flood.js'), 'eth0', String(rate * floodSeconds), String(rate)]);
        await sleep(1500);
        const c0 = await counters();
        const cpu0 = cpuSeconds(pid);
        const t0 = performance.now();
        await sleep((floodSeconds - 3) * 1000);
        const cpu1 = cpuSeconds(pid);
        const seconds = (performance.now() - t0) / 1000;
        const c1 = await counters();
        const floodCpu = (cpu1 - cpu0) / seconds;
        const floodResult = JSON.parse(await flood.waitFor(/"rate"/, floodSeconds * 1000 + 30_000)) as { sent: number; rate: number };
        await runner.stop();
        const row = {
          mode, filter: ready.filterMode, ebpfLength: ready.ebpfLength, cbpfLength: ready.cbpfLength, ranges: ready.ranges,
          floodRate: floodResult.rate, idleCpuPercent: idleCpu * 100, floodCpuPercent: floodCpu * 100,
          framesToJsPerSecond: (c1.requestsSeen - c0.requestsSeen) / seconds,
          problems: runner.lines.filter((l) => l.includes('"problem"')).length,
        };
        out.flood.push(row);
        floodRows.push(`| ${mode} | ${ready.cbpfLength} / ${ready.ebpfLength} | ${row.floodRate.toFixed(0)} | ${row.framesToJsPerSecond.toFixed(0)} | ${row.idleCpuPercent.toFixed(2)} | ${row.floodCpuPercent.toFixed(2)} |`);
      }
    }
    console.log(JSON.stringify(out, null, 2));
    const yes = (b: boolean) => (b ? 'yes' : '**no**');
    const f = (x: number | null, d = 2) => (x === null ? '–' : x.toFixed(d));
    if (out.sizes.length) {
      console.log([
        '',
        '| optmem_max | addresses | n per family | mode | cBPF | eBPF (budget) | exact would be | plan ms | fresh | swap | swap ms |',
        '|---:|---|---:|---|---:|---:|---:|---:|---|---|---:|',
        ...out.sizes.map((r) => `| ${r.optmem} | ${r.shape} | ${r.n} | ${r.mode} | ${r.cbpf} | ${r.ebpf} (${r.budget}) | ${r.exactEbpf ?? '> 4,096 cBPF'} | ${f(r.planMs, 1)} | ${yes(r.fresh)} | ${yes(r.swap)} | ${f(r.swapMs, 3)} |`),
      ].join('\n'));
    }
    if (floodRows.length) {
      console.log([
        '',
        '| filter | cBPF / eBPF | flood frames/s | flood frames reaching JS /s | responder CPU idle % | responder CPU flood % |',
        '|---|---:|---:|---:|---:|---:|',
        ...floodRows,
      ].join('\n'));
    }
  } finally {
    await bed.destroy();
  }
}
