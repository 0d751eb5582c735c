package hubtest

import (
	"errors"
	"fmt"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// Lineage is what a World declares, computed from it directly rather than
// through its answers: its public models, the edges their tags name, and
// the parents they name that it does not have (a crawl stores those as
// stubs).
type Lineage struct {
	Models   map[graph.ModelID]bool
	Edges    map[graph.Edge]bool
	Dangling map[graph.ModelID]bool
}

// Lineage returns the world's lineage as it stands.
func (w *World) Lineage() Lineage {
	l := Lineage{Models: map[graph.ModelID]bool{}, Edges: map[graph.Edge]bool{}, Dangling: map[graph.ModelID]bool{}}
	for _, id := range w.IDs() {
		m, _ := w.Get(id)
		if m.Private {
			continue
		}
		l.Models[graph.ModelID(id)] = true
		for _, p := range graph.ParentsFromTags(m.Tags) {
			l.Edges[graph.Edge{Parent: p.ID, Child: graph.ModelID(id), Relation: p.Relation}] = true
		}
	}
	for e := range l.Edges {
		if !l.Models[e.Parent] {
			l.Dangling[e.Parent] = true
		}
	}
	return l
}

// Check returns every way g (a store's whole graph, with its stubs)
// differs from l, joined, or nil: a stored model or stub the Hub does not
// declare, a count of either that differs, an edge it does not declare, a
// count of edges that differs.
func (l Lineage) Check(g *graph.Graph) error {
	var errs []error
	real, stubs := 0, 0
	for i := 0; i < g.Len(); i++ {
		m := g.Model(i)
		switch {
		case m.Stub && l.Dangling[m.ID]:
			stubs++
		case !m.Stub && l.Models[m.ID]:
			real++
		default:
			errs = append(errs, fmt.Errorf("stored %s (stub %v) is not on the Hub", m.ID, m.Stub))
		}
	}
	if real != len(l.Models) || stubs != len(l.Dangling) {
		errs = append(errs, fmt.Errorf("stored %d models and %d dangling parents; the Hub has %d and %d", real, stubs, len(l.Models), len(l.Dangling)))
	}
	n := 0
	g.Edges(func(e graph.Edge) {
		n++
		if !l.Edges[e] {
			errs = append(errs, fmt.Errorf("stored edge %v is not on the Hub", e))
		}
	})
	if n != len(l.Edges) {
		errs = append(errs, fmt.Errorf("stored %d edges, the Hub declares %d", n, len(l.Edges)))
	}
	return errors.Join(errs...)
}

// Churn changes the world as a day on the Hub does: it adds added models
// created at, named new{i%37}/model-{i}, each the child of an existing model
// (finetune, adapter, quantized in turn), and removes removed existing
// models, both picked deterministically over the ids as they were.
func (w *World) Churn(added, removed int, at time.Time) {
	ids := w.IDs()
	for i := 0; i < added; i++ {
		parent := ids[(i*7919)%len(ids)]
		w.Add(Model{ID: fmt.Sprintf("new%d/model-%d", i%37, i), CreatedAt: at, LastModified: at,
			Tags: ParentTags(Parent{ID: parent, Relation: []string{"finetune", "adapter", "quantized"}[i%3]})})
	}
	for i, n := 0, 0; n < removed; i += 97 {
		w.Remove(ids[(i*104729)%len(ids)])
		n++
	}
}
