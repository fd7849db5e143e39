/**
 * What a classic BPF socket filter costs the kernel, and how much it may cost.
 *
 * Linux converts a cBPF program to eBPF (bpf_convert_filter) and charges the
 * socket bpf_prog_size(eBPF length) bytes against net.core.optmem_max
 * (per network namespace). The charge must stay below optmem_max, and while
 * SO_ATTACH_FILTER swaps programs the old one is still charged, so two
 * programs must fit at once. Packet loads are what make programs big: each
 * `ld [k]` becomes about 14 eBPF instructions (a fast path and a helper
 * call), while a comparison is one. bench/filter-calibrate.ts checks this
 * model against the kernel (docs/benchmarks.md, "Socket filter size").
 */
import { readFileSync } from 'node:fs';
import type { BpfInsn } from './bpf-filter.js';

const SKF_AD_OFF = 0xfffff000;
const AD_PKTTYPE = SKF_AD_OFF + 4;
const AD_VLAN_TAG = SKF_AD_OFF + 44;
const AD_VLAN_TAG_PRESENT = SKF_AD_OFF + 48;

/**
 * eBPF length of `program` after the kernel's conversion, following
 * bpf_convert_filter and convert_bpf_ld_abs (Linux 6.x, x86-64) for the
 * instructions herald emits; other instructions count as 1.
 */
export function ebpfLength(program: readonly BpfInsn[]): number {
  // Prologue: clear A and X, keep the context pointer.
  let n = 3;
  let ldAbs = false;
  for (const p of program) {
    const cls = p.code & 0x07;
    if (cls === 0x00 && (p.code & 0xe0) === 0x20) {
      if (p.k === AD_PKTTYPE) n += 2;
      else if (p.k === AD_VLAN_TAG) n += 1;
      else if (p.k === AD_VLAN_TAG_PRESENT) n += 3;
      else if (p.k >= SKF_AD_OFF) n += 1;
      else {
        ldAbs = true;
        // Fast path: mov, sub (unless k = 0), bounds check, load, byte swap
        // (not for bytes), jump over; slow path: 4 movs, call, check, clear, exit.
        const size = p.code & 0x18;
        n += (p.k === 0 ? 5 : 6) - (size === 0x10 ? 1 : 0) + 8;
      }
    } else if (cls === 0x00 && (p.code & 0xe0) === 0x40) {
      // ld [x + k]: as ld [k], plus the index (ping's ICMP type, after the IPv4 header).
      ldAbs = true;
      n += 16;
    } else if (cls === 0x01 && (p.code & 0xe0) === 0xa0) {
      // ldxb 4*([k]&0xf): a byte load, then mask, shift and move to X.
      ldAbs = true;
      n += 17;
    } else if (cls === 0x05) {
      const op = p.code & 0xf0;
      if (op === 0x00) { n += 1; continue; } // ja
      // A negative immediate is zero-extended through a scratch register.
      if ((p.code & 0x08) === 0 && p.k >= 0x80000000) n += 1;
      if (p.jf === 0 || (p.jt === 0 && (op === 0x10 || op === 0x20 || op === 0x30))) n += 1;
      else n += 2; // Jxx then JA
    } else if (cls === 0x06) {
      n += (p.code & 0x18) === 0x10 ? 1 : 2; // ret a: exit; ret k: mov r0, k; exit
    } else {
      n += 1;
    }
  }
  // Cache skb->data and the head length once for all packet loads.
  if (ldAbs) n += 4;
  return n;
}

/**
 * Bytes the kernel charges besides 8 per eBPF instruction (struct bpf_prog),
 * rounded up; measured by bench/filter-calibrate.ts.
 */
export const PROG_HEADER_BYTES = 128;
/** Kept free for anything else charged to the socket's option memory. */
const SLACK_BYTES = 256;

/**
 * The largest eBPF length (as `ebpfLength` counts it) a herald filter may
 * have so that the kernel accepts it at this optmem_max both on a fresh
 * socket and when it replaces another program of up to the same size
 * (both are charged during the swap). Capped at what a 4,096-instruction
 * cBPF program can need; 0 when even a minimal program would not fit.
 */
export function filterBudget(optmemMax: number): number {
  const perProgram = Math.floor(optmemMax / 2) - PROG_HEADER_BYTES - SLACK_BYTES;
  return Math.max(0, Math.min(Math.floor(perProgram / 8), 4096 * 16));
}

/** Read in the caller's network namespace; undefined if unreadable. */
export function readOptmemMax(path = '/proc/sys/net/core/optmem_max'): number | undefined {
  try {
    const v = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** filterBudget of this namespace's optmem_max, or of 20,480 (the smallest common default) if unreadable. */
export function currentFilterBudget(): number {
  return filterBudget(readOptmemMax() ?? 20480);
}
