package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// Every long computation stops on an ended context with its error.
func TestContextStopsComputations(t *testing.T) {
	var src mapSource
	b := NewGraphBuilder(0)
	for i := 0; i <= 3*checkEvery; i++ {
		id := ModelID(fmt.Sprintf("m/%d", i))
		b.Node(id, &Model{ID: id})
		if i > 0 {
			e := Edge{Parent: ModelID(fmt.Sprintf("m/%d", (i-1)/2)), Child: id, Relation: Finetune}
			src = append(src, e)
			b.Edge(e)
		}
	}
	g := b.Graph()
	f, err := LoadFamily(context.Background(), src, "m/0", -1)
	if err != nil || len(f.Members) != 3*checkEvery+1 {
		t.Fatalf("LoadFamily: %v, %d members", err, len(f.Members))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	model := func(ids []ModelID, fn func(Model) error) error {
		for _, id := range ids {
			if err := fn(Model{ID: id}); err != nil {
				return err
			}
		}
		return nil
	}
	ops := map[string]func() error{
		"LoadFamily":    func() error { _, err := LoadFamily(ctx, src, "m/0", -1); return err },
		"LoadAncestors": func() error { _, err := LoadAncestors(ctx, src, "m/100"); return err },
		"Graph.Family":  func() error { _, err := g.Family(ctx, "m/0", -1); return err },
		"Families":      func() error { _, err := g.Families(ctx, 1); return err },
		"ComputeStats":  func() error { _, err := ComputeStats(ctx, g, StatsOptions{}); return err },
		"ComputeStats root": func() error {
			_, err := ComputeStats(ctx, g, StatsOptions{Root: "m/0"})
			return err
		},
		"Prune":       func() error { _, err := f.Prune(ctx, 10, func(ModelID) int64 { return 0 }); return err },
		"WriteFamily": func() error { return WriteFamily(ctx, NewDOTEncoder(io.Discard, "x", "m/0"), f, model, nil) },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s on an ended context: %v", name, err)
		}
	}
}
