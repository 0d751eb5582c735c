package hubtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake Hub serving a World over HTTP on loopback.
type Server struct {
	*httptest.Server
	World *World

	// MaxPageSize caps the models per listing page whatever limit is asked
	// (the real Hub's cap is undocumented). 0 means 1000.
	MaxPageSize int
	// MaxLimit, if set, makes a listing that asks for a larger limit fail
	// with 400, as some Hub deployments may.
	MaxLimit int
	// PageSizeWithoutFull, if set, caps the models per listing page at
	// this many unless the listing asks for full=true (which cannot go
	// with expand[] and answers every model whole): one report has the
	// real Hub give 100 per page without full, 1000 with.
	PageSizeWithoutFull int

	// Quota requests are allowed per fixed Window (the Hub's "api" bucket);
	// past it the server answers 429. Every response carries
	// `RateLimit: "api";r=R;t=T` and `RateLimit-Policy`, as the Hub's do.
	// Zero values mean 1,000,000 per 5 minutes.
	Quota  int
	Window time.Duration
	// Rounding is how t (whole seconds to the window's reset) is rounded
	// from the exact time left; the real Hub's rounding is undocumented.
	Rounding Rounding
	// NoRateLimitHeaders leaves the RateLimit headers out (a mirror, say).
	NoRateLimitHeaders bool
	// RetryAfter adds Retry-After (seconds) to 429s.
	RetryAfter bool

	// Fault, if set, is asked about every request (n counts from 1) and may
	// make it fail.
	Fault func(n int, r *http.Request) Fault

	// LinkHost, if set, replaces the host of next-page links (a hostile or
	// misconfigured Hub sending the client elsewhere, or a mirror passing
	// the Hub's own links through).
	LinkHost string

	// PageFilter, if set, is asked about each model of a listing page after
	// the page is selected: models it refuses are left out of the answer,
	// but still count for the page's size and its next-page cursor, as the
	// Hub may filter a page after selecting it. Pages come out short or
	// empty, yet carry rel="next" while the listing goes on.
	PageFilter func(m Model) bool

	// Delay makes every answer wait this long before it is written (a slow
	// Hub); a request whose client gives up meanwhile is not answered.
	Delay time.Duration

	mu          sync.Mutex
	requests    []Request
	windowStart time.Time
	windowUsed  int
	tooMany     int
}

// Rounding is how the server turns the time left in a window into t.
type Rounding int

// The roundings.
const (
	RoundUp      Rounding = iota // ceil: t=5 while 4.2 s are left
	RoundDown                    // floor: t=4
	RoundNearest                 // t=4
)

func (r Rounding) String() string {
	return [...]string{"up", "down", "nearest"}[r]
}

// ParseRounding reads "up", "down" or "nearest".
func ParseRounding(s string) (Rounding, error) {
	for r := RoundUp; r <= RoundNearest; r++ {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("rounding must be up, down or nearest, not %q", s)
}

func (r Rounding) apply(d time.Duration) int {
	switch r {
	case RoundDown:
		return int(math.Floor(d.Seconds()))
	case RoundNearest:
		return int(math.Round(d.Seconds()))
	}
	return int(math.Ceil(d.Seconds()))
}

// Fault is a failure the server can inject into one request.
type Fault int

// The faults.
const (
	NoFault    Fault = iota
	Status500        // 500 Internal Server Error
	Status502        // 502 Bad Gateway
	Status503        // 503 Service Unavailable
	Drop             // the connection is closed without an answer
	Truncate         // a 200 whose body stops half-way
	Garbage          // a 200 whose body is not JSON
	WrongShape       // a 200 with JSON of the wrong shape
	Slow             // the answer comes after 300 ms
	// GatedRepo is a 401 with X-Error-Code GatedRepo, as the Hub answers
	// for a gated repo's files without credentials.
	GatedRepo
	// Forbidden is a 403 with X-Error-Code GatedRepo, as the Hub answers a
	// token not on a gated repo's access list.
	Forbidden
	// BadCredentials is a 401 "Invalid credentials in Authorization
	// header", as the Hub answers a bad token, and also (observed) some
	// requests without one.
	BadCredentials
	// Stall is a 200 that sends its headers and half its body, then
	// nothing more until the client gives up (a transfer stalled
	// mid-body).
	Stall
)

var faultNames = [...]string{"none", "500", "502", "503", "drop", "truncate", "garbage", "wrong-shape", "slow",
	"gated", "forbidden", "bad-credentials", "stall"}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// FaultNames lists the names ParseFault reads, in Fault order.
func FaultNames() []string { return append([]string(nil), faultNames[:]...) }

// ParseFault reads a fault by the name String gives it ("503", "drop",
// "gated", …).
func ParseFault(s string) (Fault, error) {
	for i, n := range faultNames {
		if n == s {
			return Fault(i), nil
		}
	}
	return 0, fmt.Errorf("fault must be one of %s, not %q", strings.Join(faultNames[1:], ", "), s)
}

// EveryNth returns a Server.Fault that fails every nth request (the nth,
// 2nth, …) with f, and lets the others through.
func EveryNth(n int, f Fault) func(int, *http.Request) Fault {
	return func(i int, _ *http.Request) Fault {
		if n > 0 && i%n == 0 {
			return f
		}
		return NoFault
	}
}

// Request is what the server saw of one request.
type Request struct {
	Method        string
	URL           string // path and query
	Authorization string
	UserAgent     string
	Status        int
}

// NewServer starts a fake Hub for w. Close it when done.
func NewServer(w *World) *Server {
	s := &Server{World: w}
	s.Server = httptest.NewServer(s)
	return s
}

// NewUnstartedServer returns a fake Hub that is not yet listening, so that
// its fields can be set first; call Start.
func NewUnstartedServer(w *World) *Server {
	s := &Server{World: w}
	s.Server = httptest.NewUnstartedServer(s)
	return s
}

// Requests returns the requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestCount returns how many requests were served.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// TooManyRequests returns how many 429s the server has sent.
func (s *Server) TooManyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mu.Lock()
	n := len(s.requests) + 1
	// Every answer of the Hub carries an X-Request-Id (recorded:
	// "Root=1-67dd6985-78012b7506dd8c831b8e7c28;<trace id>").
	seed := fmt.Sprint(n, time.Now().UnixNano())
	w.Header().Set("X-Request-Id", fmt.Sprintf("Root=1-%08x-%016x%08x", time.Now().Unix(), hash(seed), uint32(hash("id:"+seed))))
	s.requests = append(s.requests, Request{
		Method: r.Method, URL: r.URL.RequestURI(), Authorization: r.Header.Get("Authorization"),
		UserAgent: r.Header.Get("User-Agent"),
	})
	over := s.rateLimitLocked(w.Header())
	if over {
		s.tooMany++
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.requests[n-1].Status = rec.status
		s.mu.Unlock()
	}()
	if over {
		httpError(rec, http.StatusTooManyRequests, "", "You have exceeded our rate limit")
		return
	}
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	fault := NoFault
	if s.Fault != nil {
		fault = s.Fault(n, r)
	}
	switch fault {
	case Status500, Status502, Status503:
		code := map[Fault]int{Status500: 500, Status502: 502, Status503: 503}[fault]
		httpError(rec, code, "", http.StatusText(code))
		return
	case Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case GatedRepo:
		httpError(rec, http.StatusUnauthorized, "GatedRepo", "Access to model "+r.URL.Path+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		return
	case Forbidden:
		httpError(rec, http.StatusForbidden, "GatedRepo", "Access to model "+r.URL.Path+" is restricted and you are not in the authorized list.")
		return
	case BadCredentials:
		httpError(rec, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	case Slow:
		// A client that gives up meanwhile is not answered (nor waited for:
		// a test on a fake clock ends without this handler still asleep).
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	case Garbage:
		rec.Header().Set("Content-Type", "text/html")
		rec.WriteHeader(http.StatusOK)
		io.WriteString(rec, "<html><body>502 Bad Gateway (from a proxy)</body></html>")
		return
	case WrongShape:
		writeJSON(rec, map[string]any{"models": "not what you expected"})
		return
	case Stall:
		buf := &bufferWriter{header: http.Header{}}
		s.serve(buf, r)
		for k, v := range buf.header {
			rec.Header()[k] = v
		}
		rec.Header().Set("Content-Length", strconv.Itoa(buf.body.Len()))
		rec.WriteHeader(buf.status)
		rec.Write(buf.body.Bytes()[:buf.body.Len()/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		<-r.Context().Done()
		return
	case Truncate:
		buf := &bufferWriter{header: http.Header{}}
		s.serve(buf, r)
		for k, v := range buf.header {
			rec.Header()[k] = v
		}
		rec.Header().Set("Content-Length", strconv.Itoa(buf.body.Len()))
		rec.WriteHeader(buf.status)
		rec.Write(buf.body.Bytes()[:buf.body.Len()/2])
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	s.serve(rec, r)
}

// bufferWriter captures a response to be sent damaged.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferWriter) WriteHeader(code int) { b.status = code }

// rateLimitLocked counts the request against the fixed window, sets the
// rate-limit headers and reports whether the request is over quota.
func (s *Server) rateLimitLocked(h http.Header) bool {
	quota, window := s.Quota, s.Window
	if quota <= 0 {
		quota = 1_000_000
	}
	if window <= 0 {
		window = 5 * time.Minute
	}
	now := time.Now()
	if s.windowStart.IsZero() || now.Sub(s.windowStart) >= window {
		// Windows are aligned to the server's start, like the Hub's to the clock.
		if s.windowStart.IsZero() {
			s.windowStart = now
		} else {
			s.windowStart = s.windowStart.Add(now.Sub(s.windowStart).Truncate(window))
		}
		s.windowUsed = 0
	}
	reset := s.windowStart.Add(window).Sub(now)
	over := s.windowUsed >= quota
	if !over {
		s.windowUsed++
	}
	t := s.Rounding.apply(reset)
	if !s.NoRateLimitHeaders {
		h.Set("RateLimit", fmt.Sprintf(`"api";r=%d;t=%d`, quota-s.windowUsed, t))
		h.Set("RateLimit-Policy", fmt.Sprintf(`"fixed window";"api";q=%d;w=%d`, quota, int(window.Seconds())))
	}
	if over && s.RetryAfter {
		h.Set("Retry-After", strconv.Itoa(t))
	}
	return over
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusMethodNotAllowed, "", "method not allowed")
		return
	}
	switch {
	case r.URL.Path == "/api/models" || r.URL.Path == "/api/models/":
		s.serveList(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/models/"):
		id, rev := splitModelPath(strings.TrimPrefix(r.URL.EscapedPath(), "/api/models/"))
		s.serveModel(w, r, id, rev)
	default:
		httpError(w, http.StatusNotFound, "", "Not Found")
	}
}

// splitModelPath splits the escaped path after /api/models/ into the repo
// id and, for /api/models/{id}/revision/{rev} (what @huggingface/hub's
// modelInfo calls, with rev "HEAD" unless asked), the revision; rev is
// "" for /api/models/{id}.
func splitModelPath(p string) (id, rev string) {
	parts := strings.Split(p, "/")
	if n := len(parts); n >= 3 && parts[n-2] == "revision" {
		rev, parts = parts[n-1], parts[:n-2]
		if u, err := url.PathUnescape(rev); err == nil {
			rev = u
		}
	}
	id = strings.Join(parts, "/")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	return id, rev
}

func httpError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func expandOf(q url.Values) []string {
	return append(q["expand[]"], q["expand"]...)
}

// serveModel answers /api/models/{id} and /api/models/{id}/revision/{rev}:
// the model under its canonical id whatever the letter case asked; a 307
// with a relative Location for a renamed repo (recorded); 401 RepoNotFound
// alike for missing and private repos (the fake Hub has no accounts, so
// every caller is "others" and never the owner). A gated repo's metadata
// is served (gated:"manual"); only its files are locked.
func (s *Server) serveModel(w http.ResponseWriter, r *http.Request, id, rev string) {
	m, renamed, ok := s.World.lookup(id)
	if renamed != "" {
		loc := "/api/models/" + renamed
		if rev != "" {
			loc += "/revision/" + url.PathEscape(rev)
		}
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTemporaryRedirect)
		fmt.Fprintf(w, "Temporary Redirect. Redirecting to %s", loc)
		return
	}
	if !ok || m.Private {
		httpError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return
	}
	if rev != "" && rev != "HEAD" && rev != "main" {
		if sha, _ := s.field(&m, "sha"); rev != sha {
			// Inferred: the Hub's answer to an unknown revision is a 404
			// RevisionNotFound (huggingface_hub's RevisionNotFoundError).
			httpError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
			return
		}
	}
	q := r.URL.Query()
	if msg := checkExpand(q, true); msg != "" {
		httpError(w, http.StatusBadRequest, "", msg)
		return
	}
	// full, cardData and config change nothing here: the single-model
	// body already has the card, the config and the files.
	body, _ := json.Marshal(s.render(m, expandOf(q), true, q))
	body = append(body, '\n')
	// The recorded model answers carry a weak ETag of the body's length in
	// hex and its SHA-1 in base64 (W/"5a0f-Da8srpPPbf6OIRWE8Qkr5XUiD6g").
	sum := sha1.Sum(body)
	w.Header().Set("ETag", fmt.Sprintf(`W/"%x-%s"`, len(body), base64.RawStdEncoding.EncodeToString(sum[:])))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
}

// cursor is a keyset position, as the Hub's own cursors are (base64 of a
// query on the sort key and _id): the next page starts strictly after it,
// so models added or removed meanwhile do not shift the pages.
type cursor struct {
	Seq int    `json:"seq,omitempty"`
	Key int64  `json:"k,omitempty"` // with sort=: the last model's sort key
	ID  string `json:"id,omitempty"`
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	expand := expandOf(q)
	if msg := checkExpand(q, false); msg != "" {
		httpError(w, http.StatusBadRequest, "", msg)
		return
	}
	limit := 1000
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			httpError(w, http.StatusBadRequest, "", "invalid limit")
			return
		}
		limit = n
	}
	if s.MaxLimit > 0 && limit > s.MaxLimit {
		httpError(w, http.StatusBadRequest, "", fmt.Sprintf("limit must be at most %d", s.MaxLimit))
		return
	}
	max := s.MaxPageSize
	if max <= 0 {
		max = 1000
	}
	limit = min(limit, max)
	if s.PageSizeWithoutFull > 0 && !truthy(q.Get("full")) {
		limit = min(limit, s.PageSizeWithoutFull)
	}
	sortBy := q.Get("sort")
	if sortBy != "" && !slices.Contains(SortKeys, sortBy) {
		httpError(w, http.StatusBadRequest, "", fmt.Sprintf("unsupported sort %q", sortBy))
		return
	}
	// direction= is deprecated: every order is descending, whatever it says.
	skip := 0
	if v := q.Get("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			httpError(w, http.StatusBadRequest, "", "invalid skip")
			return
		}
		skip = n
	}
	var after *cursor
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		var cur cursor
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			httpError(w, http.StatusBadRequest, "", "invalid cursor")
			return
		}
		after = &cur
	}
	all := s.World.list(q["filter"], sortBy)
	if search := q.Get("search"); search != "" {
		all = filterModels(all, func(m *entry) bool { return strings.Contains(strings.ToLower(m.ID), strings.ToLower(search)) })
	}
	if author := q.Get("author"); author != "" {
		all = filterModels(all, func(m *entry) bool { return strings.EqualFold(m.Author, author) })
	}
	if task := q.Get("pipeline_tag"); task != "" {
		all = filterModels(all, func(m *entry) bool { return m.PipelineTag == task })
	}
	start := 0
	if after != nil {
		start = sort.Search(len(all), func(i int) bool { return !keyBefore(all[i], sortBy, after) })
		for start < len(all) && keyEqual(all[start], sortBy, after) {
			start++
		}
	}
	// skip is an offset from where the listing (or its cursor) starts;
	// the next link carries the cursor alone, so a page is skipped once.
	start = min(start+skip, len(all))
	end := min(start+limit, len(all))
	page := all[start:end]
	if end < len(all) {
		last := page[len(page)-1]
		cur := cursor{Seq: last.seq, ID: last.ID}
		if sortBy != "" {
			cur.Key = sortKey(&last.Model, sortBy)
		}
		next := *r.URL
		nq := next.Query()
		raw, _ := json.Marshal(cur)
		nq.Set("cursor", base64.RawURLEncoding.EncodeToString(raw))
		nq.Del("skip")
		next.RawQuery = nq.Encode()
		next.Scheme, next.Host = scheme(r), r.Host
		if s.LinkHost != "" {
			next.Host = s.LinkHost
		}
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.String()))
	}
	out := make([]map[string]any, 0, len(page))
	for _, m := range page {
		if s.PageFilter == nil || s.PageFilter(m.Model) {
			out = append(out, s.render(m.Model, expand, false, q))
		}
	}
	writeJSON(w, out)
}

// scheme is the scheme the client used: https behind a TLS-terminating
// proxy that says so in X-Forwarded-Proto, or when the server itself
// speaks TLS (the Hub's own links are https://huggingface.co/…).
func scheme(r *http.Request) string {
	if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
		return p
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// keyBefore reports whether m sorts before the cursor position c.
func keyBefore(m *entry, sortBy string, c *cursor) bool {
	if sortBy == "" {
		return m.seq < c.Seq
	}
	if k := sortKey(&m.Model, sortBy); k != c.Key {
		return k > c.Key // descending
	}
	return m.ID < c.ID
}

func keyEqual(m *entry, sortBy string, c *cursor) bool {
	if sortBy == "" {
		return m.seq == c.Seq
	}
	return sortKey(&m.Model, sortBy) == c.Key && m.ID == c.ID
}

func filterModels(ms []*entry, keep func(*entry) bool) []*entry {
	var out []*entry
	for _, m := range ms {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

const hubTime = "2006-01-02T15:04:05.000Z"

// childrenCount counts a model's direct children per relation, as the
// single-model endpoint's childrenModelCount does.
func (s *Server) childrenCount(id string) map[string]int {
	counts := map[string]int{}
	for _, rel := range []string{"adapter", "merge", "quantized", "finetune"} {
		counts[rel] = len(s.World.list([]string{"base_model:" + rel + ":" + id}, ""))
	}
	return counts
}

func hash(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	json.NewEncoder(w).Encode(v)
}
