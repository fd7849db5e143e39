/**
 * Exercises the packet-socket addon from inside a test namespace (the test
 * process itself stays in the host namespace and must not open sockets on
 * host links). Prints one JSON object on stdout.
 *   errors IFACE             open failures as JavaScript errors (code, message)
 *   leak IFACE N             open/filter/join/send/close N times; fd counts before and after
 *   membership IFACE         reference-counted joins, as `ip maddr` shows them
 *   receive IFACE MS ADDR..  frames the filter passes in MS milliseconds, plus our own sends
 *   flood IFACE N RATE       N ARP requests for unrelated addresses at RATE per second
 *   deafness                 on a veth pair of its own: frames received after a one-command
 *                            bounce, and on a socket opened while its link was down
 *   names                    interface names that must not open another interface
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildFilter, rejectAllFilter } from '../src/packet/bpf-filter.js';
import { errorCode, PacketSocket } from '../src/packet/packet-socket.js';
import { parseIp } from '../src/packet/ip.js';
import { gratuitousFrames } from '../src/l2/frames.js';
import { ARP_REQUEST, encodeArp } from '../src/packet/arp.js';
import { encodeEthernet } from '../src/packet/ethernet.js';

const [mode, ifname = 'eth0', ...rest] = process.argv.slice(2);
const out = (o: object) => { process.stdout.write(`${JSON.stringify(o)}\n`); };
const fds = () => readdirSync('/proc/self/fd').length;
const maddr = () => execFileSync('ip', ['maddr', 'show', 'dev', ifname], { encoding: 'utf8' })
  .split('\n').map((l) => /link\s+([0-9a-f:]{17})/.exec(l)?.[1]).filter((m): m is string => m !== undefined);
const SOLICITED = Buffer.from('3333ff000010', 'hex');
const noop = () => undefined;

function tryOpen(name: string): { code: string | undefined; message: string } | undefined {
  try {
    new PacketSocket(name, rejectAllFilter(), noop).close();
    return undefined;
  } catch (err) {
    return { code: errorCode(err), message: err instanceof Error ? err.message : String(err) };
  }
}

switch (mode) {
  case 'errors':
    out({ result: tryOpen(ifname) });
    break;
  case 'leak': {
    const n = Number(rest[0] ?? 200);
    const frame = gratuitousFrames(parseIp('192.0.2.250')!, Buffer.from('02485200fe00', 'hex'))[0]!;
    const filter = buildFilter({ ipv4: [parseIp('192.0.2.250')!.bytes], ipv6: [parseIp('2001:db8::250')!.bytes] });
    // Warm up: the first open loads the addon and may open fds of its own.
    new PacketSocket(ifname, filter, noop).close();
    await sleep(20);
    const before = fds();
    for (let i = 0; i < n; i++) {
      const s = new PacketSocket(ifname, filter, noop);
      s.setFilter(filter);
      s.join(SOLICITED);
      s.send(frame);
      s.close();
      s.close(); // idempotent
      if (i % 50 === 0) await sleep(1); // let libuv run the close callbacks
    }
    // Errors must not leak either.
    for (let i = 0; i < 20; i++) tryOpen('nosuch0');
    await sleep(50);
    const after = fds();
    let closedUse: string | undefined;
    const s = new PacketSocket(ifname, filter, noop);
    s.close();
    try { s.send(frame); } catch (err) { closedUse = errorCode(err); }
    out({ before, after, n, closedUse, maddr: maddr() });
    break;
  }
  case 'membership': {
    const s = new PacketSocket(ifname, rejectAllFilter(), noop);
    const steps: Record<string, boolean> = {};
    const has = () => maddr().includes('33:33:ff:00:00:10');
    steps.initially = has();
    s.join(SOLICITED);
    steps.joinedOnce = has();
    s.join(SOLICITED);
    s.leave(SOLICITED);
    steps.joinedTwiceLeftOnce = has();
    s.leave(SOLICITED);
    steps.leftTwice = has();
    s.join(SOLICITED);
    s.close();
    steps.closedWhileJoined = has();
    let badMac: string | undefined;
    const t = new PacketSocket(ifname, rejectAllFilter(), noop);
    try { t.join(Buffer.alloc(5)); } catch (err) { badMac = errorCode(err); }
    t.close();
    out({ steps, badMac });
    break;
  }
  case 'receive': {
    const [ms = '1000', ...addrs] = rest;
    const ips = addrs.map((a) => parseIp(a)!);
    const kinds: Record<string, number> = {};
    const mac = Buffer.from(execFileSync('cat', [`/sys/class/net/${ifname}/address`], { encoding: 'utf8' }).trim().replaceAll(':', ''), 'hex');
    const s = new PacketSocket(ifname, buildFilter({
      ipv4: ips.filter((i) => i.family === 4).map((i) => i.bytes),
      ipv6: ips.filter((i) => i.family === 6).map((i) => i.bytes),
    }), (frame, pkttype) => {
      const own = frame.subarray(6, 12).equals(mac);
      const key = `${own ? 'own' : 'other'}:${frame.readUInt16BE(12).toString(16)}:${pkttype}`;
      kinds[key] = (kinds[key] ?? 0) + 1;
    });
    out({ ready: true });
    // Our own announcements go out on the same link; they must not come back to us.
    for (const ip of ips) for (const f of gratuitousFrames(ip, mac)) s.send(f);
    await sleep(Number(ms));
    const stats = s.takeStats();
    s.close();
    out({ kinds, stats });
    break;
  }
  case 'flood': {
    const n = Number(rest[0] ?? 1000);
    const rate = Number(rest[1] ?? 20000);
    const mac = Buffer.from('02485200ee00', 'hex');
    const s = new PacketSocket(ifname, rejectAllFilter(), noop);
    const start = performance.now();
    let sent = 0;
    let errors = 0;
    while (sent < n) {
      // Pace in 1 ms slices so the rate holds without a busy loop per frame.
      const due = Math.min(n, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const target = Buffer.from([203, 0, 113, sent % 250 + 1]);
        const frame = encodeEthernet({
          dst: Buffer.alloc(6, 0xff), src: mac, etherType: 0x0806,
          payload: encodeArp({ op: ARP_REQUEST, senderMac: mac, senderIp: Buffer.from([192, 0, 2, 99]), targetMac: Buffer.alloc(6), targetIp: target }),
        });
        try { s.send(frame); } catch { errors++; }
      }
      await sleep(1);
    }
    const seconds = (performance.now() - start) / 1000;
    s.close();
    out({ sent, errors, seconds, rate: sent / seconds });
    break;
  }
  case 'deafness': {
    // Both ends in this namespace, so nothing outside it is touched.
    const sh = (cmd: string) => execFileSync('sh', ['-ec', cmd]);
    sh('ip link add hd0 type veth peer name hd1 && ip link set hd1 up && ip link set hd0 up');
    const macOf = (n: string) => Buffer.from(execFileSync('cat', [`/sys/class/net/${n}/address`], { encoding: 'utf8' }).trim().replaceAll(':', ''), 'hex');
    const target = parseIp('192.0.2.123')!;
    const filter = buildFilter({ ipv4: [target.bytes], ipv6: [] });
    const sender = new PacketSocket('hd1', rejectAllFilter(), noop);
    const request = () => encodeEthernet({
      dst: Buffer.alloc(6, 0xff), src: macOf('hd1'), etherType: 0x0806,
      payload: encodeArp({ op: ARP_REQUEST, senderMac: macOf('hd1'), senderIp: Buffer.from([192, 0, 2, 99]), targetMac: Buffer.alloc(6), targetIp: Buffer.from(target.bytes) }),
    });
    // Opens a counting socket on hd0, runs `disturb`, waits for the link to run, then sends five requests from hd1.
    const trial = async (disturb: () => void) => {
      const errors: string[] = [];
      let received = 0;
      const s = new PacketSocket('hd0', filter, () => { received++; }, (e) => { errors.push(e.code); });
      disturb();
      for (let i = 0; i < 100 && !s.linkState().running; i++) await sleep(10);
      const state = s.linkState();
      await sleep(50);
      for (let i = 0; i < 5; i++) {
        sender.send(request());
        await sleep(20);
      }
      await sleep(100);
      s.close();
      return { errors, received, state };
    };
    // 1. A bounce as one command, after the socket is open and reading.
    const bounce = await trial(() => { sh('ip link set hd0 down; ip link set hd0 up'); });
    // 2. A socket opened while its link is down, brought up afterwards.
    sh('ip link set hd0 down');
    const openedDown = await trial(() => { setTimeout(() => { sh('ip link set hd0 up'); }, 50); });
    sender.close();
    sh('ip link del hd0');
    out({ bounce, openedDown });
    break;
  }
  case 'names': {
    // A name whose cut at a character boundary (13 of its 17 bytes) is another valid name, and one with a NUL after "eth0".
    const results: Record<string, string | undefined> = {};
    for (const [label, name] of [['cut', `eth0x${'\u{1F600}'.repeat(3)}`], ['nul', 'eth0\u0000x'], ['long', 'x'.repeat(16)]] as const) {
      results[label] = tryOpen(name)?.message ?? 'opened';
    }
    out(results);
    break;
  }
  default:
    out({ error: `unknown mode ${mode ?? ''}` });
    process.exitCode = 2;
}
