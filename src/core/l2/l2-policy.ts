import { compileSelector, type LabelSelector, type Labels } from '../label-selector.js';
import type { Condition } from '../ipam/types.js';
import { fail, ok, type Result } from '../result.js';

/** The fields of a CiliumL2AnnouncementPolicy (cilium.io/v2alpha1) that selection reads. */
export interface L2PolicySpec {
  readonly name: string;
  readonly nodeSelector?: LabelSelector;
  readonly serviceSelector?: LabelSelector;
  /** Regular expressions, OR-ed and unanchored as in Cilium; missing or empty = every up link. */
  readonly interfaces?: readonly string[];
  readonly externalIPs?: boolean;
  readonly loadBalancerIPs?: boolean;
}

export const CONDITION_BAD_NODE_SELECTOR = 'io.cilium/bad-node-selector';
export const CONDITION_BAD_SERVICE_SELECTOR = 'io.cilium/bad-service-selector';
export const CONDITION_BAD_INTERFACE_REGEX = 'io.cilium/bad-interface-regex';

export interface CompiledL2Policy {
  readonly name: string;
  readonly spec: L2PolicySpec;
  /** False when any part failed to compile; such a policy selects nothing. */
  readonly ok: boolean;
  /**
   * Always all three condition types, so the adapter can write them as they
   * are and a fixed policy loses its old error.
   */
  readonly conditions: readonly Condition[];
  readonly externalIPs: boolean;
  readonly loadBalancerIPs: boolean;
  /** True when the policy has no interface list: every up link qualifies. */
  readonly allLinks: boolean;
  /** The interface patterns as written, for "why not" messages. */
  readonly interfacePatterns: readonly string[];
  selectsNode(labels: Labels): boolean;
  selectsService(labels: Labels): boolean;
  /** Whether a link name matches the interface list (cached per name). */
  matchesLink(link: string): boolean;
}

/**
 * A False condition needs a reason too: Cilium's CRD (which stays in place
 * where Cilium ran) requires a non-empty one, so an empty reason would make
 * every status write fail there. "resolved" is the word Cilium's pool
 * conditions use for "no problem".
 */
function condition(type: string, error: string | undefined): Condition {
  return error === undefined
    ? { type, status: 'False', reason: 'resolved', message: '' }
    : { type, status: 'True', reason: 'error', message: error };
}

function compileRegexes(patterns: readonly string[]): Result<RegExp[]> {
  const out: RegExp[] = [];
  for (const p of patterns) {
    try {
      // No flags: Go's regexp (what Cilium uses) is case-sensitive and unanchored, and so is this.
      out.push(new RegExp(p));
    } catch (err) {
      return fail(`interfaces: "${p}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return ok(out);
}

const nothing = (): boolean => false;

/** Compiles a policy once; a broken part yields a condition and a policy that selects nothing. */
export function compileL2Policy(spec: L2PolicySpec): CompiledL2Policy {
  const node = compileSelector(spec.nodeSelector);
  const service = compileSelector(spec.serviceSelector);
  const patterns = spec.interfaces ?? [];
  const regexes = compileRegexes(patterns);
  const valid = node.ok && service.ok && regexes.ok;
  const conditions = [
    condition(CONDITION_BAD_NODE_SELECTOR, node.ok ? undefined : node.error),
    condition(CONDITION_BAD_SERVICE_SELECTOR, service.ok ? undefined : service.error),
    condition(CONDITION_BAD_INTERFACE_REGEX, regexes.ok ? undefined : regexes.error),
  ];
  const allLinks = patterns.length === 0;
  // Link names repeat across nodes (eth0 everywhere), so one test per name per policy suffices.
  const linkCache = new Map<string, boolean>();
  const res = regexes.ok ? regexes.value : [];
  const matchesLink = (link: string): boolean => {
    if (!valid) return false;
    if (allLinks) return true;
    let hit = linkCache.get(link);
    if (hit === undefined) {
      hit = res.some((r) => r.test(link));
      linkCache.set(link, hit);
    }
    return hit;
  };
  return {
    name: spec.name,
    spec,
    ok: valid,
    conditions,
    externalIPs: spec.externalIPs === true,
    loadBalancerIPs: spec.loadBalancerIPs === true,
    allLinks,
    interfacePatterns: patterns,
    selectsNode: valid ? node.value.matches : nothing,
    selectsService: valid ? service.value.matches : nothing,
    matchesLink,
  };
}
