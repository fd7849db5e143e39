import { fail, ok, type Result } from './result.js';
/**
 * Kubernetes label selectors (metav1.LabelSelector): parsed once into a
 * matcher, or into an error value so one bad object cannot take others down.
 */

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

export interface SelectorMatcher {
  readonly matches: (labels: Labels) => boolean;
  readonly matchesEverything: boolean;
}

export type CompiledSelector = Result<SelectorMatcher>;

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Validates a label key: optional DNS-subdomain prefix (≤ 253) + "/" + name (≤ 63). */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `label key "${key}" has an invalid prefix`;
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) return `label key "${key}" is invalid`;
  return undefined;
}

/** Validates a label value: empty, or ≤ 63 characters of the name alphabet. */
export function labelValueError(key: string, value: string): string | undefined {
  if (value === '' || (value.length <= 63 && NAME.test(value))) return undefined;
  return `label value "${value}" for key "${key}" is invalid`;
}

type Test = (labels: Labels) => boolean;

/** Compiles a selector; a missing selector (undefined) selects everything. */
export function compileSelector(selector: LabelSelector | undefined): CompiledSelector {
  const tests: Test[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    const err = labelKeyError(key) ?? labelValueError(key, value);
    if (err !== undefined) return fail(`matchLabels: ${err}`);
    tests.push((labels) => Object.hasOwn(labels, key) && labels[key] === value);
  }
  for (const [i, req] of (selector?.matchExpressions ?? []).entries()) {
    const where = `matchExpressions[${i}]`;
    const keyErr = labelKeyError(req.key);
    if (keyErr !== undefined) return fail(`${where}: ${keyErr}`);
    const values = req.values ?? [];
    const { key } = req;
    switch (req.operator) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0) return fail(`${where}: operator ${req.operator} needs at least one value`);
        for (const v of values) {
          const err = labelValueError(key, v);
          if (err !== undefined) return fail(`${where}: ${err}`);
        }
        const set = new Set(values);
        const has = (labels: Labels): boolean => Object.hasOwn(labels, key) && set.has(labels[key] as string);
        tests.push(req.operator === 'In' ? has : (labels) => !has(labels));
        break;
      }
      case 'Exists':
      case 'DoesNotExist': {
        if (values.length > 0) return fail(`${where}: operator ${req.operator} takes no values`);
        tests.push(req.operator === 'Exists' ? (labels) => Object.hasOwn(labels, key) : (labels) => !Object.hasOwn(labels, key));
        break;
      }
      default:
        return fail(`${where}: unknown operator "${req.operator}" (want In, NotIn, Exists or DoesNotExist)`);
    }
  }
  return ok({ matches: (labels) => tests.every((t) => t(labels)), matchesEverything: tests.length === 0 });
}
