package crawler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// realOrSmall returns the real Llama-2-7b tree when the recordings are
// present (and not hidden, see recordingPath), else the small synthetic
// world. Tests using it must hold for both: anything that depends on the
// family's size (a cancel point, a quota) is derived from it.
func realOrSmall(t *testing.T) (*hubtest.World, string, graph.FamilyCount) {
	const file = "Llama-2-7b_finetunes_20250422_180448.json"
	if _, ok := recordingPath(file); ok {
		tr := loadRealTree(t, file)
		return tr.World(), tr.Root, tr.count()
	}
	t.Log("recordings absent or hidden: using the small synthetic world")
	st := memStore(t)
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	if _, err := crawl(t, srv, st, []string{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1}); err != nil {
		t.Fatal(err)
	}
	return smallWorld(), "meta-llama/Llama-3.1-8B", count(t, st, "meta-llama/Llama-3.1-8B")
}

func walker(t *testing.T, cfg crawler.Config, st *store.Store) *crawler.Walker {
	t.Helper()
	if cfg.MinWait == 0 {
		cfg.MinWait = time.Millisecond
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 10 * time.Second
	}
	w, err := crawler.NewWalker(cfg, crawlsink.New(st))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRateLimitedCrawl(t *testing.T) {
	world, root, want := realOrSmall(t)
	// 40 per 2 s; for a small family, a quota that still makes the walk
	// (about one request per member, and one for the seed) span 3 windows.
	quota, requests := 40, want.Descendants.Total+2
	if requests <= 2*quota {
		quota = max(4, (requests+2)/3)
	}
	// In a synctest bubble on an in-memory network the windows pass on a
	// fake clock: no real time, and the same schedule however busy the
	// machine is.
	synctest.Test(t, func(t *testing.T) {
		srv := &hubtest.Server{World: world, Quota: quota, Window: 2 * time.Second, Delay: hubLatency}
		st := memStore(t)
		start := time.Now()
		stats, err := walker(t, servePipe(t, srv, crawler.Config{}), st).Walk(context.Background(), []graph.ModelID{graph.ModelID(root)}, crawler.Options{Depth: -1})
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		if got := count(t, st, root); got != want {
			t.Errorf("count = %+v, want %+v", got, want)
		}
		// The best possible time: every full window used to the last request.
		best := time.Duration((stats.Requests-1)/int64(quota)) * 2 * time.Second
		t.Logf("quota %d/2s: %d requests, %d 429s, %.2fs (best possible %.2fs, ratio %.2f)",
			quota, stats.Requests, srv.TooManyRequests(), elapsed.Seconds(), best.Seconds(), elapsed.Seconds()/best.Seconds())
		if n := srv.TooManyRequests(); n > 5 {
			t.Errorf("%d 429s; the pacer should keep under the quota", n)
		}
	})
}

func TestRetryAfterWithoutRateLimitHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // the 1 s windows pass on the bubble's fake clock
		srv := &hubtest.Server{World: smallWorld(), Quota: 10, Window: time.Second, NoRateLimitHeaders: true, RetryAfter: true}
		st := memStore(t)
		fast := crawler.Rate{N: 1000, Per: time.Second}
		_, err := walker(t, servePipe(t, srv, crawler.Config{Rate: &fast}), st).Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
		if err != nil {
			t.Fatal(err)
		}
		if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
			t.Errorf("count after 429s: %+v", c)
		}
		if srv.TooManyRequests() == 0 {
			t.Error("the test drew no 429: it tests nothing")
		}
	})
}

func TestFaults(t *testing.T) {
	world, root, want := realOrSmall(t)
	tests := []struct {
		name  string
		fault func(n int, r *http.Request) hubtest.Fault
	}{
		{"every 5th fails 503/502/drop", func(n int, _ *http.Request) hubtest.Fault {
			if n%5 != 0 {
				return hubtest.NoFault
			}
			return []hubtest.Fault{hubtest.Status503, hubtest.Status502, hubtest.Drop}[(n/5)%3]
		}},
		{"every 7th truncated", firstTimeEvery(7, hubtest.Truncate)},
		{"every 6th not JSON", firstTimeEvery(6, hubtest.Garbage)},
		{"every 9th wrong shape", firstTimeEvery(9, hubtest.WrongShape)},
		{"every 10th slow", every(10, hubtest.Slow)},
		{"every 4th 500", every(4, hubtest.Status500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(world)
			srv.Fault = tt.fault
			srv.MaxPageSize = 7
			srv.Start()
			defer srv.Close()
			st := memStore(t)
			stats, err := walker(t, crawler.Config{Endpoint: srv.URL}, st).Walk(context.Background(), []graph.ModelID{graph.ModelID(root)}, crawler.Options{Depth: -1})
			if err != nil {
				t.Fatal(err)
			}
			if got := count(t, st, root); got != want {
				t.Errorf("count = %+v, want %+v", got, want)
			}
			t.Logf("%d requests", stats.Requests)
		})
	}
}

func every(k int, f hubtest.Fault) func(int, *http.Request) hubtest.Fault {
	return func(n int, _ *http.Request) hubtest.Fault {
		if n%k == 0 {
			return f
		}
		return hubtest.NoFault
	}
}

// firstTimeEvery damages every k-th request unless its URL was damaged
// before: faults the crawler must retry past, deterministically.
func firstTimeEvery(k int, f hubtest.Fault) func(int, *http.Request) hubtest.Fault {
	var mu sync.Mutex
	damaged := map[string]bool{}
	return func(n int, r *http.Request) hubtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if n%k != 0 || damaged[r.URL.String()] {
			return hubtest.NoFault
		}
		damaged[r.URL.String()] = true
		return f
	}
}

func TestPersistentFailureEndsCrawlResumably(t *testing.T) {
	srv := hubtest.NewUnstartedServer(smallWorld())
	broken := true
	srv.Fault = func(n int, r *http.Request) hubtest.Fault {
		if broken && strings.Contains(r.URL.RawQuery, "a%2Fft2") {
			return hubtest.Status503
		}
		return hubtest.NoFault
	}
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	w := walker(t, crawler.Config{Endpoint: srv.URL, MaxRetries: 2}, st)
	_, err := w.Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
	var he *crawler.HTTPError
	if !errors.As(err, &he) || he.Status != 503 || !strings.Contains(err.Error(), "a/ft2") {
		t.Fatalf("err = %v, want a 503 naming a/ft2", err)
	}
	broken = false
	stats, err := w.Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Resumed {
		t.Error("second walk did not resume")
	}
	if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
		t.Errorf("after resume: %+v", c)
	}
}

func TestTokenStaysWithEndpoint(t *testing.T) {
	const token = "hf_secretTOKEN123456789"
	elsewhere := hubtest.NewServer(smallWorld())
	defer elsewhere.Close()

	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	db := t.TempDir()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = walker(t, crawler.Config{Endpoint: srv.URL, Token: token}, st).Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if r.Authorization != "Bearer "+token {
			t.Errorf("%s carried Authorization %q", r.URL, r.Authorization)
		}
		if !strings.HasPrefix(r.UserAgent, "hflineage/") {
			t.Errorf("User-Agent %q", r.UserAgent)
		}
	}

	// A next-page link to another host is followed on the endpoint (its
	// path and query); the other host sees nothing.
	hostile := hubtest.NewUnstartedServer(smallWorld())
	hostile.MaxPageSize = 1
	hostile.LinkHost = strings.TrimPrefix(elsewhere.URL, "http://")
	hostile.Start()
	defer hostile.Close()
	_, err = walker(t, crawler.Config{Endpoint: hostile.URL, Token: token}, st).Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1, Restart: true})
	if err != nil {
		t.Errorf("err = %v, want the links followed on the endpoint", err)
	}
	if strings.Contains(fmt.Sprint(err), token) {
		t.Error("token in the error")
	}
	if n := elsewhere.RequestCount(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	st.Close()
	// Not in the database either.
	filepath.Walk(db, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(token)) {
				t.Errorf("token found in %s", path)
			}
		}
		return nil
	})
}

func TestRedirectToOtherHostRefused(t *testing.T) {
	elsewhere := hubtest.NewServer(smallWorld())
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	st := memStore(t)
	_, err := walker(t, crawler.Config{Endpoint: redirector.URL, Token: "hf_x"}, st).Walk(context.Background(), []graph.ModelID{"a/ft1"}, crawler.Options{Depth: -1})
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("err = %v", err)
	}
	if n := elsewhere.RequestCount(); n != 0 {
		t.Errorf("followed the redirect: %d requests elsewhere", n)
	}
}

func TestHostileResponses(t *testing.T) {
	inner := hubtest.NewServer(smallWorld())
	defer inner.Close()
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		want    string
	}{
		{"link loop", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/models" {
				w.Header().Set("Link", fmt.Sprintf("<http://%s%s>; rel=\"next\"", r.Host, r.URL.RequestURI()))
				w.Write([]byte("[]"))
				return
			}
			inner.Config.Handler.ServeHTTP(w, r)
		}, "pagination loop"},
		{"malformed link", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/models" {
				w.Header().Set("Link", "no angle brackets; rel=next")
				w.Write([]byte("[]"))
				return
			}
			inner.Config.Handler.ServeHTTP(w, r)
		}, "malformed Link"},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.RequestURI(), http.StatusTemporaryRedirect)
		}, "redirect"},
		{"always garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>"))
		}, "bad response"},
		{"huge body", func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte(" "), 2<<20))
		}, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tt.handler))
			defer srv.Close()
			st := memStore(t)
			fast := crawler.Rate{N: 1000, Per: time.Second}
			_, err := walker(t, crawler.Config{Endpoint: srv.URL, MaxRetries: 1, MaxBodySize: 1 << 20, Rate: &fast}, st).Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestCancelThenResume cancels a walk halfway through its pages (measured
// on a clean walk of the same world, whatever its size) and resumes it.
func TestCancelThenResume(t *testing.T) {
	world, root, want := realOrSmall(t)
	srv := hubtest.NewUnstartedServer(world)
	srv.MaxPageSize = 3
	srv.Start()
	defer srv.Close()
	clean, err := walker(t, crawler.Config{Endpoint: srv.URL}, memStore(t)).Walk(context.Background(), []graph.ModelID{graph.ModelID(root)}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	cancelAt := max(1, clean.Pages/2)
	if clean.Pages < 4 {
		t.Fatalf("a clean walk takes %d pages: too few to cancel in the middle", clean.Pages)
	}
	cleanRequests := srv.RequestCount()

	st := memStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
	_, err = w.Walk(ctx, []graph.ModelID{graph.ModelID(root)}, crawler.Options{Depth: -1, Progress: func(s crawler.Stats) {
		if s.Pages >= int64(cancelAt) {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled (cancel at page %d of %d)", err, cancelAt, clean.Pages)
	}
	before := srv.RequestCount() - cleanRequests
	stats, err := w.Walk(context.Background(), []graph.ModelID{graph.ModelID(root)}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Resumed {
		t.Error("not resumed")
	}
	if got := count(t, st, root); got != want {
		t.Errorf("count = %+v, want %+v", got, want)
	}
	after := srv.RequestCount() - cleanRequests - before
	t.Logf("clean walk: %d pages, %d requests; cancelled at page %d after %d requests, resumed with %d more",
		clean.Pages, cleanRequests, cancelAt, before, after)
	if after >= cleanRequests {
		t.Errorf("the resumed walk took %d requests, a clean one %d: it did not resume", after, cleanRequests)
	}
}
