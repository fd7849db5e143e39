/**
 * A byte-for-byte stream forwarder between a TCP port and a Unix-domain
 * socket, run as its own process:
 *
 *   node dist/harness/unix-forwarder.js --listen unix:/tmp/x/api.sock --connect tcp:127.0.0.1:6443
 *   ip netns exec ns node dist/harness/unix-forwarder.js --listen tcp:127.0.0.1:6443 --connect unix:/tmp/x/api.sock
 *
 * A Unix socket is a file, so it crosses network namespaces where no packet
 * can: this is how the L2 lab's node namespaces reach the apiserver on the
 * root namespace's loopback without a link or route in the root namespace.
 * TLS passes through untouched, end to end.
 *
 * With --control, commands on stdin, one a line, each acknowledged on stdout:
 *   down <id>  close the listener (new connects are refused) and reset every
 *              open connection (RST on TCP): what a peer sees of a cut link
 *   up <id>    listen again
 *   stall <id> every open connection on which the client has sent nothing
 *              for a second (a watch, in practice) stays connected but
 *              receives nothing more: a watch that goes quiet without a
 *              sound. New connections are not affected, and a stalled one
 *              on which the client sends a request (an idle keep-alive
 *              connection, not a watch) is released at once.
 *   unstall <id> releases every stalled connection; what was held arrives.
 * answered by "ack <id>"; the process then exits when stdin closes, so it
 * does not outlive whoever started it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice(5) };
  const m = /^tcp:(.+):(\d+)$/.exec(text);
  if (m) return { kind: 'tcp', host: m[1]!, port: Number(m[2]) };
  throw new Error(`not an endpoint (tcp:HOST:PORT or unix:PATH): ${text}`);
}

export function formatEndpoint(e: Endpoint): string {
  return e.kind === 'unix' ? `unix:${e.path}` : `tcp:${e.host}:${e.port}`;
}

/** Ends a socket as abruptly as its kind allows: RST for TCP, close for Unix. */
function reset(socket: Socket): void {
  try {
    if (typeof socket.remotePort === 'number') socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

/** How long a connection must have been quiet from the client's side to count as a watch. */
const WATCH_IDLE_MS = 1000;

class Forwarder {
  #server: Server | undefined;
  readonly #open = new Set<Socket>();
  /** Client side → (upstream side, when the client last sent a byte). */
  readonly #pairs = new Map<Socket, { outbound: Socket; lastClientByteAt: number; stalled: boolean }>();

  constructor(private readonly listenOn: Endpoint, private readonly connectTo: Endpoint) {}

  async up(): Promise<void> {
    if (this.#server) return;
    if (this.listenOn.kind === 'unix') rmSync(this.listenOn.path, { force: true });
    const server = createServer((inbound) => { this.#pipe(inbound); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (this.listenOn.kind === 'unix') server.listen(this.listenOn.path, resolve);
      else server.listen(this.listenOn.port, this.listenOn.host, resolve);
    });
    server.on('error', (err) => { console.error(`listener: ${err.message}`); });
    this.#server = server;
  }

  down(): void {
    const server = this.#server;
    this.#server = undefined;
    server?.close();
    for (const s of this.#open) reset(s);
    this.#open.clear();
  }

  #pipe(inbound: Socket): void {
    const outbound = this.connectTo.kind === 'unix'
      ? createConnection(this.connectTo.path)
      : createConnection(this.connectTo.port, this.connectTo.host);
    this.#open.add(inbound);
    this.#open.add(outbound);
    // Writes before outbound connects are queued by net.Socket.
    // Each side's failure ends the other the same way, so the client sees a
    // reset when the upstream resets and an orderly close when it closes.
    const onError = (other: Socket) => () => { reset(other); };
    inbound.on('error', onError(outbound));
    outbound.on('error', onError(inbound));
    inbound.on('close', () => { this.#open.delete(inbound); this.#pairs.delete(inbound); outbound.destroy(); });
    outbound.on('close', () => { this.#open.delete(outbound); inbound.destroy(); });
    const pair = { outbound, lastClientByteAt: Date.now(), stalled: false };
    this.#pairs.set(inbound, pair);
    inbound.on('data', () => {
      pair.lastClientByteAt = Date.now();
      if (pair.stalled) this.#release(inbound, pair);
    });
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }

  #release(inbound: Socket, pair: { outbound: Socket; stalled: boolean }): void {
    pair.stalled = false;
    pair.outbound.pipe(inbound);
    pair.outbound.resume();
  }

  /** Releases every stalled connection. */
  unstall(): number {
    let n = 0;
    for (const [inbound, pair] of this.#pairs) {
      if (!pair.stalled) continue;
      this.#release(inbound, pair);
      n++;
    }
    return n;
  }

  /** Silences the connections that look like watches; returns how many. */
  stallWatches(): number {
    let n = 0;
    for (const [inbound, pair] of this.#pairs) {
      if (pair.stalled || Date.now() - pair.lastClientByteAt < WATCH_IDLE_MS) continue;
      pair.stalled = true;
      pair.outbound.unpipe(inbound);
      pair.outbound.pause();
      n++;
    }
    return n;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    listen: { type: 'string' }, connect: { type: 'string' }, control: { type: 'boolean' },
  } });
  if (values.listen === undefined || values.connect === undefined) {
    console.error('usage: unix-forwarder --listen ENDPOINT --connect ENDPOINT (tcp:HOST:PORT or unix:PATH)');
    process.exit(2);
  }
  const listenOn = parseEndpoint(values.listen);
  const forwarder = new Forwarder(listenOn, parseEndpoint(values.connect));
  await forwarder.up();
  console.log(`listening ${formatEndpoint(listenOn)}`);

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      forwarder.down();
      process.exit(0);
    });
  }
  if (values.control !== true) return;
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const [cmd, id] = line.trim().split(/\s+/);
      if (cmd === 'down') {
        forwarder.down();
        console.log(`ack ${id ?? ''}`);
      } else if (cmd === 'stall') {
        console.error(`stalled ${forwarder.stallWatches()} quiet connections`);
        console.log(`ack ${id ?? ''}`);
      } else if (cmd === 'unstall') {
        console.error(`released ${forwarder.unstall()} stalled connections`);
        console.log(`ack ${id ?? ''}`);
      } else if (cmd === 'up') {
        forwarder.up().then(() => { console.log(`ack ${id ?? ''}`); }, (err: unknown) => {
          console.error(`up failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        });
      }
    }
  });
  // The parent went away (or closed our stdin on purpose): so do we.
  process.stdin.on('end', () => { process.exit(0); });
}

// Only when run as a script, not when imported for parseEndpoint.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
