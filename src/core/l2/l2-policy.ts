// Interface patterns are compiled by re2js (MIT, pure JavaScript, no dependencies), a port
// of RE2/J, which is RE2 as Go's regexp implements it: the same Perl-like syntax (`(?i)`,
// `(?P<name>…)`, `\z`, `[[:alpha:]]`, no backreferences or lookaround), the same semantics
// and Go's own error texts. Cilium compiles spec.interfaces with Go's regexp, so a pattern
// means here what it means there. JavaScript's RegExp rejected `(?i)` and `(?P<…>)`, never
// matched `\z` or `[[:alpha:]]`, and accepted backreferences and lookaround. The native
// `re2` binding was the other candidate; it needs a C++ build (or a download) at install.
import { RE2JS } from 're2js';
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

/**
 * Compiles each pattern as Go's regexp.Compile does (RE2JS.compile with no flags is Go's
 * syntax.Perl: case-sensitive, `^`/`$` at the ends of the text, `.` not matching a newline).
 * The error names the pattern and carries RE2's text, e.g.
 * `interfaces: "(?=eth)": error parsing regexp: invalid or unsupported Perl syntax: \`(?=\``,
 * which is Go's err.Error() for the same pattern.
 */
function compileRegexes(patterns: readonly string[]): Result<RE2JS[]> {
  const out: RE2JS[] = [];
  for (const p of patterns) {
    try {
      out.push(RE2JS.compile(p));
    } catch (err) {
      // RE2JSSyntaxException (an Error) whose message is Go's text, "error parsing regexp: …".
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
      // test() is an unanchored search, as Go's MatchString: a match of any substring counts.
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
