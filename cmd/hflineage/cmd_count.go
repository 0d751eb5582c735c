package main

import (
	"context"
	"encoding/json"
	"errors"
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
	name, err := oneModel("count", pos)
	if err != nil {
		return err
	}
	st, id, err := openWithModel(*db, name)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := countFamily(st, id)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(c)
	}
	return writeCountTable(stdout, c)
}

// seekBudget is how many members a family may have before counting it
// from one scan of all edges is cheaper than a seek per member.
const seekBudget = 4096

var errOverBudget = errors.New("family larger than the seek budget")

// budgeted is an EdgeSource that gives up after a number of lookups.
type budgeted struct {
	src  graph.EdgeSource
	left int
}

func (b *budgeted) ChildEdges(id graph.ModelID, fn func(graph.Edge) error) error {
	if b.left--; b.left < 0 {
		return errOverBudget
	}
	return b.src.ChildEdges(id, fn)
}

// countFamily counts id's family: small families by walking the stored
// edges from it, large ones from the cached graph of every edge.
func countFamily(st *store.Store, id graph.ModelID) (graph.FamilyCount, error) {
	var c graph.FamilyCount
	err := st.View(func(r *store.Reader) error {
		f, err := graph.LoadFamily(&budgeted{src: r, left: seekBudget}, id, -1)
		if err != nil {
			return err
		}
		c = f.Count()
		return nil
	})
	if !errors.Is(err, errOverBudget) {
		return c, err
	}
	g, err := st.CachedEdgeGraph()
	if err != nil {
		return c, err
	}
	i, ok := g.Index(id)
	if !ok {
		return graph.FamilyCount{Model: id}, nil
	}
	return g.NewWalker().Count(i, nil), nil
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
