/**
 * Forges claims to VIP: gratuitous ARP replies from a new random MAC each
 * time, at RATE per second, COUNT in all, from inside a bench namespace.
 *   node forged-claims.js IFACE VIP COUNT RATE
 * Prints {"sent", "errors", "seconds", "rate"} as JSON.
 */
import { randomBytes } from 'node:crypto';
import { gratuitousFrames } from '../src/l2/frames.js';
import { parseIp } from '../src/packet/ip.js';
import { sendPaced } from './paced-send.js';

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
await sendPaced(ifname, frames, count, rate);
