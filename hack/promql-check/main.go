// Checks herald's monitoring files with Prometheus' own parsers, so a rule
// or a dashboard query that Prometheus would refuse fails the tests:
//
//	promql-check rules FILE   rule groups as Prometheus loads them (rulefmt: fields, PromQL, templates)
//	promql-check exprs        a JSON array of PromQL expressions on stdin
//
// Prints a JSON array of problems (empty when all is well) and exits 1 if any.
package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	problems := []string{}
	// As promtool configures it.
	p := parser.NewParser(parser.Options{})
	switch {
	case len(os.Args) == 3 && os.Args[1] == "rules":
		_, errs := rulefmt.ParseFile(os.Args[2], false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
	case len(os.Args) == 2 && os.Args[1] == "exprs":
		var exprs []string
		if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
			problems = append(problems, "stdin: "+err.Error())
		}
		for _, e := range exprs {
			if _, err := p.ParseExpr(e); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", e, err))
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: promql-check rules FILE | promql-check exprs < exprs.json")
		os.Exit(2)
	}
	out, _ := json.Marshal(problems)
	fmt.Println(string(out))
	if len(problems) > 0 {
		os.Exit(1)
	}
}
