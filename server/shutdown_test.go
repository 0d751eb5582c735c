package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// TestCloseDuringStartUpWork: Close stops the metrics' start-up reads of
// the database and waits for them, so that the caller may close the
// database after it (a SIGTERM during start-up panicked with "DB Closed":
// the reads went on, owned by nothing). The same holds when the context
// New was given ends first (the signal).
func TestCloseDuringStartUpWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(s *Server, cancel context.CancelFunc) error
	}{
		{"Close", func(s *Server, _ context.CancelFunc) error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return s.Close(ctx)
		}},
		{"the context ends, then Close", func(s *Server, cancel context.CancelFunc) error {
			cancel()
			ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
			defer stop()
			return s.Close(ctx)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.OpenInMemory()
			if err != nil {
				t.Fatal(err)
			}
			hub := hubtest.NewServer(testWorld())
			defer hub.Close()
			w, err := crawler.NewWalker(crawler.Config{Endpoint: hub.URL, MinWait: time.Millisecond}, crawlsink.New(st))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Walk(t.Context(), []graph.ModelID{root}, crawler.Options{Depth: -1}); err != nil {
				t.Fatal(err)
			}
			e, err := query.Open(t.Context(), st, nil)
			if err != nil {
				t.Fatal(err)
			}
			entered := make(chan struct{})
			var returned atomic.Bool
			testHookStart = func(ctx context.Context) {
				close(entered)
				<-ctx.Done() // the start-up work is under way until stopped
				returned.Store(true)
			}
			defer func() { testHookStart = nil }()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s, err := New(ctx, Config{Engine: e, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			<-entered
			if err := tc.stop(s, cancel); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if !returned.Load() {
				t.Fatal("Close returned while the metrics' start-up work still ran")
			}
			// What serve does next: close the engine and the database.
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCloseWaitsForRequests: Close ends the requests being answered (an
// export reading the database, say) and waits for them, so that the
// caller may close the database after it; later requests are answered 503.
func TestCloseWaitsForRequests(t *testing.T) {
	s, _, _ := newTestServer(t, Config{})
	entered := make(chan struct{})
	var returned atomic.Bool
	ts := httptest.NewServer(s.limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // reads until stopped
		returned.Store(true)
	})))
	defer ts.Close()
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		if resp, err := http.Get(ts.URL + "/api/v1/export?format=csv"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !returned.Load() {
		t.Fatal("Close returned while a request was still being answered")
	}
	<-answered
	if status, body, _ := get(t, ts.URL+"/api/v1/count?model=a/ft"); status != 503 || !strings.Contains(body, "stopping") {
		t.Errorf("a request after Close: %d %s", status, body)
	}
}
