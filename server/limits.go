package server

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Limits of what one request may cost. Heavy requests (exports, pictures,
// statistics) run a few at a time: beyond, they are answered 503 with
// Retry-After at once rather than queued (a client that retries later
// costs nothing meanwhile). Every request has a deadline; an export's
// answer streams and must keep moving (exportStall), so that a client
// that stops reading frees its slot and pins no memory.
const (
	// MaxGraphNodes caps max-nodes of /api/v1/graph.
	MaxGraphNodes = 5000
	// MaxPictureNodes caps the nodes of a picture (svg, png, pdf) Graphviz
	// lays out.
	MaxPictureNodes = 5000
	// MaxExportNodes caps max-nodes of other exports (without it, an export
	// is whole and streamed).
	MaxExportNodes = 200000
	// MaxTop caps top of /api/v1/stats.
	MaxTop = 1000
	// MaxTreeDepth and MaxTreeMax cap depth and max of /api/v1/tree (max=0,
	// all children, is allowed: a tree lists at most graph.MaxTreeNodes).
	MaxTreeDepth = 100
	MaxTreeMax   = 1000

	readTimeout    = 30 * time.Second // a read's deadline
	exportTimeout  = 30 * time.Minute // an export's, as long as it streams
	pictureTimeout = 5 * time.Minute  // a picture's (Graphviz's time)
	retryAfter     = 2                // seconds a refused heavy request waits
)

// exportStall is how long an export's answer may stay without moving
// (Server.stall, which tests shorten).
const exportStall = 30 * time.Second

// slots bound the heavy requests that run at once.
type slots chan struct{}

// newSlots makes room for n requests at a time (default: twice the CPUs,
// at least 4).
func newSlots(n int) slots {
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	return make(slots, n)
}

// take takes a slot, or returns false at once when all are taken.
func (s slots) take() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s slots) release() { <-s }

// inflight counts the requests being answered, so that Close waits for
// them (they read the database) once it takes no more.
type inflight struct {
	mu       sync.Mutex
	n        int
	stopping bool
	idle     chan struct{} // closed once stopping with none left
}

func newInflight() *inflight { return &inflight{idle: make(chan struct{})} }

// enter counts a request in, or returns false when stopping.
func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return false
	}
	f.n++
	return true
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.stopping && f.n == 0 {
		close(f.idle)
	}
}

// stop takes no more requests; the channel closes when the last one left.
func (f *inflight) stop() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopping {
		f.stopping = true
		if f.n == 0 {
			close(f.idle)
		}
	}
	return f.idle
}

// limit gives every request its deadline, ended also by Close, and runs
// heavy ones in the server's slots (a HEAD does not do the work: it takes
// none). After Close, requests are answered 503.
func (s *Server) limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.inflight.enter() {
			writeError(w, http.StatusServiceUnavailable, fmt.Errorf("the server is stopping"))
			return
		}
		defer s.inflight.leave()
		timeout := readTimeout
		var pool slots
		what := ""
		switch r.URL.Path {
		case "/api/v1/export":
			timeout, pool, what = exportTimeout, s.heavy, "exports and statistics"
			if isPicture(r.URL.Query().Get("format")) {
				timeout, pool, what = pictureTimeout, s.pictures, "pictures (Graphviz)"
			}
		case "/api/v1/stats", "/api/v1/compare", "/api/v1/organisations", "/api/v1/licenses", "/api/v1/changes", "/feeds/changes.atom", "/api/v1/tree":
			// Statistics, comparisons of ecosystems (seconds of CPU at 3M
			// models), every organisation's ecosystem (the first request of
			// a data version), licence paths of a whole family, feeds (each
			// run's change log read), trees (a whole family walked and
			// sized).
			pool, what = s.heavy, "exports and statistics"
		}
		if pool != nil && r.Method == http.MethodGet {
			if !pool.take() {
				w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
				writeError(w, http.StatusServiceUnavailable, fmt.Errorf("the server is busy: %d %s run already; try again in %d seconds", cap(pool), what, retryAfter))
				return
			}
			defer func() {
				pool.release()
				if s.released != nil {
					s.released()
				}
			}()
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		defer context.AfterFunc(s.ctx, cancel)() // Close ends it
		inner := r.WithContext(ctx)
		h.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // for the metrics' route label
	})
}

func isPicture(format string) bool { return format == "svg" || format == "png" || format == "pdf" }

// streamWriter writes an export's answer as it is made: the headers go
// with the first byte (before it, a failure is still an error answer), and
// each write must finish within exportStall, or the connection is cut
// (a client that stops reading).
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	stall   time.Duration     // how long a write may take
	header  func(http.Header) // sets the answer's headers, once
	written int64
	renewed time.Time // when the write deadline was last pushed
}

func newStreamWriter(w http.ResponseWriter, stall time.Duration, header func(http.Header)) *streamWriter {
	return &streamWriter{w: w, rc: http.NewResponseController(w), stall: stall, header: header}
}

func (sw *streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if sw.written == 0 {
		sw.header(sw.w.Header())
		sw.w.WriteHeader(http.StatusOK)
	}
	if now := time.Now(); now.Sub(sw.renewed) > time.Second {
		// The server's WriteTimeout is for whole answers; an export's
		// instead must keep moving.
		sw.rc.SetWriteDeadline(now.Add(sw.stall))
		sw.renewed = now
	}
	n, err := sw.w.Write(p)
	sw.written += int64(n)
	return n, err
}
