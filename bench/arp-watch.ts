/**
 * Runs in the client namespace: asks "who has VIP?" every INTERVAL_MS for
 * DURATION_MS and prints one JSON line per reply: {"t": wall ms, "mac": ...}.
 * Used to time the first answer after a Service is created, and to see how
 * long two MACs answer for one address during a partition.
 *   node arp-watch.js IFACE SENDER_IP VIP INTERVAL_MS DURATION_MS
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from '../src/packet/arp.js';
import { buildFilter } from '../src/packet/bpf-filter.js';
import { decodeEthernet, encodeEthernet } from '../src/packet/ethernet.js';
import { ipText, parseIp } from '../src/packet/ip.js';
import { formatMac } from '../src/packet/mac.js';
import { PacketSocket } from '../src/packet/packet-socket.js';

const [ifname = 'eth0', senderText = '', vipText = '', intervalText = '5', durationText = '10000'] = process.argv.slice(2);
const sender = parseIp(senderText);
const vip = parseIp(vipText);
if (!sender || !vip) throw new Error('usage: IFACE SENDER_IP VIP INTERVAL_MS DURATION_MS');
const mac = Buffer.from(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim().replaceAll(':', ''), 'hex');
const socket = new PacketSocket(ifname, buildFilter({ ipv4: [vip.bytes], ipv6: [] }), (frame) => {
  const eth = decodeEthernet(frame);
  if (!eth.ok) return;
  const arp = decodeArp(eth.value.payload);
  if (!arp.ok || arp.value.op !== ARP_REPLY || ipText(arp.value.senderIp) !== vip.text) return;
  process.stdout.write(`${JSON.stringify({ t: Date.now(), mac: formatMac(arp.value.senderMac) })}\n`);
});
const request = encodeEthernet({
  dst: Buffer.alloc(6, 0xff), src: mac, etherType: 0x0806,
  payload: encodeArp({ op: ARP_REQUEST, senderMac: mac, senderIp: sender.bytes, targetMac: Buffer.alloc(6), targetIp: vip.bytes }),
});
const end = Date.now() + Number(durationText);
console.log(`started ${Date.now()}`);
while (Date.now() < end) {
  socket.send(request);
  await sleep(Number(intervalText));
}
socket.close();
console.log('done');
