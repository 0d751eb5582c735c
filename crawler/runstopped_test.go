package crawler_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// TestRunStopped: an attempt that ends early records why in its run — a
// failure as failed, an interruption as canceled — and the attempt that
// resumes the run and finishes it clears the word: runs says finished.
func TestRunStopped(t *testing.T) {
	seeds := []graph.ModelID{"meta-llama/Llama-3.1-8B"}
	tests := []struct {
		name string
		want string // the run's Stopped and Status after the first attempt
	}{
		{"failed", graph.RunFailed},
		{"canceled", graph.RunCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(smallWorld())
			srv.MaxPageSize = 2 // pages enough to stop between
			srv.Start()
			defer srv.Close()
			var broken atomic.Bool
			if tt.want == graph.RunFailed {
				srv.Fault = func(n int, _ *http.Request) hubtest.Fault {
					if n > 3 && broken.Load() {
						return hubtest.Status500
					}
					return hubtest.NoFault
				}
				broken.Store(true)
			}
			st := memStore(t)
			w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL, MinWait: 1, MaxWait: 10, MaxRetries: 1}, crawlsink.New(st))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := crawler.Options{Depth: -1}
			if tt.want == graph.RunCanceled {
				opts.Progress = func(s crawler.Stats) { cancel() } // after the first page
			}
			if s, err := w.Walk(ctx, seeds, opts); err == nil {
				t.Fatalf("the first attempt did not stop early: %d requests", s.Requests)
			}
			run, err := st.LastRun()
			if err != nil || run == nil {
				t.Fatalf("no run recorded: %v", err)
			}
			if run.Stopped != tt.want || run.Status() != tt.want || !run.Finished.IsZero() {
				t.Fatalf("after the first attempt: stopped %q, status %q, finished %v; want %q", run.Stopped, run.Status(), run.Finished, tt.want)
			}
			broken.Store(false)
			if _, err := w.Walk(context.Background(), seeds, crawler.Options{Depth: -1}); err != nil {
				t.Fatalf("resume: %v", err)
			}
			again, err := st.LastRun()
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != run.ID || again.Stopped != "" || again.Status() != graph.RunFinished {
				t.Errorf("after the resume: run %d (was %d), stopped %q, status %q; want the same run finished", again.ID, run.ID, again.Stopped, again.Status())
			}
		})
	}
}
