package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

func cmdAncestors(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ancestors", `ancestors [flags] MODEL

Lists MODEL's ancestors in the database, nearest first, up to the base
models that declare no parent (its roots). Only what crawls have stored is
known: crawl the roots' families to see every path. When the last crawl
covering MODEL did not complete, a warning on stderr says so (and "complete"
is false in --json).`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print one JSON object: {"model","ancestors":[{"model","distance"}],"roots","edges":[{"parent","child","relation"}],"complete"}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneModel("ancestors", pos)
	if err != nil {
		return err
	}
	q, done, err := openEngine(*db)
	if err != nil {
		return err
	}
	defer done()
	out, err := q.Ancestors(ctx, name)
	if err != nil {
		return queryError(err)
	}
	if out.Incomplete != nil {
		fmt.Fprintln(stderr, out.Incomplete.Warning("this lineage"))
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "%s\n", out.Model)
	if len(out.Ancestors) == 0 {
		_, err := fmt.Fprintln(stdout, "  no ancestors in the database (a base model, or its parents were never crawled)")
		return err
	}
	for _, anc := range out.Ancestors {
		fmt.Fprintf(stdout, "  %d  %s\n", anc.Distance, anc.Model)
	}
	fmt.Fprintln(stdout, "edges:")
	for _, e := range out.Edges {
		fmt.Fprintf(stdout, "  %s -[%s]-> %s\n", e.Parent, e.Relation, e.Child)
	}
	fmt.Fprintf(stdout, "roots:")
	if len(out.Roots) == 0 {
		fmt.Fprint(stdout, " none (the declared lineage is cyclic)")
	}
	for _, r := range out.Roots {
		fmt.Fprintf(stdout, " %s", r)
	}
	_, err = fmt.Fprintln(stdout)
	return err
}
