package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
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
	q, done, err := openEngine(ctx, *db)
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
	width := 1
	for _, anc := range out.Ancestors {
		width = max(width, len(strconv.Itoa(anc.Distance)))
	}
	for _, anc := range pathOrder(out) {
		fmt.Fprintf(stdout, "  %*d  %s\n", width, anc.Distance, anc.Model)
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

// pathOrder lists a's ancestors along their paths: each parent of the
// model (by id), and under it, before the next parent, the ancestors that
// descend to the model through it, and so on up. An ancestor reached by
// several paths is listed once, under the child it descends through on a
// shortest path (the first such child by id), so that distances grow by
// one down each path.
func pathOrder(a query.Ancestry) []query.Ancestor {
	dist := map[graph.ModelID]int{a.Model: 0}
	for _, anc := range a.Ancestors {
		dist[anc.Model] = anc.Distance
	}
	via := map[graph.ModelID]graph.ModelID{} // an ancestor's child on a shortest path
	for _, e := range a.Edges {
		d, ok := dist[e.Parent]
		if !ok || e.Parent == a.Model {
			continue
		}
		if dc, ok := dist[e.Child]; ok && dc == d-1 {
			if v, ok := via[e.Parent]; !ok || e.Child < v {
				via[e.Parent] = e.Child
			}
		}
	}
	under := map[graph.ModelID][]query.Ancestor{}
	for _, anc := range a.Ancestors {
		under[via[anc.Model]] = append(under[via[anc.Model]], anc)
	}
	out := make([]query.Ancestor, 0, len(a.Ancestors))
	var walk func(id graph.ModelID)
	walk = func(id graph.ModelID) {
		kids := under[id]
		slices.SortFunc(kids, func(x, y query.Ancestor) int { return strings.Compare(string(x.Model), string(y.Model)) })
		for _, anc := range kids {
			out = append(out, anc)
			walk(anc.Model)
		}
	}
	walk(a.Model)
	if len(out) < len(a.Ancestors) { // edges that do not say (an answer without them): as given
		return a.Ancestors
	}
	return out
}
