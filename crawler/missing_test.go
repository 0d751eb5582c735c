package crawler_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// A walk records the Hub's 401s and 404s: for a seed it cannot have, and
// for a family member that left and is gone, which stays a stub (a
// dangling parent) while its child names it. Stats tells these parents
// from those merely outside the family, never asked for.
func TestWalkRecordsMissingAtHub(t *testing.T) {
	const root = "meta-llama/Llama-3.1-8B"
	world := smallWorld()
	srv := hubtest.NewServer(world)
	defer srv.Close()
	st := memStore(t)
	_, err := crawl(t, srv, st, []string{root, "nobody/none", "z/private"}, crawler.Options{Depth: -1})
	var se *crawler.SeedError
	if !errors.As(err, &se) || len(se.Errs) != 2 {
		t.Fatalf("walk: %v, want two seeds skipped", err)
	}
	for _, name := range []string{"nobody/none", "z/private"} {
		m, ok, err := st.MissingAnswer(name)
		if !ok || err != nil || m.Status != http.StatusUnauthorized || m.Run != 1 {
			t.Errorf("%s: %+v, ok %v, err %v; want 401 in run 1", name, m, ok, err)
		}
	}
	if _, ok, _ := st.MissingAnswer(root); ok {
		t.Errorf("%s recorded missing", root)
	}

	// g/self leaves the Hub; h/back still names it.
	world.Remove("g/self")
	if _, err := crawl(t, srv, st, []string{root}, crawler.Options{Depth: -1}); err != nil {
		t.Fatal(err)
	}
	if m, ok, err := st.MissingAnswer("g/self"); !ok || err != nil || m.Run != 2 {
		t.Errorf("g/self: %+v, ok %v, err %v; want recorded in run 2", m, ok, err)
	}
	got, err := st.DanglingReasons(context.Background(), []graph.ModelID{"g/self", "other/Base"})
	if err != nil {
		t.Fatal(err)
	}
	// other/Base, d/merge's co-parent, is on the Hub: outside the family.
	if got["g/self"] != graph.LookupFailed || got["other/Base"] != graph.NotLookedUp {
		t.Errorf("reasons %v", got)
	}
}
