package crawler_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store/crawlsink"
)

var errBrokenSink = errors.New("the sink is broken")

// brokenSink fails every commit once broken, and its CrawlJob when
// jobFails.
type brokenSink struct {
	crawler.Sink
	broken, jobFails atomic.Bool
}

func (s *brokenSink) Commit(run *crawler.Run, fn func(crawler.Tx) error) error {
	if s.broken.Load() {
		return errBrokenSink
	}
	return s.Sink.Commit(run, fn)
}

func (s *brokenSink) CrawlJob() (crawler.Job, bool, error) {
	if s.jobFails.Load() {
		return crawler.Job{}, false, errBrokenSink
	}
	return s.Sink.CrawlJob()
}

// TestFailedWalkSaysItsRequestCountWasNotSaved: a walk that fails (here,
// cancelled) saves its request count in the run; when that commit fails
// too, the error says so rather than dropping it.
func TestFailedWalkSaysItsRequestCountWasNotSaved(t *testing.T) {
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	sink := &brokenSink{Sink: crawlsink.New(memStore(t))}
	w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL, Parallel: 1}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = w.Walk(ctx, []graph.ModelID{"meta-llama/Llama-3.1-8B"}, crawler.Options{Depth: -1, Progress: func(crawler.Stats) {
		sink.broken.Store(true) // the first page is committed; the next commit fails
		cancel()
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancellation", err)
	}
	if !errors.Is(err, errBrokenSink) {
		t.Errorf("err = %v: the failed commit of the request count is not said", err)
	}
}

// TestCrawlJobReadErrorStopsTheCrawl: when the unfinished crawl cannot be
// read, Crawl says so and asks the Hub nothing; it does not plan a new
// crawl over the one it could not read (it did before dd82eea).
func TestCrawlJobReadErrorStopsTheCrawl(t *testing.T) {
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	sink := &brokenSink{Sink: crawlsink.New(memStore(t))}
	sink.jobFails.Store(true)
	w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL}, sink)
	if err != nil {
		t.Fatal(err)
	}
	planned := false
	_, err = w.Crawl(context.Background(), crawler.Request{Seeds: []graph.ModelID{"meta-llama/Llama-3.1-8B"}, Depth: -1,
		Planned: func(crawler.Plan) { planned = true }})
	if !errors.Is(err, errBrokenSink) {
		t.Errorf("err = %v, want the read error", err)
	}
	if planned || srv.RequestCount() != 0 {
		t.Errorf("planned %v, %d requests: the crawl went on past an unreadable job", planned, srv.RequestCount())
	}
}

// TestNothingFetchedRecordsNoRun: a walk none of whose seeds the Hub knows
// records no run (POSTed in a loop, such crawls piled up as runs); the
// next crawl takes the run id it would have had.
func TestNothingFetchedRecordsNoRun(t *testing.T) {
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	st := memStore(t)
	w := walker(t, crawler.Config{Endpoint: srv.URL}, st)
	ctx := context.Background()
	for range 3 {
		stats, err := w.Crawl(ctx, crawler.Request{Seeds: []graph.ModelID{"nobody/nothing"}, Mode: "walk", Depth: -1})
		if !errors.Is(err, crawler.ErrNothingCrawled) {
			t.Fatalf("err = %v, want ErrNothingCrawled", err)
		}
		if stats.Run.ID != 0 {
			t.Errorf("stats name run %d of a crawl that fetched nothing", stats.Run.ID)
		}
	}
	if runs, err := st.Runs(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("runs %+v (%v), want none", runs, err)
	}
	if _, ok, err := st.CrawlJob(); ok || err != nil {
		t.Errorf("a crawl is left to resume (%v)", err)
	}
	stats, err := w.Crawl(ctx, crawler.Request{Seeds: []graph.ModelID{"a/ft1"}, Mode: "walk", Depth: -1})
	if err != nil || stats.Run.ID != 1 || !stats.Run.Complete {
		t.Fatalf("run %+v, %v: want run 1, complete", stats.Run, err)
	}
	// After a run, one that fetched nothing is not recorded either.
	if _, err := w.Crawl(ctx, crawler.Request{Seeds: []graph.ModelID{"nobody/else"}, Mode: "walk", Depth: -1}); !errors.Is(err, crawler.ErrNothingCrawled) {
		t.Fatal(err)
	}
	if runs, err := st.Runs(ctx); err != nil || len(runs) != 1 || runs[0].ID != 1 {
		t.Errorf("runs %+v (%v), want run 1 alone", runs, err)
	}
}
