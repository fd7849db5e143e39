/**
 * Runs a Responder (with the real addon and link inventory) inside a test
 * namespace and lets the test drive it: one JSON command per stdin line,
 * one JSON event per stdout line.
 *   {"op":"set","pairs":[{"address":"192.0.2.200","interface":"eth0"}]}  -> {"event":"set","seq":N}
 *   {"op":"counters"}                                                     -> {"event":"counters",...}
 * Responder events are forwarded as {"event":"reply"|"gratuitous"|"conflict"|"state"|"problem"|"recovered"|"fitness",...}.
 */
import { createInterface } from 'node:readline';
import { LinkInventory } from '../src/net/link-inventory.js';
import type { AnnouncePair } from '../src/l2/responder.js';
import { Responder } from '../src/l2/responder.js';

const emit = (event: string, data: object = {}) => { process.stdout.write(`${JSON.stringify({ event, ...data })}\n`); };

const links = await LinkInventory.start();
const responder = new Responder({
  links,
  burst: { rounds: Number(process.env.BURST_ROUNDS ?? 3), intervalMs: Number(process.env.BURST_INTERVAL_MS ?? 500) },
});
for (const name of ['reply', 'gratuitous', 'conflict', 'state', 'problem', 'recovered', 'fitness'] as const) {
  responder.on(name, (e: object) => { emit(name, e); });
}
let seq = 0;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string; pairs?: AnnouncePair[] };
  if (cmd.op === 'set') {
    responder.setDesired(cmd.pairs ?? []);
    emit('set', { seq: ++seq });
  } else if (cmd.op === 'counters') {
    emit('counters', { ...responder.counters() });
  }
});
rl.on('close', () => {
  responder.close();
  links.close();
});
process.on('SIGTERM', () => { rl.close(); });
emit('ready', { pid: process.pid });
