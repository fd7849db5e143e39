/**
 * The management link from a node namespace to the test's kube-apiserver,
 * with no link, address or route in the root namespace:
 *
 *   agent ──TCP──▶ 127.0.0.1:6443 (forwarder in the node namespace)
 *        ──Unix socket in the test's directory──▶ forwarder in the root namespace
 *        ──TCP──▶ 127.0.0.1:<apiserver port>
 *
 * TLS is end to end and the apiserver certificate names 127.0.0.1, so the
 * node's kubeconfig verifies the server exactly as on a real node.
 *
 * stallWatches() silences the watches open now, leaving requests alone.
 *
 * partition() cuts the node from the apiserver only (the LAN is untouched):
 *   'reset'     the node forwarder stops listening and resets every open
 *               connection: the agent sees ECONNRESET, then ECONNREFUSED,
 *               as when the apiserver's host reboots or a firewall rejects.
 *   'blackhole' an nftables rule in the node namespace drops the forwarder's
 *               traffic on lo: open connections go silent and new connects
 *               time out, as when a cable or switch dies. heal() lets TCP
 *               retransmissions resume the same connections.
 */
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './managed-process.js';
import type { Host, Spawned, Testbed } from './testbed.js';
import { waitFor } from './wait.js';

export const unixForwarder = fileURLToPath(new URL('./unix-forwarder.js', import.meta.url));

/** The port the apiserver appears on inside every node namespace. */
export const NODE_API_PORT = 6443;

export type PartitionMode = 'reset' | 'blackhole';

const PARTITION_TABLE = 'herald_lab_partition';

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { resolve(false); });
  });
}

export class ApiBridge {
  /** The apiserver URL as seen from inside the node namespace. */
  readonly server = `https://127.0.0.1:${NODE_API_PORT}`;
  #partitioned: PartitionMode | undefined;
  #commands = 0;

  private constructor(
    private readonly bed: Testbed,
    readonly host: Host,
    readonly socketPath: string,
    private readonly root: ManagedProcess,
    private readonly inNode: Spawned,
  ) {}

  /**
   * Starts both forwarders for `host`. `dir` is the test's temporary
   * directory (the socket lives there); `apiserverPort` is the apiserver's
   * port on the root namespace's 127.0.0.1.
   */
  static async start(bed: Testbed, host: Host, dir: string, apiserverPort: number): Promise<ApiBridge> {
    const socketPath = join(dir, `api-${host.name}.sock`);
    const root = ManagedProcess.start(`api-bridge-${host.name}`, process.execPath, [
      unixForwarder, `--listen=unix:${socketPath}`, `--connect=tcp:127.0.0.1:${apiserverPort}`,
    ], { logFile: join(dir, `api-bridge-${host.name}.log`) });
    try {
      await waitFor(`the root forwarder for ${host.name} to listen on ${socketPath}`, async () => {
        if (!root.running) throw new Error(`it exited; see ${join(dir, `api-bridge-${host.name}.log`)}`);
        return (await canConnect(socketPath)) ? true : undefined;
      }, 10_000, 20);
      // setpriv --pdeathsig: the node side dies with the test process even on SIGKILL.
      const inNode = bed.spawn(host, ['setpriv', '--pdeathsig', 'KILL', '--', process.execPath, unixForwarder,
        `--listen=tcp:127.0.0.1:${NODE_API_PORT}`, `--connect=unix:${socketPath}`, '--control']);
      await inNode.waitFor(/^listening /);
      return new ApiBridge(bed, host, socketPath, root, inNode);
    } catch (err) {
      await root.stop();
      throw err;
    }
  }

  get partitioned(): PartitionMode | undefined {
    return this.#partitioned;
  }

  async #command(cmd: 'down' | 'up' | 'stall' | 'unstall'): Promise<void> {
    const id = ++this.#commands;
    this.inNode.write(`${cmd} ${id}`);
    await this.inNode.waitFor(new RegExp(`^ack ${id}$`), 5000);
  }

  async #nft(script: string): Promise<void> {
    await this.bed.exec(this.host, ['sh', '-c', `printf '%s\\n' "$1" | nft -f -`, 'sh', script]);
  }

  /** Cuts this node from the apiserver; resolves once the cut is in place. */
  async partition(mode: PartitionMode = 'reset'): Promise<void> {
    if (this.#partitioned !== undefined) throw new Error(`${this.host.name} is already partitioned (${this.#partitioned})`);
    if (mode === 'reset') {
      await this.#command('down');
    } else {
      // Input on lo sees both directions of the agent <-> forwarder connection;
      // dropping there (not in output) keeps the sender from getting EPERM.
      await this.#nft([
        `table inet ${PARTITION_TABLE} {`,
        '  chain input {',
        '    type filter hook input priority filter; policy accept;',
        `    iifname "lo" tcp dport ${NODE_API_PORT} drop`,
        `    iifname "lo" tcp sport ${NODE_API_PORT} drop`,
        '  }',
        '}',
      ].join('\n'));
    }
    this.#partitioned = mode;
  }

  /**
   * The agent's watches on this link go quiet without a sound (no FIN, no RST,
   * no bookmarks), while its requests keep working: what an agent sees when
   * a watch stalls somewhere between it and the apiserver. Only the watches
   * open now are affected; a watch the agent opens afterwards is healthy.
   */
  async stallWatches(): Promise<void> {
    await this.#command('stall');
  }

  /** Lets the stalled watches deliver again (what they held arrives). */
  async releaseWatches(): Promise<void> {
    await this.#command('unstall');
  }

  /** Undoes partition(). */
  async heal(): Promise<void> {
    const mode = this.#partitioned;
    if (mode === undefined) return;
    if (mode === 'reset') await this.#command('up');
    else await this.#nft(`delete table inet ${PARTITION_TABLE}`);
    this.#partitioned = undefined;
  }

  async stop(): Promise<void> {
    await this.inNode.stop(1000);
    await this.root.stop(1000);
  }
}
