/**
 * Forges claims to VIP: gratuitous ARP replies from a new random MAC each
 * time, at RATE per second, COUNT in all, from inside a bench namespace.
 *   node forged-claims.js IFACE VIP COUNT RATE
 * Prints {"sent", "errors", "seconds", "rate"} as JSON.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { gratuitousFrames } from '../src/l2/frames.js';
import { rejectAllFilter } from '../src/packet/bpf-filter.js';
import { parseIp } from '../src/packet/ip.js';
import { PacketSocket } from '../src/packet/packet-socket.js';

const [ifname = 'eth0', vipText = '192.0.2.1', countText = '50000', rateText = '10000'] = process.argv.slice(2);
const vip = parseIp(vipText);
if (!vip) throw new Error(`not an address: ${vipText}`);
const count = Number(countText);
const rate = Number(rateText);
// Prebuilt: 1,000 locally administered MACs, so the flood costs a syscall per frame and nothing else.
const frames = Array.from({ length: 1000 }, () => {
  const mac = randomBytes(6);
  mac[0] = ((mac[0] ?? 0) & 0xfc) | 0x02;
  return gratuitousFrames(vip, mac)[1]!;
});
const socket = new PacketSocket(ifname, rejectAllFilter(), () => undefined);
const start = performance.now();
let sent = 0;
let errors = 0;
while (sent < count) {
  const due = Math.min(count, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
  for (; sent < due; sent++) {
    try { socket.send(frames[sent % frames.length]!); } catch { errors++; }
  }
  await sleep(1);
}
const seconds = (performance.now() - start) / 1000;
socket.close();
process.stdout.write(`${JSON.stringify({ sent, errors, seconds, rate: sent / seconds })}\n`);
