import type { BpfInsn } from '../../src/packet/bpf-filter.js';

/** Packet metadata that cBPF ancillary loads can read. */
export interface BpfMeta {
  readonly pkttype: number;
  readonly vlanTagPresent: boolean;
  /** The tag's TCI when vlanTagPresent (SKF_AD_VLAN_TAG); 0 if not given. */
  readonly vlanTci?: number;
}

const AD_OFF = -0x1000;

/**
 * A small classic-BPF interpreter, written from the Linux filter.h semantics,
 * covering the instructions herald emits (and failing loudly on any other),
 * so filter programs can be unit-tested without a kernel.
 * Returns the accepted length (0 = drop).
 */
export function runBpf(program: readonly BpfInsn[], pkt: Uint8Array, meta: BpfMeta): number {
  let a = 0;
  let x = 0;
  const load = (off: number, size: 1 | 2 | 4): number | undefined => {
    if (off >= (AD_OFF >>> 0) || off < 0) {
      const ad = (off | 0) - AD_OFF;
      if (ad === 4) return meta.pkttype;
      if (ad === 48) return meta.vlanTagPresent ? 1 : 0;
      if (ad === 44) return meta.vlanTagPresent ? (meta.vlanTci ?? 0) : 0;
      throw new Error(`unsupported ancillary load ${ad}`);
    }
    if (off + size > pkt.length) return undefined;
    let v = 0;
    for (let i = 0; i < size; i++) v = (v << 8) | (pkt[off + i] ?? 0);
    return v >>> 0;
  };
  for (let pc = 0, steps = 0; pc < program.length; pc++, steps++) {
    if (steps > 100_000) throw new Error('runaway program');
    const insn = program[pc]!;
    const cls = insn.code & 0x07;
    const sizeBits = insn.code & 0x18;
    const size = sizeBits === 0x00 ? 4 : sizeBits === 0x08 ? 2 : 1;
    const mode = insn.code & 0xe0;
    switch (cls) {
      case 0x00: { // LD
        if (mode === 0x00) { a = insn.k; break; }
        const off = mode === 0x20 ? insn.k : mode === 0x40 ? (x + insn.k) >>> 0 : NaN;
        if (Number.isNaN(off)) throw new Error(`unsupported ld mode 0x${mode.toString(16)}`);
        const v = load(off, size);
        if (v === undefined) return 0; // out of bounds: the kernel drops the packet
        a = v;
        break;
      }
      case 0x01: // LDX imm, or ldxb 4*([k]&0xf) (an IPv4 header's length)
        if (mode === 0xa0 && size === 1) {
          const v = load(insn.k, 1);
          if (v === undefined) return 0;
          x = (v & 0x0f) * 4;
          break;
        }
        if (mode !== 0x00) throw new Error('unsupported ldx mode');
        x = insn.k;
        break;
      case 0x04: { // ALU, immediate operand only
        if (insn.code & 0x08) throw new Error('unsupported alu x');
        const op = insn.code & 0xf0;
        if (op === 0x00) a = (a + insn.k) >>> 0;
        else if (op === 0x10) a = (a - insn.k) >>> 0;
        else if (op === 0x50) a = (a & insn.k) >>> 0;
        else throw new Error(`unsupported alu op 0x${op.toString(16)}`);
        break;
      }
      case 0x05: { // JMP
        const op = insn.code & 0xf0;
        if (op === 0x00) { pc += insn.k; break; }
        const operand = insn.code & 0x08 ? x : insn.k;
        const cond = op === 0x10 ? a === operand : op === 0x20 ? a > operand : op === 0x30 ? a >= operand : (a & operand) !== 0;
        pc += cond ? insn.jt : insn.jf;
        break;
      }
      case 0x07: // MISC: tax, txa
        if (insn.code === 0x07) x = a;
        else if (insn.code === 0x87) a = x;
        else throw new Error(`unsupported misc 0x${insn.code.toString(16)}`);
        break;
      case 0x06: // RET k
        return insn.k;
      default:
        throw new Error(`unsupported class ${cls}`);
    }
  }
  throw new Error('program fell off the end');
}

/** Checks the structural rules the kernel's sk_chk_filter enforces. */
export function checkProgram(program: readonly BpfInsn[]): void {
  if (program.length === 0 || program.length > 4096) throw new Error(`length ${program.length}`);
  program.forEach((p, pc) => {
    const cls = p.code & 0x07;
    if (cls === 0x05) {
      const targets = (p.code & 0xf0) === 0 ? [pc + 1 + p.k] : [pc + 1 + p.jt, pc + 1 + p.jf];
      for (const t of targets) if (t >= program.length) throw new Error(`jump out of program at ${pc}`);
      if (p.jt > 255 || p.jf > 255) throw new Error(`jump offset too large at ${pc}`);
    }
  });
  const last = program[program.length - 1]!;
  if ((last.code & 0x07) !== 0x06) throw new Error('last instruction is not ret');
}
