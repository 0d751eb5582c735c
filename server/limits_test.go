package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/query"
	"github.com/hflineage/hflineage/store"
)

// TestHeavyRequestsBounded: exports, pictures and statistics run a few at
// a time; one more is answered 503 with Retry-After at once, and passes
// once a slot is free. A HEAD takes no slot: it does not do the work.
func TestHeavyRequestsBounded(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{Heavy: 2, Pictures: 1})
	for _, tc := range []struct {
		name, path string
		pool       slots
	}{
		{"a whole export", "/api/v1/export?format=graphml", s.heavy},
		{"a family's export", "/api/v1/export?format=csv&model=a/ft", s.heavy},
		{"statistics", "/api/v1/stats?root=a/ft", s.heavy},
		{"a picture", "/api/v1/export?format=svg&model=a/ft", s.pictures},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range cap(tc.pool) {
				tc.pool.take()
			}
			status, body, h := get(t, ts.URL+tc.path)
			if status != 503 || h.Get("Retry-After") != "2" || !strings.Contains(body, `"error":"the server is busy: `) {
				t.Errorf("with every slot taken: %d, Retry-After %q: %s", status, h.Get("Retry-After"), body)
			}
			if status, _, _ := do(t, "HEAD", ts.URL+tc.path, nil, ""); status == 503 {
				t.Error("a HEAD waits for a slot")
			}
			for range cap(tc.pool) {
				tc.pool.release()
			}
			if status, body, _ := get(t, ts.URL+tc.path); status == 503 {
				t.Errorf("with the slots free: %d %s", status, body)
			}
		})
	}
}

// TestSizeCaps: max-nodes and top are capped, with messages naming the cap.
func TestSizeCaps(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	for _, tc := range []struct {
		name, path string
		status     int
		has        string
	}{
		{"top at the cap", "/api/v1/stats?top=1000", 200, `"models"`},
		{"top over the cap", "/api/v1/stats?top=1001", 400, "top must be between 1 and 1000, not 1001"},
		{"negative top", "/api/v1/stats?top=-1", 400, "top must be between 1 and 1000"},
		{"graph at the cap", "/api/v1/graph?model=a/ft&max-nodes=5000", 200, `"root"`},
		{"graph over the cap", "/api/v1/graph?model=a/ft&max-nodes=5001", 400, "max-nodes must be at most 5000 on this server, not 5001"},
		{"an export over the cap", "/api/v1/export?format=csv&max-nodes=200001", 400, "max-nodes must be at most 200000 on this server"},
		{"an export at the cap", "/api/v1/export?format=csv&max-nodes=200000", 200, "parent,relation,child"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+tc.path)
			if status != tc.status || !strings.Contains(body, tc.has) {
				t.Errorf("%d %.200s; want %d with %q", status, body, tc.status, tc.has)
			}
		})
	}
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz is not installed: the picture caps are not checked")
	}
	for _, tc := range []struct {
		name, path string
		status     int
		has        string
	}{
		{"a picture over the cap", "/api/v1/export?format=svg&model=a/ft&max-nodes=5001", 400, "max-nodes of a picture must be at most 5000 on this server, not 5001"},
		{"a picture of a small whole database", "/api/v1/export?format=svg", 200, "<svg"},
		{"a pruned picture of the whole database", "/api/v1/export?format=svg&max-nodes=10", 200, "<svg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, ts.URL+tc.path)
			if status != tc.status || !strings.Contains(body, tc.has) {
				t.Errorf("%d %.200s; want %d with %q", status, body, tc.status, tc.has)
			}
		})
	}
}

// TestHeadDoesNoWork: HEAD of an export answers its headers without
// drawing or encoding it (no layout is named, no body).
func TestHeadDoesNoWork(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	for _, tc := range []struct {
		name, path, contentType string
		status                  int
	}{
		{"a whole export", "/api/v1/export?format=graphml", "application/graphml+xml; charset=utf-8", 200},
		{"statistics", "/api/v1/stats", "application/json", 200},
		{"an invalid export", "/api/v1/export?format=gif", "application/json", 400},
		{"the page", "/", "text/html; charset=utf-8", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := do(t, "HEAD", ts.URL+tc.path, nil, "")
			if status != tc.status || h.Get("Content-Type") != tc.contentType || body != "" || h.Get(headerLayout) != "" {
				t.Errorf("%d %q, layout %q, body %q; want %d %q", status, h.Get("Content-Type"), h.Get(headerLayout), body, tc.status, tc.contentType)
			}
		})
	}
}

// TestStalledClient: a client that asks for a whole export and stops
// reading holds its slot only until the answer stalls (exportStall), and
// the export is written as it is made, not held whole in memory.
func TestStalledClient(t *testing.T) {
	if testing.Short() {
		t.Skip("crawls a 30,000-model Hub")
	}
	ctx := t.Context()
	st, err := store.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := hubtest.NewServer(hubtest.Generate(hubtest.GenOptions{Models: 30000, Seed: 2}))
	defer hub.Close()
	e, err := query.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Crawl(ctx, crawler.Config{Endpoint: hub.URL, MinWait: time.Millisecond}, CrawlRequest{All: true}, query.CrawlWatch{}); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, Config{Engine: e, Heavy: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.stall = 200 * time.Millisecond
	released := make(chan struct{}, 1)
	s.released = func() {
		select {
		case released <- struct{}{}:
		default:
		}
	}
	defer s.Close(context.Background())
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	// The stalled client: a small receive buffer, and it reads the headers
	// and a little of the body, then nothing.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /api/v1/export?format=graphml HTTP/1.1\r\nHost: %s\r\n\r\n", strings.TrimPrefix(ts.URL, "http://"))
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != -1 {
		t.Fatalf("the export: %d, length %d; want 200, streamed", resp.StatusCode, resp.ContentLength)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	// The export holds the one slot until its answer stalls, then frees it.
	select {
	case <-released:
	case <-ctx.Done():
		t.Fatal("the stalled export never gave its slot back")
	}
	if status, body, _ := get(t, ts.URL+"/api/v1/export?format=csv&model=base-org-1/Base-Model-1"); status != 200 {
		t.Errorf("an export after the stalled one: %d %.200s", status, body)
	}
	// A picture of this 30,000-model database is refused before it is
	// drawn; a family over the cap, once its size is known.
	if _, err := exec.LookPath("dot"); err == nil {
		for _, tc := range []struct{ path, has string }{
			{"/api/v1/export?format=svg", "max-nodes is needed for a picture of this database ("},
			{"/api/v1/export?format=svg&model=base-org-0/Base-Model-0", "max-nodes is needed: the picture would have "},
		} {
			if status, body, _ := get(t, ts.URL+tc.path); status != 400 || !strings.Contains(body, tc.has) {
				t.Errorf("%s: %d %.200s; want 400 with %q", tc.path, status, body, tc.has)
			}
		}
	}
}

// TestMetricsNameRoutes: the request metrics name each request's route
// (the limits' middleware keeps the pattern the mux found), and a heavy
// request refused for lack of a slot is counted as a 503.
func TestMetricsNameRoutes(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{Heavy: 1})
	get(t, ts.URL+"/api/v1/count?model=a/ft")
	s.heavy.take()
	get(t, ts.URL+"/api/v1/stats")
	s.heavy.release()
	_, metrics, _ := get(t, ts.URL+"/metrics")
	for _, want := range []string{`hflineage_http_requests_total{code="200",route="GET /api/v1/count"} 1`, `code="503"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("the metrics lack %s:\n%s", want, metrics)
		}
	}
}
