/**
 * The responder (real addon, real link inventory) on eth0 of a bench
 * namespace with its socket filter forced into one mode, for
 * bench/arp-filter.ts:
 *   node filter-flood-runner.js exact|widened|pass-all|receive-only
 * - exact: 53 IPv4 and 100 scattered IPv6 addresses, exact filter;
 * - widened: the same IPv4 and 1,000 scattered IPv6 addresses, with the
 *   widest filter whose IPv4 part is one range (192.0.2.10 to 203.0.113.254,
 *   so every ARP request of bench/arp-flood.ts passes it);
 * - pass-all: that set with passAllArpNdFilter();
 * - receive-only: no responder, a bare socket with passAllArpNdFilter()
 *   counting frames: what receiving alone costs (the addon's wake-ups, one
 *   call into JavaScript and one Buffer per frame).
 * None of the flood's targets (203.0.113.1-250) is announced. Prints
 * {"event":"ready",...} once the set is in place, and the responder's
 * counters as JSON for each "counters" line on stdin.
 */
import { createInterface } from 'node:readline';
import { Responder } from '../src/l2/responder.js';
import { LinkInventory } from '../src/net/link-inventory.js';
import type { BpfInsn, FilterPlan } from '../src/packet/bpf-filter.js';
import { passAllArpNdFilter, planFilter } from '../src/packet/bpf-filter.js';
import { ebpfLength } from '../src/packet/filter-cost.js';
import { parseIp } from '../src/packet/ip.js';
import type { FrameHandler, FrameSocket, LinkState, OpenFrameSocket, SocketErrorHandler } from '../src/packet/packet-socket.js';
import { PacketSocket, openPacketSocket } from '../src/packet/packet-socket.js';
import { mulberry32 } from '../harness/seeded-random.js';

const mode = process.argv[2] ?? 'exact';
const emit = (o: object) => { process.stdout.write(`${JSON.stringify(o)}\n`); };


const r = mulberry32(25000);
const word = () => Math.floor(r() * 0x10000).toString(16);
const ipv4 = [...Array.from({ length: 50 }, (_, i) => `192.0.2.${10 + 2 * i}`), '203.0.113.252', '203.0.113.253', '203.0.113.254'];
const ipv6 = Array.from({ length: mode === 'exact' ? 100 : 1000 }, () => `2001:db8::${word()}:${word()}:${word()}:${word()}`);
const spec = { ipv4: ipv4.map((a) => parseIp(a)!.bytes), ipv6: ipv6.map((a) => parseIp(a)!.bytes) };

function chooseProgram(): FilterPlan {
  if (mode === 'exact') return planFilter(spec, 1 << 20);
  if (mode === 'pass-all' || mode === 'receive-only') {
    const program = passAllArpNdFilter();
    return { program, mode: 'pass-all', ebpfLength: ebpfLength(program), ranges: { ipv4: 0, ipv6: 0 } };
  }
  // The largest budget at which IPv4 is down to one range.
  let lo = 1;
  let hi = 8192;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (planFilter(spec, mid).ranges.ipv4 <= 1) lo = mid; else hi = mid;
  }
  return planFilter(spec, lo);
}

const plan = chooseProgram();
const program: BpfInsn[] = plan.program;

/** The real socket, whatever filter the responder asks for: always `program`. */
class ForcedFilter implements FrameSocket {
  readonly #s: FrameSocket;
  constructor(ifname: string, onFrame: FrameHandler, onError?: SocketErrorHandler) {
    this.#s = openPacketSocket(ifname, program, onFrame, onError);
  }
  get ifindex(): number { return this.#s.ifindex; }
  setFilter(): void { this.#s.setFilter(program); }
  send(frame: Buffer): void { this.#s.send(frame); }
  join(mac: Buffer): void { this.#s.join(mac); }
  leave(mac: Buffer): void { this.#s.leave(mac); }
  linkState(): LinkState { return this.#s.linkState(); }
  close(): void { this.#s.close(); }
}
const open: OpenFrameSocket = (ifname, _filter, onFrame, onError) => new ForcedFilter(ifname, onFrame, onError);

if (mode === 'receive-only') {
  let frames = 0;
  const s = new PacketSocket('eth0', program, () => { frames++; });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', () => { emit({ event: 'counters', requestsSeen: frames }); });
  rl.on('close', () => { s.close(); });
  process.on('SIGTERM', () => { rl.close(); });
  emit({ event: 'ready', pid: process.pid, mode, filterMode: plan.mode, ebpfLength: plan.ebpfLength, cbpfLength: program.length, ranges: plan.ranges });
} else {
  await runResponder();
}

async function runResponder(): Promise<void> {
  const links = await LinkInventory.start();
  const responder = new Responder({ links, open, burst: { rounds: 1, intervalMs: 1000 } });
  responder.on('problem', (p) => { emit({ event: 'problem', ...p }); });
  responder.setDesired([...ipv4, ...ipv6].map((address) => ({ address, interface: 'eth0' })));
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'counters') emit({ event: 'counters', ...responder.counters() });
  });
  const stop = () => {
    rl.close();
    responder.close();
    links.close();
  };
  rl.on('close', stop);
  process.on('SIGTERM', stop);
  emit({
    event: 'ready', pid: process.pid, mode, filterMode: plan.mode, ebpfLength: plan.ebpfLength, cbpfLength: program.length,
    ranges: plan.ranges, addresses: { ipv4: ipv4.length, ipv6: ipv6.length },
  });
}
