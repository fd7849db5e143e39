import { parseArgs } from 'node:util';
import { KubeTransport } from '../kube/transport.js';
import { ApiUnreachableError, readCluster } from '../inspect/cluster-reader.js';
import { renderStatus } from '../inspect/render.js';
import { clusterStatus } from '../inspect/status.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { INSPECT_HELP, INSPECT_OPTIONS, inspectSettings, kubeConfigFor, machineOutput } from './inspect-options.js';
import { parse } from './settings.js';

const HELP = `usage: herald status [flags]
       kubectl herald status ...

One line per Service herald announces (or should): its addresses, state,
the node holding it, the interfaces and MACs it answers on, and since when
(its Lease's acquireTime); then the nodes, with how many Services each holds
and whether it is alive (its agent's node Lease, the herald.io/unreachable
marks its monitors write, and whether its agent answered); then a summary.

  -w, --width COLUMNS          the table's width (default: the terminal's, else 120)
${INSPECT_HELP}`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'every announced address, its holder, interface, MAC and age, and which nodes are alive',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: false, options: { ...INSPECT_OPTIONS, width: { type: 'string', short: 'w' } } });
    } catch (err) {
      throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    }
    const { values } = parsed;
    if (values.help === true) {
      console.log(HELP);
      return 0;
    }
    const settings = inspectSettings(values);
    let width = process.stdout.isTTY ? process.stdout.columns : 120;
    if (values.width !== undefined) {
      try {
        width = parse.positiveInt(values.width);
      } catch (err) {
        throw new UsageError(`--width=${JSON.stringify(values.width)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const kc = kubeConfigFor(settings);
    const transport = new KubeTransport(kc);
    try {
      const report = clusterStatus(await readCluster(transport, settings.read));
      process.stdout.write(settings.output === 'text' ? renderStatus(report, width) : machineOutput(settings.output, report));
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
