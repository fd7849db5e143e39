import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONDITION_BAD_INTERFACE_REGEX, compileL2Policy } from '../../../../src/core/l2/l2-policy.js';

/**
 * CiliumL2AnnouncementPolicy.spec.interfaces, as Cilium reads it: each pattern goes through
 * Go's regexp.Compile, and a link qualifies when regexp.MatchString finds the pattern anywhere
 * in its name. The expected column is what Go said, not what herald says: the rows below were
 * printed by `go run .` in hack/interface-patterns (the Go version is on the first line) and
 * pasted here unchanged. `true`/`false` is MatchString; `{ error }` is Compile's err.Error(),
 * which herald must put in the io.cilium/bad-interface-regex condition after the pattern.
 */
type GoSays = boolean | { readonly error: string };

const table: readonly (readonly [pattern: string, link: string, go: GoSays])[] = [
  // Produced by go1.26.8's regexp (hack/interface-patterns).
  ['^eth', 'eth0', true],
  ['^eth', 'veth0', false],
  ['(?i)^ETH', 'eth0', true],
  ['(?i)^ETH', 'Eth1', true],
  ['(?i)^ETH', 'veth0', false],
  ['(?P<n>eth)\\d', 'eth0', true],
  ['(?P<n>eth)\\d', 'eth', false],
  ['(?<n>eth)\\d', 'eth0', true],
  ['eth0\\z', 'eth0', true],
  ['eth0\\z', 'eth0.100', false],
  ['\\Aeth', 'veth0', false],
  ['[[:alpha:]]+0', 'eth0', true],
  ['[[:alpha:]]+0', '0', false],
  ['[[:^alpha:]]', 'eth', false],
  ['^(eth|ens)[0-9]+$', 'ens3', true],
  ['^(eth|ens)[0-9]+$', 'eth10', true],
  ['^(eth|ens)[0-9]+$', 'enp3s0', false],
  ['^(eth|ens)[0-9]+$', 'eth0.100', false],
  ['', 'eth0', true],
  ['', 'lo', true],
  ['eth.', 'eth0', true],
  ['eth.', 'eth', false],
  ['eth.', 'veth1', true],
  ['eth0', 'veth0abc', true],
  ['ETH', 'eth0', false],
  ['^bond0\\.100$', 'bond0.100', true],
  ['^bond0\\.100$', 'bond0x100', false],
  ['^bond0.100$', 'bond0x100', true],
  ['\\Qbond0.100\\E', 'bond0x100', false],
  ['^eth.$', 'ethé', true],
  ['^eth.$', 'eth😀', true],
  ['^网卡\\d$', '网卡0', true],
  ['^\\pL+\\d$', 'ethé0', true],
  ['^\\p{Greek}+', 'αβγ0', true],
  ['(?i)^ÉTH', 'éth0', true],
  ['[^a-z]$', 'ethé', true],
  ['\\beth0\\b', 'veth0', false],
  ['(?U)^e.+?$', 'eth0', true],
  ['eth|', 'lo', true],
  ['^(eth0|eth1|eth2|eth3|eth4|eth5|eth6|eth7|eth8|eth9|eth10|eth11|eth12|eth13|eth14|eth15|eth16|eth17|eth18|eth19|eth20|eth21|eth22|eth23|eth24|eth25|eth26|eth27|eth28|eth29|eth30|eth31|eth32|eth33|eth34|eth35|eth36|eth37|eth38|eth39|eth40|eth41|eth42|eth43|eth44|eth45|eth46|eth47|eth48|eth49|eth50|eth51|eth52|eth53|eth54|eth55|eth56|eth57|eth58|eth59)$', 'eth59', true],
  ['^(eth0|eth1|eth2|eth3|eth4|eth5|eth6|eth7|eth8|eth9|eth10|eth11|eth12|eth13|eth14|eth15|eth16|eth17|eth18|eth19|eth20|eth21|eth22|eth23|eth24|eth25|eth26|eth27|eth28|eth29|eth30|eth31|eth32|eth33|eth34|eth35|eth36|eth37|eth38|eth39|eth40|eth41|eth42|eth43|eth44|eth45|eth46|eth47|eth48|eth49|eth50|eth51|eth52|eth53|eth54|eth55|eth56|eth57|eth58|eth59)$', 'eth60', false],
  ['[a-z]{1000}', 'eth0', false],
  ['(a)\\1', 'aa', { error: 'error parsing regexp: invalid escape sequence: `\\1`' }],
  ['(?=eth)', 'eth0', { error: 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`' }],
  ['(?!eth)', 'eth0', { error: 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`' }],
  ['(?<=e)th', 'eth0', { error: 'error parsing regexp: invalid named capture: `(?<=e)th`' }],
  ['(?<!e)th', 'eth0', { error: 'error parsing regexp: invalid named capture: `(?<!e)th`' }],
  ['\\Z', 'eth0', { error: 'error parsing regexp: invalid escape sequence: `\\Z`' }],
  ['eth0\\Z', 'eth0', { error: 'error parsing regexp: invalid escape sequence: `\\Z`' }],
  ['[', 'eth0', { error: 'error parsing regexp: missing closing ]: `[`' }],
  ['eth[0-9', 'eth0', { error: 'error parsing regexp: missing closing ]: `[0-9`' }],
  ['(eth', 'eth0', { error: 'error parsing regexp: missing closing ): `(eth`' }],
  ['eth)', 'eth0', { error: 'error parsing regexp: unexpected ): `eth)`' }],
  ['a**', 'aaa', { error: 'error parsing regexp: invalid nested repetition operator: `**`' }],
  ['a{1001}', 'a', { error: 'error parsing regexp: invalid repeat count: `{1001}`' }],
  ['x{2}{3}', 'xxxxxx', { error: 'error parsing regexp: invalid nested repetition operator: `{2}{3}`' }],
  ['\\C', 'eth0', { error: 'error parsing regexp: invalid escape sequence: `\\C`' }],
  ['[z-a]', 'eth0', { error: 'error parsing regexp: invalid character class range: `z-a`' }],
  ['\\pX', 'eth0', { error: 'error parsing regexp: invalid character class range: `\\pX`' }],
  ['(?z)eth', 'eth0', { error: 'error parsing regexp: invalid or unsupported Perl syntax: `(?z`' }],
];

const badRegex = (p: ReturnType<typeof compileL2Policy>) => p.conditions.find((c) => c.type === CONDITION_BAD_INTERFACE_REGEX);

describe('interface patterns: herald against Go\'s regexp, row by row', () => {
  for (const [pattern, link, go] of table) {
    const shown = pattern.length > 40 ? `${pattern.slice(0, 37)}... (${pattern.length} chars)` : pattern;
    if (typeof go === 'boolean') {
      it(`"${shown}" ${go ? 'matches' : 'does not match'} ${link}`, () => {
        const p = compileL2Policy({ name: 'p', interfaces: [pattern] });
        assert.equal(p.ok, true);
        assert.deepEqual(badRegex(p), { type: CONDITION_BAD_INTERFACE_REGEX, status: 'False', reason: 'resolved', message: '' });
        assert.equal(p.matchesLink(link), go);
        // The second answer comes from the per-link cache and must be the same.
        assert.equal(p.matchesLink(link), go);
      });
    } else {
      it(`"${shown}" is rejected: ${go.error}`, () => {
        const p = compileL2Policy({ name: 'p', interfaces: ['^eth', pattern] });
        assert.equal(p.ok, false);
        assert.deepEqual(badRegex(p), {
          type: CONDITION_BAD_INTERFACE_REGEX,
          status: 'True',
          reason: 'error',
          message: `interfaces: "${pattern}": ${go.error}`,
        });
        // A policy with a rejected pattern announces nothing, also on links its other patterns match.
        assert.equal(p.matchesLink(link), false);
        assert.equal(p.matchesLink('eth0'), false);
      });
    }
  }

  it('the table has the long pattern the brief asks for (over 256 characters), both ways', () => {
    const long = table.filter(([pattern, , go]) => pattern.length > 256 && typeof go === 'boolean');
    assert.deepEqual(new Set(long.map(([, , go]) => go)), new Set([true, false]));
  });
});

describe('interface patterns: several are OR-ed, and the first rejected one is named', () => {
  it('a link matching any pattern qualifies', () => {
    const p = compileL2Policy({ name: 'p', interfaces: ['(?i)^BOND', '^eth[0-9]+$'] });
    assert.equal(p.matchesLink('Bond0'), true);
    assert.equal(p.matchesLink('eth1'), true);
    assert.equal(p.matchesLink('eth1.100'), false);
  });

  it('the condition names the first pattern RE2 rejects', () => {
    const p = compileL2Policy({ name: 'p', interfaces: ['^eth', '(a)\\1', '(?=x)'] });
    assert.equal(badRegex(p)?.message, 'interfaces: "(a)\\1": error parsing regexp: invalid escape sequence: `\\1`');
  });
});

/**
 * Where herald and Go 1.26's regexp differ. Each row states Go's answer and asserts herald's,
 * so a change in re2js (or in Go, when the table is regenerated) shows up here.
 */
describe('interface patterns: known differences from Go', () => {
  // Go's regexp/syntax has no duplicate-name error; RE2/J, and so re2js, adds one.
  it('duplicate group names: Go 1.26 compiles (?P<n>a)(?P<n>b) and matches "ab"; re2js rejects it', () => {
    const p = compileL2Policy({ name: 'p', interfaces: ['(?P<n>a)(?P<n>b)'] });
    assert.equal(p.ok, false);
    assert.equal(badRegex(p)?.message, 'interfaces: "(?P<n>a)(?P<n>b)": error parsing regexp: duplicate capture group name: `n`');
  });

  // Go appends the whole pattern in backquotes to these two errors; re2js does not. herald's
  // message names the pattern anyway, so only the repetition is missing. Go's texts below were
  // checked by running these two patterns through go1.26.8's regexp.Compile (too long for the table).
  const deep = '('.repeat(1001) + ')'.repeat(1001);
  const large = '(?:\\pL{1000})'.repeat(4000);
  for (const [what, pattern, goError] of [
    ['1001 nested groups', deep, `error parsing regexp: expression nests too deeply: \`${deep}\``],
    ['a program too large to compile', large, `error parsing regexp: expression too large: \`${large}\``],
  ] as const) {
    it(`${what}: rejected as by Go, with Go's text less its copy of the pattern`, () => {
      const p = compileL2Policy({ name: 'p', interfaces: [pattern] });
      assert.equal(p.ok, false);
      const message = badRegex(p)?.message ?? '';
      const prefix = `interfaces: "${pattern}": `;
      assert.ok(message.startsWith(prefix));
      const herald = message.slice(prefix.length);
      assert.equal(herald, goError.slice(0, goError.indexOf(': `')));
    });
  }
});
