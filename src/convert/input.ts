/**
 * Reading Kubernetes objects out of YAML text, as `kubectl get -o yaml`
 * prints them or as people keep them in files: multi-document streams and
 * `kind: List` (any kind ending in List with an `items` array) are flattened.
 * Pure: text in, objects and findings out.
 *
 * Parsed as YAML 1.1, the way kubectl reads manifests, so `autoAssign: no`
 * means false here as it does for kubectl.
 */
import { parseAllDocuments } from 'yaml';

export type Level = 'error' | 'warning' | 'note';

/** Something the user should know, naming where it comes from. */
export interface Finding {
  readonly level: Level;
  /** e.g. "stdin, document 2, items[4]" */
  readonly source?: string;
  /** e.g. "IPAddressPool metallb-system/lan" */
  readonly subject?: string;
  /** e.g. "spec.addresses[1]" */
  readonly field?: string;
  readonly message: string;
}

/** One object from the input, with where it was found. */
export interface SourceObject {
  readonly source: string;
  readonly value: Readonly<Record<string, unknown>>;
}

export interface ReadResult {
  readonly objects: readonly SourceObject[];
  readonly findings: readonly Finding[];
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects in one YAML text (a file or stdin); `name` labels the findings. */
export function readObjects(text: string, name: string): ReadResult {
  const objects: SourceObject[] = [];
  const findings: Finding[] = [];
  const docs = parseAllDocuments(text, { version: '1.1', prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const where = `${name}, document ${i + 1}`;
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      const line = first?.linePos?.[0];
      findings.push({
        level: 'error', source: where,
        message: `malformed YAML${line ? ` at line ${line.line}, column ${line.col}` : ''}: ${firstLine(first?.message ?? 'unknown error')}; this document was skipped`,
      });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      findings.push({ level: 'error', source: where, message: `cannot read this document: ${err instanceof Error ? err.message : String(err)}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing ---
    if (!isRecord(value)) {
      findings.push({ level: 'error', source: where, message: 'is not a Kubernetes object (a mapping with apiVersion and kind)' });
      return;
    }
    const kind = value.kind;
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item, j) => {
        const itemWhere = `${where}, items[${j}]`;
        if (isRecord(item)) objects.push({ source: itemWhere, value: item });
        else findings.push({ level: 'error', source: itemWhere, message: 'is not a Kubernetes object (a mapping with apiVersion and kind)' });
      });
      return;
    }
    objects.push({ source: where, value });
  });
  return { objects, findings };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
