import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { parseIp } from '../packet/ip.js';
import { rejectAllFilter } from '../packet/bpf-filter.js';
import { errorCode, openPacketSocket } from '../packet/packet-socket.js';
import { LinkInventory } from '../net/link-inventory.js';
import { DEFAULT_BURST } from '../l2/burst.js';
import { Responder } from '../l2/responder.js';

const HELP = `usage: herald announce --interface IFACE [--quiet] [--burst-rounds N] [--burst-interval MS] ADDRESS...

Answers ARP (IPv4) and NDP (IPv6) for the given addresses on IFACE until
interrupted, without adding them to the interface. Needs CAP_NET_RAW.
Prints every answer, gratuitous announcement and conflict it sees.

  -i, --interface IFACE     link to answer on (it may have no IP address)
  -q, --quiet               do not print each answer (state changes, conflicts and counters still are)
      --burst-rounds N      gratuitous announcements per address (default ${DEFAULT_BURST.rounds})
      --burst-interval MS   delay between them (default ${DEFAULT_BURST.intervalMs})`;

function nonNegativeInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a non-negative integer, got "${text}"`);
  return Number(text);
}

export const announceCommand: Command = {
  name: 'announce',
  summary: 'answer ARP/NDP for addresses by hand, until Ctrl-C',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        allowPositionals: true,
        options: {
          interface: { type: 'string', short: 'i' },
          quiet: { type: 'boolean', short: 'q' },
          'burst-rounds': { type: 'string' },
          'burst-interval': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const ifname = values.interface;
    if (!ifname) throw new UsageError(`--interface is required\n\n${HELP}`);
    if (positionals.length === 0) throw new UsageError(`give at least one address to announce\n\n${HELP}`);
    for (const a of positionals) {
      if (!parseIp(a)) throw new UsageError(`not an IPv4 or IPv6 address: "${a}"`);
    }
    const burst = {
      rounds: nonNegativeInt('--burst-rounds', values['burst-rounds'], DEFAULT_BURST.rounds),
      intervalMs: nonNegativeInt('--burst-interval', values['burst-interval'], DEFAULT_BURST.intervalMs),
    };

    // Fail fast on the two mistakes people make: a wrong name and no CAP_NET_RAW.
    try {
      openPacketSocket(ifname, rejectAllFilter(), () => undefined).close();
    } catch (err) {
      const code = errorCode(err);
      const message = err instanceof Error ? err.message : String(err);
      if (code === 'ENODEV') throw new UsageError(message);
      console.error(`herald announce: ${message}`);
      return 1;
    }

    const links = await LinkInventory.start();
    const responder = new Responder({ links, burst });
    const log = (line: string) => { console.log(`${new Date().toISOString()} ${line}`); };
    responder.on('reply', (e) => {
      if (values.quiet) return;
      log(`${e.family === 4 ? 'ARP' : 'NDP'} ${e.address} is-at us -> ${e.asker} (${e.askerMac}) on ${e.interface}`);
    });
    responder.on('gratuitous', (e) => { if (!values.quiet) log(`gratuitous ${e.address} on ${e.interface} (round ${e.round + 1})`); });
    responder.on('conflict', (e) => { log(`CONFLICT ${e.address} claimed by ${e.mac} on ${e.interface}`); });
    responder.on('state', (e) => { log(`${e.interface}: ${e.state}${e.reason ? ` (${e.reason})` : ''}`); });
    responder.on('problem', (e) => { log(`problem on ${e.interface}: ${e.message}`); });
    responder.on('recovered', (e) => { log(`${e.interface}: answering again ${e.ms} ms after ${e.code}; re-announcing`); });
    responder.on('fitness', (e) => { log(`${e.interface}: ${e.fit ? 'can answer again' : `CANNOT ANSWER (${e.reason ?? ''})`}`); });
    links.on('problem', (err) => { log(`link inventory: ${err.message}`); });

    responder.setDesired(positionals.map((address) => ({ address, interface: ifname })));
    log(`announcing ${positionals.join(', ')} on ${ifname}; Ctrl-C to stop`);

    await new Promise<void>((resolve) => {
      const stop = () => { resolve(); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    responder.close();
    links.close();
    log(`stopped; counters ${JSON.stringify(responder.counters())}`);
    return 0;
  },
};
