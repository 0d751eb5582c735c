package crawler_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// familyEdges returns the stored edges of root's family, sorted.
func familyEdges(t *testing.T, st *store.Store, root graph.ModelID) []graph.Edge {
	t.Helper()
	f, err := st.Family(context.Background(), root, -1)
	if err != nil {
		t.Fatal(err)
	}
	return f.Edges
}

func TestRewalkRemovesLeftMembers(t *testing.T) {
	const root = "meta-llama/Llama-3.1-8B"
	tests := []struct {
		name   string
		change func(w *hubtest.World)
		fault  string // a path the Hub fails (503) for during the second walk
		// The second run's changes.
		removed      []graph.ModelID
		edgesRemoved []graph.Edge
		edgesAdded   []graph.Edge
		warn         string // a warning the second walk must give
	}{
		{
			name:         "removed from the Hub",
			change:       func(w *hubtest.World) { w.Remove("c/gguf") },
			removed:      []graph.ModelID{"c/gguf"},
			edgesRemoved: []graph.Edge{{Parent: "a/ft1", Child: "c/gguf", Relation: graph.Quantized}},
		},
		{
			name: "re-parented out of the family",
			change: func(w *hubtest.World) {
				w.Add(hubtest.Model{ID: "e/legacy", Tags: hubtest.ParentTags(pt("other/Base", "finetune"))})
			},
			edgesRemoved: []graph.Edge{{Parent: "a/ft2", Child: "e/legacy", Relation: graph.Finetune}},
			edgesAdded:   []graph.Edge{{Parent: "other/Base", Child: "e/legacy", Relation: graph.Finetune}},
		},
		{
			name:    "removed, its child left behind",
			change:  func(w *hubtest.World) { w.Remove("g/self") },
			removed: []graph.ModelID{"g/self"},
			edgesRemoved: []graph.Edge{
				{Parent: "b/lora", Child: "g/self", Relation: graph.Finetune},
				{Parent: "g/self", Child: "g/self", Relation: graph.Finetune},
			},
		},
		{
			name: "renamed",
			change: func(w *hubtest.World) {
				m, _ := w.Get("c/gguf")
				w.Remove("c/gguf")
				m.ID = "c/gguf-v2"
				w.Add(m)
				w.Rename("c/gguf", "c/gguf-v2")
			},
			removed:      []graph.ModelID{"c/gguf"},
			edgesRemoved: []graph.Edge{{Parent: "a/ft1", Child: "c/gguf", Relation: graph.Quantized}},
			edgesAdded:   []graph.Edge{{Parent: "a/ft1", Child: "c/gguf-v2", Relation: graph.Quantized}},
		},
		{
			name: "lookup fails: kept as it was",
			change: func(w *hubtest.World) {
				w.Add(hubtest.Model{ID: "e/legacy", Tags: hubtest.ParentTags(pt("other/Base", "finetune"))})
			},
			fault: "/api/models/e/legacy",
			warn:  "e/legacy left the family but could not be looked up",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			world := smallWorld()
			srv := hubtest.NewUnstartedServer(world)
			srv.MaxPageSize = 2
			srv.Fault = func(_ int, r *http.Request) hubtest.Fault {
				if tt.fault != "" && r.URL.Path == tt.fault {
					return hubtest.Status503
				}
				return hubtest.NoFault
			}
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			w := walker(t, crawler.Config{Endpoint: srv.URL, MaxRetries: 1}, st)
			if _, err := w.Walk(context.Background(), []graph.ModelID{root}, crawler.Options{Depth: -1}); err != nil {
				t.Fatal(err)
			}
			before := count(t, st, root)
			tt.change(world)
			var warns warnings
			before0 := srv.RequestCount()
			stats, err := w.Walk(context.Background(), []graph.ModelID{root}, crawler.Options{Depth: -1, Warn: warns.add})
			if err != nil {
				t.Fatal(err)
			}
			if got := int64(srv.RequestCount() - before0); got != stats.Requests {
				t.Errorf("server saw %d requests, the walk counted %d", got, stats.Requests)
			}
			if tt.warn != "" {
				if len(warns.matching(tt.warn)) != 1 {
					t.Errorf("warnings %q, want one with %q", warns.msgs, tt.warn)
				}
				if got := count(t, st, root); got != before {
					t.Errorf("family changed to %+v although the lookup failed", got)
				}
				return
			}
			if len(warns.msgs) > 0 {
				t.Errorf("warnings: %q", warns.msgs)
			}

			// The family is what a fresh walk of the changed Hub stores.
			fresh := memStore(t)
			if _, err := walker(t, crawler.Config{Endpoint: srv.URL}, fresh).Walk(context.Background(), []graph.ModelID{root}, crawler.Options{Depth: -1}); err != nil {
				t.Fatal(err)
			}
			if got, want := count(t, st, root), count(t, fresh, root); got != want {
				t.Errorf("family after the re-walk %+v\nfresh walk             %+v", got, want)
			}
			if got, want := familyEdges(t, st, root), familyEdges(t, fresh, root); !slices.Equal(got, want) {
				t.Errorf("family edges %v\nfresh walk   %v", got, want)
			}
			// The run's change log says what happened.
			run := stats.Run
			if run.ModelsRemoved != int64(len(tt.removed)) || run.EdgesRemoved != int64(len(tt.edgesRemoved)) ||
				run.EdgesAdded != int64(len(tt.edgesAdded)) {
				t.Errorf("run: -%d models, -%d/+%d edges; want -%d, -%d/+%d", run.ModelsRemoved, run.EdgesRemoved, run.EdgesAdded,
					len(tt.removed), len(tt.edgesRemoved), len(tt.edgesAdded))
			}
			ch, err := st.Changes(context.Background(), run.ID, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.ModelsRemoved, tt.removed) || !slices.Equal(ch.EdgesRemoved, tt.edgesRemoved) || !slices.Equal(ch.EdgesAdded, tt.edgesAdded) {
				t.Errorf("changes: -%v -%v +%v\nwant     -%v -%v +%v", ch.ModelsRemoved, ch.EdgesRemoved, ch.EdgesAdded,
					tt.removed, tt.edgesRemoved, tt.edgesAdded)
			}
			for _, id := range tt.removed {
				st.View(context.Background(), func(r *store.Reader) error {
					if m, err := r.Model(id); err == nil && !m.Stub {
						t.Errorf("%s still stored: %+v", id, m)
					}
					return nil
				})
			}
			if strings.HasPrefix(tt.name, "renamed") {
				if id, err := st.Resolve("c/gguf"); err != nil || id != "c/gguf-v2" {
					t.Errorf("old id resolves to %q, %v", id, err)
				}
			}
		})
	}
}
