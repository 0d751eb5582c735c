package crawler_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// pacingRun is one walk of a family against a rate-limited fake Hub.
type pacingRun struct {
	requests, tooMany, seen int
	elapsed                 time.Duration
	pace                    crawler.PaceState
	count                   graph.FamilyCount
}

func walkQuota(t *testing.T, world *hubtest.World, root string, quota int, window time.Duration, round hubtest.Rounding) pacingRun {
	srv := hubtest.NewUnstartedServer(world)
	srv.Quota, srv.Window, srv.Rounding = quota, window, round
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
	start := time.Now()
	stats, err := w.Walk(context.Background(), []graph.ModelID{graph.ModelID(root)}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	return pacingRun{
		requests: int(stats.Requests), tooMany: srv.TooManyRequests(), seen: srv.RequestCount(),
		elapsed: time.Since(start), pace: stats.Pace, count: count(t, st, root),
	}
}

// optimal is the quota-optimal time of a walk of n requests that takes
// unpaced unpaced: every window spent to its last request, waiting only for
// resets (the fake Hub's windows start at the crawl's first request).
func optimal(n, quota int, window, unpaced time.Duration) time.Duration {
	if n <= quota {
		return unpaced
	}
	resets := (n - 1) / quota
	last := n - resets*quota
	return time.Duration(resets)*window + time.Duration(float64(unpaced)*float64(last)/float64(n))
}

// paceWorld is the recorded Llama-2-7b tree (175 requests to walk) when
// the recordings are present, else a generated family of about the same
// size (151 requests): large enough that a quota spanning three windows is
// not so small that requests in flight alone exhaust it.
func paceWorld(t *testing.T) (*hubtest.World, string) {
	if _, ok := recordingPath("Llama-2-7b_finetunes_20250422_180448.json"); ok {
		tr := loadRealTree(t, "Llama-2-7b_finetunes_20250422_180448.json")
		return tr.World(), tr.Root
	}
	t.Log("recordings absent or hidden: using a generated family")
	return hubtest.Generate(hubtest.GenOptions{Models: 1500, Seed: 3}), "base-org-1/Base-Model-1"
}

// TestPacingIsQuotaOptimal walks a family against quotas of 60 per 5 s and
// 1,000 per 300 s (the free tier), for each way the Hub may round t: at
// most one 429, the exact count, every request counted, and no wait at all
// when the family fits in the window. The wall time against the optimal
// schedule is logged here and measured by scripts/bench (the pacing table).
func TestPacingIsQuotaOptimal(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for rate-limit windows")
	}
	world, root := paceWorld(t)
	base := walkQuota(t, world, root, 0, 0, hubtest.RoundUp)
	n, want := base.requests, base.count
	// A quota that makes the walk span three windows.
	quota := 60
	if n <= 2*quota {
		quota = max(4, (n+2)/3)
	}
	for _, tc := range []struct {
		quota  int
		window time.Duration
	}{{quota, 5 * time.Second}, {1000, 300 * time.Second}} {
		for _, round := range []hubtest.Rounding{hubtest.RoundUp, hubtest.RoundDown, hubtest.RoundNearest} {
			t.Run(strconv.Itoa(tc.quota)+"/"+tc.window.String()+"/"+round.String(), func(t *testing.T) {
				t.Parallel()
				r := walkQuota(t, world, root, tc.quota, tc.window, round)
				best := optimal(n, tc.quota, tc.window, base.elapsed)
				t.Logf("%d requests, %d × 429, %.2fs; optimal %.2fs (ratio %.2f); %d waits",
					r.requests, r.tooMany, r.elapsed.Seconds(), best.Seconds(), r.elapsed.Seconds()/best.Seconds(), r.pace.Waits)
				if r.count != want {
					t.Errorf("count = %+v, want %+v", r.count, want)
				}
				if r.tooMany > 1 {
					t.Errorf("%d × 429, want at most 1", r.tooMany)
				}
				if r.requests != r.seen {
					t.Errorf("counted %d requests, the Hub saw %d", r.requests, r.seen)
				}
				if n <= tc.quota && r.pace.Waits != 0 {
					t.Errorf("the family fits in one window, yet requests waited %d times", r.pace.Waits)
				}
				if r.pace.Quota != tc.quota || r.pace.Window != tc.window {
					t.Errorf("pace state %+v: quota or window not learnt", r.pace)
				}
			})
		}
	}
}

// TestWaitsAreBounded: whatever t or Retry-After a 429 carries (a day,
// past the end of int64, negative, not a number), the crawl neither sleeps
// past the window nor spins without backoff.
func TestWaitsAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name, rateLimit, retryAfter string
	}{
		{"t a day", `"api";r=0;t=86400`, ""},
		{"t 9.3e9", `"api";r=0;t=9300000000`, ""},
		{"t MaxInt64", `"api";r=0;t=9223372036854775807`, ""},
		{"t past MaxInt64", `"api";r=0;t=99999999999999999999999`, ""},
		{"t negative", `"api";r=0;t=-5`, ""},
		{"Retry-After a day", "", "86400"},
		{"Retry-After huge", "", "99999999999999999999999"},
		{"Retry-After negative", "", "-1"},
		{"Retry-After zero", "", "0"},
		{"Retry-After garbage", "", "soon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			hub := hubtest.NewUnstartedServer(smallWorld())
			hub.NoRateLimitHeaders = tc.rateLimit == ""
			hub.Start()
			defer hub.Close()
			srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The first two requests are refused; then the Hub answers.
				if calls.Add(1) <= 2 {
					if tc.rateLimit != "" {
						w.Header().Set("RateLimit", tc.rateLimit)
						w.Header().Set("RateLimit-Policy", `"fixed window";"api";q=100;w=2`)
					}
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				hub.Config.Handler.ServeHTTP(w, r)
			}))
			st := memStore(t)
			// Waits are clamped to the window (2 s by the policy, else
			// MaxWait here); the context gives the test its bound.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			w := walker(t, crawler.Config{Endpoint: srv.URL, MinWait: 50 * time.Millisecond, MaxWait: 3 * time.Second, Parallel: 1}, st)
			_, err := w.Walk(ctx, []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
			if err != nil {
				t.Fatalf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
			}
			if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
				t.Errorf("count = %+v", c)
			}
			if n := calls.Load(); n > 40 {
				t.Errorf("%d requests: backoff spun", n)
			}
		})
	}
}

func TestParseRateLimitClamps(t *testing.T) {
	for _, tc := range []struct {
		h        string
		r, reset int
		ok       bool
	}{
		{`"api";r=10;t=30`, 10, 30, true},
		{`"api";r=0;t=86400`, 0, 86400, true},
		{`"api";r=0;t=9223372036854775807`, 0, math.MaxInt32, true},
		{`"api";r=0;t=99999999999999999999`, 0, math.MaxInt32, true},
		{`"api";r=-3;t=-5`, 0, -1, true},
		{`"api";r=1;t=soon`, 0, 0, false},
		{`"api";r=1`, 0, 0, false},
		{``, 0, 0, false},
	} {
		rl, ok := crawler.ParseRateLimit(tc.h)
		if ok != tc.ok || ok && (rl.Remaining != tc.r || rl.Reset != tc.reset) {
			t.Errorf("ParseRateLimit(%q) = %+v, %v; want r=%d t=%d, %v", tc.h, rl, ok, tc.r, tc.reset, tc.ok)
		}
	}
}

func httpServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestRequestsCountedAtTheWire: under dropped connections the Go transport
// retries some requests silently on new connections; every attempt the Hub
// sees is counted.
func TestRequestsCountedAtTheWire(t *testing.T) {
	srv := hubtest.NewUnstartedServer(smallWorld())
	srv.MaxPageSize = 2
	srv.Fault = func(n int, _ *http.Request) hubtest.Fault {
		if n%3 == 0 {
			return hubtest.Drop
		}
		return hubtest.NoFault
	}
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	stats, err := walker(t, crawler.Config{Endpoint: srv.URL, Parallel: 4}, st).Walk(context.Background(), []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if int(stats.Requests) != srv.RequestCount() {
		t.Errorf("counted %d requests, the Hub saw %d", stats.Requests, srv.RequestCount())
	}
}

// TestStalledBodyIsRetried: a Hub that sends half a page and then nothing
// fails the attempt at its deadline, and the page is asked for again.
func TestStalledBodyIsRetried(t *testing.T) {
	hub := hubtest.NewServer(smallWorld())
	defer hub.Close()
	var stalls atomic.Int64
	srv := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		hub.Config.Handler.ServeHTTP(rec, r)
		if stalls.Add(1)%2 == 1 && rec.Body.Len() > 10 {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // stall until the client gives up
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	st := memStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := walker(t, crawler.Config{Endpoint: srv.URL, AttemptTimeout: 200 * time.Millisecond}, st)
	stats, err := w.Walk(ctx, []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Retries == 0 {
		t.Error("no retry counted, yet every other answer stalled")
	}
	if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
		t.Errorf("count = %+v", c)
	}
}
