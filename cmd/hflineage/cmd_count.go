package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

func cmdCount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("count", `count [flags] MODEL

Counts MODEL's derivatives in the database: direct children and all
descendants (each counted once, however many paths lead to it), by relation,
and the family's depth (the longest shortest path from MODEL).`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, "print one JSON object")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("count: name exactly one MODEL")
	}
	if _, err := graph.ParseModelID(pos[0]); err != nil {
		return usagef("%v", err)
	}
	st, err := openForRead(*db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := countFamily(st, pos[0])
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(c)
	}
	return writeCountTable(stdout, c)
}

// countFamily counts the family of the model named arg.
func countFamily(st *store.Store, arg string) (graph.FamilyCount, error) {
	id, err := resolve(st, arg)
	if err != nil {
		return graph.FamilyCount{}, err
	}
	var c graph.FamilyCount
	err = st.View(func(r *store.Reader) error {
		f, err := graph.LoadFamily(r, id, -1)
		if err != nil {
			return err
		}
		c = f.Count()
		return nil
	})
	return c, err
}

func writeCountTable(w io.Writer, c graph.FamilyCount) error {
	fmt.Fprintf(w, "%s\n\n", c.Model)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "relation\tchildren\tdescendants\t\n")
	for _, r := range graph.Relations {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", r, c.Children.Get(r), c.Descendants.Get(r))
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\n", c.Children.Total, c.Descendants.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nmax depth: %d\n", c.MaxDepth)
	return err
}
