/**
 * The Ethernet framing of herald's LAN liveness messages (src/core/l2/lan-messages.ts).
 * After the 14-byte Ethernet header (EtherType 0x88B5, IEEE 802 local experimental):
 *
 *   'H' 'R'  version(1)  type(1)  seq-or-nonce(u32 BE)  flags(1)
 *   sender-len(1) sender(UTF-8)  target-len(1) target(UTF-8)  [target MAC(6), probe-req only]
 *
 * Types: 1 hello, 2 probe, 3 ack, 4 probe-req, 5 probe-res, 6 down, 7 pause
 * (the number is the grace in ms; no target). Flag bit 0 is
 * `alive` on a probe-res; the other bits are reserved, sent as 0 and ignored
 * on receipt so a later version can use them without breaking this one.
 * Frames are zero-padded to Ethernet's 60-byte minimum; the decoder ignores
 * whatever follows the message.
 */
import type { LanMessage } from '../core/l2/lan-messages.js';
import { formatMac, isMulticastMac, parseMac } from './mac.js';
import type { Decoded } from './result.js';
import { fail, ok } from './result.js';

export const LIVENESS_ETHERTYPE = 0x88b5;
export const LIVENESS_VERSION = 1;
/** Kubernetes node names are DNS subdomains: at most 253 bytes. */
export const MAX_NODE_NAME_BYTES = 253;

const MAGIC = 0x4852; // 'H' 'R'
const MIN_FRAME = 60;
/** Ethernet header plus magic, version, type, number and flags. */
const FIXED = 14 + 9;
const FLAG_ALIVE = 0x01;

const TYPE_OF = { hello: 1, probe: 2, ack: 3, 'probe-req': 4, 'probe-res': 5, down: 6, pause: 7 } as const satisfies Record<LanMessage['kind'], number>;
const KIND_OF: readonly (LanMessage['kind'] | undefined)[] = [undefined, 'hello', 'probe', 'ack', 'probe-req', 'probe-res', 'down', 'pause'];

export interface LivenessFrame {
  /** Lower-case colon form. */
  readonly dstMac: string;
  readonly srcMac: string;
  /** The sender's node name, as the frame says. */
  readonly from: string;
  readonly msg: LanMessage;
}

// ignoreBOM keeps a leading U+FEFF in the name instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Builds the frame. Throws a plain Error for input that is a programming
 * error (a name that is empty or longer than 253 bytes, a malformed MAC, a
 * number that is not a uint32); never for anything a peer controls.
 */
export function encodeLivenessFrame(f: LivenessFrame): Buffer {
  const dst = macOrThrow(f.dstMac, 'destination');
  const src = unicastOrThrow(f.srcMac, 'source');
  const from = nameOrThrow(f.from, 'sender');
  const m = f.msg;
  const number = m.kind === 'hello' ? m.seq : m.kind === 'pause' ? m.graceMs : m.nonce;
  if (!Number.isInteger(number) || number < 0 || number > 0xffffffff) {
    throw new Error(`liveness ${m.kind}: ${m.kind === 'hello' ? 'seq' : m.kind === 'pause' ? 'graceMs' : 'nonce'} ${number} is not a uint32`);
  }
  const target = m.kind === 'hello' || m.kind === 'ack' || m.kind === 'pause' ? Buffer.alloc(0) : nameOrThrow(m.target, 'target');
  const targetMac = m.kind === 'probe-req' ? unicastOrThrow(m.targetMac, 'probe-req target') : Buffer.alloc(0);
  const length = FIXED + 1 + from.length + 1 + target.length + targetMac.length;
  const out = Buffer.alloc(Math.max(MIN_FRAME, length));
  dst.copy(out, 0);
  src.copy(out, 6);
  out.writeUInt16BE(LIVENESS_ETHERTYPE, 12);
  out.writeUInt16BE(MAGIC, 14);
  out[16] = LIVENESS_VERSION;
  out[17] = TYPE_OF[m.kind];
  out.writeUInt32BE(number, 18);
  out[22] = m.kind === 'probe-res' && m.alive ? FLAG_ALIVE : 0;
  let at = FIXED;
  out[at++] = from.length;
  at += from.copy(out, at);
  out[at++] = target.length;
  at += target.copy(out, at);
  targetMac.copy(out, at);
  return out;
}

/** Decodes a whole Ethernet frame; every failure names what is wrong. Never throws. */
export function decodeLivenessFrame(frame: Buffer): Decoded<LivenessFrame> {
  const bad = (why: string) => fail<LivenessFrame>(`liveness frame: ${why}`);
  if (frame.length < 14) return bad(`truncated Ethernet header (${frame.length} bytes)`);
  const etherType = frame.readUInt16BE(12);
  if (etherType !== LIVENESS_ETHERTYPE) return bad(`EtherType 0x${hex4(etherType)}, not 0x${hex4(LIVENESS_ETHERTYPE)}`);
  if (frame.length < FIXED + 1) return bad(`truncated header (${frame.length} bytes)`);
  const src = frame.subarray(6, 12);
  // We answer to the source MAC: a group address there would turn one frame into a broadcast.
  if (!isUnicast(src)) return bad(`source MAC ${formatMac(src)} is not a unicast address`);
  const magic = frame.readUInt16BE(14);
  if (magic !== MAGIC) return bad(`bad magic 0x${hex4(magic)}, not "HR"`);
  const version = frame[16] ?? 0;
  if (version !== LIVENESS_VERSION) return bad(`unknown version ${version}`);
  const type = frame[17] ?? 0;
  const kind = KIND_OF[type];
  if (!kind) return bad(`unknown message type ${type}`);
  const number = frame.readUInt32BE(18);
  const flags = frame[22] ?? 0;

  let at = FIXED;
  const sender = readName(frame, at, 'sender', kind);
  if (!sender.ok) return sender;
  at = sender.value.next;
  const from = sender.value.name;
  if (from === undefined) return bad(`${kind} with an empty sender name`);

  if (at >= frame.length) return bad(`${kind} truncated before the target name (${frame.length} bytes)`);
  const target = readName(frame, at, 'target', kind);
  if (!target.ok) return target;
  at = target.value.next;
  const targetName = target.value.name;

  let msg: LanMessage;
  if (kind === 'hello' || kind === 'ack' || kind === 'pause') {
    if (targetName !== undefined) return bad(`${kind} must not name a target (got "${targetName}")`);
    msg = kind === 'hello' ? { kind, seq: number } : kind === 'pause' ? { kind, graceMs: number } : { kind, nonce: number };
  } else {
    if (targetName === undefined) return bad(`${kind} without a target name`);
    if (kind === 'probe' || kind === 'down') {
      msg = { kind, nonce: number, target: targetName };
    } else if (kind === 'probe-res') {
      msg = { kind, nonce: number, target: targetName, alive: (flags & FLAG_ALIVE) !== 0 };
    } else {
      if (at + 6 > frame.length) return bad(`probe-req truncated before the target MAC (${frame.length} bytes)`);
      const targetMac = frame.subarray(at, at + 6);
      // The helper sends a probe there: never to a group, never to nobody.
      if (!isUnicast(targetMac)) return bad(`probe-req target MAC ${formatMac(targetMac)} is not a unicast address`);
      msg = { kind, nonce: number, target: targetName, targetMac: formatMac(targetMac) };
    }
  }
  return ok({ dstMac: formatMac(frame.subarray(0, 6)), srcMac: formatMac(src), from, msg });
}

/** A length-prefixed UTF-8 name at `at` (which must be inside the frame); undefined name for length 0. */
function readName(frame: Buffer, at: number, which: 'sender' | 'target', kind: string): Decoded<{ name: string | undefined; next: number }> {
  const len = frame[at] ?? 0;
  const start = at + 1;
  if (len > MAX_NODE_NAME_BYTES) return fail(`liveness frame: ${kind} ${which} name length ${len} exceeds ${MAX_NODE_NAME_BYTES}`);
  if (start + len > frame.length) return fail(`liveness frame: ${kind} ${which} name length ${len} runs past the end (${frame.length} bytes)`);
  if (len === 0) return ok({ name: undefined, next: start });
  let name: string;
  try {
    // Rejected rather than patched with U+FFFD: two different byte strings must not become one node name.
    name = utf8.decode(frame.subarray(start, start + len));
  } catch {
    return fail(`liveness frame: ${kind} ${which} name is not valid UTF-8`);
  }
  return ok({ name, next: start + len });
}

function nameOrThrow(name: string, which: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_NODE_NAME_BYTES) {
    throw new Error(`liveness frame: ${which} name must be 1..${MAX_NODE_NAME_BYTES} bytes of UTF-8, got ${bytes.length}`);
  }
  return bytes;
}

function macOrThrow(text: string, which: string): Buffer {
  const mac = parseMac(text);
  if (!mac) throw new Error(`liveness frame: ${which} MAC "${text}" is not a MAC address`);
  return mac;
}

/** What the decoder insists on for source and probe-req target MACs, so every encoded frame decodes. */
function unicastOrThrow(text: string, which: string): Buffer {
  const mac = macOrThrow(text, which);
  if (!isUnicast(mac)) throw new Error(`liveness frame: ${which} MAC ${text} is not a unicast address`);
  return mac;
}

/** Neither a group address nor all zeros. */
function isUnicast(mac: Buffer): boolean {
  return !isMulticastMac(mac) && mac.some((b) => b !== 0);
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
