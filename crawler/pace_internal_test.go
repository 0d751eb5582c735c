package crawler

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// refuser answers every request 429 with a RateLimit header.
type refuser struct{ seen atomic.Int64 }

func (f *refuser) RoundTrip(req *http.Request) (*http.Response, error) {
	f.seen.Add(1)
	h := http.Header{}
	h.Set("RateLimit", `"api";r=0;t=2`)
	h.Set("RateLimit-Policy", `"fixed window";"api";q=10;w=2`)
	return &http.Response{StatusCode: http.StatusTooManyRequests, Header: h, Body: http.NoBody, Request: req}, nil
}

// TestRefusalHoldsEveryRequest: after a 429, nothing more goes out until
// the reset it brackets, even right after a reset estimated by the clock.
func TestRefusalHoldsEveryRequest(t *testing.T) {
	hub := &refuser{}
	p := newPacer(nil, 4, time.Minute, 1<<20, hub)
	// A window that, by the clock, has just rolled over.
	p.headers, p.quota, p.window = true, 10, 2*time.Second
	p.lo, p.hi = time.Now().Add(-3*time.Second), time.Now().Add(-2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	for range 6 {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://hub.test/api/models", nil)
		if _, err := p.RoundTrip(req); err != nil {
			break // held until the context ended: as it should
		}
	}
	if n := hub.seen.Load(); n != 1 {
		t.Errorf("%d requests reached a Hub that refused the first; want 1", n)
	}
}
