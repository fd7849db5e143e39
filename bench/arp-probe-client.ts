/**
 * Measures ARP reply latency from inside the client namespace: sends one ARP
 * request at a time, alternating between targets, and times the reply with
 * the monotonic clock. Both targets go through the same code path, so the
 * client's own overhead cancels out in the comparison.
 *   node arp-probe-client.js IFACE SENDER_IP COUNT INTERVAL_MS TARGET...
 * Prints {"<target>": Summary, ...} as JSON.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from '../src/packet/arp.js';
import { buildFilter } from '../src/packet/bpf-filter.js';
import { decodeEthernet, encodeEthernet } from '../src/packet/ethernet.js';
import { ipText, parseIp } from '../src/packet/ip.js';
import { PacketSocket } from '../src/packet/packet-socket.js';
import { summarize } from './stats.js';

const [ifname = 'eth0', senderText = '', countText = '1000', intervalText = '2', ...targetTexts] = process.argv.slice(2);
const sender = parseIp(senderText);
const targets = targetTexts.map((t) => parseIp(t));
if (!sender || targets.length === 0 || targets.some((t) => !t)) throw new Error('usage: IFACE SENDER_IP COUNT INTERVAL_MS TARGET...');
const count = Number(countText);
const intervalMs = Number(intervalText);
const TIMEOUT_MS = 50;
const mac = Buffer.from(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim().replaceAll(':', ''), 'hex');

let waiting: { target: string; resolve: (t: bigint) => void } | undefined;
const socket = new PacketSocket(ifname, buildFilter({ ipv4: targets.map((t) => t!.bytes), ipv6: [] }), (frame) => {
  const at = process.hrtime.bigint();
  const eth = decodeEthernet(frame);
  if (!eth.ok) return;
  const arp = decodeArp(eth.value.payload);
  if (!arp.ok || arp.value.op !== ARP_REPLY) return;
  if (waiting && ipText(arp.value.senderIp) === waiting.target) waiting.resolve(at);
});

const requests = new Map(targets.map((t) => [t!.text, encodeEthernet({
  dst: Buffer.alloc(6, 0xff), src: mac, etherType: 0x0806,
  payload: encodeArp({ op: ARP_REQUEST, senderMac: mac, senderIp: sender.bytes, targetMac: Buffer.alloc(6), targetIp: t!.bytes }),
})]));
const samples = new Map(targets.map((t) => [t!.text, [] as number[]]));
const lost = new Map(targets.map((t) => [t!.text, 0]));

async function probe(target: string): Promise<void> {
  const frame = requests.get(target)!;
  const reply = new Promise<bigint | undefined>((resolve) => {
    const timer = setTimeout(() => { resolve(undefined); }, TIMEOUT_MS);
    waiting = { target, resolve: (t) => { clearTimeout(timer); resolve(t); } };
  });
  const sentAt = process.hrtime.bigint();
  socket.send(frame);
  const at = await reply;
  waiting = undefined;
  if (at === undefined) lost.set(target, (lost.get(target) ?? 0) + 1);
  else samples.get(target)!.push(Number(at - sentAt) / 1e6);
}

for (let i = 0; i < count; i++) {
  for (const t of targets) {
    await probe(t!.text);
    await sleep(intervalMs);
  }
}
socket.close();
process.stdout.write(`${JSON.stringify(Object.fromEntries(targets.map((t) => [t!.text, summarize(samples.get(t!.text)!, lost.get(t!.text)!)])))}\n`);
