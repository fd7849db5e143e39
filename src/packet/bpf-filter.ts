/**
 * Classic BPF programs for the packet socket. The kernel runs them on every
 * frame of the link, so traffic herald has no business with (a flood of ARP
 * requests for other addresses, say) is dropped before it costs a wake-up.
 * Programs are rebuilt from the announced set and swapped atomically.
 */

import { LIVENESS_ETHERTYPE } from './liveness-frame.js';

/** One cBPF instruction, as in `struct sock_filter`. */
export interface BpfInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

// Opcode parts from linux/filter.h.
const LD = 0x00, JMP = 0x05, RET = 0x06;
const W = 0x00, H = 0x08, B = 0x10;
const ABS = 0x20;
const JA = 0x00, JEQ = 0x10;
/** SKF_AD_OFF + SKF_AD_PKTTYPE: the packet type, readable as an ancillary load. */
const AD_PKTTYPE = (-0x1000 + 4) >>> 0;
/** SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT: 1 when the NIC stripped a tag into metadata. */
const AD_VLAN_TAG_PRESENT = (-0x1000 + 48) >>> 0;
const PACKET_OUTGOING = 4;

/** Accept: keep the whole frame (at most this many bytes). */
export const ACCEPT = 0x40000;
export const MAX_INSNS = 4096;

const stmt = (code: number, k: number): BpfInsn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const jeq = (k: number, jt: number, jf: number): BpfInsn => ({ code: JMP | JEQ | 0x00, jt, jf, k: k >>> 0 });
const ret = (k: number) => stmt(RET, k);

export interface FilterSpec {
  /** IPv4 addresses (4 bytes): ARP whose target or sender is one of them passes. */
  readonly ipv4: readonly Uint8Array[];
  /** IPv6 addresses (16 bytes): NS/NA whose target is one of them passes. */
  readonly ipv6: readonly Uint8Array[];
}

/** A program that accepts nothing: used while no address is announced. */
export function rejectAllFilter(): BpfInsn[] {
  return [ret(0)];
}

/**
 * Builds the filter for `spec`. Frames with a VLAN tag, in the data or
 * stripped into metadata by the NIC, are dropped: they belong to the VLAN
 * sub-interface, which is where an address on that VLAN is announced. Every address comparison is followed by its own `ret` so that conditional
 * jumps stay within cBPF's 8-bit range however many addresses there are;
 * block-to-block jumps use `ja`, whose offset is 32-bit.
 * Beyond MAX_INSNS the program falls back to passing all ARP and NS/NA,
 * and the decision code (which always checks addresses) does the filtering.
 */
export function buildFilter(spec: FilterSpec): BpfInsn[] {
  const exact = assemble(spec, true);
  return exact.length <= MAX_INSNS ? exact : assemble(spec, false);
}

function assemble(spec: FilterSpec, perAddress: boolean): BpfInsn[] {
  if (spec.ipv4.length === 0 && spec.ipv6.length === 0) return rejectAllFilter();
  const arp: BpfInsn[] = [];
  if (spec.ipv4.length > 0) {
    if (perAddress) {
      // Target protocol address, then sender's (someone else claiming one of ours).
      for (const off of [14 + 24, 14 + 14]) {
        arp.push(stmt(LD | W | ABS, off));
        for (const a of spec.ipv4) arp.push(jeq(word(a, 0), 0, 1), ret(ACCEPT));
      }
      arp.push(ret(0));
    } else {
      arp.push(ret(ACCEPT));
    }
  } else {
    arp.push(ret(0));
  }
  const nd: BpfInsn[] = [];
  if (spec.ipv6.length > 0) {
    nd.push(stmt(LD | B | ABS, 14 + 6), jeq(58, 1, 0), ret(0)); // next header ICMPv6, no extension headers
    nd.push(stmt(LD | B | ABS, 14 + 40), jeq(135, 2, 0), jeq(136, 1, 0), ret(0));
    if (perAddress) {
      for (const a of spec.ipv6) {
        // Target address at ICMPv6 offset 8, compared one 32-bit word at a time.
        for (let w = 0; w < 4; w++) {
          nd.push(stmt(LD | W | ABS, 14 + 40 + 8 + 4 * w), jeq(word(a, 4 * w), 0, 2 * (3 - w) + 1));
        }
        nd.push(ret(ACCEPT));
      }
      nd.push(ret(0));
    } else {
      nd.push(ret(ACCEPT));
    }
  } else {
    nd.push(ret(0));
  }
  const head: BpfInsn[] = [
    stmt(LD | B | ABS, AD_PKTTYPE), jeq(PACKET_OUTGOING, 0, 1), ret(0),
    stmt(LD | W | ABS, AD_VLAN_TAG_PRESENT), jeq(0, 1, 0), ret(0),
    stmt(LD | H | ABS, 12),
  ];
  // Dispatch on EtherType; `ja` offsets count from the next instruction.
  return [
    ...head,
    jeq(0x0806, 0, 1), stmt(JMP | JA, 3),
    jeq(0x86dd, 0, 1), stmt(JMP | JA, 1 + arp.length),
    ret(0),
    ...arp,
    ...nd,
  ];
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
