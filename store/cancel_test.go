package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

// A scan notices its context ending within checkEvery keys, and every
// long operation refuses to start on an ended one.
func TestContextStopsReads(t *testing.T) {
	s := memStore(t)
	var ms []graph.Model
	var es []graph.Edge
	ms = append(ms, graph.Model{ID: "root"})
	for i := 0; i < 3*checkEvery; i++ {
		id := graph.ModelID(fmt.Sprintf("m/%05d", i))
		ms = append(ms, graph.Model{ID: id})
		es = append(es, edge("root", id, graph.Finetune))
	}
	put(t, s, ms, es)

	scans := map[string]func(r *Reader, fn func()) error{
		"Models": func(r *Reader, fn func()) error {
			return r.Models(func(graph.Model) error { fn(); return nil })
		},
		"Edges": func(r *Reader, fn func()) error {
			return r.Edges(func(graph.Edge) error { fn(); return nil })
		},
		"ChildEdges": func(r *Reader, fn func()) error {
			return r.ChildEdges("root", func(graph.Edge) error { fn(); return nil })
		},
		"ModelsOf": func(r *Reader, fn func()) error {
			ids := make([]graph.ModelID, len(ms))
			for i, m := range ms {
				ids[i] = m.ID
			}
			return r.ModelsOf(ids, func(graph.Model) error { fn(); return nil })
		},
	}
	for name, scan := range scans {
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		err := s.View(ctx, func(r *Reader) error {
			return scan(r, func() {
				if seen++; seen == 10 {
					cancel()
				}
			})
		})
		if !errors.Is(err, context.Canceled) || seen > 10+checkEvery {
			t.Errorf("%s: canceled after 10 of %d: %v after %d", name, len(ms), err, seen)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ops := map[string]func() error{
		"View":             func() error { return s.View(ctx, func(*Reader) error { return nil }) },
		"LoadGraph":        func() error { _, err := s.LoadGraph(ctx, true); return err },
		"EdgeGraph":        func() error { _, err := s.EdgeGraph(ctx); return err },
		"VersionedGraph":   func() error { _, _, err := s.VersionedGraph(ctx); return err },
		"CachedEdgeGraph":  func() error { _, err := s.CachedEdgeGraph(ctx); return err },
		"RefreshCaches":    func() error { return s.RefreshCaches(ctx, true) },
		"Family":           func() error { _, err := s.Family(ctx, "root", -1); return err },
		"FamilyCount":      func() error { _, err := s.FamilyCount(ctx, "root"); return err },
		"Runs":             func() error { _, err := s.Runs(ctx); return err },
		"History":          func() error { _, err := s.History(ctx, "root"); return err },
		"Changes":          func() error { _, err := s.Changes(ctx, 1, nil, nil); return err },
		"FamilyComplete":   func() error { _, _, err := s.FamilyComplete(ctx, "root"); return err },
		"DatabaseComplete": func() error { _, _, err := s.DatabaseComplete(ctx); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s on an ended context: %v", name, err)
		}
	}
}
