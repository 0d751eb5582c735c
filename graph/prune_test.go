package graph

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestGraphPrune prunes a whole graph of two trees, a cycle without a root,
// a self-loop and a lone model (these two without lineage: never kept).
func TestGraphPrune(t *testing.T) {
	b := NewGraphBuilder(0)
	for _, id := range strings.Fields("r1 a b r2 c d x y s lone") {
		b.Node(ModelID(id), nil)
	}
	for _, e := range edges("r1>finetune>a a>quantized>b r2>adapter>c c>finetune>d x>merge>y y>finetune>x s>finetune>s") {
		if err := b.Edge(e); err != nil {
			t.Fatal(err)
		}
	}
	g := b.Graph()
	downloads := map[ModelID]int64{"b": 100, "d": 50, "y": 40, "lone": 30, "s": 20}
	weight := func(i int) int64 { return downloads[g.ID(i)] }
	all := []ModelID{"a", "b", "c", "d", "r1", "r2", "x", "y"}
	tests := []struct {
		name string
		max  int
		keep func(Relation) bool
		want []ModelID
	}{
		{"no limit", 0, nil, all},
		{"limit above size", 100, nil, all},
		{"one: no path fits but a root's", 1, nil, []ModelID{"r1"}},
		{"heaviest with its path to its root", 3, nil, []ModelID{"a", "b", "r1"}},
		{"d's path does not fit; the cycle hangs from x", 5, nil, []ModelID{"a", "b", "r1", "x", "y"}},
		{"d's path fits at 7, the cycle no longer does, its first model does", 7, nil, []ModelID{"a", "b", "c", "d", "r1", "r2", "x"}},
		{"finetune only: models without a finetune edge are out", 0, func(r Relation) bool { return r == Finetune },
			[]ModelID{"a", "c", "d", "r1", "x", "y"}},
		{"finetune only, pruned: y is a root once merge is not followed", 3, func(r Relation) bool { return r == Finetune },
			[]ModelID{"c", "d", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := g.Prune(context.Background(), tt.max, weight, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.Members, tt.want) {
				t.Errorf("members %v, want %v", f.Members, tt.want)
			}
			in := map[ModelID]bool{}
			for _, m := range f.Members {
				in[m] = true
			}
			for _, e := range f.Edges {
				if !in[e.Parent] || !in[e.Child] || (tt.keep != nil && !tt.keep(e.Relation)) {
					t.Errorf("edge %v kept", e)
				}
			}
			for _, m := range f.Members { // every kept model has its path up kept
				for n := m; ; {
					v, ok := f.via[n]
					if !ok {
						break
					}
					if !in[v] {
						t.Errorf("%s kept without %s on its path to a root", m, v)
					}
					n = v
				}
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Prune(ctx, 3, weight, nil); err == nil {
		t.Error("ended context: no error")
	}
}
