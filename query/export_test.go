package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

func TestSelectionCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  query.Selection
		err  string // "" : valid
	}{
		{"depth -1 is the default", query.Selection{Format: "dot", Root: "a/b", Depth: -1}, ""},
		{"negative depth says what is accepted", query.Selection{Format: "dot", Root: "a/b", Depth: -7}, "export: --depth must be -1 (no limit) or ≥ 0, not -7"},
		{"negative max-nodes", query.Selection{Format: "dot", Depth: -1, MaxNodes: -2}, "export: --max-nodes must be 0 (no limit) or more, not -2"},
		{"depth needs a root", query.Selection{Format: "dot", Depth: 2}, "export: --depth needs --root"},
		{"max-nodes prunes the whole graph", query.Selection{Format: "csv", Depth: -1, MaxNodes: 10}, ""},
		{"legend with dot", query.Selection{Format: "dot", Depth: -1, Legend: true}, ""},
		{"legend is for dot only", query.Selection{Format: "graphml", Depth: -1, Legend: true}, "export: --legend goes with dot (svg, png and pdf always have one)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sel.Check()
			if tc.err == "" {
				if err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.err || !errors.Is(err, query.ErrInvalid) {
				t.Errorf("Check: %v, want %q (ErrInvalid)", err, tc.err)
			}
		})
	}
}

// TestDOTLegend: DOT carries the legend only when asked for.
func TestDOTLegend(t *testing.T) {
	q := query.New(family(t))
	for _, legend := range []bool{false, true} {
		var b bytes.Buffer
		sel := query.Selection{Format: "dot", Root: "meta-llama/Llama-3.1-8B", Depth: -1, Legend: legend}
		x, err := q.Write(context.Background(), sel, &b)
		if err != nil {
			t.Fatal(err)
		}
		// The legend is the graph's label, not nodes: counts stay the lineage's.
		nodes, want := strings.Count(b.String(), "[label="), x.Nodes
		if nodes != want || strings.Contains(b.String(), "legend") != legend {
			t.Errorf("legend %v: %d node statements, want %d:\n%s", legend, nodes, want, b.String())
		}
	}
}

// TestMaxNodesWholeGraph prunes the whole database of a generated world:
// at most N models, the most downloaded first, each with its path up to a
// model without a parent.
func TestMaxNodesWholeGraph(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 3000, Seed: 21})
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.NewRun("scan", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := world.IDs()
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		err := st.UpdateRun(run, func(tx *store.Tx) error {
			for _, id := range batch {
				m, _ := world.Get(id)
				gm := graph.Model{ID: graph.ModelID(m.ID), Author: m.Author, Downloads: m.Downloads, Likes: m.Likes, CreatedAt: m.CreatedAt, Tags: m.Tags}
				if err := tx.PutModel(gm, graph.ParentsFromTags(m.Tags)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	g, err := st.LoadGraph(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	parents, children := map[string][]string{}, map[string]int{}
	g.Edges(func(e graph.Edge) {
		if e.Parent != e.Child {
			parents[string(e.Child)] = append(parents[string(e.Child)], string(e.Parent))
			children[string(e.Parent)]++
		}
	})
	// The most downloaded root (children, no parent) is kept whatever N.
	heaviest := -1
	for i := 0; i < g.Len(); i++ {
		m := g.Model(i)
		if children[string(m.ID)] == 0 || len(parents[string(m.ID)]) > 0 {
			continue
		}
		if heaviest < 0 || m.Downloads > g.Model(heaviest).Downloads || (m.Downloads == g.Model(heaviest).Downloads && m.ID < g.Model(heaviest).ID) {
			heaviest = i
		}
	}

	q := query.New(st)
	for _, max := range []int{1, 40, 300} {
		var b bytes.Buffer
		x, err := q.Write(context.Background(), query.Selection{Format: "json", Depth: -1, MaxNodes: max}, &b)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Nodes []struct{ ID string }
			Links []struct{ Source, Target string }
		}
		if err := json.Unmarshal(b.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if x.Nodes != len(out.Nodes) || len(out.Nodes) > max || len(out.Nodes) < max*9/10 {
			t.Errorf("--max-nodes %d: %d nodes (reported %d)", max, len(out.Nodes), x.Nodes)
		}
		kept := map[string]bool{}
		for _, n := range out.Nodes {
			kept[n.ID] = true
		}
		hasKeptParent := map[string]bool{}
		for _, l := range out.Links {
			if !kept[l.Source] || !kept[l.Target] {
				t.Errorf("--max-nodes %d: edge %s → %s to a model left out", max, l.Source, l.Target)
			}
			if l.Source != l.Target {
				hasKeptParent[l.Target] = true
			}
		}
		for id := range kept { // each model with a parent is drawn with one (its path up)
			if len(parents[id]) > 0 && !hasKeptParent[id] && !inCycleOnly(id, parents) {
				t.Errorf("--max-nodes %d: %s kept without any of its parents %v", max, id, parents[id])
			}
			if len(parents[id]) == 0 && children[id] == 0 {
				t.Errorf("--max-nodes %d: %s kept without any lineage", max, id)
			}
		}
		if h := string(g.ID(heaviest)); !kept[h] {
			t.Errorf("--max-nodes %d: the most downloaded root %s left out", max, h)
		}
		t.Logf("--max-nodes %d: %d models, %d edges", max, len(out.Nodes), len(out.Links))
	}
}

// inCycleOnly reports whether id reaches no model without parents going up.
func inCycleOnly(id string, parents map[string][]string) bool {
	seen := map[string]bool{id: true}
	queue := []string{id}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if len(parents[n]) == 0 {
			return false
		}
		for _, p := range parents[n] {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return true
}
