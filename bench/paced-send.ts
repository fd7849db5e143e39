/**
 * Sends `count` frames (cycling through `frames`) on a packet socket at
 * `rate` per second, paced in 1 ms slices so the rate holds without a busy
 * loop per frame, and prints {"sent", "errors", "seconds", "rate"} as JSON.
 * The frames are prebuilt, so a flood costs a syscall per frame and nothing else.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rejectAllFilter } from '../src/packet/bpf-filter.js';
import { assertInTestbedNamespace } from '../harness/namespace-guard.js';
import { PacketSocket } from '../src/packet/packet-socket.js';

export async function sendPaced(ifname: string, frames: readonly Buffer[], count: number, rate: number): Promise<void> {
  assertInTestbedNamespace();
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
}
