/**
 * Sends ARP requests for unrelated addresses (203.0.113.0/24) at a fixed rate
 * from inside a bench namespace, bounded by count.
 *   node arp-flood.js IFACE COUNT RATE
 * Prints {"sent", "errors", "seconds", "rate"} as JSON.
 */
import { readFileSync } from 'node:fs';
import { ARP_REQUEST, encodeArp } from '../src/packet/arp.js';
import { encodeEthernet } from '../src/packet/ethernet.js';
import { sendPaced } from './paced-send.js';

const [ifname = 'eth0', countText = '100000', rateText = '25000'] = process.argv.slice(2);
const count = Number(countText);
const rate = Number(rateText);
const mac = Buffer.from(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim().replaceAll(':', ''), 'hex');
// Prebuilt so the flood costs a syscall per frame and nothing else.
const frames = Array.from({ length: 250 }, (_, i) => encodeEthernet({
  dst: Buffer.alloc(6, 0xff), src: mac, etherType: 0x0806,
  payload: encodeArp({ op: ARP_REQUEST, senderMac: mac, senderIp: Buffer.from([192, 0, 2, 99]), targetMac: Buffer.alloc(6), targetIp: Buffer.from([203, 0, 113, i + 1]) }),
}));
await sendPaced(ifname, frames, count, rate);
