/**
 * A host on the LAN that claims a VIP as its own, as an ARP spoofer or a
 * misconfigured host would: gratuitous ARP (both forms) and an unsolicited
 * NA with the override flag, every PERIOD_MS for DURATION_MS, from its own
 * MAC. It also records every frame about the VIPs that comes from HOLDER_MAC,
 * so the test can see how soon each claim was answered.
 *   node spoofer.js IFACE VIP4 VIP6 HOLDER_MAC PERIOD_MS DURATION_MS
 * Prints {"spoofs":[{t,family}],"answers":[{t,family}]} (t in ms from the start).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { gratuitousFrames } from '../src/l2/frames.js';
import { buildFilter } from '../src/packet/bpf-filter.js';
import { parseIp } from '../src/packet/ip.js';
import { formatMac } from '../src/packet/mac.js';
import { PacketSocket } from '../src/packet/packet-socket.js';
import { assertInTestbedNamespace } from './namespace-guard.js';

const [ifname = 'eth0', vip4Text = '', vip6Text = '', holderMac = '', periodText = '100', durationText = '10000'] = process.argv.slice(2);
const vip4 = parseIp(vip4Text);
const vip6 = parseIp(vip6Text);
if (!vip4 || !vip6) throw new Error(`usage: spoofer IFACE VIP4 VIP6 HOLDER_MAC PERIOD_MS DURATION_MS (got ${vip4Text} ${vip6Text})`);
assertInTestbedNamespace();
const mac = Buffer.from(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim().replaceAll(':', ''), 'hex');
const start = performance.now();
const at = () => Math.round((performance.now() - start) * 10) / 10;
const answers: { t: number; family: 4 | 6 }[] = [];
const spoofs: { t: number; family: 4 | 6 }[] = [];
// The filter passes ARP with a VIP as sender or target and NA/NS for the VIP6: the holder's answers among them.
const socket = new PacketSocket(ifname, buildFilter({ ipv4: [vip4.bytes], ipv6: [vip6.bytes] }), (frame) => {
  if (formatMac(frame.subarray(6, 12)) !== holderMac) return;
  answers.push({ t: at(), family: frame.readUInt16BE(12) === 0x0806 ? 4 : 6 });
});
const period = Number(periodText);
const duration = Number(durationText);
for (let next = 0; next < duration; next += period) {
  const wait = next - (performance.now() - start);
  if (wait > 0) await sleep(wait);
  for (const [addr, family] of [[vip4, 4], [vip6, 6]] as const) {
    spoofs.push({ t: at(), family });
    for (const f of gratuitousFrames(addr, mac)) socket.send(f);
  }
}
// The answer to the last claim.
await sleep(500);
socket.close();
process.stdout.write(`${JSON.stringify({ spoofs, answers })}\n`);
