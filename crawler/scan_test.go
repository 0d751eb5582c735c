package crawler_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// checkMatchesHub compares the whole store with the fake Hub's world.
func checkMatchesHub(t *testing.T, st *store.Store, w *hubtest.World) {
	t.Helper()
	g, err := st.LoadGraph(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Lineage().Check(g); err != nil {
		t.Error(err)
	}
}

func scan(t *testing.T, srv *hubtest.Server, st *store.Store, opts crawler.ScanOptions) crawler.Stats {
	t.Helper()
	stats, err := walker(t, crawler.Config{Endpoint: srv.URL}, st).Scan(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// TestScanIncrementalAndFull: a full scan (the bulk path: the database is
// empty), an incremental one after the Hub changed, and a full reconciling
// one, each matched against the Hub. The same at 200,000 models, with
// figures, is a step of scripts/bench (`go run ./scripts/bench --sizes ""
// --pacing=false --serve-size 0`).
func TestScanIncrementalAndFull(t *testing.T) {
	const n = 20000
	world := hubtest.Generate(hubtest.GenOptions{Models: n, Seed: 42})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	st := memStore(t)

	start := time.Now()
	full := scan(t, srv, st, crawler.ScanOptions{})
	if !full.Run.Bulk {
		t.Error("the first scan into an empty database did not take the bulk path")
	}
	lower := int(math.Ceil(float64(n) / 1000))
	t.Logf("full scan of %d models: %d requests (lower bound %d) in %s", n, full.Requests, lower, time.Since(start).Round(time.Millisecond))
	if limit := int64(1.05*float64(lower)) + 3; full.Requests > limit {
		t.Errorf("full scan: %d requests, want ≤ %d", full.Requests, limit)
	}
	checkMatchesHub(t, st, world)

	// The Hub gains 500 models (some children of existing ones) and loses 50.
	world.Churn(500, 50, hubtest.GeneratedUntil.Add(24*time.Hour))
	inc := scan(t, srv, st, crawler.ScanOptions{})
	if inc.Run.Bulk {
		t.Error("an incremental scan took the bulk path")
	}
	t.Logf("incremental scan: %d requests (%.1f%% of the full scan), %d models added", inc.Requests,
		100*float64(inc.Requests)/float64(full.Requests), inc.Run.ModelsAdded)
	if float64(inc.Requests) > max(0.05*float64(full.Requests), 1) {
		t.Errorf("incremental scan cost %d requests, more than 5%% of %d", inc.Requests, full.Requests)
	}
	if inc.Run.ModelsAdded != 500 {
		t.Errorf("incremental scan added %d models, want 500", inc.Run.ModelsAdded)
	}
	// Every new edge is stored.
	err := st.View(context.Background(), func(r *store.Reader) error {
		for i := 0; i < 500; i++ {
			id := graph.ModelID(fmt.Sprintf("new%d/model-%d", i%37, i))
			n := 0
			r.ParentEdges(id, func(graph.Edge) error { n++; return nil })
			if n != 1 {
				t.Errorf("%s has %d parent edges, want 1", id, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	rec := scan(t, srv, st, crawler.ScanOptions{Full: true})
	t.Logf("full reconciling scan: %d requests, removed %d models and %d edges", rec.Requests, rec.Run.ModelsRemoved, rec.Run.EdgesRemoved)
	checkMatchesHub(t, st, world)
	if rec.Run.ModelsRemoved != 50 {
		t.Errorf("removed %d models, want 50", rec.Run.ModelsRemoved)
	}
	runs, _ := st.Runs(context.Background())
	if len(runs) != 3 || !runs[2].Complete || runs[2].Mode != "scan" || !runs[2].Full {
		t.Errorf("runs: %+v", runs)
	}
	// The largest families were snapshotted after each run.
	hist, err := st.History(context.Background(), "base-org-0/Base-Model-0")
	if err != nil || len(hist) != 3 {
		t.Fatalf("history of the largest base: %v, %v", hist, err)
	}
	sort.Slice(hist, func(i, j int) bool { return hist[i].Run < hist[j].Run })
	t.Logf("base-org-0/Base-Model-0 descendants per run: %d, %d, %d", hist[0].Descendants.Total, hist[1].Descendants.Total, hist[2].Descendants.Total)
}

func TestScanFallsBackTo500(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 2600, Seed: 1})
	srv := hubtest.NewUnstartedServer(world)
	srv.MaxLimit = 500
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	stats := scan(t, srv, st, crawler.ScanOptions{})
	checkMatchesHub(t, st, world)
	if stats.Requests != 1+6 { // the refused page, then 6 pages of 500
		t.Errorf("%d requests, want 7", stats.Requests)
	}
	// The database remembers: the next full scan asks for 500 at once.
	stats = scan(t, srv, st, crawler.ScanOptions{Full: true})
	if stats.Requests != 6 {
		t.Errorf("second scan: %d requests, want 6", stats.Requests)
	}
}

func TestPlanCrawl(t *testing.T) {
	world := hubtest.Generate(hubtest.GenOptions{Models: 5000, Seed: 2})
	srv := hubtest.NewServer(world)
	defer srv.Close()
	st := memStore(t)
	w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
	p, err := w.PlanCrawl(context.Background(), []graph.ModelID{"base-org-0/Base-Model-0"})
	if err != nil {
		t.Fatal(err)
	}
	// Before any scan the Hub is assumed to be its published 3M: a walk is cheaper.
	if p.Mode != "walk" || p.ScanCost != 3030 {
		t.Errorf("plan %+v", p)
	}
	scan(t, srv, st, crawler.ScanOptions{})
	p, err = w.PlanCrawl(context.Background(), []graph.ModelID{"base-org-0/Base-Model-0"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "scan" {
		t.Errorf("after a scan of 5000 models an incremental scan should win: %+v", p)
	}
	t.Log(p.Reason)
}
