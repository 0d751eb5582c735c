package query_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// TestSearchSaysMore: a search that matches more models than its limit
// says so (more), with the same first results as before; one that lists
// every match does not.
func TestSearchSaysMore(t *testing.T) {
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(func(tx *store.Tx) error {
		for i := range 12 {
			if err := tx.PutModel(graph.Model{ID: graph.ModelID(fmt.Sprintf("org/match-%02d", i)), Downloads: int64(100 - i)}, nil); err != nil {
				return err
			}
		}
		return tx.PutModel(graph.Model{ID: "org/other"}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	e := query.New(st)
	for _, tc := range []struct {
		limit int
		n     int
		more  bool
	}{{10, 10, true}, {11, 11, true}, {12, 12, false}, {100, 12, false}} {
		h, err := e.Search(context.Background(), "match", tc.limit)
		if err != nil || len(h.Results) != tc.n || h.More != tc.more || h.Results[0].ID != "org/match-00" {
			t.Errorf("limit %d: %d results, more %v, %v; want %d, more %v", tc.limit, len(h.Results), h.More, err, tc.n, tc.more)
		}
	}
}
