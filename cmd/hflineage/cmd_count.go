package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hflineage/hflineage/graph"
)

func cmdCount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("count", `count [flags] MODEL

Counts MODEL's derivatives in the database: direct children and all
descendants (each counted once, however many paths lead to it), by relation,
and the family's depth (the longest shortest path from MODEL). When the last
crawl of the family did not complete, a warning on stderr says so (and
"complete" is false in --json).`, stderr)
	db := dbFlag(fs)
	jsonOut := fs.Bool("json", false, `print one JSON object: {"model","children","descendants","max_depth","complete"}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneModel("count", pos)
	if err != nil {
		return err
	}
	q, done, err := openEngine(*db)
	if err != nil {
		return err
	}
	defer done()
	c, err := q.Count(ctx, name)
	if err != nil {
		return queryError(err)
	}
	if c.Incomplete != nil {
		fmt.Fprintln(stderr, c.Incomplete.Warning("these numbers"))
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(c)
	}
	return writeCountTable(stdout, c.FamilyCount)
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
