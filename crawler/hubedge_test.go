package crawler_test

// Tests of what the real Hub does at its edges (issue 9): gated and failing
// seeds, a token message only when a token was sent, resuming after a seed
// failed, odd ids in listings, empty pages that go on, next links to
// another host.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
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

// warnings collects what a crawl warns of.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, s)
}

func (w *warnings) matching(sub string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.msgs {
		if strings.Contains(m, sub) {
			out = append(out, m)
		}
	}
	return out
}

func stored(t *testing.T, st *store.Store, id string) bool {
	t.Helper()
	found := false
	st.View(context.Background(), func(r *store.Reader) error {
		m, err := r.Model(graph.ModelID(id))
		found = err == nil && !m.Stub
		return nil
	})
	return found
}

func TestMalformedListedIDSkipped(t *testing.T) {
	long := "old/" + strings.Repeat("x", 97)
	tests := []struct {
		id   string
		keep bool // stored (an odd but safe id) or skipped with a warning
	}{
		{long, true},
		{"a--b", true},
		{"old/-dash.", true},
		{"bad/con\x01trol", false},
		{"bad/extra/slash", false},
		{"bad/zero\u200bwidth", false},
		{"bad/" + strings.Repeat("y", 300), false},
	}
	for _, mode := range []string{"walk", "scan"} {
		for _, tt := range tests {
			t.Run(mode+"/"+shortName(tt.id), func(t *testing.T) {
				w := smallWorld()
				// The odd id among ordinary siblings, on a page of three.
				w.Add(hubtest.Model{ID: "p/before", Tags: hubtest.ParentTags(pt("meta-llama/Llama-3.1-8B", "finetune"))})
				w.Add(hubtest.Model{ID: tt.id, Tags: hubtest.ParentTags(pt("meta-llama/Llama-3.1-8B", "finetune"))})
				w.Add(hubtest.Model{ID: "p/after", Tags: hubtest.ParentTags(pt("meta-llama/Llama-3.1-8B", "finetune"))})
				// A child of the odd model names it in its tags.
				w.Add(hubtest.Model{ID: "p/grandchild", Tags: hubtest.ParentTags(pt(tt.id, "adapter"))})
				srv := hubtest.NewUnstartedServer(w)
				srv.MaxPageSize = 3
				srv.Start()
				defer srv.Close()
				st := memStore(t)
				var warns warnings
				wk := walker(t, crawler.Config{Endpoint: srv.URL}, st)
				var err error
				if mode == "walk" {
					_, err = wk.Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1, Warn: warns.add})
				} else {
					_, err = wk.Scan(context.Background(), crawler.ScanOptions{Warn: warns.add})
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range []string{"p/before", "p/after", "a/ft1", "i/instruct-gguf"} {
					if !stored(t, st, id) {
						t.Errorf("%s not stored", id)
					}
				}
				if got := stored(t, st, tt.id); got != tt.keep {
					t.Errorf("%q stored: %v, want %v", tt.id, got, tt.keep)
				}
				quoted := strings.Trim(fmt.Sprintf("%q", tt.id), `"`)
				quoted = quoted[:min(len(quoted), 10)]
				ws := warns.matching(quoted)
				if tt.keep {
					if len(ws) > 0 || len(warns.msgs) > 0 {
						t.Errorf("warnings for a safe id: %q", warns.msgs)
					}
					// Its child is found under it, with the edge its tag declares.
					var parents []graph.Edge
					st.View(context.Background(), func(r *store.Reader) error {
						return r.ParentEdges("p/grandchild", func(e graph.Edge) error { parents = append(parents, e); return nil })
					})
					if len(parents) != 1 || parents[0] != (graph.Edge{Parent: graph.ModelID(tt.id), Child: "p/grandchild", Relation: graph.Adapter}) {
						t.Errorf("parents of p/grandchild: %v", parents)
					}
					return
				}
				if len(ws) != 1 {
					t.Errorf("want one warning naming %q, got %q", quoted, warns.msgs)
				}
				for _, m := range warns.msgs {
					if strings.ContainsAny(m, "\n\x01\u200b") || len(m) > 400 {
						t.Errorf("warning not one safe line: %q", m)
					}
				}
			})
		}
	}
}

func shortName(id string) string {
	s := fmt.Sprintf("%q", id)
	if len(s) > 30 {
		s = s[:30]
	}
	return s
}

// hiddenWorld has a base with 40 children and 40 models a listing drops
// after selecting them (PageFilter), in runs of 10: with pages of 5, pages
// come back full, empty and full again, each empty one with a next link.
func hiddenWorld() (*hubtest.World, func(hubtest.Model) bool) {
	w := hubtest.NewWorld()
	w.Add(hubtest.Model{ID: "base/root"})
	for i := 0; i < 80; i++ {
		org := "kid"
		if (i/10)%2 == 1 {
			org = "hidden"
		}
		w.Add(hubtest.Model{ID: fmt.Sprintf("%s/m%02d", org, i), Tags: hubtest.ParentTags(pt("base/root", "finetune"))})
	}
	return w, func(m hubtest.Model) bool { return !strings.HasPrefix(m.ID, "hidden/") }
}

func TestEmptyPagesWithNextAreFollowed(t *testing.T) {
	for _, mode := range []string{"walk", "scan"} {
		t.Run(mode, func(t *testing.T) {
			w, filter := hiddenWorld()
			srv := hubtest.NewUnstartedServer(w)
			srv.MaxPageSize = 5
			srv.PageFilter = filter
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			wk := walker(t, crawler.Config{Endpoint: srv.URL}, st)
			var stats crawler.Stats
			var err error
			if mode == "walk" {
				stats, err = wk.Walk(context.Background(), []graph.ModelID{"base/root"}, crawler.Options{Depth: -1})
			} else {
				stats, err = wk.Scan(context.Background(), crawler.ScanOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := count(t, st, "base/root"); c.Descendants.Total != 40 {
				t.Errorf("%d descendants stored, want 40 (%d pages)", c.Descendants.Total, stats.Pages)
			}
			if !stats.Run.Complete {
				t.Error("run not complete")
			}
		})
	}
}

func TestNextLinkToOtherHostFollowedOnEndpoint(t *testing.T) {
	const token = "hf_mirrorTOKEN123456789"
	for _, mode := range []string{"walk", "scan"} {
		t.Run(mode, func(t *testing.T) {
			elsewhere := hubtest.NewServer(smallWorld())
			defer elsewhere.Close()
			mirror := hubtest.NewUnstartedServer(smallWorld())
			mirror.MaxPageSize = 2
			mirror.LinkHost = strings.TrimPrefix(elsewhere.URL, "http://") // as a mirror passing huggingface.co's links through
			mirror.Start()
			defer mirror.Close()
			st := memStore(t)
			var warns warnings
			wk := walker(t, crawler.Config{Endpoint: mirror.URL, Token: token}, st)
			var stats crawler.Stats
			var err error
			if mode == "walk" {
				stats, err = wk.Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1, Warn: warns.add})
			} else {
				stats, err = wk.Scan(context.Background(), crawler.ScanOptions{Warn: warns.add})
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
				t.Errorf("count %+v, want 12 descendants", c)
			}
			if n := elsewhere.RequestCount(); n != 0 {
				t.Errorf("the other host got %d requests", n)
			}
			reqs := mirror.Requests()
			if int64(len(reqs)) != stats.Requests {
				t.Errorf("the endpoint saw %d requests, the crawler sent %d", len(reqs), stats.Requests)
			}
			for _, r := range reqs {
				if r.Authorization != "Bearer "+token {
					t.Errorf("%s carried Authorization %q", r.URL, r.Authorization)
				}
			}
			if got := warns.matching(mirror.LinkHost); len(got) != 1 || len(warns.msgs) != 1 {
				t.Errorf("warnings %q, want one naming %s", warns.msgs, mirror.LinkHost)
			}
			if strings.Contains(strings.Join(warns.msgs, " "), token) {
				t.Error("token in a warning")
			}
		})
	}
}
