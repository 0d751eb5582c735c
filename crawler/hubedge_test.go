package crawler_test

// Tests of what the real Hub does at its edges (issue 9): gated and failing
// seeds, a token message only when a token was sent, resuming after a seed
// failed.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// faultOn answers f to every request for path, and nothing else.
func faultOn(path string, f hubtest.Fault) func(int, *http.Request) hubtest.Fault {
	return func(_ int, r *http.Request) hubtest.Fault {
		if r.URL.Path == path {
			return f
		}
		return hubtest.NoFault
	}
}

func TestSeedFailureSkipsOnlyThatSeed(t *testing.T) {
	tests := []struct {
		name  string
		fault hubtest.Fault
		want  error // the skipped seed's error wraps it (nil: any)
	}{
		{"gated 401", hubtest.GatedRepo, crawler.ErrGated},
		{"gated 403", hubtest.Forbidden, crawler.ErrGated},
		{"503 after retries", hubtest.Status503, nil},
		{"500 after retries", hubtest.Status500, nil},
		{"never JSON", hubtest.Garbage, crawler.ErrBadResponse},
		{"connection always dropped", hubtest.Drop, nil},
		{"missing", hubtest.BadCredentials, crawler.ErrNotFound}, // no token sent: not the token's fault
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(smallWorld())
			srv.Fault = faultOn("/api/models/b/lora", tt.fault)
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			w := walker(t, crawler.Config{Endpoint: srv.URL, MaxRetries: 1}, st)
			stats, err := w.Walk(context.Background(), []graph.ModelID{"b/lora", "a/ft1"}, crawler.Options{Depth: -1})
			var se *crawler.SeedError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SeedError", err)
			}
			if len(se.Errs) != 1 || se.Errs["b/lora"] == nil {
				t.Fatalf("seed errors %v, want b/lora only", se.Errs)
			}
			if tt.want != nil && !errors.Is(se.Errs["b/lora"], tt.want) {
				t.Errorf("b/lora: %v, want %v", se.Errs["b/lora"], tt.want)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "b/lora") {
				t.Errorf("message %q: want one line naming b/lora", msg)
			}
			if c := count(t, st, "a/ft1"); c.Descendants.Total != 2 {
				t.Errorf("a/ft1 not crawled: %+v", c)
			}
			if !stats.Run.Complete {
				t.Error("run not complete: the other seed's family was crawled in full")
			}
			if job, ok, _ := st.CrawlJob(); ok {
				t.Errorf("crawl state left behind: %+v", job)
			}
		})
	}
}

func TestPlanCrawlSurvivesFailingSeed(t *testing.T) {
	tests := []struct {
		name  string
		fault hubtest.Fault
		note  string
	}{
		{"forbidden", hubtest.Forbidden, "(1 seed not estimated)"},
		{"gated 401", hubtest.GatedRepo, ""}, // ChildrenCount takes any 401 for a missing model
		{"server error", hubtest.Status502, "(1 seed not estimated)"},
		{"garbage", hubtest.Garbage, "(1 seed not estimated)"},
		{"missing", hubtest.NoFault, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(smallWorld())
			srv.Fault = faultOn("/api/models/b/lora", tt.fault)
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			w := walker(t, crawler.Config{Endpoint: srv.URL, MaxRetries: 1}, st)
			seeds := []graph.ModelID{"b/lora", "a/ft1"}
			if tt.fault == hubtest.NoFault {
				seeds[0] = "nobody/nothing"
			}
			p, err := w.PlanCrawl(context.Background(), seeds)
			if err != nil {
				t.Fatalf("plan failed: %v", err)
			}
			if p.Mode != "walk" {
				t.Errorf("plan %+v, want a walk", p)
			}
			if tt.note != "" && !strings.HasSuffix(p.Reason, tt.note) || tt.note == "" && strings.Contains(p.Reason, "not estimated") {
				t.Errorf("reason %q, want note %q", p.Reason, tt.note)
			}
		})
	}
}

func TestBadTokenOnlyWhenSent(t *testing.T) {
	for _, token := range []string{"", "hf_wrong"} {
		t.Run("token="+token, func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(smallWorld())
			srv.Fault = faultOn("/api/models/b/lora", hubtest.BadCredentials)
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			w := walker(t, crawler.Config{Endpoint: srv.URL, Token: token}, st)
			_, err := w.Walk(context.Background(), []graph.ModelID{"b/lora", "a/ft1"}, crawler.Options{Depth: -1})
			if token == "" {
				var se *crawler.SeedError
				if errors.Is(err, crawler.ErrBadToken) || !errors.As(err, &se) || !errors.Is(se.Errs["b/lora"], crawler.ErrNotFound) {
					t.Errorf("no token sent: err = %v, want b/lora not found", err)
				}
				return
			}
			if !errors.Is(err, crawler.ErrBadToken) {
				t.Errorf("token sent: err = %v, want ErrBadToken", err)
			}
		})
	}
}

// A first walk fails on one seed and is interrupted; the second resumes,
// resolving the other seed from the database while the first one's answer
// arrives (run with -race).
func TestResumeAfterSeedFailure(t *testing.T) {
	srv := hubtest.NewUnstartedServer(smallWorld())
	var mu sync.Mutex
	forbidden := true
	srv.Fault = func(_ int, r *http.Request) hubtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if forbidden && r.URL.Path == "/api/models/b/lora" {
			return hubtest.Forbidden
		}
		return hubtest.NoFault
	}
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
	seeds := []graph.ModelID{"b/lora", "a/ft1"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := w.Walk(ctx, seeds, crawler.Options{Depth: -1, Progress: func(s crawler.Stats) {
		if s.Pages >= 1 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first walk: %v, want context.Canceled", err)
	}
	if _, err := st.Resolve("a/ft1"); err != nil {
		t.Fatalf("a/ft1 not stored by the first walk: %v", err)
	}
	mu.Lock()
	forbidden = false
	mu.Unlock()
	stats, err := w.Walk(context.Background(), seeds, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Resumed {
		t.Error("not resumed")
	}
	if c := count(t, st, "b/lora"); c.Descendants.Total != 2 {
		t.Errorf("b/lora after resume: %+v", c)
	}
	if c := count(t, st, "a/ft1"); c.Descendants.Total != 2 {
		t.Errorf("a/ft1 after resume: %+v", c)
	}
}
