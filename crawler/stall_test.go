package crawler_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// TestStallIsRetriedAtTheStallTimeout: two answers that stop mid-body are
// abandoned after the stall timeout, long before the attempt's deadline,
// retried, and the walk completes. (Before the stall timeout, each cost the
// whole attempt deadline: 2 minutes by default, beyond this test's context.)
func TestStallIsRetriedAtTheStallTimeout(t *testing.T) {
	world, root, want := realOrSmall(t)
	srv := hubtest.NewUnstartedServer(world)
	var mu sync.Mutex
	stalled := map[string]bool{}
	srv.Fault = func(n int, r *http.Request) hubtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if (n != 2 && n != 4) || stalled[r.URL.String()] {
			return hubtest.NoFault
		}
		stalled[r.URL.String()] = true
		return hubtest.Stall
	}
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const stall = 200 * time.Millisecond
	w := walker(t, crawler.Config{Endpoint: srv.URL, AttemptTimeout: 10 * time.Minute, StallTimeout: stall}, st)
	start := time.Now()
	stats, err := w.Walk(ctx, []graph.ModelID{graph.ModelID(root)}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(stalled) != 2 {
		t.Fatalf("%d answers stalled, want 2", len(stalled))
	}
	if stats.Retries < 2 {
		t.Errorf("%d retries, want at least one per stalled answer", stats.Retries)
	}
	if got := count(t, st, root); got != want {
		t.Errorf("count = %+v, want %+v", got, want)
	}
	t.Logf("%d requests, %d retries, 2 stalls of %s: walk took %s", stats.Requests, stats.Retries, stall, time.Since(start).Round(time.Millisecond))
}

// TestStallWhileWaitingForHeaders: an answer whose headers do not come
// within the stall timeout is retried too.
func TestStallWhileWaitingForHeaders(t *testing.T) {
	srv := hubtest.NewUnstartedServer(smallWorld())
	srv.Fault = firstTimeEvery(3, hubtest.Slow) // 300 ms before the headers
	srv.Start()
	defer srv.Close()
	st := memStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := walker(t, crawler.Config{Endpoint: srv.URL, StallTimeout: 100 * time.Millisecond}, st)
	stats, err := w.Walk(ctx, []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Retries == 0 {
		t.Error("no retry, yet every third answer came after the stall timeout")
	}
	if c := count(t, st, "meta-llama/Llama-3.1-8B"); c.Descendants.Total != 12 {
		t.Errorf("count = %+v", c)
	}
}
