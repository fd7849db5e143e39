/**
 * How large a socket filter the kernel accepts, against net.core.optmem_max.
 * The kernel converts a classic BPF program to eBPF and charges the socket
 * bpf_prog_size(eBPF length) bytes of option memory; a swap charges the old
 * and the new program together. This finds, in a test namespace at several
 * optmem_max values, the largest program of a few simple shapes accepted on a
 * fresh socket and in a swap (old and new the same size), so that the cost
 * model in src/packet/filter-cost.ts (eBPF instructions per cBPF one) and the
 * header size can be checked against the kernel.
 *
 *   npm run build && node dist/bench/filter-calibrate.js      (root: creates a namespace)
 *
 * Prints JSON and a Markdown table. The host's optmem_max is never touched.
 */
import { fileURLToPath } from 'node:url';
import type { BpfInsn } from '../src/packet/bpf-filter.js';
import { ebpfLength } from '../src/packet/filter-cost.js';
import { PacketSocket } from '../src/packet/packet-socket.js';

const OPTMEM = (process.env.OPTMEM ?? '10240,20480,65536,131072').split(',').map(Number);

const jeq = (k: number, jt = 0, jf = 0): BpfInsn => ({ code: 0x15, jt, jf, k: k >>> 0 });
const ret0: BpfInsn = { code: 0x06, jt: 0, jf: 0, k: 0 };

/** Program shapes: n repetitions of one instruction, then what makes it valid. */
const SHAPES: Record<string, (n: number) => BpfInsn[]> = {
  'jeq k (jt=jf=0)': (n) => [...Array.from({ length: n }, () => jeq(1)), ret0],
  'jeq k≥2^31': (n) => [...Array.from({ length: n }, () => jeq(0xc0000201)), ret0],
  'jeq k, jt=jf=1': (n) => [...Array.from({ length: n }, () => jeq(1, 1, 1)), ret0, ret0],
  'ld [k] (word)': (n) => [...Array.from({ length: n }, () => ({ code: 0x20, jt: 0, jf: 0, k: 14 })), ret0],
  'ret k': (n) => Array.from({ length: n }, () => ret0),
};

function accepted(program: BpfInsn[], swap: boolean): boolean {
  let s: PacketSocket | undefined;
  try {
    s = new PacketSocket('lo', swap ? [ret0] : program, () => undefined);
    if (swap) {
      s.setFilter(program);
      // The old program is released when the new one is attached; attach the
      // same size again to measure old + new together.
      s.setFilter(program);
    }
    return true;
  } catch (err) {
    if (err instanceof Error && /ENOMEM/.test(err.message)) return false;
    throw err;
  } finally {
    s?.close();
  }
}

/** Largest n in [1, 4095] with shape(n) accepted (n + tail ≤ 4096). */
function largest(shape: (n: number) => BpfInsn[], swap: boolean): number {
  let lo = 0;
  let hi = 4094;
  if (accepted(shape(hi), swap)) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (accepted(shape(mid), swap)) lo = mid; else hi = mid;
  }
  return lo;
}

interface Row { optmem: number; shape: string; fresh: number; swap: number; freshEbpf: number; swapEbpf: number }

if (process.argv[2] === '--child') {
  const optmem = Number(process.argv[3]);
  const rows: Row[] = Object.entries(SHAPES).map(([name, shape]) => {
    const fresh = largest(shape, false);
    const swap = largest(shape, true);
    return { optmem, shape: name, fresh, swap, freshEbpf: ebpfLength(shape(fresh)), swapEbpf: ebpfLength(shape(swap)) };
  });
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} else {
  const { Testbed } = await import('../harness/testbed.js');
  const bed = await Testbed.create({ nodes: 1 });
  try {
    const node = bed.nodes[0]!;
    const rows: Row[] = [];
    for (const optmem of OPTMEM) {
      await bed.exec(node, ['sysctl', '-qw', `net.core.optmem_max=${optmem}`]);
      const { stdout } = await bed.exec(node, [process.execPath, fileURLToPath(import.meta.url), '--child', String(optmem)], { timeoutMs: 300_000 });
      rows.push(...(JSON.parse(stdout) as Row[]));
    }
    console.log(JSON.stringify(rows, null, 2));
    console.log([
      '',
      '| optmem_max | shape | largest n, fresh | its eBPF length (model) | bytes left (model) | largest n, swap | its eBPF length (model) | bytes left, 2 programs |',
      '|---:|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.optmem} | ${r.shape} | ${r.fresh} | ${r.freshEbpf} | ${r.optmem - 8 * r.freshEbpf} | ${r.swap} | ${r.swapEbpf} | ${r.optmem - 16 * r.swapEbpf} |`),
    ].join('\n'));
  } finally {
    await bed.destroy();
  }
}
