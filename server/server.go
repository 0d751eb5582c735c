// Package server is hflineage's lineage service: an HTTP API over the
// query engine, the web explorer (embedded), Prometheus metrics, and a
// queue that runs crawls one at a time in the same process, so that the
// database can be queried at any moment, also during a crawl (every answer
// reads one snapshot of the engine's live graph: whole pages only).
//
// The API's JSON uses the same keys as the CLI's --json, so one parser
// serves both. Errors are {"error": "..."} with 400 (a bad parameter), 404
// (a model not in the database, a crawl this server never queued), 409
// (the crawl queue is full, a crawl to cancel has ended, or a read-only
// server's process crawls on its own: Config.ReadOnly), 401 (a write
// without the token) or 503 (the database is not ready). A crawl the same
// as one queued or running is merged into it (200, "merged": true).
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/query"
)

//go:embed web
var webFiles embed.FS

// The crawl queue's vocabulary is the engine's.
type (
	CrawlRequest = query.CrawlRequest
	Status       = query.CrawlStatus
	Outcome      = query.Outcome
)

// Queue errors (query's).
var (
	ErrQueueFull = query.ErrQueueFull
	ErrBusy      = query.ErrBusy
)

// ErrReadOnly: a read-only server (Config.ReadOnly) runs no crawl; its
// process crawls on its own.
var ErrReadOnly = fmt.Errorf("a crawl is running in process %d, which answers reads only: wait for it to end, or crawl through `hflineage serve`", os.Getpid())

// CheckCrawl validates a crawl request as the CLI validates its flags.
func CheckCrawl(r CrawlRequest) error { return query.CheckCrawl(r) }

// Config is what a Server needs.
type Config struct {
	// Engine owns the database: the server's reads ask it and its crawl
	// queue writes through it. The caller opens it (with query.Open or
	// query.OpenDB, Live, for reads that follow the crawls) and closes it
	// after Close.
	Engine *query.Engine
	// Hub says how crawls reach the Hub (endpoint, token, parallelism).
	Hub query.Hub
	// AuthToken, when set, is a token every POST may carry as
	// "Authorization: Bearer TOKEN" (at least MinTokenLength characters);
	// the server's SessionToken is the other. Reads stay open.
	AuthToken string
	// Addr is the address the server listens on (host:port): requests
	// naming it in Host are answered, besides loopback names. "": loopback
	// names only.
	Addr string
	// AllowedHosts are more names requests may give in Host (a reverse
	// proxy's), without port.
	AllowedHosts []string
	// QueueSize bounds the crawls waiting to run (default 8).
	QueueSize int
	// Heavy bounds the exports and statistics answered at once, Pictures
	// the pictures Graphviz draws at once (defaults: twice the CPUs, at
	// least 4; 2); beyond, a request is answered 503 with Retry-After.
	Heavy, Pictures int
	// Schedule describes the scheduled crawls, for the crawl page ("" : none).
	Schedule string
	// Webhooks are told what each completed crawl changed in the watched
	// families (none without URLs).
	Webhooks Webhooks
	// Logger receives one line per crawl and per failed request (default:
	// slog.Default()).
	Logger *slog.Logger
	// ReadOnly makes a server of reads only, beside a crawl that its
	// process runs itself (`hflineage crawl` and `schedule` answer the
	// CLI's reads while they hold the database): POST /api/v1/crawl is
	// answered 409 naming the process, Crawl fails with ErrReadOnly, and
	// there are no webhooks (New refuses them) nor schedule. GET /healthz
	// says "read_only": true.
	ReadOnly bool
}

// Server answers the API and runs crawls. Create it with New, serve
// Handler, and Close it when done.
type Server struct {
	cfg     Config
	q       *query.Engine
	log     *slog.Logger
	crawls  *query.CrawlQueue
	metrics *metrics
	hooks   *webhooks // nil without webhooks

	heavy, pictures slots         // see limit
	inflight        *inflight     // requests being answered (limit)
	stall           time.Duration // how long an export's answer may stay without moving
	released        func()        // tests: told when a heavy request gives its slot back
	crawlEnded      chan int      // tests: each crawl's id once Finished's work is done (waitIdle; dropped when full)

	session    string // the token made at start (SessionToken)
	listenIP   net.IP // Config.Addr's host, when an address
	listenName string // Config.Addr's host, when a name

	// ctx is the server's background work's: Close ends it, and waits for
	// the work (bg) before the caller closes the database.
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// New returns a Server over cfg.Engine and starts its crawl queue and
// background work (metrics), which stop when ctx ends or at Close.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("server: no engine")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AuthToken != "" {
		if err := CheckToken(cfg.AuthToken); err != nil {
			return nil, fmt.Errorf("server: auth token: %w", err)
		}
	}
	for i, h := range cfg.AllowedHosts {
		n, err := NormalizeHost(h)
		if err != nil {
			return nil, fmt.Errorf("server: allowed host: %w", err)
		}
		cfg.AllowedHosts[i] = n
	}
	if cfg.ReadOnly && len(cfg.Webhooks.URLs) > 0 {
		return nil, errors.New("server: a read-only server sends no webhooks")
	}
	if cfg.Pictures <= 0 {
		cfg.Pictures = 2
	}
	s := &Server{cfg: cfg, q: cfg.Engine, log: cfg.Logger, session: newSessionToken(),
		heavy: newSlots(cfg.Heavy), pictures: newSlots(cfg.Pictures), stall: exportStall, inflight: newInflight(),
		crawlEnded: make(chan int, 64)}
	if cfg.Addr != "" {
		host, _, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("server: address %q: %w", cfg.Addr, err)
		}
		if s.listenIP = net.ParseIP(strings.Trim(host, "[]")); s.listenIP == nil {
			s.listenName = strings.ToLower(host)
		}
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.metrics = newMetrics(s)
	m := s.metrics
	hooks, err := newWebhooks(s, cfg.Webhooks)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("server: %w", err)
	}
	s.hooks = hooks
	s.crawls = s.q.StartQueue(s.ctx, query.QueueOptions{Hub: cfg.Hub, Size: cfg.QueueSize, Log: cfg.Logger,
		Counted: func(requests, retries, throttled int64, quotaLeft int) {
			m.requests.Add(float64(requests))
			m.retries.Add(float64(retries))
			m.throttled.Add(float64(throttled))
			m.quotaLeft.Set(float64(quotaLeft))
		},
		Finished: func(o query.Outcome) {
			m.crawlSeconds.Observe(o.Seconds)
			if o.Succeeded {
				m.lastSuccess.SetToCurrentTime()
			}
			m.refresh(s.ctx)
			if hooks != nil {
				hooks.finished(o)
			}
			select {
			case s.crawlEnded <- o.ID:
			default:
			}
		},
	})
	s.bg.Go(func() { s.metrics.start(s.ctx) }) // the database's size from the start, not after the first crawl
	if hooks != nil {
		s.bg.Go(func() { hooks.work(s.ctx) })
	}
	return s, nil
}

// Close stops the server's work: the crawl worker (a running crawl saves
// its position, the next start resumes it, and queued crawls are dropped),
// the metrics' reads of the database and the requests being answered
// (later ones are answered 503). It waits for all to stop, or for ctx to
// end (then the work may still read or write the database: the caller
// must not close it).
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	answered := s.inflight.stop()
	err := s.crawls.Close(ctx)
	idle := make(chan struct{})
	go func() { s.bg.Wait(); <-answered; close(idle) }()
	select {
	case <-idle:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("the server's background work did not stop in time: %w", ctx.Err()))
	}
	return err
}

// Crawl queues a crawl, as POST /api/v1/crawl does (a scheduled tick
// calls it). It returns the queue entry's id, or ErrQueueFull, or
// ErrBusy when skipIfBusy and a crawl runs or waits already.
func (s *Server) Crawl(req CrawlRequest, skipIfBusy bool) (int, error) {
	if s.cfg.ReadOnly {
		return 0, ErrReadOnly
	}
	return s.crawls.Enqueue(req, skipIfBusy)
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/count", s.countOrEcosystem)
	mux.HandleFunc("GET /api/v1/model", s.model)
	mux.HandleFunc("GET /api/v1/ancestors", s.ancestors)
	mux.HandleFunc("GET /api/v1/stats", s.stats)
	mux.HandleFunc("GET /api/v1/history", s.historyOrEcosystem)
	mux.HandleFunc("GET /api/v1/compare", s.compare)
	mux.HandleFunc("GET /api/v1/organisations", s.organisations)
	mux.HandleFunc("GET /api/v1/licenses", s.licenses)
	mux.HandleFunc("GET /badge/{spec...}", s.badge)
	mux.HandleFunc("GET /api/v1/runs", s.runs)
	mux.HandleFunc("GET /api/v1/diff", s.diffOrEcosystem)
	mux.HandleFunc("GET /api/v1/changes", s.changes)
	mux.HandleFunc("GET /feeds/changes.atom", s.changesFeed)
	mux.HandleFunc("GET /api/v1/children", s.children)
	mux.HandleFunc("GET /api/v1/search", s.search)
	mux.HandleFunc("GET /api/v1/tree", s.tree)
	mux.HandleFunc("GET /api/v1/graph", s.graph)
	mux.HandleFunc("GET /api/v1/export", s.export)
	mux.HandleFunc("GET /api/v1/export/plan", s.exportPlan)
	mux.HandleFunc("GET /api/v1/crawl", s.crawlStatus)
	mux.HandleFunc("POST /api/v1/crawl", s.requireToken(s.crawlPost))
	mux.HandleFunc("DELETE /api/v1/crawl/{id}", s.requireToken(s.crawlDelete))
	mux.HandleFunc("/api/v1/crawl/{id}", crawlOther)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.q.Ready(); err != nil {
			writeError(w, http.StatusServiceUnavailable, err)
			return
		}
		// pid: the CLI checks that the server named in the database
		// directory is the process that holds the database.
		health := map[string]any{"status": "ok", "version": query.Version(), "pid": os.Getpid()}
		if s.cfg.ReadOnly {
			health["read_only"] = true
		}
		// pictures: the page offers SVG, PNG and PDF only when Graphviz
		// can draw them.
		health["pictures"] = graphvizInstalled()
		if c := r.URL.Query().Get("challenge"); c != "" && len(c) <= 128 {
			// Proof that this server wrote the session token the CLI reads
			// beside the database (its user's only): a program on a port a
			// dead server's address file names cannot give it.
			health["proof"] = HealthProof(s.SessionToken(), c)
		}
		writeJSON(w, http.StatusOK, health)
	})
	web, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(web)
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/"):
			if allow := apiMethods[r.URL.Path]; allow != "" {
				w.Header().Set("Allow", allow)
				writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: use %s", r.Method, r.URL.Path, allow))
				return
			}
			writeError(w, http.StatusNotFound, fmt.Errorf("no such API endpoint: %s %s", r.Method, r.URL.Path))
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s is not allowed here", r.Method))
		default:
			files.ServeHTTP(w, r)
		}
	})
	return s.metrics.instrument(s.guard(s.limit(s.modelURLs(mux))))
}

// apiMethods are the methods each API path answers (for 405's Allow).
var apiMethods = map[string]string{
	"/api/v1/count": "GET", "/api/v1/ancestors": "GET", "/api/v1/stats": "GET", "/api/v1/history": "GET",
	"/api/v1/runs": "GET", "/api/v1/diff": "GET", "/api/v1/children": "GET", "/api/v1/search": "GET", "/api/v1/tree": "GET",
	"/api/v1/graph": "GET", "/api/v1/export": "GET", "/api/v1/export/plan": "GET", "/api/v1/crawl": "GET, POST",
	"/api/v1/compare": "GET", "/api/v1/organisations": "GET", "/api/v1/licenses": "GET",
	"/api/v1/changes": "GET", "/api/v1/model": "GET",
}

// writeJSON writes v as the answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": "..."}: one line, never a stack.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": oneLine(err)})
}

// oneLine is an error's message on one line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// fail maps the engine's errors to statuses.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, query.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, query.ErrUnknownModel), errors.Is(err, query.ErrNoRuns), errors.Is(err, query.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrQueueFull), errors.Is(err, ErrBusy), errors.Is(err, query.ErrOffline), errors.Is(err, ErrReadOnly):
		status = http.StatusConflict
	case errors.Is(err, context.Canceled) && s.ctx.Err() != nil:
		// The server stops (Close): say so, rather than an empty 200 the
		// client would read as an answer.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, errors.New("the server is stopping; ask again (the database answers once it has closed)"))
		return
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client left
	case errors.Is(err, query.ErrCorrupt), errors.Is(err, query.ErrInUse), errors.Is(err, query.ErrChanged):
		status = http.StatusServiceUnavailable
	}
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, err)
}

// modelParam reads the required ?model=.
func modelParam(r *http.Request) (string, error) {
	m := r.URL.Query().Get("model")
	if m == "" {
		return "", badParam("model", "is required (a model id such as meta-llama/Llama-2-7b)")
	}
	return m, nil
}

// intParam reads an optional integer parameter.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badParam(name, "must be an integer")
	}
	return n, nil
}

// boolParam reads an optional boolean parameter (absent: false; present
// without a value, as in "?legend": true).
func boolParam(r *http.Request, name string) (bool, error) {
	vs, ok := r.URL.Query()[name]
	if !ok {
		return false, nil
	}
	if vs[0] == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(vs[0])
	if err != nil {
		return false, badParam(name, "must be true or false")
	}
	return b, nil
}

// paramError is an invalid request, in the API's words (a 400).
type paramError struct{ msg string }

func (e *paramError) Error() string        { return e.msg }
func (e *paramError) Is(target error) bool { return target == query.ErrInvalid }

func badParam(name, msg string) error { return &paramError{name + " " + msg} }

func (s *Server) count(w http.ResponseWriter, r *http.Request) {
	m, err := modelParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.q.Count(r.Context(), m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) ancestors(w http.ResponseWriter, r *http.Request) {
	m, err := modelParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.q.Ancestors(r.Context(), m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	top, err := intParam(r, "top", 10)
	if err == nil && (top < 1 || top > MaxTop) {
		err = badParam("top", fmt.Sprintf("must be between 1 and %d, not %d", MaxTop, top))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.Method == http.MethodHead { // the answer's headers, not its work
		writeJSON(w, http.StatusOK, nil)
		return
	}
	st, err := s.q.Stats(r.Context(), query.StatsOptions{Top: top, Root: r.URL.Query().Get("root")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	m := r.URL.Query().Get("model")
	if m == "" {
		s.runs(w, r)
		return
	}
	h, err := s.q.History(r.Context(), m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// runs answers a page of the runs, newest first: ?limit=N (default
// query.DefaultRunPage, at most query.MaxRunPage) of those numbered below
// ?before=RUN; next_before, on every page but the last, asks for the next.
func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", query.DefaultRunPage)
	if err == nil && (limit < 1 || limit > query.MaxRunPage) {
		err = badParam("limit", fmt.Sprintf("must be 1 to %d", query.MaxRunPage))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	before, err := intParam(r, "before", 0)
	if err != nil || before < 0 {
		s.fail(w, r, badParam("before", "must be a run number"))
		return
	}
	runs, next, err := s.q.RunPage(r.Context(), uint64(before), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := map[string]any{"runs": runs}
	if next != 0 {
		page["next_before"] = next
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	run, err := runParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.q.Diff(r.Context(), query.DiffOptions{Run: run, Model: r.URL.Query().Get("model")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) children(w http.ResponseWriter, r *http.Request) {
	m, err := modelParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o := query.ChildrenOptions{Sort: r.URL.Query().Get("sort"), Limit: limit, Cursor: r.URL.Query().Get("cursor")}
	if rel := r.URL.Query().Get("relation"); rel != "" {
		if o.Relation, err = graph.ParseRelation(rel); err != nil {
			s.fail(w, r, badParam("relation", "must be adapter, finetune, merge or quantized"))
			return
		}
	}
	c, err := s.q.Children(r.Context(), m, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.q.Search(r.Context(), r.URL.Query().Get("q"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	m, err := modelParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := intParam(r, "max-nodes", 0)
	if err == nil && n > MaxGraphNodes {
		err = badParam("max-nodes", fmt.Sprintf("must be at most %d on this server, not %d", MaxGraphNodes, n))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.q.Graph(r.Context(), m, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// exportSelection reads an export's parameters: the CLI's export flags
// (model is --root), validated by the same query.Selection.Check, with its
// messages. Without model, the whole database (with max-nodes, pruned as
// graph.Graph.Prune prunes it).
func exportSelection(r *http.Request) (query.Selection, error) {
	q := r.URL.Query()
	depth, err := intParam(r, "depth", -1)
	if err != nil {
		return query.Selection{}, err
	}
	maxNodes, err := intParam(r, "max-nodes", 0)
	if err != nil {
		return query.Selection{}, err
	}
	legend, err := boolParam(r, "legend")
	if err != nil {
		return query.Selection{}, err
	}
	rels, err := query.ParseRelations(q.Get("relation"))
	if err != nil {
		return query.Selection{}, err
	}
	sel := query.Selection{Format: q.Get("format"), Root: q.Get("model"), Depth: depth, MaxNodes: maxNodes, Relations: rels,
		Cluster: q.Get("cluster"), Legend: legend}
	if err := sel.Check(); err != nil {
		if errors.Is(err, query.ErrNoGraphviz) {
			return query.Selection{}, badParam("format", sel.Format+" needs Graphviz on the server, which is not installed")
		}
		return query.Selection{}, inParams(err)
	}
	switch {
	case sel.Picture() && sel.MaxNodes > MaxPictureNodes:
		return query.Selection{}, badParam("max-nodes", fmt.Sprintf("of a picture must be at most %d on this server, not %d", MaxPictureNodes, sel.MaxNodes))
	case sel.MaxNodes > MaxExportNodes:
		return query.Selection{}, badParam("max-nodes", fmt.Sprintf("must be at most %d on this server, not %d (without it, the export is whole)", MaxExportNodes, sel.MaxNodes))
	}
	return sel, nil
}

// apiWords turns the CLI's words in Check's messages into the API's: its
// flags are this endpoint's parameters (--root is model).
var apiWords = strings.NewReplacer("export: ", "", "--root", "model", "--format", "format", "--depth", "depth",
	"--max-nodes", "max-nodes", "--legend", "legend", "--cluster", "cluster", "--relation", "relation")

// inParams rewords an invalid selection's error for an API client; other
// errors pass unchanged.
func inParams(err error) error {
	if !errors.Is(err, query.ErrInvalid) {
		return err
	}
	return &paramError{apiWords.Replace(err.Error())}
}

// Headers of an export answer that say how a picture was laid out, so
// that a client can tell its user what the CLI tells (export's sfdp hint).
const (
	headerNodes  = "X-Hflineage-Nodes"
	headerLayout = "X-Hflineage-Layout"
)

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	sel, err := exportSelection(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.q.Plan(r.Context(), sel); err != nil {
		s.fail(w, r, err)
		return
	}
	if n, ok := s.q.Sizes(); ok && sel.Picture() && sel.Root == "" && sel.MaxNodes == 0 && n.Models+n.Stubs > MaxPictureNodes {
		// Refused before the whole database is encoded for Graphviz.
		s.fail(w, r, badParam("max-nodes", fmt.Sprintf("is needed for a picture of this database (%d models; at most %d)", n.Models+n.Stubs, MaxPictureNodes)))
		return
	}
	name := "hflineage"
	if sel.Root != "" {
		name = strings.NewReplacer("/", "__").Replace(sel.Root)
	}
	header := func(h http.Header) {
		h.Set("Content-Type", query.ContentType(sel.Format))
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, query.FileExtension(sel.Format)))
	}
	if r.Method == http.MethodHead { // the answer's headers, not its work
		header(w.Header())
		return
	}
	// A picture's layout is told before Graphviz starts: its size is
	// checked there, and named in the answer's headers.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	tooLarge := 0
	sel.BeforeLayout = func(nodes int, layout string) {
		if nodes > MaxPictureNodes {
			tooLarge = nodes
			cancel()
			return
		}
		w.Header().Set(headerNodes, strconv.Itoa(nodes))
		w.Header().Set(headerLayout, layout)
	}
	// Streamed: until the first byte a failure is an error answer; after
	// it, the connection is cut, so that the client sees a broken download
	// rather than a short one.
	out := newStreamWriter(w, s.stall, header)
	_, err = s.q.Write(ctx, sel, out)
	switch {
	case tooLarge > 0:
		s.fail(w, r, badParam("max-nodes", fmt.Sprintf("is needed: the picture would have %d nodes, over this server's %d", tooLarge, MaxPictureNodes)))
	case err == nil && out.written == 0: // an empty export
		header(w.Header())
		w.WriteHeader(http.StatusOK)
	case err != nil && out.written == 0:
		s.fail(w, r, err)
	case err != nil:
		if r.Context().Err() == nil {
			s.log.Warn("export cut short", "path", r.URL.Path, "written", out.written, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// exportPlan answers, for the parameters of an export, whether the last
// crawl of what it would export completed: {"incomplete": null} or the
// crawl that did not (query.Engine.Plan), so that a client warns as the
// CLI does before the export.
func (s *Server) exportPlan(w http.ResponseWriter, r *http.Request) {
	sel, err := exportSelection(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := s.q.Plan(r.Context(), sel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]*query.Incomplete{"incomplete": in})
}

func (s *Server) crawlStatus(w http.ResponseWriter, r *http.Request) {
	st := struct {
		query.CrawlStatus
		// Webhooks are the last deliveries, newest first ([] before the
		// first; absent without webhooks).
		Webhooks any `json:"webhooks,omitempty"`
	}{CrawlStatus: s.crawls.Status(r.Context(), s.cfg.Schedule)}
	if s.hooks != nil {
		st.Webhooks = s.hooks.last()
	}
	writeJSON(w, http.StatusOK, st)
}

// graphvizInstalled says whether svg, png and pdf can be drawn here (a
// test sets it before it starts a server).
var graphvizInstalled = query.GraphvizInstalled

// maxBody bounds a request body.
const maxBody = 64 << 10

func (s *Server) crawlPost(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ReadOnly {
		s.fail(w, r, ErrReadOnly)
		return
	}
	var req CrawlRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("the request body is larger than %d bytes", maxBody))
			return
		}
		s.fail(w, r, badParam("body", fmt.Sprintf("must be one JSON crawl request {\"seeds\":[…],\"mode\":\"auto\",\"depth\":-1} or {\"all\":true}: %v", err)))
		return
	}
	id, merged, err := s.crawls.Submit(req, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if merged { // the same crawl is queued or running: follow that one
		writeJSON(w, http.StatusOK, map[string]any{"queued": id, "merged": true})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"queued": id})
}

// HTTPServer returns an http.Server for h with every timeout set: a slow
// client cannot hold a connection. An answer must be written within a
// minute, but for exports, which stream as long as each write goes
// through within 30 s (limit.go).
func HTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// HealthProof is GET /healthz?challenge=C's proof: HMAC-SHA256 of C under
// the session token, hex (a client holding the token checks it; the
// token itself is never shown).
func HealthProof(token, challenge string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("hflineage healthz proof\x00" + challenge))
	return hex.EncodeToString(mac.Sum(nil))
}
