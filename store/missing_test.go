package store

import (
	"context"
	"errors"
	"testing"

	"github.com/hflineage/hflineage/graph"
)

func TestDanglingReasons(t *testing.T) {
	// step is one run: its mode, whether it completes, and what it stores:
	// children naming their parents, and lookups the Hub answered 404.
	type step struct {
		mode     string
		complete bool
		children map[graph.ModelID][]graph.ModelID
		missing  []string
	}
	walk := func(complete bool, children map[graph.ModelID][]graph.ModelID, missing ...string) step {
		return step{"walk", complete, children, missing}
	}
	scan := func(complete bool, children map[graph.ModelID][]graph.ModelID) step {
		return step{"scan", complete, children, nil}
	}
	kid := map[graph.ModelID][]graph.ModelID{"a/child": {"base/out"}}
	tests := []struct {
		name  string
		steps []step
		want  map[graph.ModelID]graph.DanglingReason
	}{
		{"named by a walk: never asked for", []step{walk(true, kid)},
			map[graph.ModelID]graph.DanglingReason{"base/out": graph.NotLookedUp}},
		{"named by a model a complete scan stored", []step{scan(true, kid)},
			map[graph.ModelID]graph.DanglingReason{"base/out": graph.NotListedByScan}},
		{"an unfinished scan may list it later", []step{scan(false, kid)},
			map[graph.ModelID]graph.DanglingReason{"base/out": graph.NotLookedUp}},
		{"a walk that stored the child again since the scan", []step{scan(true, kid), walk(true, kid)},
			map[graph.ModelID]graph.DanglingReason{"base/out": graph.NotLookedUp}},
		{"one child of several from a complete scan is enough", []step{
			scan(true, map[graph.ModelID][]graph.ModelID{"z/child": {"base/out"}}),
			walk(true, map[graph.ModelID][]graph.ModelID{"a/child": {"base/out", "other/out"}}),
		}, map[graph.ModelID]graph.DanglingReason{"base/out": graph.NotListedByScan, "other/out": graph.NotLookedUp}},
		{"a lookup answered 404 (in another letter case)", []step{walk(true, kid), walk(true, nil, "BASE/Out")},
			map[graph.ModelID]graph.DanglingReason{"base/out": graph.LookupFailed}},
		{"a lookup outside any run", []step{scan(true, kid), {missing: []string{"base/out"}}},
			map[graph.ModelID]graph.DanglingReason{"base/out": graph.LookupFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenInMemory()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, st := range tt.steps {
				put := func(tx *Tx) error {
					for c, parents := range st.children {
						var ps []graph.Parent
						for _, p := range parents {
							ps = append(ps, graph.Parent{ID: p, Relation: graph.Finetune})
						}
						if err := tx.PutModel(graph.Model{ID: c}, ps); err != nil {
							return err
						}
					}
					for _, name := range st.missing {
						if err := tx.MarkMissing(name, 404); err != nil {
							return err
						}
					}
					return nil
				}
				if st.mode == "" {
					err = s.Update(put)
				} else {
					r, err := s.NewRun(st.mode, false, nil)
					if err != nil {
						t.Fatal(err)
					}
					err = s.UpdateRun(r, func(tx *Tx) error {
						tx.Run().Complete = st.complete
						return put(tx)
					})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			var ids []graph.ModelID
			for id := range tt.want {
				ids = append(ids, id)
			}
			got, err := s.DanglingReasons(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("%s: %q, want %q", id, got[id], want)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("answers for %d ids, asked about %d: %v", len(got), len(tt.want), got)
			}
		})
	}
}

func TestMarkMissing(t *testing.T) {
	s, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok, err := s.MissingAnswer("org/Private"); ok || err != nil {
		t.Fatalf("before: ok %v, err %v", ok, err)
	}
	r, err := s.NewRun("walk", false, []string{"org/Private"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRun(r, func(tx *Tx) error { return tx.MarkMissing("org/Private", 401) }); err != nil {
		t.Fatal(err)
	}
	m, ok, err := s.MissingAnswer("ORG/private")
	if !ok || err != nil || m.Status != 401 || m.Run != r.ID || m.At.IsZero() {
		t.Errorf("after: %+v, ok %v, err %v", m, ok, err)
	}
	// Nothing else changed: no model, no stub.
	if _, err := s.Lookup("org/Private"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup: %v, want ErrNotFound", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.DanglingReasons(ctx, []graph.ModelID{"org/Private"}); !errors.Is(err, context.Canceled) {
		t.Errorf("DanglingReasons on an ended context: %v", err)
	}
}
