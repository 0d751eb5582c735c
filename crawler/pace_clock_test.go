package crawler

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test says.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan time.Time, 1)
	f.timers = append(f.timers, fakeTimer{f.now.Add(d), c})
	return c, func() bool { return true }
}

// set moves the clock to at, firing the timers due.
func (f *fakeClock) set(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = at
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.at.After(at) {
			kept = append(kept, t)
			continue
		}
		t.c <- at
	}
	f.timers = kept
}

// pacerAt is a pacer on a fake clock whose requests the test lets through
// (take) and answers (answer) itself, in any order.
type pacerAt struct {
	t     *testing.T
	p     *pacer
	clock *fakeClock
	t0    time.Time
}

func newPacerAt(t *testing.T, parallel int) *pacerAt {
	c := newFakeClock()
	p := newPacer(nil, parallel, time.Minute, 1<<20, nil)
	p.clock = c
	return &pacerAt{t: t, p: p, clock: c, t0: c.Now()}
}

// at moves the clock to t0 + d.
func (pa *pacerAt) at(d time.Duration) { pa.clock.set(pa.t0.Add(d)) }

// take lets one request through now, if the pacer admits it at once.
func (pa *pacerAt) take() (ticket, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // acquire admits first, and waits for nothing
	tk, err := pa.p.acquire(ctx)
	return tk, err == nil
}

func (pa *pacerAt) mustTake() ticket {
	pa.t.Helper()
	tk, ok := pa.take()
	if !ok {
		pa.t.Fatalf("at %s: the pacer held a request (remaining %d, in flight %d)", pa.clock.Now().Sub(pa.t0), pa.p.minR, pa.p.flight)
	}
	return tk
}

// answer answers tk now with RateLimit r and t, and the policy when given.
func (pa *pacerAt) answer(tk ticket, status, r, t int, policy string) {
	h := http.Header{}
	h.Set("RateLimit", fmt.Sprintf(`"api";r=%d;t=%d`, r, t))
	if policy != "" {
		h.Set("RateLimit-Policy", policy)
	}
	pa.p.done(tk, &http.Response{StatusCode: status, Header: h})
}

// wake is when the pacer would look again at a held request (zero: when
// the state changes), and whether it would let one go now.
func (pa *pacerAt) wake() (time.Time, bool) {
	pa.p.mu.Lock()
	defer pa.p.mu.Unlock()
	now := pa.clock.Now()
	pa.p.rollByClock(now)
	wake, _, ok := pa.p.admit(now)
	return wake, ok
}

// TestPaceAnswersReorderedAroundARoll: requests in flight when the clock
// rolls the window over may be counted in either window. Those counted in
// the new one lower what is left of it, whatever order their answers come
// in; one counted in the old window says nothing of the new. (Before,
// every answer to a request sent before the roll was dropped: what was
// left was overstated by the requests in flight, and 429s followed at the
// window's end.)
func TestPaceAnswersReorderedAroundARoll(t *testing.T) {
	const policy = `"fixed window";"api";q=1000;w=60`
	pa := newPacerAt(t, 4)
	pa.answer(pa.mustTake(), 200, 500, 60, policy) // the Hub resets at t0+60.2s
	if pa.p.hi.Sub(pa.t0) > 61*time.Second || pa.p.lo.Sub(pa.t0) < 59*time.Second {
		t.Fatalf("bracket (%s, %s], want within (59s, 61s]", pa.p.lo.Sub(pa.t0), pa.p.hi.Sub(pa.t0))
	}
	pa.at(60 * time.Second)
	old := pa.mustTake() // counted at 60.0 s: the old window
	pa.at(60500 * time.Millisecond)
	a, b := pa.mustTake(), pa.mustTake() // counted at 60.5 s: the new window
	pa.at(61500 * time.Millisecond)      // past the latest reset: the clock rolls
	confirm := pa.mustTake()
	if _, ok := pa.take(); ok {
		t.Fatal("a request went out beside the one confirming the roll")
	}
	if pa.p.rolledHi.IsZero() || pa.p.winSeq != confirm.seq {
		t.Fatalf("no roll by the clock: rolledHi %v, window from request %d", pa.p.rolledHi, pa.p.winSeq)
	}
	// On the wire the confirming request was counted first in the new
	// window (999 left), then a and b (998, 997); its answer comes first.
	pa.answer(confirm, 200, 999, 59, policy)
	pa.answer(old, 200, 499, 1, policy) // 0.2 s before the old window's reset
	pa.answer(b, 200, 997, 60, policy)
	pa.answer(a, 200, 998, 60, policy)
	if got := pa.p.avail(); got != 997 {
		t.Errorf("%d requests left by the pacer's count, the Hub's 997", got)
	}
	if pa.p.lo.Sub(pa.t0) < 119*time.Second || pa.p.hi.Sub(pa.t0) > 121500*time.Millisecond {
		t.Errorf("next reset in (%s, %s], want within (119s, 121.5s]", pa.p.lo.Sub(pa.t0), pa.p.hi.Sub(pa.t0))
	}
}

// TestPaceQuotaZero: a policy of no requests at all holds every request
// but one per window (which confirms the quota is still 0), never in a
// busy loop.
func TestPaceQuotaZero(t *testing.T) {
	const policy = `"fixed window";"api";q=0;w=5`
	pa := newPacerAt(t, 4)
	pa.answer(pa.mustTake(), 429, 0, 5, policy)
	sent := 0
	for w := 0; w < 4; w++ {
		wake, ok := pa.wake()
		if ok || wake.IsZero() || !wake.After(pa.clock.Now()) {
			t.Fatalf("window %d: admit %v, wake at %s (now %s): want a wait for the reset", w, ok, wake.Sub(pa.t0), pa.clock.Now().Sub(pa.t0))
		}
		if d := wake.Sub(pa.clock.Now()); d > 5*time.Second+time.Second+pa.p.margin() {
			t.Errorf("window %d: waits %s, longer than the window, the rounding of t and the margin", w, d)
		}
		pa.clock.set(wake)
		tk := pa.mustTake()
		sent++
		if _, ok := pa.take(); ok {
			t.Fatalf("window %d: two requests in a window of quota 0", w)
		}
		pa.answer(tk, 429, 0, 5, policy)
	}
	if sent != 4 {
		t.Errorf("%d requests in 4 windows", sent)
	}
}

// TestPaceWithoutPolicy: RateLimit without RateLimit-Policy (no quota, no
// window length): what r says is spent, then the pacer waits for the
// bracketed reset and lets one request confirm the new window before the
// rest.
func TestPaceWithoutPolicy(t *testing.T) {
	pa := newPacerAt(t, 4)
	pa.answer(pa.mustTake(), 200, 3, 10, "")
	var tks []ticket
	for range 3 {
		tks = append(tks, pa.mustTake())
	}
	if _, ok := pa.take(); ok {
		t.Fatal("a fourth request went out with 3 left")
	}
	for i, tk := range tks {
		pa.answer(tk, 200, 2-i, 10, "")
	}
	wake, ok := pa.wake()
	if ok || wake.Sub(pa.t0) < 9*time.Second || wake.Sub(pa.t0) > 12*time.Second {
		t.Fatalf("spent: admit %v, wake at %s; want a wait to the reset at about 10 s", ok, wake.Sub(pa.t0))
	}
	if s := pa.p.state(); s.Quota != -1 || s.Window != 0 || s.Remaining != 0 {
		t.Errorf("state %+v: want quota and window unknown, nothing left", s)
	}
	pa.clock.set(wake)
	confirm := pa.mustTake()
	if _, ok := pa.take(); ok {
		t.Fatal("a request went out beside the one confirming the new window")
	}
	pa.answer(confirm, 200, 9, 10, "")
	for i := range 9 {
		if _, ok := pa.take(); !ok {
			t.Fatalf("request %d of the 9 the new window has left was held", i+1)
		}
	}
	if _, ok := pa.take(); ok {
		t.Error("a request beyond what the new window has left went out")
	}
}

// TestPaceWindowShrinks: when the policy's window shrinks, the rolls and
// waits follow the new length at once, not the old.
func TestPaceWindowShrinks(t *testing.T) {
	pa := newPacerAt(t, 4)
	pa.answer(pa.mustTake(), 200, 50, 50, `"fixed window";"api";q=100;w=60`)
	pa.at(time.Second)
	// The Hub moved to 10 s windows: a new window, reset in 8 s.
	pa.answer(pa.mustTake(), 200, 99, 8, `"fixed window";"api";q=100;w=10`)
	if w := pa.p.windowLength(); w != 10*time.Second {
		t.Fatalf("window %s, want 10s", w)
	}
	if pa.p.hi.Sub(pa.t0) > 10*time.Second || pa.p.lo.Sub(pa.t0) < 8*time.Second {
		t.Fatalf("reset bracket (%s, %s], want within (8s, 10s]", pa.p.lo.Sub(pa.t0), pa.p.hi.Sub(pa.t0))
	}
	// Spend the window; the wait is for its reset, not 50 s.
	pa.answer(pa.mustTake(), 429, 0, 7, `"fixed window";"api";q=100;w=10`)
	hi := pa.p.hi
	wake, ok := pa.wake()
	if ok || wake.Sub(pa.t0) > 11*time.Second {
		t.Fatalf("spent: admit %v, wake at %s; want by 11 s", ok, wake.Sub(pa.t0))
	}
	pa.clock.set(wake)
	pa.mustTake()
	if d := pa.p.hi.Sub(hi); d != 10*time.Second {
		t.Errorf("after the roll the next reset is %s later, want the new window, 10s", d)
	}
}
