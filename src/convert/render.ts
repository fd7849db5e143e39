/**
 * A conversion as a YAML stream that kubectl applies: pools, then policies,
 * then the Service changes, each with comments saying where it came from and
 * what to know about it. Pure.
 *
 * Written as YAML 1.1, as kubectl reads it, so strings such as "No" (the
 * value of allowFirstLastIPs) are quoted and do not turn into booleans.
 */
import { Document } from 'yaml';
import type { Finding } from './input.js';
import { POLICY_API, POOL_API, type Conversion } from './metallb.js';

export type Part = 'pools' | 'policies' | 'services';
export const PARTS: readonly Part[] = ['pools', 'policies', 'services'];
/**
 * Printed unless asked otherwise: what a plain kubectl apply may take. The
 * Service changes are partial Services, which only a server-side apply
 * merges safely (a client-side apply would patch away what they leave out).
 */
export const DEFAULT_PARTS: readonly Part[] = ['pools', 'policies'];
export const FIELD_MANAGER = 'herald-convert';

/** One line per finding: "error: stdin, document 2: IPAddressPool metallb-system/lan: spec.addresses[0]: ..." */
export function formatFinding(x: Finding): string {
  const where = [x.source, x.subject, x.field].filter((s): s is string => s !== undefined && s !== '');
  return `${x.level}: ${[...where, x.message].join(': ')}`;
}

function commented(value: unknown, lines: readonly string[]): string {
  const doc = new Document(value, { version: '1.1' });
  if (lines.length > 0) doc.commentBefore = lines.map((l) => ` ${l}`).join('\n');
  return doc.toString({ lineWidth: 0 });
}

export function renderYaml(c: Conversion, parts: ReadonlySet<Part>, from: string): string {
  const errors = c.findings.filter((x) => x.level === 'error');
  const warnings = c.findings.filter((x) => x.level === 'warning');
  const header = [
    `Converted from MetalLB by herald convert metallb (${from}).`,
    `${c.pools.length} pool(s), ${c.policies.length} policy(ies), ${c.services.length} Service change(s); ${errors.length} error(s), ${warnings.length} warning(s), on stderr.`,
  ];
  if (errors.length > 0) {
    header.push('NOT COMPLETE: these objects could not be converted and are missing below:');
    for (const e of errors) header.push(`  ${formatFinding(e)}`);
  }
  const docs: string[] = [];
  let first = true;
  const push = (value: unknown, lines: readonly string[]): void => {
    docs.push(commented(value, first ? [...header, '', ...lines] : lines));
    first = false;
  };
  if (parts.has('pools')) {
    for (const p of c.pools) {
      push({ apiVersion: POOL_API, kind: 'CiliumLoadBalancerIPPool', metadata: { name: p.name }, spec: p.spec }, [`From ${p.from}.`, ...p.notes]);
    }
  }
  if (parts.has('policies')) {
    for (const p of c.policies) {
      push({ apiVersion: POLICY_API, kind: 'CiliumL2AnnouncementPolicy', metadata: { name: p.name }, spec: p.spec }, [`From ${p.from}.`, ...p.notes]);
    }
  }
  if (parts.has('services')) {
    c.services.forEach((s, i) => {
      const intro = i === 0
        ? [
          'Service changes: each pins the addresses the Service holds now (lbipam.cilium.io/ips), so herald keeps them,',
          'and carries its MetalLB sharing key and pool choice. These are partial Services: apply them ONLY server-side,',
          'which sets these fields and nothing else (a client-side apply would patch away the rest, or be refused):',
          `  kubectl apply --server-side --field-manager=${FIELD_MANAGER} -f FILE`,
          '',
        ]
        : [];
      const metadata: Record<string, unknown> = { name: s.name, namespace: s.namespace };
      if (Object.keys(s.labels).length > 0) metadata.labels = s.labels;
      if (Object.keys(s.annotations).length > 0) metadata.annotations = s.annotations;
      push({ apiVersion: 'v1', kind: 'Service', metadata }, [...intro, ...s.notes]);
    });
  }
  if (docs.length === 0) {
    return `${[...header, '', 'Nothing to print for the parts asked for.'].map((l) => `# ${l}`.trimEnd()).join('\n')}\n`;
  }
  return docs.join('---\n');
}
