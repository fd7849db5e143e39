// Prints the rows of test/unit/core/l2/interface-patterns.test.ts: for each
// (pattern, link name), what Go's regexp says, which is what Cilium does with
// CiliumL2AnnouncementPolicy.spec.interfaces (regexp.Compile, then
// MatchString). Run it with `go run .` here and paste its output into the
// table when a case is added or Go changes.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"strings"
)

// alternation is a pattern over 256 characters: ^(eth0|eth1|…|eth59)$.
func alternation() string {
	names := make([]string, 60)
	for i := range names {
		names[i] = fmt.Sprintf("eth%d", i)
	}
	return "^(" + strings.Join(names, "|") + ")$"
}

var cases = [][2]string{
	{"^eth", "eth0"},
	{"^eth", "veth0"},
	{"(?i)^ETH", "eth0"},
	{"(?i)^ETH", "Eth1"},
	{"(?i)^ETH", "veth0"},
	{`(?P<n>eth)\d`, "eth0"},
	{`(?P<n>eth)\d`, "eth"},
	{`(?<n>eth)\d`, "eth0"},
	{`eth0\z`, "eth0"},
	{`eth0\z`, "eth0.100"},
	{`\Aeth`, "veth0"},
	{"[[:alpha:]]+0", "eth0"},
	{"[[:alpha:]]+0", "0"},
	{"[[:^alpha:]]", "eth"},
	{"^(eth|ens)[0-9]+$", "ens3"},
	{"^(eth|ens)[0-9]+$", "eth10"},
	{"^(eth|ens)[0-9]+$", "enp3s0"},
	{"^(eth|ens)[0-9]+$", "eth0.100"},
	{"", "eth0"},
	{"", "lo"},
	{"eth.", "eth0"},
	{"eth.", "eth"},
	{"eth.", "veth1"},
	{"eth0", "veth0abc"},
	{"ETH", "eth0"},
	{"^bond0\\.100$", "bond0.100"},
	{"^bond0\\.100$", "bond0x100"},
	{"^bond0.100$", "bond0x100"},
	{`\Qbond0.100\E`, "bond0x100"},
	{"^eth.$", "ethé"},
	{"^eth.$", "eth😀"},
	{`^网卡\d$`, "网卡0"},
	{`^\pL+\d$`, "ethé0"},
	{`^\p{Greek}+`, "αβγ0"},
	{"(?i)^ÉTH", "éth0"},
	{`[^a-z]$`, "ethé"},
	{`\beth0\b`, "veth0"},
	{"(?U)^e.+?$", "eth0"},
	{"eth|", "lo"},
	{alternation(), "eth59"},
	{alternation(), "eth60"},
	{`[a-z]{1000}`, "eth0"},
	{`(a)\1`, "aa"},
	{"(?=eth)", "eth0"},
	{"(?!eth)", "eth0"},
	{"(?<=e)th", "eth0"},
	{"(?<!e)th", "eth0"},
	{`\Z`, "eth0"},
	{`eth0\Z`, "eth0"},
	{"[", "eth0"},
	{"eth[0-9", "eth0"},
	{"(eth", "eth0"},
	{"eth)", "eth0"},
	{"a**", "aaa"},
	{"a{1001}", "a"},
	{"x{2}{3}", "xxxxxx"},
	{`\C`, "eth0"},
	{"[z-a]", "eth0"},
	{`\pX`, "eth0"},
	{"(?z)eth", "eth0"},
}

func literal(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	// A JSON string is a JavaScript string literal; single quotes as the repo writes them.
	inner := strings.TrimSuffix(b.String(), "\n")
	inner = inner[1 : len(inner)-1]
	inner = strings.ReplaceAll(strings.ReplaceAll(inner, `\"`, `"`), "'", `\'`)
	return "'" + inner + "'"
}

func main() {
	fmt.Printf("  // Produced by %s's regexp (hack/interface-patterns).\n", runtime.Version())
	for _, c := range cases {
		var got string
		if re, err := regexp.Compile(c[0]); err != nil {
			got = "{ error: " + literal(err.Error()) + " }"
		} else {
			got = fmt.Sprint(re.MatchString(c[1]))
		}
		fmt.Printf("  [%s, %s, %s],\n", literal(c[0]), literal(c[1]), got)
	}
}
