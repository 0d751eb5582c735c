package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
	"github.com/hflineage/hflineage/store/crawlsink"
)

// The crawler's vocabulary, as the faces use it: they reach the crawler
// through the Engine only.
type (
	// Hub says how crawls reach the Hub: endpoint, token, parallelism, pace.
	Hub = crawler.Config
	// Rate caps a crawl's request rate.
	Rate = crawler.Rate
	// CrawlStats are a crawl's running totals and, at its end, its outcome.
	CrawlStats = crawler.Stats
	// CrawlPlan is the planner's choice between a walk and a scan.
	CrawlPlan = crawler.Plan
	// SeedError names the seeds a crawl could not fetch.
	SeedError = crawler.SeedError
)

// DefaultStallTimeout is how long a Hub transfer may send nothing before
// it is abandoned and asked again (Hub.StallTimeout 0 means it).
const DefaultStallTimeout = crawler.DefaultStallTimeout

// ErrNothingCrawled: a walk none of whose seeds could be fetched.
var ErrNothingCrawled = crawler.ErrNothingCrawled

// ErrNoHubMatch: a crawl's seed pattern matched no model on the Hub (or
// its organisation has none); nothing was crawled or recorded.
var ErrNoHubMatch = crawler.ErrNoMatch

// ErrUnreachable: a crawl could not reach the Hub at all before it ever
// answered (a name that does not resolve, a refused connection, TLS that
// fails); the error's one line names the endpoint and the cause, and no
// run was recorded.
var ErrUnreachable = crawler.ErrUnreachable

// Version is hflineage's version, as the Hub sees it in the User-Agent.
func Version() string { return crawler.Version }

// ParseRate parses a --rate value such as 1000/5m.
func ParseRate(s string) (Rate, error) { return crawler.ParseRate(s) }

// TokenFromEnv returns the Hub token of the environment (HF_TOKEN, else
// HUGGING_FACE_HUB_TOKEN, else the file `hf auth login` writes:
// $HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token),
// or "".
func TokenFromEnv() string { return crawler.TokenFromEnv() }

// ErrOffline: $HF_HUB_OFFLINE is set; crawls refuse to start.
var ErrOffline = crawler.ErrOffline

// Offline reports whether $HF_HUB_OFFLINE asks that the Hub not be
// contacted (1, true, yes, on): crawls then fail at once with ErrOffline,
// and reads work as usual.
func Offline() bool { return crawler.OfflineFromEnv() }

// CheckHub checks hub's settings (a bad endpoint, parallelism out of
// range) without crawling.
func CheckHub(hub Hub) error {
	_, err := crawler.NewWalker(hub, nil)
	return err
}

// SetRun sets the run a crawl's stats describe (as a client reads it back
// from the server's runs).
func SetRun(s *CrawlStats, r Run) { s.Run = r }

// IsSeedError reports a crawl that completed without some of its seeds
// (not one that crawled nothing).
func IsSeedError(err error) bool {
	var se *SeedError
	return errors.As(err, &se) && !errors.Is(err, ErrNothingCrawled)
}

// CrawlRequest is a crawl to run: crawl's and schedule's flags, and POST
// /api/v1/crawl's body.
type CrawlRequest struct {
	// Seeds are model ids or patterns of an organisation's models
	// ("meta-llama/*", "Qwen/Qwen2.5-*"), each maybe a comma list, which
	// the crawl lists from the Hub and takes as seeds.
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
	// FullEvery, for a scan (All or Mode scan) that would be incremental,
	// makes it full when the last scan that listed the whole Hub ended
	// longer ago than this (0: never): scheduled crawls' --full-every
	// (see fullRescanDue); "full_every" in the API's body, as "7d" or "36h".
	FullEvery Age `json:"full_every,omitempty"`
}

// Kind is "scan" or "walk", as far as the request says ("" when the
// planner is to choose).
func (r CrawlRequest) Kind() string {
	if r.All {
		return "scan"
	}
	if r.Mode == "auto" {
		return ""
	}
	return r.Mode
}

// CheckCrawl validates a crawl request as the CLI validates its flags,
// and as a queue takes it (at most maxQueuedSeeds seeds, as written: a
// pattern counts once); errors are ErrInvalid, naming the JSON key at
// fault. A pattern must name its organisation and may not name every
// model ("*", "*/*").
func CheckCrawl(r CrawlRequest) error {
	if len(r.Seeds) > maxQueuedSeeds {
		return invalidf("seeds must name at most %d models", maxQueuedSeeds)
	}
	return r.check()
}

// maxQueuedSeeds bounds the seeds of a queued crawl (a request over HTTP).
const maxQueuedSeeds = 100

func (r *CrawlRequest) check() error {
	bad := func(key, msg string) error { return invalidf("%s %s", key, msg) }
	if r.All && len(r.Seeds) > 0 {
		return bad("all", "scans the whole Hub: name no seeds with it")
	}
	if !r.All && len(r.Seeds) == 0 {
		return bad("seeds", "must name at least one model, or set \"all\": true")
	}
	switch r.Mode {
	case "", "auto", "walk", "scan":
	default:
		return bad("mode", "must be auto, walk or scan")
	}
	if r.Full && !r.All && r.Mode != "scan" {
		return bad("full", "goes with all or mode scan")
	}
	if r.Depth != nil && *r.Depth < -1 {
		return bad("depth", "must be -1 (no bound) or more")
	}
	if r.SnapshotMin < 0 {
		return bad("snapshot_min", "must not be negative")
	}
	if _, _, err := r.seeds(); err != nil {
		return bad("seeds", err.Error())
	}
	return nil
}

// CheckSeed checks one seed as a crawl takes it: a model id, or a pattern
// of an organisation's models, or a comma list of them. The error says
// what is wrong (an invalid id, a pattern without its organisation, one
// naming every model).
func CheckSeed(s string) error {
	_, _, err := (&CrawlRequest{Seeds: []string{s}}).seeds()
	return err
}

// seeds parses r.Seeds: model ids, or, when any of them is a pattern (or
// a comma list), every one as a pattern, in order.
func (r *CrawlRequest) seeds() (ids []graph.ModelID, patterns []graph.Pattern, err error) {
	var globs bool
	for _, s := range r.Seeds {
		for part := range strings.SplitSeq(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				return nil, nil, fmt.Errorf("%w %q: empty pattern between commas", graph.ErrInvalidID, s)
			}
			p, err := crawler.CheckSeedPattern(part)
			if err != nil {
				return nil, nil, err
			}
			globs = globs || p.Glob()
			patterns = append(patterns, p)
		}
	}
	if globs {
		return nil, patterns, nil
	}
	for _, p := range patterns {
		ids = append(ids, graph.ModelID(p.String()))
	}
	return ids, nil, nil
}

// CrawlWatch is told how a crawl goes; any field may be nil.
type CrawlWatch struct {
	Planned  func(CrawlPlan)  // the planner's choice (auto mode)
	Progress func(CrawlStats) // after every page, the running totals (from several goroutines, not always in order)
	Warn     func(string)     // what was skipped or worked around, one line each
}

// Crawl runs one crawl into the Engine's database, reaching the Hub as hub
// says: the one crawl of `crawl`, `schedule` and the server's queue. It
// writes, so the Engine must own a database opened for writing. Errors are
// the crawler's: a *SeedError for seeds skipped by a crawl that completed,
// ErrNothingCrawled for a walk that fetched no seed, ctx's error when
// stopped (the crawl's position is saved: the same request resumes it),
// ErrOffline at once when $HF_HUB_OFFLINE is set.
func (e *Engine) Crawl(ctx context.Context, hub Hub, r CrawlRequest, watch CrawlWatch) (CrawlStats, error) {
	if err := r.check(); err != nil {
		return CrawlStats{}, err
	}
	if Offline() {
		return CrawlStats{}, ErrOffline
	}
	sink := liveSink{crawlsink.New(e.st), e}
	w, err := crawler.NewWalker(hub, sink)
	if err != nil {
		return CrawlStats{}, err
	}
	req := crawler.Request{All: r.All, Full: r.Full, Mode: r.Mode, Depth: -1, Restart: r.Restart, SnapshotMin: r.SnapshotMin,
		Planned: watch.Planned, Progress: watch.Progress, Warn: watch.Warn}
	if why, err := e.fullRescanDue(ctx, r); err != nil {
		return CrawlStats{}, err
	} else if why != "" {
		req.Full = true
		if watch.Warn != nil {
			watch.Warn(why)
		}
	}
	if r.Depth != nil {
		req.Depth = *r.Depth
	}
	req.Seeds, req.Patterns, _ = r.seeds() // checked above
	return w.Crawl(ctx, req)
}

// liveSink is the store's sink for a crawl of a live Engine: the planner's
// family sizes and the whole graph a scan's end sizes families on are the
// live graph's, not passes over the database.
type liveSink struct {
	crawler.Sink
	e *Engine
}

// FamilyCount and Graph read the live graph when the Engine has one (made
// at Open, or during the crawl by a read: LiveOnRead), else the store.
func (s liveSink) FamilyCount(ctx context.Context, root graph.ModelID) (graph.FamilyCount, error) {
	if l := s.e.live.Load(); l != nil {
		return l.g.Current().Count(root), ctx.Err()
	}
	return s.Sink.FamilyCount(ctx, root)
}

func (s liveSink) Graph(ctx context.Context) (*graph.Graph, error) {
	if l := s.e.live.Load(); l != nil {
		g, _, err := l.g.Compact(ctx)
		return g, err
	}
	return s.Sink.Graph(ctx)
}

// UnfinishedCrawl returns the request that resumes the crawl a stop left
// unfinished in the database; ok is false when there is none.
func (e *Engine) UnfinishedCrawl() (r CrawlRequest, ok bool, err error) {
	job, ok, err := e.st.CrawlJob()
	if err != nil || !ok {
		return r, false, err
	}
	depth := job.Depth
	r = CrawlRequest{Mode: job.Kind, Seeds: job.Seeds, All: job.Kind == "scan" && len(job.Seeds) == 0, Full: job.Full, Depth: &depth}
	if len(job.Patterns) > 0 {
		r.Seeds = job.Patterns // as written: the crawl resumes with the models they matched
	}
	if r.All {
		r.Mode = ""
	}
	return r, true, nil
}

// AbandonCrawl forgets the unfinished crawl's position (what it stored
// stays).
func (e *Engine) AbandonCrawl() error { return e.st.ClearCrawl() }

// Queue errors.
var (
	// ErrQueueFull: too many crawls wait already.
	ErrQueueFull = errors.New("the crawl queue is full; try again when a crawl has finished")
	// ErrBusy: a crawl runs or waits already (a scheduled tick is skipped).
	ErrBusy = errors.New("a crawl is already running or queued")
	// ErrNoSuchCrawl: Cancel of an id the queue never gave.
	ErrNoSuchCrawl = errors.New("no such crawl")
	// ErrCrawlEnded: Cancel of a crawl that has ended already.
	ErrCrawlEnded = errors.New("the crawl has ended already")
)

// Queued is a crawl waiting or running.
type Queued struct {
	ID int `json:"id"`
	CrawlRequest
}

// Progress is the running crawl as GET /api/v1/crawl shows it.
type Progress struct {
	Queued
	Started time.Time `json:"started"`
	// Canceling: Cancel was asked; the crawl stops at its next commit.
	Canceling      bool    `json:"canceling,omitempty"`
	Run            uint64  `json:"run,omitempty"`
	RunMode        string  `json:"run_mode,omitempty"` // walk or scan, once planned
	Models         int64   `json:"models"`
	Edges          int64   `json:"edges"`
	Pages          int64   `json:"pages"`
	Requests       int64   `json:"requests"`
	Throttled      int64   `json:"throttled"`
	QuotaRemaining int     `json:"quota_remaining"` // -1: unknown
	Quota          int     `json:"quota"`           // -1: unknown
	Rate           float64 `json:"rate"`            // requests per second so far
}

// Outcome is how a queued crawl ended.
type Outcome struct {
	ID       int    `json:"id"`
	Run      uint64 `json:"run,omitempty"` // 0: it ended before recording a run
	Complete bool   `json:"complete"`
	Stopped  bool   `json:"stopped,omitempty"` // the queue was closed; the next start resumes it
	// Canceled: Cancel stopped it, queued (it never ran) or running (it
	// stopped at a commit, its position saved: the same crawl resumes it).
	Canceled bool   `json:"canceled,omitempty"`
	Skipped  string `json:"skipped,omitempty"` // seeds skipped (not on the Hub, gated, failing) by a crawl that completed
	// Error says why the crawl did not complete; a walk none of whose
	// seeds could be fetched has "nothing crawled: " and the seeds' errors.
	Error    string    `json:"error,omitempty"`
	Finished time.Time `json:"finished"`
	Models   int64     `json:"models"`
	Edges    int64     `json:"edges"`
	Pages    int64     `json:"pages"`
	Requests int64     `json:"requests"`
	// Seconds is how long it ran; Succeeded that it completed with at
	// least one of its seeds (a scan, or a walk not all of whose seeds
	// were skipped).
	Seconds   float64 `json:"-"`
	Succeeded bool    `json:"-"`
}

// CrawlStatus is GET /api/v1/crawl.
type CrawlStatus struct {
	Running  *Progress  `json:"running"`
	Queue    []Queued   `json:"queue"`
	Finished []Outcome  `json:"finished"` // the last crawls this queue ran, newest first
	Schedule string     `json:"schedule"`
	Last     *store.Run `json:"last"`
}

// keptOutcomes is how many finished crawls a CrawlStatus lists.
const keptOutcomes = 20

// QueueOptions shape a CrawlQueue.
type QueueOptions struct {
	Hub  Hub // how its crawls reach the Hub
	Size int // crawls that may wait (default 8)
	// Log receives one line per crawl and its plan and warnings (default
	// slog.Default()).
	Log *slog.Logger
	// Counted, if set, is told by how much the requests, retries and
	// throttled answers grew, and the quota left (-1: unknown).
	Counted func(requests, retries, throttled int64, quotaLeft int)
	// Finished, if set, is told each crawl's outcome.
	Finished func(Outcome)
}

// CrawlQueue runs queued crawls one at a time into the Engine's database:
// the one writer of a long-lived process.
type CrawlQueue struct {
	e        *Engine
	o        QueueOptions
	mu       sync.Mutex
	queue    []Queued
	running  *Progress
	outcomes []Outcome // newest last
	next     int
	stop     context.CancelFunc // stops the running crawl (Cancel)
	wake     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
}

// StartQueue starts the Engine's crawl queue; Close stops it, as does the
// end of ctx (a running crawl saves its position). Close it before the
// Engine.
func (e *Engine) StartQueue(ctx context.Context, o QueueOptions) *CrawlQueue {
	if o.Size <= 0 {
		o.Size = 8
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	c := &CrawlQueue{e: e, o: o, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(ctx)
	go c.work()
	return c
}

// Enqueue queues a crawl and returns its queue entry's id, or ErrQueueFull,
// or ErrBusy when skipIfBusy and a crawl runs or waits already, or
// ErrOffline when $HF_HUB_OFFLINE is set. A request that is not valid is
// ErrInvalid. A crawl the same as one queued or running (SameCrawl) is not
// queued twice: Enqueue returns that one's id.
func (c *CrawlQueue) Enqueue(r CrawlRequest, skipIfBusy bool) (int, error) {
	id, _, err := c.Submit(r, skipIfBusy)
	return id, err
}

// Submit is Enqueue, and says whether r was merged: the same crawl
// (SameCrawl) is queued or running, not being canceled, and id is that
// one's; nothing was queued. A merge needs no room in the queue.
func (c *CrawlQueue) Submit(r CrawlRequest, skipIfBusy bool) (id int, merged bool, err error) {
	if err := CheckCrawl(r); err != nil {
		return 0, false, err
	}
	if Offline() {
		return 0, false, ErrOffline
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return 0, false, errors.New("the crawl queue is closed (the process is stopping)")
	}
	if skipIfBusy && (c.running != nil || len(c.queue) > 0) {
		return 0, false, ErrBusy
	}
	if p := c.running; p != nil && !p.Canceling && SameCrawl(p.CrawlRequest, r) {
		return p.ID, true, nil
	}
	for _, q := range c.queue {
		if SameCrawl(q.CrawlRequest, r) {
			return q.ID, true, nil
		}
	}
	if len(c.queue) >= c.o.Size {
		return 0, false, ErrQueueFull
	}
	c.next++
	c.queue = append(c.queue, Queued{ID: c.next, CrawlRequest: r})
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return c.next, false, nil
}

// SameCrawl reports whether two valid requests ask for the same crawl:
// the same seeds, in any order, each once, comma lists taken apart and
// spaces trimmed, and the same options once defaults are filled in (mode
// auto, depth -1, snapshot_min 100). Letter case counts: seeds are
// compared as written.
func SameCrawl(a, b CrawlRequest) bool { return a.normal() == b.normal() }

// crawlKey is a request with its defaults filled in and its seeds as one
// sorted, duplicate-free list: comparable.
type crawlKey struct {
	seeds                  string
	all, full, restart     bool
	mode                   string
	depth, snapshotMinimum int
	fullEvery              Age
}

func (r CrawlRequest) normal() crawlKey {
	var seeds []string
	for _, s := range r.Seeds {
		for part := range strings.SplitSeq(s, ",") {
			seeds = append(seeds, strings.TrimSpace(part))
		}
	}
	slices.Sort(seeds)
	k := crawlKey{seeds: strings.Join(slices.Compact(seeds), ","), all: r.All, full: r.Full, restart: r.Restart,
		mode: r.Mode, depth: -1, snapshotMinimum: r.SnapshotMin}
	if r.Kind() == "scan" {
		k.fullEvery = r.FullEvery // (walks take no full rescans)
	}
	if k.mode == "" {
		k.mode = "auto"
	}
	if r.Depth != nil {
		k.depth = *r.Depth
	}
	if k.snapshotMinimum <= 0 {
		k.snapshotMinimum = crawler.DefaultSnapshotMin
	}
	return k
}

// Cancel cancels crawl id. A queued crawl leaves the queue and never runs
// (running is false); a running one stops at its next commit, what it
// crawled kept in its run and its position dropped, so that any crawl may
// follow (running is true; Cancel does not wait). Either is listed among
// the finished as canceled. An id this queue never gave
// is ErrNoSuchCrawl; a crawl that has ended, ErrCrawlEnded. Canceling a
// crawl being canceled is no error.
func (c *CrawlQueue) Cancel(id int) (running bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.running; p != nil && p.ID == id {
		p.Canceling = true
		c.stop()
		return true, nil
	}
	for i, q := range c.queue {
		if q.ID == id {
			c.queue = slices.Delete(c.queue, i, i+1)
			c.finish(Outcome{ID: id, Canceled: true, Error: "canceled before it ran", Finished: time.Now().UTC()})
			return false, nil
		}
	}
	switch {
	case c.next == 0:
		return false, fmt.Errorf("%w: %d (this server has queued no crawl since it started)", ErrNoSuchCrawl, id)
	case id < 1 || id > c.next:
		return false, fmt.Errorf("%w: %d (this server's crawls are numbered 1 to %d since it started)", ErrNoSuchCrawl, id, c.next)
	}
	return false, fmt.Errorf("%w: crawl %d is neither queued nor running", ErrCrawlEnded, id)
}

// finish records an outcome; c.mu is held.
func (c *CrawlQueue) finish(out Outcome) {
	c.outcomes = append(c.outcomes, out)
	if len(c.outcomes) > keptOutcomes {
		c.outcomes = c.outcomes[len(c.outcomes)-keptOutcomes:]
	}
}

func (c *CrawlQueue) work() {
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
			c.running = &Progress{Queued: q, Started: time.Now().UTC(), QuotaRemaining: -1, Quota: -1}
			ctx, stop := context.WithCancel(c.ctx)
			c.stop = stop
			c.mu.Unlock()
			out := c.run(ctx, q)
			stop()
			c.mu.Lock()
			c.running, c.stop = nil, nil
			c.finish(out)
			c.mu.Unlock()
			if c.o.Finished != nil {
				c.o.Finished(out)
			}
		}
	}
}

// run runs one queued crawl; ending ctx cancels it.
func (c *CrawlQueue) run(ctx context.Context, q Queued) Outcome {
	out := Outcome{ID: q.ID}
	log := c.o.Log.With("crawl", q.ID)
	// Progress comes from the crawler's goroutines, not always in order:
	// counters only move forward.
	var lastReq, lastTooMany, lastRetries int64
	count := func(st CrawlStats) {
		var dReq, dRetries, dTooMany int64
		if d := st.Retries - lastRetries; d > 0 {
			dRetries, lastRetries = d, st.Retries
		}
		if d := st.Requests - lastReq; d > 0 {
			dReq, lastReq = d, st.Requests
		}
		if d := st.TooMany - lastTooMany; d > 0 {
			dTooMany, lastTooMany = d, st.TooMany
		}
		if c.o.Counted != nil {
			c.o.Counted(dReq, dRetries, dTooMany, st.Pace.Remaining)
		}
	}
	watch := CrawlWatch{
		Planned: func(p CrawlPlan) {
			log.Info("plan", "mode", p.Mode, "reason", p.Reason)
			c.mu.Lock()
			c.running.RunMode = p.Mode
			c.mu.Unlock()
		},
		Warn: func(s string) { log.Warn(s) },
		Progress: func(st CrawlStats) {
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
		},
	}
	log.Info("crawl started", "seeds", q.Seeds, "all", q.All, "mode", q.Mode)
	start := time.Now()
	stats, err := c.e.Crawl(ctx, c.o.Hub, q.CrawlRequest, watch)
	c.mu.Lock()
	count(stats)
	canceled := c.running.Canceling && c.ctx.Err() == nil
	c.mu.Unlock()
	out.Seconds = time.Since(start).Seconds()
	out.Run, out.Finished = stats.Run.ID, time.Now().UTC()
	out.Models, out.Edges, out.Pages, out.Requests = stats.Models, stats.Edges, stats.Pages, stats.Requests
	var seedErr *SeedError
	switch {
	case errors.Is(err, ErrNothingCrawled):
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
		out.Succeeded = err == nil || len(seedErr.Errs) < len(q.Seeds)
		log.Info("crawl finished", "run", stats.Run.ID, "models", stats.Models, "edges", stats.Edges, "requests", stats.Requests,
			"seconds", out.Seconds)
	case errors.Is(err, context.Canceled) && canceled:
		// Canceled means stopped for good: its saved position is dropped,
		// or every other crawl — the schedule's, the page's — would be
		// refused for "an unfinished crawl with other parameters", and the
		// next start would resume it. What it crawled stays, in its run.
		out.Canceled, out.Error = true, "canceled; what it crawled is kept (its run, not complete), its position dropped: the same crawl starts over"
		if aerr := c.e.AbandonCrawl(); aerr != nil {
			out.Error += "; dropping its position failed: " + oneLine(aerr) + " (the next crawl needs restart)"
			log.Error("crawl canceled; its position could not be dropped", "run", stats.Run.ID, "err", aerr)
		} else {
			log.Info("crawl canceled; its position dropped", "run", stats.Run.ID)
		}
	case errors.Is(err, context.Canceled) && stats.Run.ID == 0:
		// Stopped before anything was stored: no run, nothing to resume.
		out.Stopped, out.Error = true, "stopped with the server before anything was stored; nothing to resume: ask for it again"
		log.Info("crawl stopped before anything was stored")
	case errors.Is(err, context.Canceled):
		out.Stopped, out.Error = true, "stopped with the server; the next start resumes it"
		log.Info("crawl stopped; its position is saved and the next start resumes it", "run", stats.Run.ID)
	default:
		out.Error = oneLine(err)
		log.Error("crawl failed", "run", stats.Run.ID, "err", err)
	}
	return out
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// Status is the queue as GET /api/v1/crawl shows it; schedule describes
// the scheduled crawls ("" : none).
func (c *CrawlQueue) Status(ctx context.Context, schedule string) CrawlStatus {
	c.mu.Lock()
	st := CrawlStatus{Queue: slices.Clone(c.queue), Schedule: schedule, Finished: slices.Clone(c.outcomes)}
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
		st.Queue = []Queued{}
	}
	if runs, err := c.e.Runs(ctx); err == nil && len(runs) > 0 {
		st.Last = &runs[0]
	}
	return st
}

// Close stops the queue: a running crawl saves its position (the next
// start resumes it) and queued crawls are dropped. It waits for the
// running crawl to stop or ctx to end.
func (c *CrawlQueue) Close(ctx context.Context) error {
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
