/**
 * Label selectors as data, for writing them into converted objects: read
 * (validated with the core's compiler), combined with AND, and evaluated the
 * way herald will evaluate them. Pure.
 */
import { compileSelector, type Labels } from '../core/label-selector.js';
import { isRecord } from './input.js';
import { fail, ok, type Result } from '../core/result.js';

export interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

/** metav1.LabelSelector as written out; undefined stands for "selects everything". */
export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
}

export type ReadSelector = Result<Selector>;

/** Reads a LabelSelector from input, keeping only its two fields; errors say what is wrong. */
export function readSelector(value: unknown): ReadSelector {
  if (!isRecord(value)) return fail('is not a label selector (a mapping with matchLabels and/or matchExpressions)');
  const out: Selector = {};
  const { matchLabels, matchExpressions } = value;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isRecord(matchLabels)) return fail('matchLabels is not a mapping');
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(matchLabels)) {
      if (typeof v !== 'string') return fail(`matchLabels.${k} is not a string`);
      labels[k] = v;
    }
    if (Object.keys(labels).length > 0) out.matchLabels = labels;
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return fail('matchExpressions is not a list');
    const reqs: Requirement[] = [];
    for (const [i, r] of matchExpressions.entries()) {
      if (!isRecord(r) || typeof r.key !== 'string' || typeof r.operator !== 'string') {
        return fail(`matchExpressions[${i}] needs a key and an operator`);
      }
      const values = r.values ?? [];
      if (!Array.isArray(values) || !values.every((v): v is string => typeof v === 'string')) {
        return fail(`matchExpressions[${i}].values is not a list of strings`);
      }
      reqs.push(values.length > 0 ? { key: r.key, operator: r.operator, values: [...values] } : { key: r.key, operator: r.operator });
    }
    if (reqs.length > 0) out.matchExpressions = reqs;
  }
  const compiled = compileSelector(out);
  if (!compiled.ok) return fail(compiled.error);
  return ok(out);
}

export function selectsEverything(s: Selector | undefined): boolean {
  return s === undefined || ((s.matchLabels === undefined || Object.keys(s.matchLabels).length === 0) && (s.matchExpressions ?? []).length === 0);
}

/**
 * The AND of selectors (undefined = everything). A second value for a key
 * already in matchLabels becomes an In requirement, so the result stays
 * valid and simply selects nothing, as the conjunction does.
 */
export function andSelectors(...parts: readonly (Selector | undefined)[]): Selector | undefined {
  const labels: Record<string, string> = {};
  const reqs: Requirement[] = [];
  const seen = new Set<string>();
  const addReq = (r: Requirement): void => {
    const id = JSON.stringify([r.key, r.operator, r.values ?? []]);
    if (seen.has(id)) return;
    seen.add(id);
    reqs.push(r.values ? { key: r.key, operator: r.operator, values: [...r.values] } : { key: r.key, operator: r.operator });
  };
  for (const p of parts) {
    if (p === undefined) continue;
    for (const [k, v] of Object.entries(p.matchLabels ?? {})) {
      if (!Object.hasOwn(labels, k)) labels[k] = v;
      else if (labels[k] !== v) addReq({ key: k, operator: 'In', values: [v] });
    }
    for (const r of p.matchExpressions ?? []) addReq(r);
  }
  const out: Selector = {};
  if (Object.keys(labels).length > 0) out.matchLabels = labels;
  if (reqs.length > 0) out.matchExpressions = reqs;
  return selectsEverything(out) ? undefined : out;
}

/** Does the selector select these labels? undefined selects everything; an invalid one nothing. */
export function matches(s: Selector | undefined, labels: Labels): boolean {
  if (s === undefined) return true;
  const c = compileSelector(s);
  return c.ok && c.value.matches(labels);
}

/** A stable text form, to compare and de-duplicate selectors. */
export function selectorKey(s: Selector | undefined): string {
  if (s === undefined) return '*';
  const labels = Object.entries(s.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const reqs = (s.matchExpressions ?? []).map((r) => JSON.stringify([r.key, r.operator, [...(r.values ?? [])].sort()])).sort();
  return JSON.stringify([labels, reqs]);
}

/**
 * Selectors that each require one label with its own value ({app: a} OR
 * {app: b}) are one In requirement; anything else cannot be OR-ed into one
 * selector and gives undefined.
 */
export function orAsOneSelector(selectors: readonly Selector[]): Selector | undefined {
  let key: string | undefined;
  const values: string[] = [];
  for (const s of selectors) {
    const entries = Object.entries(s.matchLabels ?? {});
    if (entries.length !== 1 || (s.matchExpressions ?? []).length > 0) return undefined;
    const [k, v] = entries[0] as [string, string];
    if (key !== undefined && k !== key) return undefined;
    key = k;
    if (!values.includes(v)) values.push(v);
  }
  if (key === undefined) return undefined;
  return { matchExpressions: [{ key, operator: 'In', values }] };
}
