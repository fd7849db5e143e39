import { parseArgs } from 'node:util';
import { KubeTransport } from '../kube/transport.js';
import { serviceLeaseName } from '../core/l2/lease-names.js';
import { ApiUnreachableError, readCluster } from '../inspect/cluster-reader.js';
import { explainService, UnknownServiceError } from '../inspect/explain.js';
import { renderExplanation } from '../inspect/render.js';
import { serviceKeyOf } from '../inspect/snapshot.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { contextNamespace, INSPECT_HELP, INSPECT_OPTIONS, inspectSettings, kubeConfigFor, machineOutput } from './inspect-options.js';

const HELP = `usage: herald explain [-n NAMESPACE] NAMESPACE/SERVICE | SERVICE [flags]
       kubectl herald explain ...

Shows the whole chain for one Service: whether herald takes its class, the
candidate and selected pools, the requested and assigned addresses and the
IPAMRequestSatisfied condition, the sharing group; then per address every
L2 announcement policy and node, and why each does or does not select it,
the candidates in rank order, the Lease holder and since when, and the
interfaces, MAC, replies and last gratuitous burst of the node that answers.
The "why" is computed with herald's own selection and ranking code from the
objects in the API, as every agent computes it.

  -n, --namespace NS           the Service's namespace when not given as NS/NAME
                               (default: the kubeconfig context's namespace, else default)
${INSPECT_HELP}`;

/**
 * "ns/name", or "name" (also "svc/name", "service/name") in the -n namespace;
 * namespace undefined means the kubeconfig context's, as kubectl.
 */
export function parseTarget(arg: string, namespaceFlag: string | undefined): { namespace: string | undefined; name: string } {
  const parts = arg.split('/');
  if (parts.some((p) => p === '') || parts.length > 2) {
    throw new UsageError(`"${arg}" is not a Service: give NAMESPACE/SERVICE, or SERVICE with -n NAMESPACE (else the kubeconfig context's namespace)`);
  }
  if (parts.length === 1) return { namespace: namespaceFlag, name: arg };
  const [first = '', second = ''] = parts;
  if (['svc', 'service', 'services'].includes(first.toLowerCase())) return { namespace: namespaceFlag, name: second };
  if (namespaceFlag !== undefined && namespaceFlag !== first) throw new UsageError(`"${arg}" names namespace ${first}, but -n says ${namespaceFlag}`);
  return { namespace: first, name: second };
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'why a Service has (or has not) its address, and which node answers for it and why',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { ...INSPECT_OPTIONS, namespace: { type: 'string', short: 'n' } } });
    } catch (err) {
      throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    }
    const { values, positionals } = parsed;
    if (values.help === true) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new UsageError(`${positionals.length === 0 ? 'which Service?' : `one Service at a time, not ${positionals.join(' ')}`}\n\n${HELP}`);
    }
    const settings = inspectSettings(values);
    const given = parseTarget(positionals[0] ?? '', values.namespace);
    const kc = kubeConfigFor(settings);
    const target = { namespace: given.namespace ?? contextNamespace(kc), name: given.name };
    const transport = new KubeTransport(kc);
    try {
      const snapshot = await readCluster(transport, settings.read, [serviceLeaseName(target.namespace, target.name)]);
      let explanation;
      try {
        explanation = explainService(snapshot, target.namespace, target.name);
      } catch (err) {
        if (!(err instanceof UnknownServiceError)) throw err;
        const here = snapshot.services.filter((s) => (s.metadata.namespace ?? 'default') === target.namespace).map(serviceKeyOf);
        const similar = snapshot.services.filter((s) => s.metadata.name === target.name).map(serviceKeyOf);
        const hint = similar.length > 0 ? `; a Service of that name is in ${similar.join(', ')}`
          : here.length > 0 ? `; namespace ${target.namespace} has ${here.slice(0, 5).map((k) => k.split('/')[1] ?? '').join(', ')}${here.length > 5 ? ', ...' : ''}`
          : `; namespace ${target.namespace} has no Service`;
        console.error(`herald explain: no Service ${target.namespace}/${target.name}${hint}`);
        return 1;
      }
      process.stdout.write(settings.output === 'text' ? renderExplanation(explanation) : machineOutput(settings.output, explanation));
      return 0;
    } catch (err) {
      if (err instanceof ApiUnreachableError) {
        console.error(`herald explain: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      transport.close();
    }
  },
};
