package crawler

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a request budget: N requests per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate parses "N/5m", "N/300s", "N/1h" or a bare "N" (per 5 minutes, the
// Hub's window).
func ParseRate(s string) (Rate, error) {
	n, per, found := strings.Cut(strings.TrimSpace(s), "/")
	r := Rate{Per: 5 * time.Minute}
	var err error
	if r.N, err = strconv.Atoi(n); err != nil || r.N <= 0 {
		return Rate{}, fmt.Errorf("invalid rate %q: want N/5m (N requests per 5 minutes)", s)
	}
	if found {
		if !strings.ContainsAny(per, "smh") {
			per += "s"
		}
		if per[0] < '0' || per[0] > '9' {
			per = "1" + per
		}
		if r.Per, err = time.ParseDuration(per); err != nil || r.Per <= 0 {
			return Rate{}, fmt.Errorf("invalid rate %q: want N/5m (N requests per 5 minutes)", s)
		}
	}
	return r, nil
}

func (r Rate) perSecond() rate.Limit {
	return rate.Limit(float64(r.N) / r.Per.Seconds())
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.N, r.Per) }

// DefaultRate is the pace without RateLimit headers or --rate: the Hub's
// anonymous quota, 500 requests per 5 minutes.
var DefaultRate = Rate{N: 500, Per: 5 * time.Minute}

// pacer spreads requests over the Hub's rate-limit window. Every response's
// `RateLimit: "api";r=R;t=T` header retunes a token-bucket limiter to R
// requests over the T seconds left (less those in flight); when R reaches 0
// all requests wait for the window to reset. A user's cap (--rate) bounds
// the pace; without headers the cap, or DefaultRate, is the pace.
type pacer struct {
	lim      *rate.Limiter
	cap      rate.Limit // the user's --rate, or 0
	fallback rate.Limit // pace without headers
	burst    int

	mu        sync.Mutex
	until     time.Time // no request before this (quota spent)
	resetLo   time.Time // the window resets after resetLo…
	resetHi   time.Time // …and no later than resetHi
	inflight  int
	remaining int // last RateLimit r, or -1
	quota     int // last RateLimit-Policy q, or -1
	next      http.RoundTripper
}

func newPacer(userCap *Rate, parallel int, next http.RoundTripper) *pacer {
	p := &pacer{fallback: DefaultRate.perSecond(), burst: max(1, parallel), remaining: -1, quota: -1, next: next}
	if userCap != nil {
		p.cap = userCap.perSecond()
		p.fallback = p.cap
	}
	p.lim = rate.NewLimiter(p.fallback, p.burst)
	return p
}

// PaceState is what the pacer knows of the quota, for progress displays.
type PaceState struct {
	Limit     float64 // requests per second allowed now
	Remaining int     // requests left in the window (-1: unknown)
	Quota     int     // requests per window (-1: unknown)
}

func (p *pacer) state() PaceState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PaceState{Limit: float64(p.lim.Limit()), Remaining: p.remaining, Quota: p.quota}
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	p.mu.Lock()
	wait := time.Until(p.until)
	p.mu.Unlock()
	if wait > 0 {
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	if err := p.lim.Wait(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.inflight++
	p.mu.Unlock()
	resp, err := p.next.RoundTrip(req)
	p.mu.Lock()
	p.inflight--
	p.mu.Unlock()
	if err == nil {
		p.observe(resp)
	}
	return resp, err
}

// observe retunes the limiter from a response's rate-limit headers.
//
// t is in whole seconds, so one response only says that the window resets
// within (now+t-1, now+t] (if the Hub rounds up). Intersecting these
// intervals over the responses of one window pins the reset down closely;
// an interval disjoint from the current estimate means a new window.
func (p *pacer) observe(resp *http.Response) {
	rl, ok := ParseRateLimit(resp.Header.Get("RateLimit"))
	p.mu.Lock()
	defer p.mu.Unlock()
	if q, ok := parsePolicyQuota(resp.Header.Get("RateLimit-Policy")); ok {
		p.quota = q
	}
	now := time.Now()
	if !ok {
		if resp.StatusCode == http.StatusTooManyRequests {
			// Over quota without RateLimit: halve the pace.
			p.lim.SetLimitAt(now, p.lim.Limit()/2)
		}
		return
	}
	lo := now.Add(time.Duration(rl.Reset-1) * time.Second)
	hi := now.Add(time.Duration(rl.Reset) * time.Second)
	if p.resetHi.IsZero() || lo.After(p.resetHi) {
		p.resetLo, p.resetHi = lo, hi // a new window
	} else {
		if lo.After(p.resetLo) {
			p.resetLo = lo
		}
		if hi.Before(p.resetHi) {
			p.resetHi = hi
		}
	}
	p.remaining = rl.Remaining
	left := rl.Remaining - p.inflight
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// As the Hub's own client does: t+1 s.
		p.until = now.Add(time.Duration(rl.Reset+1) * time.Second)
		return
	case left <= 0:
		// Quota spent (or about to be, by the requests in flight): wait
		// for the window to reset.
		p.until = p.resetHi.Add(20 * time.Millisecond)
		return
	}
	// Spread what is left until the earliest the window may end.
	secs := max(p.resetLo.Sub(now).Seconds(), 0.1)
	limit := rate.Limit(float64(left) / secs)
	if p.cap > 0 && limit > p.cap {
		limit = p.cap
	}
	p.lim.SetLimitAt(now, limit)
	p.lim.SetBurstAt(now, max(1, min(p.burst, left)))
}

// parsePolicyQuota reads q from `RateLimit-Policy: "fixed window";"api";q=Q;w=W`.
func parsePolicyQuota(h string) (int, bool) {
	for _, part := range strings.Split(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "q="); ok {
			if q, err := strconv.Atoi(v); err == nil && q >= 0 {
				return q, true
			}
		}
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
