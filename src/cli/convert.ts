import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readObjects, type Finding, type SourceObject } from '../convert/input.js';
import { convertMetallb } from '../convert/metallb.js';
import { DEFAULT_PARTS, FIELD_MANAGER, formatFinding, PARTS, renderYaml, type Part } from '../convert/render.js';
import { UsageError, type Command } from './command.js';

const HELP = `usage: herald convert metallb [-f FILE|-]... [--only PARTS]

Reads MetalLB's configuration (metallb.io/v1beta1 IPAddressPool and
L2Advertisement), Services and Namespaces from YAML, and prints herald's
equivalent (Cilium's API) on stdout: CiliumLoadBalancerIPPools and
CiliumL2AnnouncementPolicies, or, with --only services, the Service changes
that pin the addresses Services hold now (lbipam.cilium.io/ips). Errors,
warnings and notes go to stderr. Nothing is sent to a cluster.

  -f, --filename FILE   YAML to read: several documents, or a kind: List as
                        kubectl get -o yaml prints; - (the default) is stdin
      --only PARTS      what to print, a comma list of ${PARTS.join(', ')}
                        (default ${DEFAULT_PARTS.join(',')}); the Service changes are
                        partial Services, for kubectl apply --server-side only

  kubectl get namespaces,ipaddresspools,l2advertisements,services -A -o yaml > metallb.yaml
  herald convert metallb -f metallb.yaml --only services | kubectl apply --server-side --field-manager=${FIELD_MANAGER} -f -
  herald convert metallb -f metallb.yaml > herald.yaml

Exit code 0: everything was converted (read the warnings). 2: something was
not; stderr names each object and field, those objects are missing from the
output, and everything else is still printed. docs/install.md has the steps.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseParts(values: readonly string[]): Set<Part> {
  if (values.length === 0) return new Set(DEFAULT_PARTS);
  const out = new Set<Part>();
  for (const v of values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '')) {
    const part = PARTS.find((p) => p === v);
    if (part === undefined) throw new UsageError(`--only: "${v}" is not one of ${PARTS.join(', ')}`);
    out.add(part);
  }
  return out;
}

async function metallb(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        only: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const parts = parseParts(values.only ?? []);
  const files = values.filename ?? ['-'];
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  if (files.includes('-') && process.stdin.isTTY) throw new UsageError(`give -f FILE, or pipe YAML in\n\n${HELP}`);

  const objects: SourceObject[] = [];
  const findings: Finding[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const read = readObjects(text, file === '-' ? 'stdin' : file);
    objects.push(...read.objects);
    findings.push(...read.findings);
  }
  const conversion = convertMetallb(objects);
  const all = [...findings, ...conversion.findings];
  process.stdout.write(renderYaml({ ...conversion, findings: all }, parts, files.map((f) => (f === '-' ? 'stdin' : f)).join(', ')));
  for (const x of all) console.error(formatFinding(x));
  const count = (level: string): number => all.filter((x) => x.level === level).length;
  const hidden = parts.has('services') || conversion.services.length === 0 ? '' : ' (print them with --only services)';
  console.error(`converted ${conversion.pools.length} pool(s), ${conversion.policies.length} policy(ies), ${conversion.services.length} Service change(s)${hidden}; `
    + `${count('error')} error(s), ${count('warning')} warning(s), ${count('note')} note(s)`);
  return count('error') > 0 ? 2 : 0;
}

export const convertCommand: Command = {
  name: 'convert',
  summary: 'print herald\'s pools, policies and Service changes for another load balancer\'s configuration (metallb)',
  async run(argv) {
    const [target, ...rest] = argv;
    if (target === undefined || target === '-h' || target === '--help') {
      console.log(HELP);
      return target === undefined ? 2 : 0;
    }
    if (target !== 'metallb') throw new UsageError(`cannot convert from "${target}"; the one source is metallb\n\n${HELP}`);
    return metallb(rest);
  },
};
