package crawler_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/crawler/hubtest"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// countingDialer counts the connections asked for and dials through fn.
type countingDialer struct {
	dials atomic.Int64
	fn    func(ctx context.Context, network, addr string, n int64) (net.Conn, error)
}

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.fn(ctx, network, addr, d.dials.Add(1))
}

func netDial(ctx context.Context, network, addr string, _ int64) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

// closedEndpoint returns the URL of a loopback port nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// A crawl that cannot reach the Hub on its first contact (its name does
// not resolve, the connection is refused, the endpoint does not speak TLS)
// ends after a few quick attempts, not the minutes of backoff a network
// error gets once the Hub has answered, with one line naming the endpoint
// and the cause, and records no run: whichever request comes first (the
// planner's, a seed's, a scan's first page, an organisation's listing).
func TestUnreachableHubFailsFast(t *testing.T) {
	hub := hubtest.NewServer(smallWorld())
	defer hub.Close()
	notTLS := strings.Replace(hub.URL, "http://", "https://", 1)
	refused := closedEndpoint(t)
	noSuchHost := func(_ context.Context, _, addr string, _ int64) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	const seed = "meta-llama/Llama-3.1-8B"
	for _, tc := range []struct {
		name, endpoint string
		dial           func(context.Context, string, string, int64) (net.Conn, error)
		req            crawler.Request
		want           string
	}{
		{"no such host, planner", "https://hub.invalid", noSuchHost, crawler.Request{Seeds: []graph.ModelID{seed}, Depth: -1},
			"cannot reach https://hub.invalid: no such host — check the network or HF_ENDPOINT"},
		{"refused, planner", refused, netDial, crawler.Request{Seeds: []graph.ModelID{seed}, Depth: -1},
			"cannot reach " + refused + ": connection refused — check the network or HF_ENDPOINT"},
		{"refused, walk", refused, netDial, crawler.Request{Seeds: []graph.ModelID{seed}, Mode: "walk", Depth: -1},
			"cannot reach " + refused + ": connection refused — check the network or HF_ENDPOINT"},
		{"no such host, scan", "https://hub.invalid", noSuchHost, crawler.Request{All: true, Depth: -1},
			"cannot reach https://hub.invalid: no such host — check the network or HF_ENDPOINT"},
		{"no such host, pattern", "https://hub.invalid", noSuchHost, crawler.Request{Patterns: []graph.Pattern{mustPattern(t, "meta-llama/*")}, Mode: "walk", Depth: -1},
			"cannot reach https://hub.invalid: no such host — check the network or HF_ENDPOINT"},
		{"not TLS, walk", notTLS, netDial, crawler.Request{Seeds: []graph.ModelID{seed}, Mode: "walk", Depth: -1},
			"cannot reach " + notTLS + ": TLS handshake failed: the server does not speak TLS — check the network or HF_ENDPOINT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memStore(t)
			d := &countingDialer{fn: tc.dial}
			// The usual policy would try 1 + 20 times, minutes apart.
			w, err := crawler.NewWalker(crawler.Config{Endpoint: tc.endpoint, MaxRetries: 20, MinWait: time.Millisecond, DialContext: d.dial}, crawlsink.New(st))
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Crawl(context.Background(), tc.req)
			if !errors.Is(err, crawler.ErrUnreachable) {
				t.Fatalf("crawl: %v, want ErrUnreachable", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n %s\nwant\n %s", err, tc.want)
			}
			if n := d.dials.Load(); n < 1 || n > 3 {
				t.Errorf("%d connections tried, want 1 to 3", n)
			}
			runs, err := st.Runs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 0 {
				t.Errorf("runs recorded: %+v, want none", runs)
			}
			if _, ok, err := st.CrawlJob(); ok || err != nil {
				t.Errorf("a crawl job is left (%v, %v)", ok, err)
			}
		})
	}
}

func mustPattern(t *testing.T, s string) graph.Pattern {
	t.Helper()
	p, err := crawler.CheckSeedPattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Once the Hub has answered, a connection it refuses is a passing fault:
// retried as before, past the few attempts a first contact gets.
func TestRefusedAfterAnswerIsRetried(t *testing.T) {
	srv := hubtest.NewServer(smallWorld())
	defer srv.Close()
	// The second request's connection is closed without an answer, and
	// the next three connections are refused.
	srv.Fault = func(n int, _ *http.Request) hubtest.Fault {
		if n == 2 {
			return hubtest.Drop
		}
		return hubtest.NoFault
	}
	d := &countingDialer{fn: func(ctx context.Context, network, addr string, n int64) (net.Conn, error) {
		if n >= 2 && n <= 4 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		return netDial(ctx, network, addr, n)
	}}
	st := memStore(t)
	w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL, Parallel: 1, MaxRetries: 8, MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond, DialContext: d.dial}, crawlsink.New(st))
	if err != nil {
		t.Fatal(err)
	}
	stats, err := w.Crawl(context.Background(), crawler.Request{Seeds: []graph.ModelID{"meta-llama/Llama-3.1-8B"}, Mode: "walk", Depth: -1})
	if err != nil {
		t.Fatalf("crawl: %v", err)
	}
	if n := d.dials.Load(); n < 5 {
		t.Errorf("%d connections, want the refused three and more", n)
	}
	if stats.Run.ID != 1 || !stats.Run.Complete || stats.Retries < 3 {
		t.Errorf("run %+v, %d retries; want run 1 complete after at least 3 retries", stats.Run, stats.Retries)
	}
}

// An error that names a request names its URL without the query (the
// expand[] list, a filter, a cursor), and once only (not again in the
// url.Error the HTTP client wraps around a network error).
func TestErrorURLsWithoutQuery(t *testing.T) {
	for _, fault := range []hubtest.Fault{hubtest.Status500, hubtest.Drop} {
		t.Run(fault.String(), func(t *testing.T) {
			srv := hubtest.NewUnstartedServer(smallWorld())
			srv.Fault = func(_ int, r *http.Request) hubtest.Fault {
				if r.URL.Path == "/api/models" { // the listings, not the seed
					return fault
				}
				return hubtest.NoFault
			}
			srv.Start()
			defer srv.Close()
			w, err := crawler.NewWalker(crawler.Config{Endpoint: srv.URL, MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond}, crawlsink.New(memStore(t)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Crawl(context.Background(), crawler.Request{Seeds: []graph.ModelID{"meta-llama/Llama-3.1-8B"}, Mode: "walk", Depth: -1})
			if err == nil {
				t.Fatal("the walk succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, srv.URL+"/api/models") || strings.ContainsAny(msg, "?%") || strings.Count(msg, srv.URL) != 1 {
				t.Errorf("error %q: want the listing's URL once, without its query", msg)
			}
		})
	}
}

// A new crawl stopped (Ctrl-C, a server's cancel) before the Hub answered
// anything stored nothing: it records no run and leaves no crawl job, as
// an unreachable Hub does — a scan as well as a walk.
func TestCanceledBeforeAnswerRecordsNoRun(t *testing.T) {
	const seed = "meta-llama/Llama-3.1-8B"
	for _, tc := range []struct {
		name string
		req  crawler.Request
	}{
		{"scan", crawler.Request{All: true, Depth: -1}},
		{"full scan", crawler.Request{All: true, Full: true, Depth: -1}},
		{"walk", crawler.Request{Seeds: []graph.ModelID{seed}, Mode: "walk", Depth: -1}},
		{"planned", crawler.Request{Seeds: []graph.ModelID{seed}, Depth: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memStore(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// A Hub that accepts and never answers: the first connection
			// cancels the crawl, then waits for the crawl to drop it.
			hang := func(dctx context.Context, _, _ string, _ int64) (net.Conn, error) {
				client, server := net.Pipe()
				go func() { <-dctx.Done(); server.Close() }()
				cancel()
				return client, nil
			}
			d := &countingDialer{fn: hang}
			w, err := crawler.NewWalker(crawler.Config{Endpoint: "http://hub.test", MaxRetries: 1, MinWait: time.Millisecond, DialContext: d.dial}, crawlsink.New(st))
			if err != nil {
				t.Fatal(err)
			}
			stats, err := w.Crawl(ctx, tc.req)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("crawl: %v, want context.Canceled", err)
			}
			if stats.Run.ID != 0 {
				t.Errorf("stats name run %d, want none", stats.Run.ID)
			}
			runs, err := st.Runs(context.Background())
			if err != nil || len(runs) != 0 {
				t.Errorf("runs recorded: %+v (%v), want none", runs, err)
			}
			if _, ok, err := st.CrawlJob(); ok || err != nil {
				t.Errorf("a crawl job is left (%v, %v)", ok, err)
			}
		})
	}
}
