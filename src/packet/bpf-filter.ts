/**
 * Classic BPF programs for the packet socket. The kernel runs them on every
 * frame of the link, so traffic herald has no business with (a flood of ARP
 * requests for other addresses, say) is dropped before it costs a wake-up.
 * Programs are rebuilt from the announced set and swapped atomically.
 *
 * The kernel charges a program by its size after conversion to eBPF against
 * net.core.optmem_max (see filter-cost.ts), so programs are built to a budget:
 * addresses are coalesced into sorted ranges, each packet word is loaded
 * once and compared against many constants, and when that is still too
 * large, neighbouring ranges are merged (a superset: decide() checks every
 * address again) until it fits, or as a last resort all ARP/NS/NA pass.
 */

import { currentFilterBudget, ebpfLength } from './filter-cost.js';
import { LIVENESS_ETHERTYPE } from './liveness-frame.js';

/** One cBPF instruction, as in `struct sock_filter`. */
export interface BpfInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

// Opcode parts from linux/filter.h.
const LD = 0x00, LDX = 0x01, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
const TAX = 0x00, TXA = 0x80;
const W = 0x00, H = 0x08, B = 0x10;
const ABS = 0x20, IND = 0x40, MSH = 0xa0;
const JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40;
const SUB = 0x10;
/** SKF_AD_OFF + SKF_AD_PKTTYPE: the packet type, readable as an ancillary load. */
const AD_PKTTYPE = (-0x1000 + 4) >>> 0;
/** SKF_AD_OFF + SKF_AD_VLAN_TAG: the TCI of a tag the kernel moved into metadata. */
const AD_VLAN_TAG = (-0x1000 + 44) >>> 0;
/** SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT: 1 when a tag was moved into metadata. */
const AD_VLAN_TAG_PRESENT = (-0x1000 + 48) >>> 0;
const PACKET_OUTGOING = 4;

/** Accept: keep the whole frame (at most this many bytes). */
export const ACCEPT = 0x40000;
/** The kernel's limit on a classic program's length (BPF_MAXINSNS). */
export const MAX_INSNS = 4096;

const stmt = (code: number, k: number): BpfInsn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const jeq = (k: number, jt: number, jf: number): BpfInsn => ({ code: JMP | JEQ | 0x00, jt, jf, k: k >>> 0 });
const ret = (k: number) => stmt(RET, k);

export interface FilterSpec {
  /** IPv4 addresses (4 bytes): ARP whose target or sender is one of them passes. */
  readonly ipv4: readonly Uint8Array[];
  /** IPv6 addresses (16 bytes): NS/NA whose target is one of them passes. */
  readonly ipv6: readonly Uint8Array[];
  /**
   * Addresses that answer ping (a subset of the above): ICMP echo requests
   * (IPv4) and ICMPv6 echo requests without extension headers to them pass.
   * Compared exactly, never widened: they are few, and a widened echo rule
   * would wake us for other hosts' pings.
   */
  readonly echo4?: readonly Uint8Array[];
  readonly echo6?: readonly Uint8Array[];
}

/**
 * - `exact`: passes ARP/NS/NA about announced addresses only;
 * - `widened`: neighbouring ranges were merged to fit the budget (or one
 *   family passes whole), so some unannounced addresses pass too;
 * - `pass-all`: every ARP, NS and NA passes (even one range per family did not fit);
 * - `reject-all`: nothing is announced.
 */
export type FilterMode = 'exact' | 'widened' | 'pass-all' | 'reject-all';

export interface FilterPlan {
  readonly program: BpfInsn[];
  readonly mode: FilterMode;
  /** The program's size as the kernel charges it (filter-cost.ts). */
  readonly ebpfLength: number;
  /** Ranges compared, per family (after widening); 0 for pass-all. */
  readonly ranges: { readonly ipv4: number; readonly ipv6: number };
}

/** A program that accepts nothing: used while no address is announced. */
export function rejectAllFilter(): BpfInsn[] {
  return [ret(0)];
}

/**
 * Builds the filter for `spec` within `budget` (the largest eBPF length, see
 * filterBudget in filter-cost.ts; by default the one for this network
 * namespace's optmem_max). Same rules as planFilter; returns the program only.
 */
export function buildFilter(spec: FilterSpec, budget: number = currentFilterBudget()): BpfInsn[] {
  return planFilter(spec, budget).program;
}

/**
 * Passes ARP whose target or sender protocol address is announced (the
 * sender case is how another node claiming one of our addresses is noticed)
 * and ICMPv6 neighbour solicitations and advertisements, without extension
 * headers, whose target is announced. Drops our own outgoing frames and
 * frames tagged with a VLAN id (they belong to the VLAN's sub-interface);
 * priority-tagged frames (VLAN id 0) pass, since Linux treats them as
 * untagged. Tries the exact program first; if it exceeds `budget` or
 * MAX_INSNS, widens each family by the fewest steps that fit its share (see
 * Widener), passing a family whole if even one range does not fit. Returns
 * passAllArpNdFilter() when nothing else fits, even over budget: nothing
 * smaller still answers, and the caller may find the kernel takes it.
 */
export function planFilter(spec: FilterSpec, budget: number = currentFilterBudget()): FilterPlan {
  if (spec.ipv4.length === 0 && spec.ipv6.length === 0) {
    const program = rejectAllFilter();
    return { program, mode: 'reject-all', ebpfLength: ebpfLength(program), ranges: { ipv4: 0, ipv6: 0 } };
  }
  const echo: Echo = { v4: coalesce(spec.echo4 ?? [], 4), v6: coalesce(spec.echo6 ?? [], 16) };
  const asm = (arp: readonly Range[] | 'all' | undefined, nd: readonly Range[] | 'all' | undefined) => assemble(arp, nd, echo);
  const head = asm(undefined, undefined);
  const fams = {
    v4: spec.ipv4.length > 0 ? new Family(new Widener(coalesce(spec.ipv4, 4), 1), (r) => asm(r, undefined), head) : undefined,
    v6: spec.ipv6.length > 0 ? new Family(new Widener(coalesce(spec.ipv6, 16), 4), (r) => asm(undefined, r), head) : undefined,
  };
  const build = (c4: Choice | undefined, c6: Choice | undefined) => {
    const r4 = c4 === undefined || !fams.v4 ? undefined : fams.v4.ranges(c4);
    const r6 = c6 === undefined || !fams.v6 ? undefined : fams.v6.ranges(c6);
    const program = asm(r4 === undefined ? undefined : r4.ranges, r6 === undefined ? undefined : r6.ranges);
    const cost = ebpfLength(program);
    const modes = [r4, r6].filter((r) => r !== undefined);
    const mode: FilterMode = modes.every((r) => r.ranges === 'all') ? 'pass-all' : modes.every((r) => !r.rounded) ? 'exact' : 'widened';
    const count = (r: typeof r4) => (r === undefined || r.ranges === 'all' ? 0 : r.ranges.length);
    return { program, mode, ebpfLength: cost, ranges: { ipv4: count(r4), ipv6: count(r6) }, fits: cost <= budget && program.length <= MAX_INSNS };
  };
  const exact = build(fams.v4 ? 0 : undefined, fams.v6 ? 0 : undefined);
  if (exact.fits) return strip(exact);
  // Each family's part of the program costs about what it costs alone, less
  // the common head. Give each half of what is left, the leftover of one to
  // the other, and shrink if the whole came out larger than its parts.
  let availE = budget - ebpfLength(head);
  let availC = MAX_INSNS - head.length;
  for (let round = 0; round < 4 && availE > 0 && availC > 0; round++) {
    const share = (f: Family | undefined, e: number, c: number) => (f ? f.cheapest(e, c) : undefined);
    const { v4, v6 } = fams;
    let c4: Choice | undefined;
    let c6: Choice | undefined;
    if (v4 && v6) {
      const half = (f: Family) => f.fitsExact(availE / 2, availC / 2);
      const first = half(v4) || !half(v6) ? v4 : v6;
      const second = first === v4 ? v6 : v4;
      const c1 = first.cheapest(availE / 2, availC / 2);
      const c2 = second.cheapest(availE - first.costE(c1), availC - first.costC(c1));
      const c1b = first.cheapest(availE - second.costE(c2), availC - second.costC(c2));
      [c4, c6] = first === v4 ? [c1b, c2] : [c2, c1b];
    } else {
      c4 = share(v4, availE, availC);
      c6 = share(v6, availE, availC);
    }
    const plan = build(c4, c6);
    if (plan.fits) return strip(plan);
    availE -= Math.max(0, plan.ebpfLength - budget);
    availC -= Math.max(0, plan.program.length - MAX_INSNS);
  }
  return strip(build(fams.v4 ? 'all' : undefined, fams.v6 ? 'all' : undefined));
}

function strip(p: FilterPlan & { fits: boolean }): FilterPlan {
  return { program: p.program, mode: p.mode, ebpfLength: p.ebpfLength, ranges: p.ranges };
}

/** How many widening steps to apply, or pass the whole family. */
type Choice = number | 'all';

/** One family's widening steps and what its part of the program costs at each. */
class Family {
  readonly #cost = new Map<Choice, { e: number; c: number }>();
  readonly #head: { e: number; c: number };

  constructor(readonly widener: Widener, readonly alone: (r: readonly Range[] | 'all') => BpfInsn[], head: readonly BpfInsn[]) {
    this.#head = { e: ebpfLength(head), c: head.length };
  }

  ranges(c: Choice): { ranges: readonly Range[] | 'all'; rounded: boolean } {
    return c === 'all' ? { ranges: 'all', rounded: true } : this.widener.at(c);
  }

  #part(c: Choice): { e: number; c: number } {
    let v = this.#cost.get(c);
    if (!v) {
      const p = this.alone(this.ranges(c).ranges);
      v = { e: ebpfLength(p) - this.#head.e, c: p.length - this.#head.c };
      this.#cost.set(c, v);
    }
    return v;
  }

  costE(c: Choice): number { return this.#part(c).e; }
  costC(c: Choice): number { return this.#part(c).c; }

  fitsExact(e: number, c: number): boolean {
    const p = this.#part(0);
    return p.e <= e && p.c <= c;
  }

  /** The fewest widening steps whose part fits (binary search: the cost falls as steps are added), else 'all'. */
  cheapest(e: number, c: number): Choice {
    const fits = (x: Choice) => { const p = this.#part(x); return p.e <= e && p.c <= c; };
    if (fits(0)) return 0;
    let hi = this.widener.steps;
    if (!fits(hi)) return 'all';
    let lo = 0;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (fits(mid)) hi = mid; else lo = mid;
    }
    return hi;
  }
}

/**
 * The last resort: every ARP frame and every NS/NA (no extension headers)
 * passes, and decide() filters. Our own outgoing frames and frames tagged
 * with a non-zero VLAN id are still dropped. Small enough for any optmem_max
 * a kernel runs with (71 eBPF instructions). `arp`/`nd` leave a family
 * out (both default to true).
 */
export function passAllArpNdFilter(arp = true, nd = true, echo = false): BpfInsn[] {
  return assemble(arp ? 'all' : undefined, nd ? 'all' : undefined, echo ? { v4: 'all', v6: 'all' } : undefined);
}

/** Addresses whose echo requests pass ('all': any echo request), per family. */
interface Echo { readonly v4: readonly Range[] | 'all'; readonly v6: readonly Range[] | 'all' }

/** An address range [lo, hi], both inclusive, as integers of the family's width. */
interface Range { lo: bigint; hi: bigint }

function toBig(a: Uint8Array, width: number): bigint {
  let v = 0n;
  for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(a[i] ?? 0);
  return v;
}

/** Sorted, deduplicated addresses as maximal runs of consecutive addresses. */
function coalesce(addrs: readonly Uint8Array[], width: number): Range[] {
  const sorted = [...new Set(addrs.map((a) => toBig(a, width)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Range[] = [];
  for (const v of sorted) {
    const last = out.at(-1);
    if (last && last.hi + 1n === v) last.hi = v;
    else out.push({ lo: v, hi: v });
  }
  return out;
}

const WORD_MASK = 0xffffffffn;

/** Word `w` (0 = most significant) of a value `words` 32-bit words wide. */
function wordOf(v: bigint, w: number, words: number): number {
  return Number((v >> BigInt(32 * (words - 1 - w))) & WORD_MASK);
}

/** The first word in which lo and hi differ (the last word if they are equal). */
function splitWord(r: Range, words: number): number {
  for (let w = 0; w < words - 1; w++) if (wordOf(r.lo, w, words) !== wordOf(r.hi, w, words)) return w;
  return words - 1;
}

/**
 * Makes ranges testable by one word comparison below a shared prefix. A
 * range spanning at most three values of its upper words (a run of
 * addresses across a word boundary) is split there, exactly; a wider one is
 * rounded out to whole words (compared on its first differing word, any
 * value below). What then overlaps is merged, until nothing changes.
 * `rounded` says whether the result passes more than `ranges`.
 */
function normalize(ranges: readonly Range[], words: number): { ranges: Range[]; rounded: boolean } {
  let cur = ranges.map((r) => ({ ...r }));
  let rounded = false;
  for (;;) {
    cur.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    const merged: Range[] = [];
    for (const r of cur) {
      const last = merged.at(-1);
      if (last && r.lo <= last.hi + 1n) {
        if (r.hi > last.hi) last.hi = r.hi;
      } else {
        merged.push(r);
      }
    }
    cur = merged;
    let changed = false;
    for (const r of cur) {
      if (words === 1 || (r.hi >> 32n) - (r.lo >> 32n) <= 2n) continue;
      const below = BigInt(32 * (words - 1 - splitWord(r, words)));
      const lo = (r.lo >> below) << below;
      const hi = (((r.hi >> below) + 1n) << below) - 1n;
      if (lo !== r.lo || hi !== r.hi) { r.lo = lo; r.hi = hi; changed = true; }
    }
    rounded ||= changed;
    if (!changed) break;
  }
  if (words === 1) return { ranges: cur, rounded };
  const out: Range[] = [];
  for (const r of cur) {
    if (splitWord(r, words) === words - 1 || (r.hi >> 32n) - (r.lo >> 32n) > 2n) {
      out.push(r);
      continue;
    }
    // Split at each boundary of the last word.
    for (let lo = r.lo; lo <= r.hi;) {
      const end = ((lo >> 32n) << 32n) + WORD_MASK;
      const hi = end < r.hi ? end : r.hi;
      out.push({ lo, hi });
      lo = hi + 1n;
    }
  }
  return { ranges: out, rounded };
}

/** How many addresses a range passes once normalize() has made it testable. */
function testableSize(lo: bigint, hi: bigint, words: number): bigint {
  if (words === 1 || (hi >> 32n) - (lo >> 32n) <= 2n) return hi - lo + 1n;
  const below = BigInt(32 * (words - 1 - splitWord({ lo, hi }, words)));
  return ((hi >> below) + 1n - (lo >> below)) << below;
}

/**
 * Widening steps for one family, least added addresses first: closing the
 * gap between two neighbouring ranges (closing gaps in order of size is the
 * same as repeatedly merging the closest pair), and for IPv6 dropping the
 * last word of a range alone in its /96 (a scattered /64 address then costs
 * one comparison instead of a load and two; it passes 2^32 addresses, fewer
 * than any merge across /96s would).
 */
class Widener {
  readonly steps: number;
  readonly #ops: { kind: 'gap' | 'coarsen'; i: number }[];
  readonly #cache = new Map<number, { ranges: Range[]; rounded: boolean }>();

  constructor(readonly ranges: readonly Range[], readonly words: number) {
    const ops: { kind: 'gap' | 'coarsen'; i: number; added: bigint }[] = [];
    const size = (r: Range) => r.hi - r.lo + 1n;
    ranges.forEach((a, i) => {
      const b = ranges[i + 1];
      if (!b) return;
      ops.push({ kind: 'gap', i, added: testableSize(a.lo, b.hi, words) - size(a) - size(b) });
    });
    if (words > 1) {
      ranges.forEach((r, i) => {
        if ((r.lo >> 32n) === (r.hi >> 32n)) ops.push({ kind: 'coarsen', i, added: (1n << 32n) - size(r) });
      });
    }
    ops.sort((x, y) => (x.added < y.added ? -1 : x.added > y.added ? 1 : x.i - y.i));
    this.#ops = ops;
    this.steps = ops.length;
  }

  /** The ranges after the first `n` widening steps. */
  at(n: number): { ranges: Range[]; rounded: boolean } {
    let out = this.#cache.get(n);
    if (out) return out;
    const applied = this.#ops.slice(0, n);
    const closed = new Set(applied.filter((o) => o.kind === 'gap').map((o) => o.i));
    const coarse = new Set(applied.filter((o) => o.kind === 'coarsen').map((o) => o.i));
    const merged: Range[] = [];
    this.ranges.forEach((r0, i) => {
      const r = coarse.has(i) ? { lo: (r0.lo >> 32n) << 32n, hi: ((r0.lo >> 32n) << 32n) + WORD_MASK } : r0;
      const last = merged.at(-1);
      if (last && closed.has(i - 1)) last.hi = r.hi > last.hi ? r.hi : last.hi;
      else merged.push({ ...r });
    });
    out = normalize(merged, this.words);
    if (n > 0) out.rounded = true;
    this.#cache.set(n, out);
    return out;
  }
}

// --- Assembly with labels ---------------------------------------------------

/** A jump target, placed later with Asm.place(). */
interface Label { pos: number }

interface PendingInsn {
  readonly code: number;
  readonly k: number;
  /** Undefined: the next instruction. */
  readonly jt?: Label;
  readonly jf?: Label;
  /** For `ja`: where to. */
  readonly to?: Label;
}

class Asm {
  readonly insns: PendingInsn[] = [];

  label(): Label {
    return { pos: -1 };
  }

  place(l: Label): void {
    l.pos = this.insns.length;
  }

  stmt(code: number, k: number): void {
    this.insns.push({ code, k: k >>> 0 });
  }

  jump(op: number, k: number, jt?: Label, jf?: Label): void {
    this.insns.push({ code: JMP | op, k: k >>> 0, ...(jt ? { jt } : {}), ...(jf ? { jf } : {}) });
  }

  ja(to: Label): void {
    this.insns.push({ code: JMP | JA, k: 0, to });
  }

  resolve(): BpfInsn[] {
    return this.insns.map((p, i) => {
      const off = (l: Label | undefined) => {
        if (!l) return 0;
        if (l.pos < 0) throw new Error('bpf-filter: unplaced label');
        const d = l.pos - (i + 1);
        if (d < 0) throw new Error(`bpf-filter: backward jump at ${i}`);
        return d;
      };
      if (p.to) return { code: p.code, jt: 0, jf: 0, k: off(p.to) };
      const jt = off(p.jt);
      const jf = off(p.jf);
      if (jt > 255 || jf > 255) throw new Error(`bpf-filter: conditional jump too long at ${i}`);
      return { code: p.code, jt, jf, k: p.k };
    });
  }
}

/** Items compared on one word, in ascending order. */
type Item =
  | { readonly kind: 'range'; readonly lo: number; readonly hi: number }
  /** The word equals `v`: the decision continues on the next word. */
  | { readonly kind: 'prefix'; readonly v: number; readonly next: Item[] };

/**
 * The word a range is decided on: the first in which its ends differ, or
 * above it when every word below is unrestricted (0 to 0xffffffff), as for
 * an IPv6 range reduced to its /96.
 */
function level(r: Range, words: number): number {
  let k = splitWord(r, words);
  while (k > 0 && wordOf(r.lo, k, words) === 0 && wordOf(r.hi, k, words) === 0xffffffff && wordOf(r.lo, k - 1, words) === wordOf(r.hi, k - 1, words)) k--;
  return k;
}

/** The comparison tree of disjoint, sorted, rounded-out ranges, from word `w` on. */
function tree(ranges: readonly Range[], w: number, words: number): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < ranges.length;) {
    const r = ranges[i];
    if (!r) break;
    if (level(r, words) === w) {
      items.push({ kind: 'range', lo: wordOf(r.lo, w, words), hi: wordOf(r.hi, w, words) });
      i++;
      continue;
    }
    const v = wordOf(r.lo, w, words);
    let j = i;
    for (let x = ranges[j]; x && level(x, words) > w && wordOf(x.lo, w, words) === v; x = ranges[++j]);
    items.push({ kind: 'prefix', v, next: tree(ranges.slice(i, j), w + 1, words) });
    i = j;
  }
  return items;
}

/** Items per block: a block's jumps must stay within cBPF's 255. */
const BLOCK = 32;

/**
 * Code for `items` on the word at `offsets[0]` (then offsets[1], ...):
 * returns ACCEPT for a match, and for a miss runs `miss` (a `ret 0` or a
 * jump on). Items are scanned in blocks of BLOCK; a block whose last value is
 * below the word is skipped with one comparison, so a frame costs about
 * n/BLOCK + BLOCK comparisons. Prefixes continue out of line.
 */
function emitWord(asm: Asm, items: readonly Item[], offsets: readonly number[], miss: (asm: Asm) => void): void {
  const [off, ...below] = offsets;
  if (off === undefined) throw new Error('bpf-filter: more levels than words');
  asm.stmt(LD | W | ABS, off);
  // cBPF compares unsigned but the eBPF conversion pays an extra instruction
  // for every constant with the top bit set (192.0.2.x, say): subtract the
  // smallest constant first, which keeps the order for every value above it;
  // values below it wrap to above every constant and miss, as they should.
  // If the constants span 2^31 or more, do that per block, from a copy in X.
  const consts = items.flatMap((it) => (it.kind === 'range' ? [it.lo, it.hi] : [it.v]));
  const rebase = (lo: number, hi: number) => (hi >= 0x80000000 && hi - lo < 0x80000000 ? lo : 0);
  const min = Math.min(...consts);
  const max = Math.max(...consts);
  const perBlock = max >= 0x80000000 && max - min >= 0x80000000;
  let base = perBlock ? 0 : rebase(min, max);
  if (base !== 0) asm.stmt(ALU | SUB | 0x00, base);
  if (perBlock) asm.stmt(MISC | TAX, 0);
  const c = (v: number) => (v - base) >>> 0;
  const only = items.length === 1 ? items[0] : undefined;
  if (only?.kind === 'prefix') {
    // The common case (one pool's prefix): compare and fall into the next word.
    const cont = asm.label();
    asm.jump(JEQ, c(only.v), cont);
    miss(asm); // one instruction
    asm.place(cont);
    emitWord(asm, only.next, below, miss);
    return;
  }
  const later: { label: Label; next: Item[] }[] = [];
  for (let b = 0; b < items.length; b += BLOCK) {
    const block = items.slice(b, b + BLOCK);
    const top = (it: Item | undefined) => (it === undefined ? 0 : it.kind === 'range' ? it.hi : it.v);
    const bottom = (it: Item | undefined) => (it === undefined ? 0 : it.kind === 'range' ? it.lo : it.v);
    const blockMax = top(block.at(-1));
    const nextBlock = asm.label();
    const accept = asm.label();
    const blockMiss = asm.label();
    const isLast = b + BLOCK >= items.length;
    if (perBlock) {
      if (b > 0) asm.stmt(MISC | TXA, 0);
      base = rebase(bottom(block[0]), blockMax);
      if (base !== 0) asm.stmt(ALU | SUB | 0x00, base);
    }
    // Above this block's values: on to the next block (or a miss after the last).
    if (blockMax !== 0xffffffff) asm.jump(JGT, c(blockMax), isLast ? blockMiss : nextBlock);
    const trampolines: { label: Label; target: Label }[] = [];
    for (const it of block) {
      if (it.kind === 'prefix') {
        const tramp = asm.label();
        const target = asm.label();
        trampolines.push({ label: tramp, target });
        later.push({ label: target, next: it.next });
        asm.jump(JEQ, c(it.v), tramp);
      } else if (it.lo === it.hi) {
        asm.jump(JEQ, c(it.lo), accept);
      } else if (it.lo === 0 && it.hi === 0xffffffff) {
        asm.ja(accept);
      } else {
        // Above the range: next item; within it: accept; below it: below
        // every later item too, but falling through costs no extra instruction.
        const next = asm.label();
        asm.jump(JGT, c(it.hi), next);
        asm.jump(JGE, c(it.lo), accept);
        asm.place(next);
      }
    }
    asm.place(blockMiss);
    miss(asm);
    asm.place(accept);
    asm.stmt(RET, ACCEPT);
    for (const t of trampolines) {
      asm.place(t.label);
      asm.ja(t.target);
    }
    asm.place(nextBlock);
  }
  for (const l of later) {
    asm.place(l.label);
    emitWord(asm, l.next, below, miss);
  }
}

const rejectMiss = (asm: Asm) => { asm.stmt(RET, 0); };

const IPV6_WORDS = [62, 66, 70, 74];
/** The IPv6 destination address, one word at a time. */
const IPV6_DST_WORDS = [38, 42, 46, 50];
const has = (r: readonly Range[] | 'all' | undefined): r is readonly Range[] | 'all' => r === 'all' || (r !== undefined && r.length > 0);

/**
 * The whole program. `arp`/`nd`: the ranges to pass, 'all' for pass-all,
 * undefined to drop the family.
 */
function assemble(arp: readonly Range[] | 'all' | undefined, nd: readonly Range[] | 'all' | undefined, echo?: Echo): BpfInsn[] {
  const asm = new Asm();
  const drop = asm.label();
  const arpL = asm.label();
  const ndL = asm.label();
  const echo4L = asm.label();
  const echo4 = echo && has(echo.v4) ? echo.v4 : undefined;
  const echo6 = echo && has(echo.v6) ? echo.v6 : undefined;
  const v6 = nd !== undefined || echo6 !== undefined;
  // Not our own outgoing frames.
  asm.stmt(LD | B | ABS, AD_PKTTYPE);
  asm.jump(JEQ, PACKET_OUTGOING, drop);
  // A tag the kernel moved into metadata: VLAN id 0 (priority tagging) is
  // untagged to Linux, so it passes; any other id belongs to a sub-interface.
  const untagged = asm.label();
  asm.stmt(LD | W | ABS, AD_VLAN_TAG_PRESENT);
  asm.jump(JEQ, 0, untagged);
  asm.stmt(LD | W | ABS, AD_VLAN_TAG);
  asm.jump(JSET, 0x0fff, drop);
  asm.place(untagged);
  // Tags left in the data (stacked ones) fail the EtherType test.
  asm.stmt(LD | H | ABS, 12);
  // `ja` reaches any distance; a conditional jump only 255 instructions.
  for (const [present, type, block] of [[arp, 0x0806, arpL], [v6, 0x86dd, ndL], [echo4, 0x0800, echo4L]] as const) {
    if (!present) continue;
    const other = asm.label();
    asm.jump(JEQ, type, undefined, other);
    asm.ja(block);
    asm.place(other);
  }
  asm.place(drop);
  asm.stmt(RET, 0);
  if (arp) {
    asm.place(arpL);
    if (arp === 'all') {
      asm.stmt(RET, ACCEPT);
    } else {
      // Target protocol address, then the sender's (someone claiming one of ours).
      const items = tree(arp, 0, 1);
      const sender = asm.label();
      emitWord(asm, items, [14 + 24], (a) => { a.ja(sender); });
      asm.place(sender);
      emitWord(asm, items, [14 + 14], rejectMiss);
    }
  }
  if (v6) {
    asm.place(ndL);
    const ndDrop = asm.label();
    const isNd = asm.label();
    const isEcho = asm.label();
    // Next header ICMPv6 (so no extension headers), type NS or NA (or an echo request, for ping).
    asm.stmt(LD | B | ABS, 14 + 6);
    asm.jump(JEQ, 58, undefined, ndDrop);
    asm.stmt(LD | B | ABS, 14 + 40);
    if (nd) {
      asm.jump(JEQ, 135, isNd);
      asm.jump(JEQ, 136, isNd);
    }
    if (echo6) asm.jump(JEQ, 128, isEcho);
    asm.place(ndDrop);
    asm.stmt(RET, 0);
    if (nd) {
      asm.place(isNd);
      if (nd === 'all') asm.stmt(RET, ACCEPT);
      // Target address at ICMPv6 offset 8, one 32-bit word at a time.
      else emitWord(asm, tree(nd, 0, 4), IPV6_WORDS, rejectMiss);
    }
    if (echo6) {
      asm.place(isEcho);
      if (echo6 === 'all') asm.stmt(RET, ACCEPT);
      else emitWord(asm, tree(echo6, 0, 4), IPV6_DST_WORDS, rejectMiss);
    }
  }
  if (echo4) {
    asm.place(echo4L);
    const echoDrop = asm.label();
    // ICMP, then its type (after a header of IHL words: X = 4 * IHL), echo request.
    asm.stmt(LD | B | ABS, 14 + 9);
    asm.jump(JEQ, 1, undefined, echoDrop);
    asm.stmt(LDX | B | MSH, 14);
    asm.stmt(LD | B | IND, 14);
    const toUs = asm.label();
    asm.jump(JEQ, 8, toUs);
    asm.place(echoDrop);
    asm.stmt(RET, 0);
    asm.place(toUs);
    if (echo4 === 'all') asm.stmt(RET, ACCEPT);
    // The destination address.
    else emitWord(asm, tree(echo4, 0, 1), [14 + 16], rejectMiss);
  }
  return asm.resolve();
}

/**
 * The liveness sockets' filter: EtherType 0x88B5 frames addressed to `mac`
 * (liveness messages are unicast), untagged, and not our own outgoing ones.
 * Anything else on the link never wakes the process.
 */
export function livenessFilter(mac: Uint8Array): BpfInsn[] {
  if (mac.length !== 6) throw new Error(`livenessFilter: a MAC is 6 bytes, got ${mac.length}`);
  // Every failed test jumps to the final `ret 0`; offsets count from the next instruction.
  // Our MAC, or broadcast (a monitor's "down" verdict goes to the whole link).
  return [
    stmt(LD | B | ABS, AD_PKTTYPE), jeq(PACKET_OUTGOING, 0, 1), ret(0),
    stmt(LD | W | ABS, AD_VLAN_TAG_PRESENT), jeq(0, 1, 0), ret(0),
    stmt(LD | H | ABS, 12), jeq(LIVENESS_ETHERTYPE, 0, 8),
    stmt(LD | W | ABS, 0), jeq(word(mac, 0), 0, 2),
    stmt(LD | H | ABS, 4), jeq(((mac[4] ?? 0) << 8) | (mac[5] ?? 0), 3, 4),
    jeq(0xffffffff, 0, 3),
    stmt(LD | H | ABS, 4), jeq(0xffff, 0, 1),
    ret(ACCEPT),
    ret(0),
  ];
}

function word(a: Uint8Array, at: number): number {
  return (((a[at] ?? 0) << 24) | ((a[at + 1] ?? 0) << 16) | ((a[at + 2] ?? 0) << 8) | (a[at + 3] ?? 0)) >>> 0;
}

/** The flat [code, jt, jf, k] form the addon takes. */
export function toUint32Array(program: readonly BpfInsn[]): Uint32Array {
  const out = new Uint32Array(program.length * 4);
  program.forEach((p, i) => {
    out.set([p.code, p.jt, p.jf, p.k], 4 * i);
  });
  return out;
}
