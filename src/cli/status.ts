import { parseArgs } from 'node:util';
import { KubeTransport } from '../kube/transport.js';
import { ApiUnreachableError, readCluster } from '../inspect/cluster-reader.js';
import { renderStatus, renderStatusWide } from '../inspect/render.js';
import { clusterStatus } from '../inspect/status.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { INSPECT_HELP, INSPECT_OPTIONS, inspectSettings, kubeConfigFor, machineOutput } from './inspect-options.js';
import { parse } from './settings.js';

const HELP = `usage: herald status [flags]
       kubectl herald status ...

Every Service herald announces (or should): its addresses, state, the node
holding it, the interfaces and MACs it answers on, and since when (its
Lease's acquireTime); then the nodes, with how many Services each holds and
whether it is alive (its agent's node Lease, the herald.io/unreachable marks
its monitors write, and whether its agent answered); then a summary.

The default text fits one screen: when one line per Service does not, the
problems (pending, not announced, no holder or candidate, a holder not
alive) still get a line each, and the announced Services are listed
compactly (by holder, or in columns); if even that does not fit, the last
line says how many were left out. -o wide is always one line per Service.

  -w, --width COLUMNS          the width (default: the terminal's, else 80)
      --rows ROWS              the height (default: the terminal's less one, else 50)
${INSPECT_HELP.replace('text (default), json or yaml', 'text (default), wide, json or yaml')}`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'every announced address, its holder, interface, MAC and age, and which nodes are alive',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: false, options: { ...INSPECT_OPTIONS, width: { type: 'string', short: 'w' }, rows: { type: 'string' } } });
    } catch (err) {
      throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    }
    const { values } = parsed;
    if (values.help === true) {
      console.log(HELP);
      return 0;
    }
    // -o wide is text, one line per Service (explain has no wide form).
    const wide = values.output === 'wide';
    if (values.output !== undefined && !['text', 'wide', 'json', 'yaml'].includes(values.output)) {
      throw new UsageError(`-o/--output must be text, wide, json or yaml, not "${values.output}"`);
    }
    const settings = inspectSettings({ ...values, output: wide ? 'text' : values.output });
    const tty = process.stdout.isTTY;
    const width = dimension('width', values.width, tty ? process.stdout.columns : undefined, 80);
    // A terminal keeps its last row for the prompt that follows.
    const rows = dimension('rows', values.rows, tty && process.stdout.rows > 1 ? process.stdout.rows - 1 : undefined, 50);
    const kc = kubeConfigFor(settings);
    const transport = new KubeTransport(kc);
    try {
      const report = clusterStatus(await readCluster(transport, settings.read));
      process.stdout.write(settings.output !== 'text' ? machineOutput(settings.output, report) : wide ? renderStatusWide(report, width) : renderStatus(report, { width, rows }));
      return 0;
    } catch (err) {
      if (err instanceof ApiUnreachableError) {
        console.error(`herald status: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      transport.close();
    }
  },
};

/** --width or --rows: the flag, else the terminal's (when it says), else `fallback`. */
function dimension(name: string, raw: string | undefined, terminal: number | undefined, fallback: number): number {
  if (raw === undefined) return terminal !== undefined && terminal > 0 ? terminal : fallback;
  try {
    return parse.positiveInt(raw);
  } catch (err) {
    throw new UsageError(`--${name}=${JSON.stringify(raw)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
