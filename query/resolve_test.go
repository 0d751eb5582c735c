package query_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// TestResolveLegacyIDs: a crawl stores ids the Hub listed under older
// naming rules (old--org/legacy..name); the engine answers questions about
// them (through the store and through a live snapshot), in any letter case,
// while a name that breaks today's rules and is not in the database keeps
// the strict rule's clear error.
func TestResolveLegacyIDs(t *testing.T) {
	const legacy = "old--org/legacy..name"
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.PutModel(graph.Model{ID: legacy, Downloads: 5}, nil); err != nil {
			return err
		}
		return tx.PutModel(graph.Model{ID: "kid/of-legacy"}, []graph.Parent{{ID: legacy, Relation: graph.Finetune}})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	live, err := query.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	for name, e := range map[string]*query.Engine{"store": query.New(st), "live": live} {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				want    graph.ModelID
				wantErr error
			}{
				{legacy, legacy, nil},
				{"OLD--ORG/Legacy..Name", legacy, nil},
				{"kid/of-legacy", "kid/of-legacy", nil},
				{"old--org/absent..name", "", query.ErrInvalid}, // listed-valid, not held: the strict rule speaks
				{"méta/x", "", query.ErrInvalid},
				{"a/b/c", "", query.ErrInvalid},
				{"org/absent", "", query.ErrUnknownModel},
			} {
				id, err := e.Resolve(ctx, tc.name)
				if id != tc.want || !errors.Is(err, tc.wantErr) {
					t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tc.name, id, err, tc.want, tc.wantErr)
				}
				if errors.Is(err, query.ErrInvalid) && !strings.Contains(err.Error(), "invalid model id") {
					t.Errorf("Resolve(%q): %v, want the strict rule's message", tc.name, err)
				}
			}
			c, err := e.Count(ctx, legacy)
			if err != nil || c.Descendants.Total != 1 {
				t.Errorf("Count(%q) = %+v, %v; want 1 descendant", legacy, c.Descendants, err)
			}
		})
	}
}
