/**
 * Runs LivenessLinks (with the real addon and link inventory) inside a test
 * namespace and lets the test drive it: one JSON command per stdin line, one
 * JSON event per stdout line.
 *   argv: LINK NODE-NAME [PROBLEM-INTERVAL-MS]
 *   {"op":"send","id":1,"send":{...LanSend}}  -> {"event":"sent","id":1,"ok":true}
 *   {"op":"raw","id":2,"hex":"..."}           -> {"event":"raw","id":2,"ok":true}  any bytes, from a socket of its own
 *   {"op":"counters","id":3}                  -> {"event":"counters","id":3,"counters":{...},"kernel":N,"wire":M}
 * LivenessLinks events are forwarded as {"event":"frame"|"state"|"problem",...}.
 * "kernel" is how many frames the kernel filter passed to the liveness
 * sockets, so a test can tell the kernel's filtering from the adapter's;
 * "wire" how many incoming 0x88B5 frames reached the link at all.
 */
import { createInterface } from 'node:readline';
import type { LanSend } from '../src/core/l2/lan-messages.js';
import { LivenessLinks } from '../src/l2/liveness-links.js';
import { LinkInventory } from '../src/net/link-inventory.js';
import type { BpfInsn } from '../src/packet/bpf-filter.js';
import { ACCEPT, rejectAllFilter } from '../src/packet/bpf-filter.js';
import type { OpenFrameSocket } from '../src/packet/packet-socket.js';
import { PacketSocket } from '../src/packet/packet-socket.js';

const [link = 'eth0', nodeName = 'node', interval] = process.argv.slice(2);
const emit = (event: string, data: object = {}) => { process.stdout.write(`${JSON.stringify({ event, ...data })}\n`); };

let kernelPassed = 0;
const sockets: PacketSocket[] = [];
const open: OpenFrameSocket = (ifname, filter, onFrame) => {
  const s = new PacketSocket(ifname, filter, onFrame);
  sockets.push(s);
  return s;
};
const takeKernelStats = () => {
  for (const s of sockets) if (!s.closed) kernelPassed += s.takeStats().packets;
  return kernelPassed;
};

const links = await LinkInventory.start({ debounceMs: 10 });
const liveness = new LivenessLinks({ links, nodeName, open, ...(interval === undefined ? {} : { problemIntervalMs: Number(interval) }) });
liveness.on('frame', (e) => { emit('frame', e); });
liveness.on('state', (e) => { emit('state', e); });
liveness.on('problem', (e) => { emit('problem', e); });
const raw = new PacketSocket(link, rejectAllFilter(), () => undefined);
// Every incoming 0x88B5 frame, whoever it is for: ldb pkttype; jeq OUTGOING; ldh [12]; jeq 0x88b5.
const everything: BpfInsn[] = [
  { code: 0x30, jt: 0, jf: 0, k: (-0x1000 + 4) >>> 0 }, { code: 0x15, jt: 2, jf: 0, k: 4 },
  { code: 0x28, jt: 0, jf: 0, k: 12 }, { code: 0x15, jt: 1, jf: 0, k: 0x88b5 },
  { code: 0x06, jt: 0, jf: 0, k: 0 }, { code: 0x06, jt: 0, jf: 0, k: ACCEPT },
];
let wire = 0;
const tap = new PacketSocket(link, everything, () => { wire++; });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string; id?: number; send?: LanSend; hex?: string };
  if (cmd.op === 'send' && cmd.send) {
    emit('sent', { id: cmd.id, ok: liveness.send(cmd.send) });
  } else if (cmd.op === 'raw') {
    try {
      raw.send(Buffer.from(cmd.hex ?? '', 'hex'));
      emit('raw', { id: cmd.id, ok: true });
    } catch (err) {
      emit('raw', { id: cmd.id, ok: false, error: String(err) });
    }
  } else if (cmd.op === 'counters') {
    emit('counters', { id: cmd.id, counters: liveness.counters, kernel: takeKernelStats(), wire });
  }
});
rl.on('close', () => {
  liveness.close();
  raw.close();
  tap.close();
  links.close();
});
process.on('SIGTERM', () => { rl.close(); });
liveness.setLinks([link]);
emit('ready', { pid: process.pid });
