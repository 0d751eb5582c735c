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
	clock := newFakeClock()
	p.clock = clock
	// A window that, by the clock, has just rolled over.
	p.headers, p.quota, p.window = true, 10, 2*time.Second
	p.lo, p.hi = clock.Now().Add(-3*time.Second), clock.Now().Add(-2*time.Second)
	held, cancel := context.WithCancel(context.Background())
	cancel() // acquire admits first and waits for nothing: a held request fails at once
	for range 6 {
		tk, err := p.acquire(held)
		if err != nil {
			break // held: as it should
		}
		req, _ := http.NewRequest("GET", "http://hub.test/api/models", nil)
		resp, _ := p.attempt(req)
		p.done(tk, resp)
	}
	if n := hub.seen.Load(); n != 1 {
		t.Errorf("%d requests reached a Hub that refused the first; want 1", n)
	}
}
