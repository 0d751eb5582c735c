package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

type ancestorJSON struct {
	Model    graph.ModelID `json:"model"`
	Distance int           `json:"distance"`
}

type edgeJSON struct {
	Parent   graph.ModelID  `json:"parent"`
	Child    graph.ModelID  `json:"child"`
	Relation graph.Relation `json:"relation"`
}

type ancestryJSON struct {
	Model     graph.ModelID   `json:"model"`
	Ancestors []ancestorJSON  `json:"ancestors"`
	Roots     []graph.ModelID `json:"roots"`
	Edges     []edgeJSON      `json:"edges"`
	// Complete is false when the last crawl covering the model did not
	// complete.
	Complete bool `json:"complete"`
}

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
	st, id, err := openWithModel(*db, name)
	if err != nil {
		return err
	}
	defer st.Close()
	complete, err := checkComplete(st, id, "this lineage", stderr)
	if err != nil {
		return err
	}
	var a *graph.Ancestry
	if err := st.View(func(r *store.Reader) error {
		a, err = graph.LoadAncestors(r, id)
		return err
	}); err != nil {
		return err
	}
	out := ancestryJSON{Model: id, Ancestors: []ancestorJSON{}, Roots: []graph.ModelID{}, Edges: []edgeJSON{}, Complete: complete}
	for _, anc := range a.Ancestors() {
		out.Ancestors = append(out.Ancestors, ancestorJSON{Model: anc, Distance: a.Distance[anc]})
	}
	out.Roots = append(out.Roots, a.Roots...)
	for _, e := range a.Edges {
		out.Edges = append(out.Edges, edgeJSON{e.Parent, e.Child, e.Relation})
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "%s\n", id)
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
