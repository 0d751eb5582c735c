package crawler_test

// Tests of the crawl's numbers (distinct edges, totals across a resume) and
// of what an unfinished crawl does to the next one (issue 9).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// storedEdges counts the edges in the store, as `stats` does.
func storedEdges(t *testing.T, st *store.Store) int64 {
	t.Helper()
	g, err := st.LoadGraph(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	return int64(g.EdgeCount())
}

// mergeWorld is the small world plus merges whose parents are all in the
// family, so each merge is listed under two or three parents.
func mergeWorld() *hubtest.World {
	w := smallWorld()
	w.Add(hubtest.Model{ID: "m/merge2", Tags: hubtest.ParentTags(pt("a/ft1", "merge"), pt("b/lora", "merge"))})
	w.Add(hubtest.Model{ID: "m/merge3", Tags: hubtest.ParentTags(pt("a/ft1", "merge"), pt("a/ft2", "merge"), pt("c/gguf", "merge"))})
	w.Add(hubtest.Model{ID: "m/of-merges", Tags: hubtest.ParentTags(pt("m/merge2", "merge"), pt("m/merge3", "merge"))})
	return w
}

func TestStatsEdgesAreDistinct(t *testing.T) {
	const root = "meta-llama/Llama-3.1-8B"
	walkOnce := func(t *testing.T, srv *hubtest.Server, st *store.Store) crawler.Stats {
		stats, err := walker(t, crawler.Config{Endpoint: srv.URL}, st).Walk(context.Background(), []graph.ModelID{root}, crawler.Options{Depth: -1})
		if err != nil {
			t.Fatal(err)
		}
		return stats
	}
	tests := []struct {
		name     string
		pageSize int
		crawl    func(t *testing.T, srv *hubtest.Server, st *store.Store) crawler.Stats
	}{
		{"walk", 1000, walkOnce},
		{"walk, pages of 1", 1, walkOnce},
		{"walk again", 2, func(t *testing.T, srv *hubtest.Server, st *store.Store) crawler.Stats {
			walkOnce(t, srv, st)
			return walkOnce(t, srv, st)
		}},
		{"walk resumed", 1, func(t *testing.T, srv *hubtest.Server, st *store.Store) crawler.Stats {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
			_, err := w.Walk(ctx, []graph.ModelID{root}, crawler.Options{Depth: -1, Progress: func(s crawler.Stats) {
				if s.Pages == 8 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("first attempt: %v", err)
			}
			stats, err := w.Walk(context.Background(), []graph.ModelID{root}, crawler.Options{Depth: -1})
			if err != nil || !stats.Resumed {
				t.Fatalf("resume: %v, resumed %v", err, stats.Resumed)
			}
			return stats
		}},
		{"scan", 4, func(t *testing.T, srv *hubtest.Server, st *store.Store) crawler.Stats {
			return scan(t, srv, st, crawler.ScanOptions{})
		}},
		{"scan resumed", 3, func(t *testing.T, srv *hubtest.Server, st *store.Store) crawler.Stats {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := walker(t, crawler.Config{Endpoint: srv.URL, PageSize: 3}, st)
			_, err := w.Scan(ctx, crawler.ScanOptions{Progress: func(s crawler.Stats) {
				if s.Pages == 3 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("first attempt: %v", err)
			}
			stats, err := w.Scan(context.Background(), crawler.ScanOptions{})
			if err != nil || !stats.Resumed {
				t.Fatalf("resume: %v, resumed %v", err, stats.Resumed)
			}
			return stats
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(mergeWorld())
			srv.MaxPageSize = tt.pageSize
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			stats := tt.crawl(t, srv, st)
			if want := storedEdges(t, st); stats.Edges != want {
				t.Errorf("Stats.Edges = %d, the store has %d edges", stats.Edges, want)
			}
			wantModels := int64(16) // the family, seed included
			if strings.HasPrefix(tt.name, "scan") {
				wantModels = 17 // every public model (other/Base too)
			}
			if stats.Models != wantModels {
				t.Errorf("Stats.Models = %d, want %d", stats.Models, wantModels)
			}
		})
	}
}

// An incremental scan counts the models it listed and their edges, not the
// whole database.
func TestIncrementalScanCountsWhatItListed(t *testing.T) {
	w := hubtest.NewWorld()
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(id string, at time.Time, parents ...hubtest.Parent) {
		w.Add(hubtest.Model{ID: id, CreatedAt: at, LastModified: at, Tags: hubtest.ParentTags(parents...)})
	}
	add("base/root", day)
	for i := 1; i < 40; i++ {
		add(fmt.Sprintf("old/m%02d", i), day.Add(time.Duration(i)*24*time.Hour), pt("base/root", "finetune"))
	}
	srv := hubtest.NewUnstartedServer(w)
	srv.MaxPageSize = 5
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	first := scan(t, srv, st, crawler.ScanOptions{})
	if first.Models != 40 || first.Edges != 39 {
		t.Errorf("first scan: %d models, %d edges; want 40, 39", first.Models, first.Edges)
	}
	later := day.Add(100 * 24 * time.Hour)
	for i := 0; i < 5; i++ {
		add(fmt.Sprintf("new/m%d", i), later.Add(time.Duration(i)*time.Hour), pt("old/m01", "adapter"))
	}
	add("new/merge", later.Add(10*time.Hour), pt("old/m02", "merge"), pt("old/m03", "merge"))
	inc := scan(t, srv, st, crawler.ScanOptions{})
	// Pages of 5, newest first: the 6 new models and 4 old ones.
	if inc.Models != 10 || inc.Edges != 11 || inc.Pages != 2 {
		t.Errorf("incremental scan: %d models, %d edges, %d pages; want 10, 11, 2", inc.Models, inc.Edges, inc.Pages)
	}
	if inc.Run.ModelsAdded != 6 || inc.Run.EdgesAdded != 7 {
		t.Errorf("incremental run added %d models, %d edges; want 6, 7", inc.Run.ModelsAdded, inc.Run.EdgesAdded)
	}
}

func TestUnfinishedCrawlWithoutProgressIsAbandoned(t *testing.T) {
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	// A wrong endpoint that answers, but never a page (one nothing
	// listens on records no crawl at all: see TestUnreachableHubFailsFast;
	// nor does a crawl stopped before it stored anything:
	// TestCanceledBeforeAnswerRecordsNoRun).
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer dead.Close()
	tests := []struct {
		name  string
		first func(t *testing.T, st *store.Store) error
	}{
		{"scan of a wrong endpoint that answers", func(t *testing.T, st *store.Store) error {
			_, err := walker(t, crawler.Config{Endpoint: dead.URL, MaxRetries: 1}, st).Scan(context.Background(), crawler.ScanOptions{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memStore(t)
			if err := tt.first(t, st); err == nil {
				t.Fatal("first crawl succeeded")
			}
			if _, ok, _ := st.CrawlJob(); !ok {
				t.Fatal("the first crawl left no unfinished state: the test tests nothing")
			}
			var warns warnings
			stats, err := walker(t, crawler.Config{Endpoint: srv.URL}, st).Walk(context.Background(), []graph.ModelID{"a/ft1"}, crawler.Options{Depth: 1, Warn: warns.add})
			if err != nil {
				t.Fatalf("second crawl: %v", err)
			}
			if stats.Resumed || stats.Models != 3 {
				t.Errorf("second crawl: resumed %v, %d models", stats.Resumed, stats.Models)
			}
			if len(warns.msgs) != 1 || !strings.Contains(warns.msgs[0], "abandoned") {
				t.Errorf("warnings %q, want one noting the abandoned crawl", warns.msgs)
			}
		})
	}
}

func TestUnfinishedCrawlMismatchNamesParameter(t *testing.T) {
	srv := hubtest.NewUnstartedServer(smallWorld())
	srv.MaxPageSize = 1
	srv.Start()
	defer srv.Close()
	other := hubtest.NewServer(smallWorld())
	defer other.Close()
	st := memStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := walker(t, crawler.Config{Endpoint: srv.URL}, st).Walk(ctx, []graph.ModelID{"a/ft1"}, crawler.Options{Depth: 2, Progress: func(s crawler.Stats) {
		if s.Pages == 2 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first walk: %v", err)
	}
	tests := []struct {
		name string
		run  func(w *crawler.Walker) error
		want string
	}{
		{"depth", func(w *crawler.Walker) error {
			_, err := w.Walk(context.Background(), []graph.ModelID{"a/ft1"}, crawler.Options{Depth: -1})
			return err
		}, "--depth: unfinished crawl has 2, this one -1"},
		{"seeds", func(w *crawler.Walker) error {
			_, err := w.Walk(context.Background(), []graph.ModelID{"b/lora", "a/ft1"}, crawler.Options{Depth: 2})
			return err
		}, "seeds: unfinished crawl has a/ft1, this one b/lora a/ft1"},
		{"mode", func(w *crawler.Walker) error {
			_, err := w.Scan(context.Background(), crawler.ScanOptions{})
			return err
		}, "mode: unfinished crawl is a walk, this one a scan"},
		{"endpoint", nil, "endpoint: " + srv.URL + " vs " + other.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := srv.URL
			run := tt.run
			if run == nil {
				endpoint = other.URL
				run = func(w *crawler.Walker) error {
					_, err := w.Walk(context.Background(), []graph.ModelID{"a/ft1"}, crawler.Options{Depth: 2})
					return err
				}
			}
			err := run(walker(t, crawler.Config{Endpoint: endpoint}, st))
			if !errors.Is(err, crawler.ErrJobMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant ErrJobMismatch naming %q", err, tt.want)
			}
		})
	}
	// The same crawl still resumes.
	stats, err := walker(t, crawler.Config{Endpoint: srv.URL}, st).Walk(context.Background(), []graph.ModelID{"a/ft1"}, crawler.Options{Depth: 2})
	if err != nil || !stats.Resumed {
		t.Fatalf("resume: %v, resumed %v", err, stats.Resumed)
	}
	if stats.Models != 3 || stats.Edges != storedEdges(t, st) {
		t.Errorf("after resume: %d models, %d edges; store has %d edges", stats.Models, stats.Edges, storedEdges(t, st))
	}
}
