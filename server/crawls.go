package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// Queue errors.
var (
	// ErrQueueFull: too many crawls wait already.
	ErrQueueFull = errors.New("the crawl queue is full; try again when a crawl has finished")
	// ErrBusy: a crawl runs or waits already (a scheduled tick is skipped).
	ErrBusy = errors.New("a crawl is already running or queued")
)

// CrawlRequest is a crawl to run: POST /api/v1/crawl's body.
type CrawlRequest struct {
	Seeds []string `json:"seeds,omitempty"`
	All   bool     `json:"all,omitempty"`
	Full  bool     `json:"full,omitempty"`
	Mode  string   `json:"mode,omitempty"`  // auto (default), walk or scan
	Depth *int     `json:"depth,omitempty"` // walk depth bound (default -1: none)
	// Restart abandons an unfinished crawl with other parameters.
	Restart bool `json:"restart,omitempty"`
	// SnapshotMin: after a scan, families at least this large are
	// snapshotted for history (default 100).
	SnapshotMin int `json:"snapshot_min,omitempty"`
}

// CheckCrawl validates a crawl request as the CLI validates its flags;
// errors are query.ErrInvalid.
func CheckCrawl(r CrawlRequest) error { return r.check() }

// check validates the request as the CLI validates its flags.
func (r *CrawlRequest) check() error {
	if r.All && len(r.Seeds) > 0 {
		return badParam("all", "scans the whole Hub: name no seeds with it")
	}
	if !r.All && len(r.Seeds) == 0 {
		return badParam("seeds", "must name at least one model, or set \"all\": true")
	}
	if len(r.Seeds) > 100 {
		return badParam("seeds", "must name at most 100 models")
	}
	switch r.Mode {
	case "", "auto", "walk", "scan":
	default:
		return badParam("mode", "must be auto, walk or scan")
	}
	if r.Full && !r.All && r.Mode != "scan" {
		return badParam("full", "goes with all or mode scan")
	}
	if r.Depth != nil && *r.Depth < -1 {
		return badParam("depth", "must be -1 (no bound) or more")
	}
	if r.SnapshotMin < 0 {
		return badParam("snapshot_min", "must not be negative")
	}
	for _, s := range r.Seeds {
		if _, err := graph.ParseModelID(s); err != nil {
			return badParam("seeds", err.Error())
		}
	}
	return nil
}

func (r CrawlRequest) request() crawler.Request {
	req := crawler.Request{All: r.All, Full: r.Full, Mode: r.Mode, Depth: -1, Restart: r.Restart, SnapshotMin: r.SnapshotMin}
	if r.Depth != nil {
		req.Depth = *r.Depth
	}
	for _, s := range r.Seeds {
		req.Seeds = append(req.Seeds, graph.ModelID(s))
	}
	return req
}

// queued is a crawl waiting or running.
type queued struct {
	ID int `json:"id"`
	CrawlRequest
}

// Progress is the running crawl as GET /api/v1/crawl shows it.
type Progress struct {
	queued
	Started        time.Time `json:"started"`
	Run            uint64    `json:"run,omitempty"`
	RunMode        string    `json:"run_mode,omitempty"` // walk or scan, once planned
	Models         int64     `json:"models"`
	Edges          int64     `json:"edges"`
	Pages          int64     `json:"pages"`
	Requests       int64     `json:"requests"`
	Throttled      int64     `json:"throttled"`
	QuotaRemaining int       `json:"quota_remaining"` // -1: unknown
	Quota          int       `json:"quota"`           // -1: unknown
	Rate           float64   `json:"rate"`            // requests per second so far
}

// Outcome is how a queued crawl ended.
type Outcome struct {
	ID       int    `json:"id"`
	Run      uint64 `json:"run,omitempty"` // 0: it ended before recording a run
	Complete bool   `json:"complete"`
	Stopped  bool   `json:"stopped,omitempty"` // the server stopped it; the next start resumes it
	Skipped  string `json:"skipped,omitempty"` // seeds skipped (not on the Hub, gated, failing) by a crawl that completed
	// Error says why the crawl did not complete; a walk none of whose
	// seeds could be fetched has "nothing crawled: " and the seeds' errors.
	Error    string    `json:"error,omitempty"`
	Finished time.Time `json:"finished"`
	Models   int64     `json:"models"`
	Edges    int64     `json:"edges"`
	Pages    int64     `json:"pages"`
	Requests int64     `json:"requests"`
}

// keptOutcomes is how many finished crawls GET /api/v1/crawl lists.
const keptOutcomes = 20

// crawls runs queued crawls one at a time.
type crawls struct {
	s        *Server
	size     int
	mu       sync.Mutex
	queue    []queued
	running  *Progress
	outcomes []Outcome // newest last
	next     int
	wake     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
}

func newCrawls(s *Server, size int) *crawls {
	c := &crawls{s: s, size: size, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.work()
	return c
}

func (c *crawls) enqueue(r CrawlRequest, skipIfBusy bool) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return 0, errors.New("the server is stopping")
	}
	if skipIfBusy && (c.running != nil || len(c.queue) > 0) {
		return 0, ErrBusy
	}
	if len(c.queue) >= c.size {
		return 0, ErrQueueFull
	}
	c.next++
	c.queue = append(c.queue, queued{ID: c.next, CrawlRequest: r})
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return c.next, nil
}

func (c *crawls) work() {
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			if len(c.queue) == 0 || c.ctx.Err() != nil {
				c.mu.Unlock()
				break
			}
			q := c.queue[0]
			c.queue = c.queue[1:]
			c.running = &Progress{queued: q, Started: time.Now().UTC(), QuotaRemaining: -1, Quota: -1}
			c.mu.Unlock()
			out := c.run(q)
			c.mu.Lock()
			c.running = nil
			c.outcomes = append(c.outcomes, out)
			if len(c.outcomes) > keptOutcomes {
				c.outcomes = c.outcomes[len(c.outcomes)-keptOutcomes:]
			}
			c.mu.Unlock()
		}
	}
}

// run runs one crawl with the server's Hub settings.
func (c *crawls) run(q queued) Outcome {
	out := Outcome{ID: q.ID}
	log := c.s.log.With("crawl", q.ID)
	w, err := crawler.NewWalker(c.s.cfg.Hub, crawlsink.New(c.s.cfg.Store))
	if err != nil {
		log.Error("crawl not started", "err", err)
		out.Error, out.Finished = err.Error(), time.Now().UTC()
		return out
	}
	req := q.request()
	req.Planned = func(p crawler.Plan) {
		log.Info("plan", "mode", p.Mode, "reason", p.Reason)
		c.mu.Lock()
		c.running.RunMode = p.Mode
		c.mu.Unlock()
	}
	req.Warn = func(s string) { log.Warn(s) }
	// Progress comes from the crawler's goroutines, not always in order:
	// counters only move forward.
	var lastReq, lastTooMany, lastRetries int64
	count := func(st crawler.Stats) {
		if d := st.Retries - lastRetries; d > 0 {
			c.s.metrics.retries.Add(float64(d))
			lastRetries = st.Retries
		}
		if d := st.Requests - lastReq; d > 0 {
			c.s.metrics.requests.Add(float64(d))
			lastReq = st.Requests
		}
		if d := st.TooMany - lastTooMany; d > 0 {
			c.s.metrics.throttled.Add(float64(d))
			lastTooMany = st.TooMany
		}
	}
	req.Progress = func(st crawler.Stats) {
		c.mu.Lock()
		defer c.mu.Unlock()
		count(st)
		p := c.running
		if st.Requests < p.Requests {
			return // an older snapshot
		}
		p.Run, p.RunMode = st.Run.ID, st.Run.Mode
		p.Models, p.Edges, p.Pages, p.Requests, p.Throttled = st.Models, st.Edges, st.Pages, st.Requests, st.TooMany
		p.QuotaRemaining, p.Quota = st.Pace.Remaining, st.Pace.Quota
		if secs := time.Since(p.Started).Seconds(); secs > 0 {
			p.Rate = float64(st.Requests) / secs
		}
		c.s.metrics.quotaLeft.Set(float64(st.Pace.Remaining))
	}
	log.Info("crawl started", "seeds", q.Seeds, "all", q.All, "mode", q.Mode)
	start := time.Now()
	stats, err := w.Crawl(c.ctx, req)
	c.mu.Lock()
	count(stats)
	c.mu.Unlock()
	c.s.metrics.crawlSeconds.Observe(time.Since(start).Seconds())
	out.Run, out.Finished = stats.Run.ID, time.Now().UTC()
	out.Models, out.Edges, out.Pages, out.Requests = stats.Models, stats.Edges, stats.Pages, stats.Requests
	var seedErr *crawler.SeedError
	switch {
	case errors.Is(err, crawler.ErrNothingCrawled):
		// No seed was on the Hub (or reachable): as the CLI's crawl, a
		// failure whose run is recorded as not complete.
		out.Error = oneLine(err)
		log.Error("crawl crawled nothing", "run", stats.Run.ID, "err", err)
	case err == nil || errors.As(err, &seedErr):
		out.Complete = true
		if err != nil {
			out.Skipped = err.Error()
			log.Warn("seeds skipped", "err", err)
		}
		if err == nil || len(seedErr.Errs) < len(q.Seeds) {
			c.s.metrics.lastSuccess.SetToCurrentTime()
		}
		log.Info("crawl finished", "run", stats.Run.ID, "models", stats.Models, "edges", stats.Edges, "requests", stats.Requests,
			"seconds", time.Since(start).Seconds())
	case errors.Is(err, context.Canceled):
		out.Stopped, out.Error = true, "stopped with the server; the next start resumes it"
		log.Info("crawl stopped; its position is saved and the next start resumes it", "run", stats.Run.ID)
	default:
		out.Error = oneLine(err)
		log.Error("crawl failed", "run", stats.Run.ID, "err", err)
	}
	c.s.metrics.refresh(context.Background())
	return out
}

// Status is GET /api/v1/crawl.
type Status struct {
	Running  *Progress  `json:"running"`
	Queue    []queued   `json:"queue"`
	Finished []Outcome  `json:"finished"` // the last crawls this server ran, newest first
	Schedule string     `json:"schedule"`
	Last     *store.Run `json:"last"`
}

func (c *crawls) status(ctx context.Context, schedule string) Status {
	c.mu.Lock()
	st := Status{Queue: slices.Clone(c.queue), Schedule: schedule, Finished: slices.Clone(c.outcomes)}
	slices.Reverse(st.Finished)
	if st.Finished == nil {
		st.Finished = []Outcome{}
	}
	if c.running != nil {
		p := *c.running
		st.Running = &p
	}
	c.mu.Unlock()
	if st.Queue == nil {
		st.Queue = []queued{}
	}
	if runs, err := c.s.q.Runs(ctx); err == nil && len(runs) > 0 {
		st.Last = &runs[0]
	}
	return st
}

func (c *crawls) close(ctx context.Context) error {
	c.mu.Lock()
	c.queue = nil
	c.mu.Unlock()
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the crawl did not stop in time: %w", ctx.Err())
	}
}
