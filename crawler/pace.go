package crawler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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

// DefaultWindow is the Hub's rate-limit window, assumed until a
// RateLimit-Policy header gives it; every wait the Hub asks for is clamped
// to the window.
const DefaultWindow = 5 * time.Minute

// pacer spends the Hub's quota as fast as the quota allows, and no faster.
//
// The Hub counts requests in fixed windows (RateLimit-Policy: q per w
// seconds) and every answer says how many are left (RateLimit: r) and in
// how many whole seconds the window resets (t). While the window has
// requests left the pacer lets them go at once (colly's --parallel is the
// only bound); when what is left is spoken for, it waits for the reset and
// goes on. So a crawl smaller than what is left of a window is never
// slowed, and a larger one spends each window and waits only for resets.
//
// The reset instant is learnt, not trusted to t's rounding (up, down or to
// nearest: undocumented). Each answer bounds it: counted between the
// request's send and receive times, t seconds ± 1 before the reset. The
// intersection of these bounds is a bracket (lo, hi]. While the bracket is
// wide a few requests of each window are held back as probes, sent one at
// a time at the bracket's midpoint: an answer with r jumped back up shows
// the window rolled over (the reset was before it was received), one from
// the old window that it had not (the reset is after it was sent). With the
// window's length from the policy, one observed rollover pins every later
// reset. The pacer waits to hi plus a margin that shrinks with the
// bracket, so in steady state no request meets a 429.
//
// Without RateLimit headers (a mirror) nothing is paced beyond --parallel;
// a 429 halves the request rate, which then recovers by 20% per success, as
// the Hub's own clients slow down. A user's --rate caps the pace always.
//
// The pacer is also the per-attempt layer: each attempt has a deadline
// that covers reading the whole body, which is read here so that a server
// that stalls mid-body fails the attempt and the retrying transport above
// tries again; an attempt during which nothing arrives for the stall
// timeout fails then, without waiting for the deadline.
type pacer struct {
	next     http.RoundTripper
	parallel int
	deadline time.Duration // per attempt, body included
	stall    time.Duration // longest silence within an attempt; 0: none
	maxBody  int64
	userCap  *rate.Limiter // --rate, or nil
	clock    clock         // the real one but in tests

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever the state changes
	seq     uint64        // requests let through so far
	flight  int           // requests in flight

	headers    bool          // a RateLimit header has been seen
	quota      int           // q, or -1
	window     time.Duration // w, or 0 (unknown)
	remaining  int           // the last r seen, or -1
	winSeq     uint64        // the first request (seq) of the current window
	minR       int           // the smallest r seen in the current window (the quota after a reset), or -1
	minRSeq    uint64        // the request whose answer showed minR
	lastSend   time.Time     // latest send time of a request counted in the current window
	lo, hi     time.Time     // the current window resets in (lo, hi]; zero: unknown
	rolledHi   time.Time     // the latest possible reset the clock last rolled past; zero: none
	probing    bool          // a probe is in flight
	confirming bool          // the window rolled over by the clock: one request confirms it first

	slow  *rate.Limiter // the no-header 429 rate (AIMD); rate.Inf until a 429
	sends []time.Time   // recent send times (ring), to measure the rate

	waits  int // times a request waited for a reset
	waited time.Duration
}

func newPacer(userCap *Rate, parallel int, deadline time.Duration, maxBody int, next http.RoundTripper) *pacer {
	p := &pacer{
		next: next, parallel: max(1, parallel), deadline: deadline, maxBody: int64(maxBody),
		changed: make(chan struct{}), quota: -1, remaining: -1, minR: -1, clock: realClock{},
		slow: rate.NewLimiter(rate.Inf, max(1, parallel)),
	}
	if userCap != nil {
		p.userCap = rate.NewLimiter(userCap.perSecond(), max(1, min(parallel, userCap.N)))
	}
	return p
}

// PaceState is what the pacer knows of the quota, for progress displays
// and tests.
type PaceState struct {
	Limit     float64       // requests per second allowed now; 0: no bound but the quota
	Remaining int           // requests left in the window as the Hub last said (-1: unknown)
	Quota     int           // requests per window (-1: unknown)
	Window    time.Duration // the window's length (0: unknown)
	Waits     int           // times requests waited for the quota's reset
	Waited    time.Duration // total time spent so waiting (summed over waiters)
}

func (p *pacer) state() PaceState {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PaceState{Remaining: p.remaining, Quota: p.quota, Window: p.window, Waits: p.waits, Waited: p.waited}
	if l := p.slow.Limit(); l != rate.Inf {
		s.Limit = float64(l)
	}
	if p.userCap != nil && (s.Limit == 0 || float64(p.userCap.Limit()) < s.Limit) {
		s.Limit = float64(p.userCap.Limit())
	}
	return s
}

// ticket is one request let through.
type ticket struct {
	seq   uint64
	sent  time.Time
	probe bool
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if p.userCap != nil {
		if err := p.userCap.Wait(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.slow.Wait(ctx); err != nil {
		return nil, err
	}
	tk, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := p.attempt(req)
	p.done(tk, resp)
	return resp, err
}

// errStalled ends an attempt during which the Hub sent nothing for the
// stall timeout.
var errStalled = errors.New("stalled")

// attempt sends req once and reads the whole answer, all within the
// per-attempt deadline. An attempt in which no byte arrives for the stall
// timeout (waiting for the headers included) ends there, failed like a
// dropped connection, so the retrying transport above tries again at once
// rather than at the deadline.
func (p *pacer) attempt(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), p.deadline)
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var watchdog *time.Timer
	if p.stall > 0 {
		watchdog = time.AfterFunc(p.stall, func() { stop(errStalled) })
		defer watchdog.Stop()
	}
	why := func(err error, what string) error {
		switch {
		case req.Context().Err() != nil:
			return err
		case errors.Is(context.Cause(ctx), errStalled):
			return fmt.Errorf("%s: nothing received for %s: %w (%w)", what, p.stall, errStalled, err)
		case ctx.Err() == context.DeadlineExceeded:
			return fmt.Errorf("%s within %s: %w", what, p.deadline, err)
		}
		return err
	}
	resp, err := p.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, why(err, "no answer")
	}
	var r io.Reader = resp.Body
	if watchdog != nil {
		r = &progressReader{r: resp.Body, progress: func() { watchdog.Reset(p.stall) }}
		watchdog.Reset(p.stall) // the headers came
	}
	body, err := io.ReadAll(io.LimitReader(r, p.maxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", why(err, "answer not read"))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// progressReader calls progress whenever a read brings bytes.
type progressReader struct {
	r        io.Reader
	progress func()
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.progress()
	}
	return n, err
}

// acquire blocks until the quota allows one more request, and counts it.
func (p *pacer) acquire(ctx context.Context) (ticket, error) {
	var began time.Time
	for {
		p.mu.Lock()
		now := p.clock.Now()
		p.rollByClock(now)
		wake, probe, ok := p.admit(now)
		if ok {
			p.seq++
			p.flight++
			p.probing = p.probing || probe
			p.sends = append(p.sends, now)
			if len(p.sends) > 64 {
				p.sends = p.sends[1:]
			}
			if !began.IsZero() {
				p.waits++
				p.waited += now.Sub(began)
			}
			tk := ticket{seq: p.seq, sent: now, probe: probe}
			p.mu.Unlock()
			return tk, nil
		}
		ch := p.changed
		p.mu.Unlock()
		if began.IsZero() {
			began = now
		}
		var timer <-chan time.Time
		if !wake.IsZero() {
			c, stop := p.clock.NewTimer(max(wake.Sub(now), time.Millisecond))
			defer stop()
			timer = c
		}
		select {
		case <-timer:
		case <-ch:
		case <-ctx.Done():
			return ticket{}, ctx.Err()
		}
	}
}

// admit decides whether a request may go out now; if not, wake is when to
// look again (zero: when the state changes).
func (p *pacer) admit(now time.Time) (wake time.Time, probe, ok bool) {
	if !p.headers {
		return time.Time{}, false, true
	}
	reserve, avail := p.reserve(), p.avail()
	switch {
	case p.confirming && p.probing:
		return time.Time{}, false, false
	case p.confirming:
		// The clock says the window rolled over: one request confirms it
		// before the rest go (a wrong estimate costs one 429, not a burst).
		return time.Time{}, true, true
	case avail > reserve:
		return time.Time{}, false, true
	case avail > 0 && p.probing:
		return time.Time{}, false, false // one probe at a time
	case avail > 0 && !p.lo.IsZero():
		at := p.lo.Add(p.hi.Sub(p.lo) / 2)
		if !now.Before(at) {
			return time.Time{}, true, true
		}
		return at, false, false
	case avail > 0:
		return time.Time{}, false, true // nothing to bracket: just spend it
	case !p.hi.IsZero():
		return p.hi.Add(p.margin()), false, false
	}
	// Spent, with no idea of the reset (no t yet): look again in a window.
	return now.Add(p.windowOrDefault()), false, false
}

// avail is how many requests may still go out in the current window. The
// smallest r seen counts every request the Hub had counted when it
// answered that one (ours and anyone's sharing the quota); every request
// it counted later is among those still in flight. So r less the requests
// in flight is what is surely left, however the Hub ordered the requests.
func (p *pacer) avail() int {
	if p.minR < 0 {
		if p.flight == 0 {
			return 1 // learn the window's r from one answer
		}
		return 0
	}
	return p.minR - p.flight
}

// reserve is how many requests of a window are held back to probe the
// reset while its instant is uncertain: one, sent at the bracket's middle,
// which halves the bracket whichever window counts it, and wastes no
// quota (more probes would narrow faster but leave the old window's
// unsent remainder unspent whenever one lands in the new window).
func (p *pacer) reserve() int {
	if p.lo.IsZero() || p.hi.Sub(p.lo) <= 25*time.Millisecond || p.quota < 2 {
		return 0
	}
	return 1
}

// margin is how long after the latest possible reset a waiting request
// goes: small, and smaller as the bracket narrows.
func (p *pacer) margin() time.Duration {
	return 15*time.Millisecond + min(p.hi.Sub(p.lo)/10, 250*time.Millisecond)
}

func (p *pacer) windowOrDefault() time.Duration {
	if p.window > 0 {
		return p.window
	}
	return DefaultWindow
}

// rollByClock starts a new window once the latest possible reset has
// passed: the quota is whole again.
func (p *pacer) rollByClock(now time.Time) {
	if !p.headers || p.hi.IsZero() || now.Before(p.hi.Add(p.margin())) {
		return
	}
	// The quota is whole again (requests still in flight count against
	// it: they may be counted in the new window).
	p.minR, p.minRSeq = p.quota, p.seq
	p.winSeq = p.seq + 1
	p.rolledHi = p.hi
	p.confirming = true
	p.lastSend = time.Time{}
	if p.window > 0 {
		// Fixed windows: the next reset is one window later, as sure as this one.
		for !p.hi.After(now) {
			p.lo, p.hi = p.lo.Add(p.window), p.hi.Add(p.window)
		}
	} else {
		p.lo, p.hi = time.Time{}, time.Time{}
	}
	p.broadcast()
}

func (p *pacer) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// done records the answer to a request let through by acquire.
func (p *pacer) done(tk ticket, resp *http.Response) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.broadcast()
	p.flight--
	if tk.probe {
		p.probing = false
	}
	if resp == nil {
		return
	}
	if w, q, ok := parsePolicy(resp.Header.Get("RateLimit-Policy")); ok {
		p.quota, p.window = q, w
	}
	rl, ok := ParseRateLimit(resp.Header.Get("RateLimit"))
	if !ok {
		p.adapt(now, resp.StatusCode == http.StatusTooManyRequests)
		return
	}
	if !p.headers {
		p.headers = true
	}
	if p.slow.Limit() != rate.Inf {
		// The Hub announces its quota now: pace by it alone.
		p.slow.SetLimitAt(now, rate.Inf)
		p.slow.SetBurstAt(now, p.parallel)
	}
	p.remaining = rl.Remaining
	p.observe(tk, now, rl, resp.StatusCode == http.StatusTooManyRequests)
}

// observe learns the window's state from one answer's RateLimit header.
func (p *pacer) observe(tk ticket, recv time.Time, rl RateLimit, refused bool) {
	r := max(rl.Remaining, 0)
	if refused {
		r = 0
	}
	t := clampWait(time.Duration(rl.Reset)*time.Second, p.windowOrDefault())
	if refused {
		// Over quota, whatever we believed: nothing more goes out until
		// the reset this answer brackets.
		p.minR, p.minRSeq = 0, tk.seq
		lo, hi := laterOf(tk.sent, tk.sent.Add(t-time.Second)), recv.Add(t+time.Second)
		if nlo, nhi := laterOf(p.lo, lo), earlierOf(p.hi, hi); !p.lo.IsZero() && nlo.Before(nhi) {
			lo, hi = nlo, nhi
		}
		p.lo, p.hi = lo, hi
		p.winSeq = max(p.winSeq, tk.seq)
		p.confirming = false // the next reset by the clock confirms again
		return
	}
	if tk.seq < p.winSeq {
		// Sent before the clock rolled the window over. Counted in the old
		// window, it says nothing of this one; counted in this one (its
		// reset surely after the one rolled past), its r bounds what is
		// left here as any answer's does: dropped, the requests it and
		// those before it used would be overstated as left.
		if !p.rolledHi.IsZero() && tk.sent.Add(t-time.Second).After(p.rolledHi) && (p.minR < 0 || r < p.minR) {
			p.minR, p.minRSeq = r, tk.seq
		}
		return
	}
	p.confirming = false
	// The reset is t ± 1 s after the request was counted, which was
	// between its send and receive times.
	lo, hi := tk.sent.Add(t-time.Second), recv.Add(t+time.Second)
	rolled := false
	if !refused && p.minR >= 0 && r > p.minR+p.jump() && tk.seq > p.minRSeq {
		// r jumped back up for a request sent after the one that showed
		// the smallest r: more than reordering explains. (An answer to an
		// earlier request may just come late: its goroutine was slow.)
		rolled = true
	}
	if !refused && !p.hi.IsZero() && lo.After(p.hi) {
		rolled = true // counted after the latest possible reset
	}
	if rolled {
		// The reset just passed was after the last request counted in the
		// old window was sent, within the old bracket, and before this
		// answer came; with fixed windows the next is one window later.
		if p.window > 0 {
			nlo, nhi := lo, earlierOf(hi, recv.Add(p.window))
			if !p.lastSend.IsZero() {
				nlo = laterOf(nlo, p.lastSend.Add(p.window))
			}
			if !p.lo.IsZero() && p.lo.Before(recv) {
				nlo = laterOf(nlo, p.lo.Add(p.window))
				nhi = earlierOf(nhi, p.hi.Add(p.window))
			}
			if nlo.Before(nhi) {
				lo, hi = nlo, nhi
			}
		}
		p.lo, p.hi = lo, hi
		p.winSeq = tk.seq
		p.minR, p.minRSeq = r, tk.seq
		p.lastSend = tk.sent
		return
	}
	if p.lo.IsZero() {
		p.lo, p.hi = lo, hi
	} else {
		nlo, nhi := laterOf(p.lo, lo), earlierOf(p.hi, hi)
		if nlo.Before(nhi) {
			p.lo, p.hi = nlo, nhi
		} else {
			p.lo, p.hi = lo, hi // inconsistent with what we knew: trust the newest
		}
	}
	// Counted before the reset: the reset is after its send.
	if tk.sent.After(p.lo) && tk.sent.Before(p.hi) {
		p.lo = tk.sent
	}
	if tk.sent.After(p.lastSend) {
		p.lastSend = tk.sent
	}
	if p.minR < 0 || r < p.minR {
		p.minR, p.minRSeq = r, tk.seq
	}
}

// jump is how far r must rise above the smallest r of the window to show
// that the window rolled over: more than answers counted out of order can
// explain (at most the requests in flight), less than a small quota.
func (p *pacer) jump() int {
	if p.quota > 0 {
		return min(p.parallel, max(1, p.quota/4))
	}
	return p.parallel
}

// adapt slows down after a 429 without RateLimit headers (to half the rate
// of recent requests) and recovers by 20% per success, until unbounded.
func (p *pacer) adapt(now time.Time, refused bool) {
	cur := p.slow.Limit()
	if refused {
		// Half the rate of the last five seconds' requests.
		n := 0
		for _, at := range p.sends {
			if now.Sub(at) <= 5*time.Second {
				n++
			}
		}
		recent := rate.Limit(max(float64(n)/5, 1))
		if cur != rate.Inf && cur < recent {
			recent = cur
		}
		// Retry-After governs the wait; this only keeps the pace down,
		// never below one request per two seconds.
		p.slow.SetLimitAt(now, max(recent/2, 0.5))
		p.slow.SetBurstAt(now, 1)
		return
	}
	if cur == rate.Inf {
		return
	}
	if next := cur * 1.2; next < 200 {
		p.slow.SetLimitAt(now, next)
		return
	}
	p.slow.SetLimitAt(now, rate.Inf)
	p.slow.SetBurstAt(now, p.parallel)
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlierOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// clampWait bounds a wait the Hub asks for: negative, absurd (longer than
// the window) or overflowed values become the window, so no answer can
// cause a day-long sleep or a busy loop.
func clampWait(d, window time.Duration) time.Duration {
	if d < 0 || d > window {
		return window
	}
	return d
}

// parsePolicy reads w and q from `RateLimit-Policy: "fixed window";"api";q=Q;w=W`.
// A window outside 1 s to 1 h is not believed.
func parsePolicy(h string) (window time.Duration, quota int, ok bool) {
	window = DefaultWindow
	quota = -1
	for _, part := range strings.Split(h, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			continue
		}
		switch strings.TrimSpace(k) {
		case "q":
			quota = n
		case "w":
			if n >= 1 && n <= 3600 {
				window = time.Duration(n) * time.Second
			}
		}
	}
	return window, quota, quota >= 0
}

// clock is the pacer's time: the real clock, or a test's.
type clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and
	// what stops it.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
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

// maxSeconds bounds the seconds read from a header before they become a
// time.Duration, against overflow.
const maxSeconds = math.MaxInt32

// windowLength is the rate-limit window as the Hub's policy says, else
// DefaultWindow.
func (p *pacer) windowLength() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.windowOrDefault()
}
