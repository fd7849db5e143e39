/**
 * Renders deploy/manifests/ from the Helm chart with its default values, so
 * the chart is the one source of truth: `node dist/tools/render-manifests.js`
 * (needs the helm that scripts/ensure-controlplane.sh builds). The chart's
 * integration test fails when the committed files differ.
 *
 * Each templates/<name>.yaml becomes deploy/manifests/<name>.yaml, its
 * objects in the order the template writes them (helm sorts by kind).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { helmBinary } from '../harness/control-plane.js';

const run = promisify(execFile);

export const chartDir = fileURLToPath(new URL('../../deploy/helm/herald/', import.meta.url));
export const manifestsDir = fileURLToPath(new URL('../../deploy/manifests/', import.meta.url));

/** The templates rendered into deploy/manifests (the rest render nothing with the default values). */
export const manifestTemplates = ['agent-rbac.yaml', 'agent-admission.yaml', 'agent.yaml', 'operator-rbac.yaml', 'operator.yaml'] as const;

export const renderCommand = 'node dist/tools/render-manifests.js';

const header = (template: string): string => [
  `# Rendered from deploy/helm/herald/templates/${template} with the chart's default`,
  '# values (helm template herald deploy/helm/herald --namespace kube-system).',
  `# Do not edit: change the chart, then run ${renderCommand}.`,
  '# Apply the CRDs (deploy/helm/herald/crds) and the *-rbac.yaml files first.',
  '',
  '',
].join('\n');

/** Splits `helm template` output into its documents, each with the chart file it came from (templates/x.yaml, crds/y.yaml). */
export function splitRendered(out: string): { source: string; text: string }[] {
  const docs: { source: string; text: string }[] = [];
  for (const chunk of out.split(/^---\n/m)) {
    const source = /^# Source: [^/]+\/(.+)\n/m.exec(chunk);
    if (!source?.[1]) {
      if (chunk.trim() !== '') throw new Error(`a rendered document without a "# Source:" line: ${chunk.slice(0, 200)}`);
      continue;
    }
    docs.push({ source: source[1], text: chunk.replace(source[0], '') });
  }
  return docs;
}

/** File name (under deploy/manifests) to its content. */
export async function renderManifests(helm = helmBinary()): Promise<Map<string, string>> {
  const { stdout } = await run(helm, ['template', 'herald', chartDir, '--namespace', 'kube-system'], { maxBuffer: 16 << 20 });
  const byTemplate = new Map<string, string[]>();
  for (const doc of splitRendered(stdout)) {
    const template = doc.source.replace(/^templates\//, '');
    if (!(manifestTemplates as readonly string[]).includes(template)) {
      throw new Error(`${doc.source} renders objects with the default values; add it to manifestTemplates`);
    }
    byTemplate.set(template, [...(byTemplate.get(template) ?? []), doc.text]);
  }
  const files = new Map<string, string>();
  for (const template of manifestTemplates) {
    const source = readFileSync(`${chartDir}templates/${template}`, 'utf8');
    const at = (doc: string): number => {
      const kind = parseDocument(doc).get('kind');
      const i = typeof kind === 'string' ? source.indexOf(`\nkind: ${kind}\n`) : -1;
      if (i < 0) throw new Error(`templates/${template}: cannot find where it writes ${String(kind)}`);
      return i;
    };
    const docs = [...(byTemplate.get(template) ?? [])].sort((a, b) => at(a) - at(b));
    if (docs.length === 0) throw new Error(`templates/${template} rendered nothing`);
    files.set(template, header(template) + docs.join('---\n'));
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, text] of await renderManifests()) writeFileSync(manifestsDir + file, text);
  console.log(`wrote ${manifestTemplates.join(', ')} to ${manifestsDir}`);
}
