/**
 * A Responder (real addon and link inventory) answering COUNT addresses on
 * IFACE, for which every MAC but our own is foreign, inside a bench
 * namespace. Prints {"ready"} once answering, and its counters and the
 * number of conflict reports on SIGTERM.
 *   node conflict-responder.js IFACE COUNT
 */
import { LinkInventory } from '../src/net/link-inventory.js';
import { Responder } from '../src/l2/responder.js';
import { benchAddresses } from './bench-addresses.js';

const [ifname = 'eth0', countText = '1'] = process.argv.slice(2);
const links = await LinkInventory.start();
const responder = new Responder({ links, burst: { rounds: 1, intervalMs: 1000 }, foreignMac: () => true });
let reports = 0;
responder.on('conflict', () => { reports++; });
responder.setDesired(benchAddresses(Number(countText)).map((address) => ({ address, interface: ifname })));
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ counters: responder.counters(), reports })}\n`);
  responder.close();
  links.close();
});
