package crawler_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

func patterns(t *testing.T, specs ...string) []graph.Pattern {
	t.Helper()
	var ps []graph.Pattern
	for _, s := range specs {
		p, err := crawler.CheckSeedPattern(s)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// authorListings counts the requests that listed an organisation's models.
func authorListings(srv *hubtest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.Contains(r.URL, "author=") {
			n++
		}
	}
	return n
}

// TestCrawlPatterns: patterns list their organisation's models from the
// Hub (every page of the listing) and crawl the matching ones; one that
// matches nothing, or an organisation the Hub has no model of, crawls and
// records nothing.
func TestCrawlPatterns(t *testing.T) {
	tests := []struct {
		name     string
		seeds    []string
		want     []string // the run's seeds
		listings int      // author= requests (pages)
		noMatch  string
	}{
		{"organisation", []string{"meta-llama/*"}, []string{"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct"}, 2, ""},
		{"glob", []string{"meta-llama/llama-3.1-8b-*"}, []string{"meta-llama/Llama-3.1-8B-Instruct"}, 2, ""},
		{"id and glob, once each", []string{"a/ft1", "META-LLAMA/*-Instruct", "meta-llama/Llama-3.1-8B-Instruct"},
			[]string{"a/ft1", "meta-llama/Llama-3.1-8B-Instruct"}, 2, ""},
		{"two organisations", []string{"a/*", "b/*"}, []string{"a/ft1", "a/ft2", "b/lora"}, 2 + 1, ""},
		{"no match", []string{"a/ft1", "meta-llama/Nope-*"}, nil, 2, "meta-llama/Nope-* (the Hub lists 2 models of meta-llama, none matching)"},
		{"unknown organisation", []string{"nobody/*"}, nil, 1, `the Hub lists no model of the organisation "nobody"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(smallWorld())
			srv.MaxPageSize = 1 // the listing of meta-llama's two models takes two pages
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
			stats, err := w.Crawl(context.Background(), crawler.Request{Patterns: patterns(t, tt.seeds...), Mode: "walk", Depth: -1})
			if got := authorListings(srv); got != tt.listings {
				t.Errorf("%d listing requests, want %d", got, tt.listings)
			}
			runs, rerr := st.Runs(context.Background())
			if rerr != nil {
				t.Fatal(rerr)
			}
			if tt.noMatch != "" {
				if !errors.Is(err, crawler.ErrNoMatch) || !strings.Contains(err.Error(), tt.noMatch) {
					t.Fatalf("err = %v, want ErrNoMatch with %q", err, tt.noMatch)
				}
				if len(runs) != 0 || stats.Requests != int64(tt.listings) {
					t.Errorf("%d runs recorded, %d requests counted: want none, and the listing's %d", len(runs), stats.Requests, tt.listings)
				}
				if _, ok, _ := st.CrawlJob(); ok {
					t.Error("a crawl job was left")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 1 || !slices.Equal(runs[0].Seeds, tt.want) {
				t.Fatalf("runs %+v, want one with seeds %v", runs, tt.want)
			}
			if stats.Requests != int64(srv.RequestCount()) || runs[0].Requests != stats.Requests {
				t.Errorf("stats count %d requests, the run %d, the Hub saw %d", stats.Requests, runs[0].Requests, srv.RequestCount())
			}
			for _, s := range tt.want {
				if _, err := st.Resolve(s); err != nil {
					t.Errorf("seed %s not stored: %v", s, err)
				}
			}
		})
	}
}

// TestPatternCrawlResumes: an interrupted crawl of a pattern keeps the
// pattern and the models it matched; run again, it resumes with those
// models without listing the organisation again, even if the Hub has more.
func TestPatternCrawlResumes(t *testing.T) {
	world := smallWorld()
	srv := hubtest.NewServer(world)
	defer srv.Close()
	st := memStore(t)
	w := walker(t, crawler.Config{Endpoint: srv.URL, Parallel: 1}, st)
	ctx, cancel := context.WithCancel(context.Background())
	req := crawler.Request{Patterns: patterns(t, "meta-llama/*"), Depth: -1, Mode: "walk",
		Progress: func(s crawler.Stats) {
			if s.Pages >= 3 {
				cancel()
			}
		}}
	if _, err := w.Crawl(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	job, ok, err := st.CrawlJob()
	if err != nil || !ok {
		t.Fatalf("no crawl job (%v)", err)
	}
	want := []string{"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct"}
	if !slices.Equal(job.Patterns, []string{"meta-llama/*"}) || !slices.Equal(job.Seeds, want) {
		t.Fatalf("job patterns %v seeds %v", job.Patterns, job.Seeds)
	}
	world.Add(hubtest.Model{ID: "meta-llama/Llama-4-New", Tags: []string{"transformers"}})
	listed := authorListings(srv)
	req.Progress = nil
	stats, err := w.Crawl(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Resumed || authorListings(srv) != listed {
		t.Errorf("resumed %v, %d more listings of the organisation: want a resume without", stats.Resumed, authorListings(srv)-listed)
	}
	if !slices.Equal(stats.Run.Seeds, want) {
		t.Errorf("run seeds %v, want %v", stats.Run.Seeds, want)
	}
	if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
		t.Errorf("family of Llama-3.1-8B: %+v", c)
	}
}

// TestWalkSwitchesToScanInOneRun: a walk whose family outgrows a scan's
// cost switches part way, says so, and goes on as a scan in the same run;
// stopped during the scan, the same crawl resumes the scan, and the run
// then holds the whole Hub.
func TestWalkSwitchesToScanInOneRun(t *testing.T) {
	world := familyWorld("big/Base", []int{300, 600}, 50)
	srv := hubtest.NewUnstartedServer(world)
	srv.MaxPageSize = 100 // the scan takes ten pages
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	w := walker(t, crawler.Config{Endpoint: srv.URL, HubSize: 50_000, PageSize: 100}, st) // a scan: 500 requests
	var plans []crawler.Plan
	ctx, cancel := context.WithCancel(context.Background())
	req := crawler.Request{Seeds: []graph.ModelID{"big/Base"}, Depth: -1,
		Planned: func(p crawler.Plan) { plans = append(plans, p) },
		Progress: func(s crawler.Stats) {
			if s.Run.Mode == "scan" {
				cancel()
			}
		}}
	first, err := w.Crawl(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled during the scan", err)
	}
	if len(plans) != 2 || plans[0].Mode != "walk" || !plans[1].Switched || plans[1].Mode != "scan" || first.Plan == nil || !first.Plan.Switched {
		t.Fatalf("plans %+v", plans)
	}
	t.Logf("plan: %s — %s", plans[1].Mode, plans[1].Reason)
	req.Progress = nil
	stats, err := w.Crawl(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Resumed || len(plans) != 2 {
		t.Errorf("resumed %v, %d plans: want the scan resumed without planning again", stats.Resumed, len(plans))
	}
	runs, err := st.Runs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Mode != "scan" || !runs[0].Complete || runs[0].Requests != first.Requests+stats.Requests {
		t.Errorf("runs %+v, want one complete scan of %d requests", runs, first.Requests+stats.Requests)
	}
	// Requests are counted as they go out: one the switch or the stop cut
	// may not have reached the Hub.
	if n, got := int64(srv.RequestCount()), first.Requests+stats.Requests; got < n || got > n+8 {
		t.Errorf("stats count %d+%d requests, the Hub saw %d", first.Requests, stats.Requests, n)
	}
	checkMatchesHub(t, st, world)
}

// TestScanLearnsPageSize: a Hub that gives short pages unless asked with
// full=true makes the scan try full=true once and keep it, remembered for
// the next scan and the plan; a Hub whose pages are short either way
// keeps the first form, with the page size it gives.
func TestScanLearnsPageSize(t *testing.T) {
	tests := []struct {
		name             string
		noFull, maxPage  int
		first, second    int // requests of the first scan and of the next full one
		remembered, plan int
		firstURLHasFull  bool
	}{
		{"full pages longer", 100, 1000, 1 + 1 + 1, 2, -1000, 1000, true},
		{"short either way", 0, 100, 1 + 1 + 14, 15, 100, 100, false},
		{"pages as asked", 0, 1000, 2, 2, 0, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			world := hubtest.Generate(hubtest.GenOptions{Models: 1500, Seed: 5})
			srv := hubtest.NewUnstartedServer(world)
			srv.PageSizeWithoutFull, srv.MaxPageSize = tt.noFull, tt.maxPage
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
			stats := scan(t, srv, st, crawler.ScanOptions{})
			if stats.Requests != int64(tt.first) {
				t.Errorf("first scan: %d requests, want %d", stats.Requests, tt.first)
			}
			checkMatchesHub(t, st, world)
			if n, _ := st.MaxPageSize(); n != tt.remembered {
				t.Errorf("remembered page size %d, want %d", n, tt.remembered)
			}
			before := srv.RequestCount()
			stats = scan(t, srv, st, crawler.ScanOptions{Full: true})
			if stats.Requests != int64(tt.second) {
				t.Errorf("second scan: %d requests, want %d", stats.Requests, tt.second)
			}
			if first := srv.Requests()[before].URL; strings.Contains(first, "full=true") != tt.firstURLHasFull {
				t.Errorf("second scan began with %s", first)
			}
			checkMatchesHub(t, st, world)
			p, err := w.PlanCrawl(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.PageSize != tt.plan {
				t.Errorf("plan: %d per page, want %d (%s)", p.PageSize, tt.plan, p.Reason)
			}
		})
	}
}
