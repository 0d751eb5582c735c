package crawler_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
)

// TestStallIsRetriedAtTheStallTimeout: two answers that stop mid-body are
// abandoned after the stall timeout, long before the attempt's deadline,
// retried, and the walk completes. (Before the stall timeout, each cost the
// whole attempt deadline: 2 minutes by default, beyond this test's context.)
//
// Both tests run in a synctest bubble on an in-memory network: the stall
// timeout, the attempt deadline and the slow answers are on its fake clock,
// so a stall costs no real time and a loaded machine cannot make an answer
// look stalled.
func TestStallIsRetriedAtTheStallTimeout(t *testing.T) {
	world, root, want := realOrSmall(t)
	synctest.Test(t, func(t *testing.T) { stallIsRetried(t, world, root, want) })
}

func stallIsRetried(t *testing.T, world *hubtest.World, root string, want graph.FamilyCount) {
	srv := &hubtest.Server{World: world}
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
	st := memStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const stall = 200 * time.Millisecond
	w := walker(t, servePipe(t, srv, crawler.Config{AttemptTimeout: 10 * time.Minute, StallTimeout: stall}), st)
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
	took := time.Since(start)
	t.Logf("%d requests, %d retries, 2 stalls of %s: walk took %s", stats.Requests, stats.Retries, stall, took)
	if took >= time.Second {
		t.Errorf("the walk took %s of the fake clock: the stalls were not cut at %s", took, stall)
	}
}

// TestStallWhileWaitingForHeaders: an answer whose headers do not come
// within the stall timeout is retried too.
func TestStallWhileWaitingForHeaders(t *testing.T) {
	synctest.Test(t, stallWhileWaitingForHeaders)
}

func stallWhileWaitingForHeaders(t *testing.T) {
	srv := &hubtest.Server{World: smallWorld(), Fault: firstTimeEvery(3, hubtest.Slow)} // 300 ms before the headers
	st := memStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := walker(t, servePipe(t, srv, crawler.Config{StallTimeout: 100 * time.Millisecond}), st)
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
