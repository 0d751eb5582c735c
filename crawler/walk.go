package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gocolly/colly/v2"

	"github.com/hflineage/hflineage/graph"
)

// Options are the parameters of one family walk.
type Options struct {
	// Depth bounds the walk: models deeper than Depth below a seed are not
	// stored; models at Depth are stored but not expanded. < 0: no bound.
	Depth int
	// Restart forgets an unfinished crawl in the database and starts over.
	Restart bool
	// Progress, if set, is called after every page with the running totals.
	Progress func(Stats)
	// Warn, if set, is told of what the crawl skipped or worked around
	// (a malformed id in a listing, a next-page link to another host), one
	// line each, without a trailing newline. It is called one call at a
	// time, from any goroutine. nil discards the warnings.
	Warn func(string)

	// Set by Crawl: the seeds as written when some were patterns (kept in
	// the job), where the crawl's counts start, and a scan's cost at or
	// above which the walk's remaining cost makes it hand over to a scan
	// (0: never).
	patterns []string
	since    *crawlStart
	scanCost int
}

// crawlStart is where a crawl began: its time and the Walker's counters,
// so that requests made before the walk or scan proper (listing an
// organisation, planning) count in its stats.
type crawlStart struct {
	at                         time.Time
	requests, tooMany, retries int64
}

func (w *Walker) crawlStart() *crawlStart {
	return &crawlStart{at: time.Now(), requests: w.hub.requests.Load(), tooMany: w.hub.tooMany.Load(), retries: w.hub.retries.Load()}
}

// begin sets where the walk's counts start: since, or now.
func (wk *walk) begin(since *crawlStart) {
	if since == nil {
		since = wk.crawlStart()
	}
	wk.start, wk.requests0, wk.tooMany0, wk.retries0 = since.at, since.requests, since.tooMany, since.retries
}

// Stats are a crawl's running totals. Models, Edges and Pages span the
// whole run, resumed attempts included (they are saved with every page);
// Requests, TooMany and Elapsed are this attempt's (Run.Requests spans the
// run).
type Stats struct {
	// Models: a walk's distinct family members (seeds included); a scan's
	// distinct models listed.
	Models int64
	// Edges: the distinct edges into the models counted in Models, as
	// stored when the crawl last wrote each (a model listed twice counts
	// once; `stats` counts edges the same way).
	Edges    int64
	Pages    int64 // listing and model pages committed
	Requests int64 // HTTP requests sent, retries included
	TooMany  int64 // of those, answered 429 (over the Hub's quota)
	Retries  int64 // attempts that repeated a failed one (429, 5xx, network errors, stalls)
	Elapsed  time.Duration
	Resumed  bool
	Pace     PaceState // the request pace and the Hub's quota, as last seen
	// Plan is the planner's choice, as Request.Planned was last told it
	// (nil when the mode was not left to it).
	Plan *Plan
	Run  Run // the run as recorded (its totals span resumed attempts)
	// Left estimates the requests a walk has still to make, as its
	// planner does: one per member queued, and those the level being
	// listed is likely to add; 0 for a scan.
	Left int64
}

// SeedError reports seeds that could not be crawled; the others were.
type SeedError struct {
	Errs map[string]error
}

func (e *SeedError) Error() string {
	var names []string
	for s := range e.Errs {
		names = append(names, s)
	}
	slices.Sort(names)
	var parts []string
	for _, s := range names {
		parts = append(parts, e.Errs[s].Error())
	}
	return strings.Join(parts, "; ")
}

// errRedirect marks a redirect that was not followed.
var errRedirect = errors.New("redirect not followed")

// ErrJobMismatch: the database holds an unfinished crawl with other parameters.
var ErrJobMismatch = errors.New("the database holds an unfinished crawl with other parameters")

// Walker walks model families on the Hub.
type Walker struct {
	cfg      Config
	endpoint *url.URL
	sink     Sink
	hub      *hubClient // one transport, pacer and request count for every request this Walker sends
}

// NewWalker checks cfg and returns a Walker writing to sink.
func NewWalker(cfg Config, sink Sink) (*Walker, error) {
	cfg, u, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Walker{cfg: cfg, endpoint: u, sink: sink, hub: newHubClient(cfg, u)}, nil
}

func (w *Walker) modelURL(id string) string {
	q := url.Values{"expand[]": expandFields}
	return w.cfg.Endpoint + "/api/models/" + escapeID(id) + "?" + q.Encode()
}

// escapeID escapes each part of an id for a URL path (a listed id may hold
// any printable character; a valid user id is unchanged).
func escapeID(id string) string {
	org, name, two := strings.Cut(id, "/")
	if !two {
		return url.PathEscape(id)
	}
	return url.PathEscape(org) + "/" + url.PathEscape(name)
}

// childrenURL is the first page of the listing of id's children, in the
// form learnt from the Hub's answers (pageForm).
func (wk *walk) childrenURL(id graph.ModelID) string {
	q := url.Values{
		"filter":   {"base_model:" + string(id)},
		"limit":    {fmt.Sprint(wk.listPage)},
		"expand[]": expandFields,
	}
	if wk.listFull {
		q.Del("expand[]")
		q.Set("full", "true")
	}
	return wk.cfg.Endpoint + "/api/models?" + q.Encode()
}

// walk is the state of one Walk call.
type walk struct {
	*Walker
	ctx    context.Context
	cancel context.CancelCauseFunc
	opts   Options
	col    *colly.Collector
	pace   *pacer
	commit sync.Mutex // one page commit at a time: no Badger conflicts, exact queueing
	slots  chan struct{}
	stats  Stats // Resumed only; the counters below are atomic
	start  time.Time

	models, edges, pages          atomic.Int64
	requests0, tooMany0, retries0 int64 // the Walker's counters when this walk began

	job          Job
	run          *Run   // guarded by commit
	delta        *Tally // what the commit in progress adds to models, edges, pages (guarded by commit)
	baseRequests int64  // the run's requests before this attempt
	enqueued     int64  // members the commit in progress queued for expansion (guarded by commit)

	// The walk's remaining cost, known as it goes (planner.go): members
	// queued for expansion, and the level being listed.
	queued  atomic.Int64
	lvl     levelTally // guarded by mu
	handOff string     // why the walk hands over to a scan ("": it does not); guarded by mu

	scanPages *pageOrder // a scan's pages, committed in listing order (scan.go)
	probeURL  string     // a scan's first page, which tries full=true when short (scan.go)
	listPage  int        // a walk's listing page size, as learnt (pageForm)
	listFull  bool       // … asked for with full=true
	continued bool       // a scan a walk of this crawl handed over to

	mu       sync.Mutex
	listings map[graph.ModelID]map[string]bool // URLs already fetched per listing in progress (loop guard)
	scanSeen map[string]bool                   // URLs already fetched by a scan (loop guard)
	seeds    map[string]graph.ModelID          // resolved seeds
	seedErrs map[string]error
	gone     []graph.ModelID // members that left the family and the Hub no longer has

	warnMu    sync.Mutex
	warned    map[string]bool // warnings already given (each is given once)
	unsafeIDs int             // listed models skipped for their ids (guarded by warnMu)
}

// maxIDWarnings: past this many models skipped for their ids, one warning
// at the end gives the count.
const maxIDWarnings = 20

const attemptsPerPage = 5 // tries of a page that comes back damaged (after the transport's own retries)

// Walk crawls seeds and all their descendants into the sink, breadth-first,
// expanding each model once, and resumes an unfinished crawl with the same
// parameters. Once the walk is complete, members the database held from
// before that the walk did not see are looked up one by one and updated,
// or removed (logged in the run) when the Hub no longer has them. It
// returns a *SeedError when some seeds could not be fetched (missing,
// gated, forbidden, or failing after every retry: each is skipped and the
// others are crawled; when every seed failed, the walk stored nothing and
// its run is not recorded, or, when it changed something or a later run
// exists, recorded as not complete), ErrBadToken when the Hub refuses
// the token, ErrJobMismatch when another crawl is unfinished, and the
// context's error when cancelled (the crawl can then be resumed).
func (w *Walker) Walk(ctx context.Context, seeds []graph.ModelID, opts Options) (Stats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wk := &walk{
		Walker: w, ctx: ctx, cancel: cancel, opts: opts,
		slots:    make(chan struct{}, w.cfg.Parallel*2),
		listings: map[graph.ModelID]map[string]bool{},
		seeds:    map[string]graph.ModelID{},
		seedErrs: map[string]error{},
	}
	names := make([]string, len(seeds))
	for i, s := range seeds {
		names[i] = string(s)
	}
	wk.begin(opts.since)
	job := Job{Kind: "walk", Seeds: names, Patterns: opts.patterns, Depth: opts.Depth, Endpoint: w.cfg.Endpoint}
	if err := wk.prepare(job, opts.Restart); err != nil {
		return wk.snapshot(), err
	}
	var err error
	if wk.listPage, wk.listFull, err = w.pageForm(); err != nil {
		return wk.finish(err, nil)
	}
	wk.col = wk.newCollector()
	if err := wk.resolveSeeds(seeds); err != nil {
		return wk.finish(err, nil)
	}
	err = wk.expandAll()
	if errors.Is(err, errHandOver) {
		return wk.handOver()
	}
	var roots []graph.ModelID
	for _, id := range wk.seeds {
		roots = append(roots, id)
	}
	slices.Sort(roots)
	if err == nil {
		err = wk.reconcile(roots)
	}
	return wk.finish(err, func() (func(Tx) error, error) { return wk.snapshotFamilies(roots) })
}

// snapshot returns the running totals.
func (wk *walk) snapshot() Stats {
	s := wk.stats
	s.Models, s.Edges, s.Pages = wk.models.Load(), wk.edges.Load(), wk.pages.Load()
	s.Requests = wk.hub.requests.Load() - wk.requests0
	s.TooMany = wk.hub.tooMany.Load() - wk.tooMany0
	s.Retries = wk.hub.retries.Load() - wk.retries0
	queued, predicted := wk.remaining()
	s.Left = queued + predicted
	s.Elapsed = time.Since(wk.start)
	if wk.pace != nil {
		s.Pace = wk.pace.state()
	}
	wk.commit.Lock()
	if wk.run != nil {
		s.Run = *wk.run
	}
	wk.commit.Unlock()
	return s
}

// commitPage commits one page's writes, with the run's and the crawl's
// totals, atomically. fn counts what it adds into wk.delta.
func (wk *walk) commitPage(fn func(tx Tx) error) error { return wk.commitTx(fn, false) }

// commitTx is commitPage; last: the commit ends the crawl (fn clears its
// place), so no tally is saved after fn.
func (wk *walk) commitTx(fn func(tx Tx) error, last bool) error {
	wk.commit.Lock()
	defer wk.commit.Unlock()
	requests := wk.baseRequests + wk.hub.requests.Load() - wk.requests0
	var delta Tally
	wk.delta = &delta
	defer func() { wk.delta = nil }()
	err := wk.sink.Commit(wk.run, func(tx Tx) error {
		delta = Tally{} // fn may run again
		wk.enqueued = 0
		tx.Run().Requests = requests
		tx.Run().Stopped = "" // this attempt goes on (or, at finish, ends the run)
		if err := fn(tx); err != nil || last {
			return err
		}
		return tx.SetCrawlTally(Tally{
			Models: wk.models.Load() + delta.Models,
			Edges:  wk.edges.Load() + delta.Edges,
			Pages:  wk.pages.Load() + delta.Pages,
		})
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	wk.models.Add(delta.Models)
	wk.edges.Add(delta.Edges)
	wk.pages.Add(delta.Pages)
	wk.queued.Add(wk.enqueued)
	return nil
}

// finish ends the attempt. On success the crawl ends in one commit: what
// complete returns to write (the family snapshots; a scan's record too),
// the run marked finished and the crawl's place cleared go together, so
// that a crash leaves either the crawl finished with no job, or its job
// live, to resume and finish. A walk none of whose seeds could be fetched
// stored nothing: its run is discarded (see RunDiscarder), else ends not
// complete, in the same commit. On
// failure the place stays for a resume.
func (wk *walk) finish(err error, complete func() (func(Tx) error, error)) (Stats, error) {
	wk.warnSkippedTotal()
	if err == nil {
		err = context.Cause(wk.ctx)
	}
	if errors.Is(err, ErrUnreachable) && !wk.stats.Resumed {
		return wk.unreached(err)
	}
	if errors.Is(err, context.Canceled) && !wk.stats.Resumed && wk.models.Load() == 0 && wk.edges.Load() == 0 && wk.pages.Load() == 0 {
		// Stopped before anything was stored (a Hub that has not answered
		// yet): no run either, as for a Hub that cannot be reached.
		return wk.unreached(err)
	}
	if err != nil {
		// Save the request count and why the attempt stopped; a failure
		// to is said, with the crawl's.
		stopped := graph.RunFailed
		if errors.Is(err, context.Canceled) { // the crawl's context, not a failure's cancel (wk.fail)
			stopped = graph.RunCanceled
		}
		if cerr := wk.commitPage(func(tx Tx) error { tx.Run().Stopped = stopped; return nil }); cerr != nil {
			err = errors.Join(err, fmt.Errorf("saving the run's request count: %w", cerr))
		}
		return wk.snapshot(), err
	}
	var write func(Tx) error
	if complete != nil {
		if write, err = complete(); err != nil {
			return wk.snapshot(), err
		}
	}
	var seedErr error
	wk.mu.Lock()
	if len(wk.seedErrs) > 0 {
		seedErr = &SeedError{Errs: wk.seedErrs}
	}
	wk.mu.Unlock()
	nothing := seedErr != nil && wk.models.Load() == 0 // and the last commit adds no model
	discarded := false
	err = wk.commitTx(func(tx Tx) error {
		if write != nil {
			if err := write(tx); err != nil {
				return err
			}
		}
		discarded = false
		if nothing {
			var err error
			if discarded, err = discardRun(tx); err != nil {
				return err
			}
		}
		tx.Run().Complete = !nothing
		tx.Run().Finished = time.Now().UTC()
		return tx.ClearCrawl()
	}, true)
	if err != nil {
		return wk.snapshot(), err
	}
	if discarded {
		wk.forgetRun() // no run is recorded for a crawl that fetched nothing
	}
	// What the commit left of a large queue and seen set (no crawl's any
	// more): dropped now, or before the next crawl starts.
	if err := wk.sink.ClearCrawl(); err != nil {
		wk.warn("clear", fmt.Sprintf("the crawl finished, but dropping what is left of its queue failed (the next crawl will): %v", err))
	}
	return wk.snapshot(), seedErr
}

// unreached ends a new crawl that never reached the Hub (err is its
// *UnreachableError), or was stopped before it stored anything: its run is
// discarded and its job cleared, as if it had never started; a sink that
// cannot discard keeps both, with the request count, as any failed attempt
// does.
func (wk *walk) unreached(err error) (Stats, error) {
	discarded := false
	cerr := wk.commitTx(func(tx Tx) error {
		var err error
		if discarded, err = discardRun(tx); err != nil || !discarded {
			return err
		}
		return tx.ClearCrawl()
	}, true)
	if cerr != nil {
		return wk.snapshot(), errors.Join(err, fmt.Errorf("dropping the run of a crawl that never reached the Hub: %w", cerr))
	}
	if discarded {
		wk.forgetRun()
		if cerr := wk.sink.ClearCrawl(); cerr != nil {
			return wk.snapshot(), errors.Join(err, fmt.Errorf("clearing the crawl that never reached the Hub: %w", cerr))
		}
	}
	return wk.snapshot(), err
}

// discardRun drops the run tx counts into, when the sink can
// (RunDiscarder), and reports whether it did.
func discardRun(tx Tx) (bool, error) {
	d, ok := tx.(RunDiscarder)
	if !ok {
		return false, nil
	}
	return d.DiscardRun()
}

// forgetRun tells the crawl's stats that its run was discarded.
func (wk *walk) forgetRun() {
	wk.commit.Lock()
	wk.run.ID = 0
	wk.commit.Unlock()
}

// prepare starts a new crawl job and its run, or checks that the unfinished
// one matches job and resumes it. An unfinished crawl with other parameters
// is abandoned (with a warning) when it never committed a page, say for a
// wrong endpoint; otherwise it is ErrJobMismatch, naming what differs.
func (wk *walk) prepare(job Job, restart bool) error {
	old, ok, err := wk.sink.CrawlJob()
	if err != nil {
		return err
	}
	if ok && !restart {
		if old.Kind == job.Kind && slices.Equal(old.Seeds, job.Seeds) && old.Depth == job.Depth &&
			old.Endpoint == job.Endpoint && old.Full == job.Full {
			wk.stats.Resumed = true
			wk.job = old
			if wk.run, err = wk.sink.GetRun(old.RunID); err != nil {
				return err
			}
			wk.baseRequests = wk.run.Requests
			if wk.continued {
				// The run's requests count this crawl's so far already.
				wk.baseRequests -= wk.hub.requests.Load() - wk.requests0
			}
			tally, err := wk.sink.CrawlTally()
			if err != nil {
				return err
			}
			wk.models.Store(tally.Models)
			wk.edges.Store(tally.Edges)
			wk.pages.Store(tally.Pages)
			return nil
		}
		progressed, err := wk.sink.CrawlProgress()
		if err != nil {
			return err
		}
		if progressed {
			return fmt.Errorf("%w (%s): %s; rerun that crawl to finish it, or pass --restart to abandon it",
				ErrJobMismatch, describeJob(old), strings.Join(jobDiffs(old, job), "; "))
		}
		wk.warn("abandoned", fmt.Sprintf("abandoned an unfinished crawl that never committed a page (%s)", describeJob(old)))
	}
	// The abandoned crawl's place, or what a finished crawl's last commit
	// left of its queue and seen set: a new crawl starts from none.
	if err := wk.sink.ClearCrawl(); err != nil {
		return err
	}
	if wk.run, err = wk.sink.NewRun(job.Kind, job.Full, job.Seeds); err != nil {
		return err
	}
	job.RunID = wk.run.ID
	job.Started = wk.run.Started.Format(time.RFC3339)
	wk.job = job
	return wk.commitPage(func(tx Tx) error { return tx.SetCrawlJob(job) }) // and a zero tally
}

// describeJob says what crawl job is, for messages.
func describeJob(job Job) string {
	what := "a walk of " + strings.Join(job.Seeds, " ")
	if len(job.Patterns) > 0 {
		what = "a walk of " + strings.Join(job.Patterns, " ") // as written; Seeds may be many
	}
	if job.Kind == "scan" {
		what = "a scan (--all)"
		if job.Full {
			what = "a full scan (--all --full)"
		}
	} else if job.Depth >= 0 {
		what += fmt.Sprintf(" to depth %d", job.Depth)
	}
	return fmt.Sprintf("%s from %s, run %d", what, job.Endpoint, job.RunID)
}

// jobDiffs names each parameter in which the unfinished crawl old differs
// from the new one, with both values.
func jobDiffs(old, job Job) []string {
	var d []string
	if old.Kind != job.Kind {
		d = append(d, fmt.Sprintf("mode: unfinished crawl is a %s, this one a %s", old.Kind, job.Kind))
	} else if job.Kind == "walk" {
		if !slices.Equal(old.Seeds, job.Seeds) {
			d = append(d, fmt.Sprintf("seeds: unfinished crawl has %s, this one %s", strings.Join(old.Seeds, " "), strings.Join(job.Seeds, " ")))
		}
		if old.Depth != job.Depth {
			d = append(d, fmt.Sprintf("--depth: unfinished crawl has %d, this one %d", old.Depth, job.Depth))
		}
	}
	if old.Full != job.Full && old.Kind == job.Kind {
		d = append(d, fmt.Sprintf("--full: unfinished crawl has %v, this one %v", old.Full, job.Full))
	}
	if old.Endpoint != job.Endpoint {
		d = append(d, fmt.Sprintf("endpoint: %s vs %s", old.Endpoint, job.Endpoint))
	}
	return d
}

// snapshotFamilies sizes each root's family after the run, and returns
// what records the sizes in the crawl's last commit.
func (wk *walk) snapshotFamilies(roots []graph.ModelID) (func(Tx) error, error) {
	sizes := map[graph.ModelID]graph.RelationCounts{}
	for _, id := range roots {
		c, err := wk.sink.FamilyCount(wk.ctx, id)
		if err != nil {
			return nil, err
		}
		sizes[id] = c.Descendants
	}
	return func(tx Tx) error {
		for id, c := range sizes {
			if err := tx.PutSnapshot(id, tx.Run().ID, c); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func (wk *walk) newCollector() *colly.Collector {
	c := colly.NewCollector(
		colly.Async(true),
		colly.AllowURLRevisit(),
		colly.MaxBodySize(wk.cfg.MaxBodySize+1),
		colly.UserAgent(userAgent()),
		colly.StdlibContext(wk.ctx),
		colly.IgnoreRobotsTxt(),
		colly.ParseHTTPErrorResponse(),
	)
	wk.pace = wk.hub.pace
	c.WithTransport(wk.hub.transport)
	c.SetRequestTimeout(0) // per-attempt timeouts live in the transport; retries may wait long
	c.SetRedirectHandler(func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("%w: redirect loop at %s", errRedirect, req.URL.Redacted())
		}
		if !sameOrigin(req.URL, wk.endpoint) {
			return fmt.Errorf("%w: refusing redirect to another host %s", errRedirect, req.URL.Host)
		}
		return nil
	})
	if err := c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: wk.cfg.Parallel, Delay: wk.cfg.Delay}); err != nil {
		panic(err) // DomainGlob is set: cannot fail
	}
	c.OnRequest(func(r *colly.Request) {
		r.Headers.Set("Accept", "application/json")
	})
	c.OnResponse(wk.onResponse)
	c.OnError(wk.onError)
	return c
}

// request is what travels with a colly request in its Context.
type request struct {
	kind    string // "seed", "list", "scan" or "lookup"
	seed    string // kind seed: the name asked for
	id      graph.ModelID
	depth   int
	url     string
	attempt int
}

func (wk *walk) send(rq *request) {
	if wk.ctx.Err() != nil {
		wk.release(rq)
		return
	}
	ctx := colly.NewContext()
	ctx.Put("rq", rq)
	if err := wk.col.Request("GET", rq.url, nil, ctx, nil); err != nil {
		wk.fail(fmt.Errorf("request %s: %w", bareURL(rq.url), err))
		wk.release(rq)
	}
}

func (wk *walk) release(rq *request) {
	switch rq.kind {
	case "list":
		wk.mu.Lock()
		delete(wk.listings, rq.id)
		wk.mu.Unlock()
		<-wk.slots
	case "lookup":
		<-wk.slots
	}
}

func (wk *walk) fail(err error) {
	wk.cancel(err)
}

// warn passes msg to Options.Warn, once per crawl for each distinct key.
func (wk *walk) warn(key, msg string) {
	wk.warnMu.Lock()
	defer wk.warnMu.Unlock()
	wk.warnLocked(key, msg)
}

func (wk *walk) warnLocked(key, msg string) {
	if wk.warned == nil {
		wk.warned = map[string]bool{}
	}
	if wk.warned[key] || len(wk.warned) > 10_000 {
		return
	}
	wk.warned[key] = true
	if wk.opts.Warn != nil {
		wk.opts.Warn(msg)
	}
}

// skipUnsafe reports models a listing page left out for their ids (one
// warning each, up to maxIDWarnings; see warnSkippedTotal).
func (wk *walk) skipUnsafe(where string, skipped []error) {
	if len(skipped) == 0 {
		return
	}
	wk.warnMu.Lock()
	defer wk.warnMu.Unlock()
	for _, err := range skipped {
		key := "id\x00" + err.Error()
		if wk.warned[key] {
			continue // the same page again (a retry, a resume)
		}
		wk.unsafeIDs++
		if wk.unsafeIDs <= maxIDWarnings {
			wk.warnLocked(key, fmt.Sprintf("skipped a model %s: %s", where, shorten(err.Error(), 300)))
		} else if wk.warned != nil && len(wk.warned) <= 10_000 {
			wk.warned[key] = true
		}
	}
}

// warnSkippedTotal gives the count of models skipped for their ids when
// there were more than the warnings named.
func (wk *walk) warnSkippedTotal() {
	wk.warnMu.Lock()
	defer wk.warnMu.Unlock()
	if wk.unsafeIDs > maxIDWarnings {
		wk.warnLocked("id total", fmt.Sprintf("skipped %d listed models in all whose ids are not safe to store (the first %d are named above)", wk.unsafeIDs, maxIDWarnings))
	}
}

// shorten cuts s to at most n bytes, on a character boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func rqOf(ctx *colly.Context) *request {
	rq, _ := ctx.GetAny("rq").(*request)
	return rq
}

func (wk *walk) onError(r *colly.Response, err error) {
	rq := rqOf(r.Ctx)
	if rq == nil {
		return
	}
	if wk.ctx.Err() != nil {
		wk.release(rq)
		return
	}
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		wk.fail(unreachable) // every request would fail alike
		wk.release(rq)
		return
	}
	// The transport has already retried connection failures; what reaches
	// here also includes bodies cut off mid-way, worth another try.
	wk.retryOr(rq, !errors.Is(err, errRedirect), func() {
		err := fmt.Errorf("GET %s: %w", bareURL(rq.url), unwrapURLError(err))
		switch rq.kind {
		case "seed":
			wk.skipSeed(rq, err)
		case "lookup":
			wk.lookupFailed(rq, err)
		default:
			wk.fail(err)
		}
	})
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}

// bareURL is u for an error message: without credentials or query (an
// expand[] list, a cursor: long, and said by the message's context).
func bareURL(u string) string {
	u, _, _ = strings.Cut(redact(u), "?")
	return u
}

// unwrapURLError drops the *url.Error around err, which names the URL
// again, query and all.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (wk *walk) onResponse(r *colly.Response) {
	rq := rqOf(r.Ctx)
	if rq == nil {
		return
	}
	var err error
	if len(r.Body) > wk.cfg.MaxBodySize {
		err = fmt.Errorf("response body larger than %d bytes", wk.cfg.MaxBodySize)
	} else if r.StatusCode != http.StatusOK {
		err = statusError(r, rq, wk.cfg.Token != "")
	}
	switch rq.kind {
	case "seed":
		if err == nil {
			err = wk.onSeed(r, rq)
		}
		switch {
		case err == nil:
		case errors.Is(err, ErrBadToken):
			wk.fail(err) // every other request would fail alike
		default:
			// One seed's trouble (missing, gated, forbidden, a server error
			// that outlived the retries) skips that seed, not the crawl.
			wk.retryOr(rq, retryable(err), func() { wk.skipSeed(rq, err) })
		}
	case "list":
		if err == nil {
			err = wk.onListing(r, rq)
		}
		if err != nil {
			wk.retryOr(rq, retryable(err), func() { wk.fail(fmt.Errorf("listing children of %s: %w", rq.id, err)) })
			return
		}
	case "lookup":
		wk.onLookupResponse(r, rq, err)
	case "scan":
		if err == nil {
			err = wk.onScanPage(r, rq)
		} else if wk.smallerPages(err, rq) {
			return
		}
		if err != nil {
			wk.retryOr(rq, retryable(err), func() { wk.fail(fmt.Errorf("listing all models: %w", err)) })
		}
	}
}

// skipSeed records why a seed is not crawled; the crawl goes on without it
// and ends with a *SeedError naming it.
func (wk *walk) skipSeed(rq *request, err error) {
	wk.mu.Lock()
	wk.seedErrs[rq.seed] = fmt.Errorf("seed %s skipped: %w", rq.seed, err)
	wk.mu.Unlock()
	wk.recordMissing(rq.seed, err)
}

// recordMissing records, when the sink's Tx is a MissingRecorder, that a
// lookup of name was answered 401 or 404 (err wraps ErrNotFound and the
// HTTPError). Other failures are not recorded.
func (wk *walk) recordMissing(name string, err error) {
	var he *HTTPError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &he) {
		return
	}
	err = wk.commitPage(func(tx Tx) error {
		if r, ok := tx.(MissingRecorder); ok {
			return r.MarkMissing(name, he.Status)
		}
		return nil
	})
	if err != nil {
		wk.fail(err)
	}
}

// retryable reports whether a failed page is worth asking for again (after
// the transport's own retries): a body that could not be understood, or a
// status the Hub uses for passing trouble.
func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusTooManyRequests || he.Status == http.StatusRequestTimeout || he.Status >= 500
	}
	return errors.Is(err, ErrBadResponse)
}

// retryOr asks for rq again when the failure is worth another try and
// tries remain; otherwise it calls giveUp.
func (wk *walk) retryOr(rq *request, retryable bool, giveUp func()) {
	if retryable && rq.attempt+1 < attemptsPerPage && wk.ctx.Err() == nil {
		rq.attempt++
		// A short, growing pause: a damaged answer is often a passing fault.
		if sleep(wk.ctx, time.Duration(rq.attempt*rq.attempt)*50*time.Millisecond) == nil {
			wk.send(rq)
			return
		}
	}
	giveUp()
	wk.release(rq)
}

// statusError explains a non-200 answer. A 401 blames the token only when
// one was sent (tokenSent): without one, "Invalid credentials" is the Hub's
// way of saying the repo is private, gated or missing.
func statusError(r *colly.Response, rq *request, tokenSent bool) error {
	he := &HTTPError{URL: bareURL(rq.url), Status: r.StatusCode}
	if r.Headers != nil {
		he.Code = r.Headers.Get("X-Error-Code")
		he.Message = r.Headers.Get("X-Error-Message")
	}
	switch {
	case tokenSent && r.StatusCode == http.StatusUnauthorized && strings.Contains(he.Message, "Invalid credentials"):
		return fmt.Errorf("%w: %v", ErrBadToken, he)
	case (r.StatusCode == http.StatusUnauthorized || r.StatusCode == http.StatusForbidden) && he.Code == "GatedRepo":
		return fmt.Errorf("%w (%v)", ErrGated, he)
	case r.StatusCode == http.StatusUnauthorized, r.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w (%w)", ErrNotFound, he)
	case r.StatusCode == http.StatusForbidden:
		return fmt.Errorf("access denied: %v", he)
	case r.StatusCode >= 300 && r.StatusCode < 400:
		return fmt.Errorf("unfollowed redirect: %v", he)
	}
	return he
}

// resolveSeeds fetches each seed's own record, following renames, and queues it.
func (wk *walk) resolveSeeds(seeds []graph.ModelID) error {
	for _, s := range seeds {
		if m, err := wk.sink.Lookup(string(s)); err == nil && wk.stats.Resumed {
			// Resolved before the interruption. Callbacks of seeds already
			// sent write wk.seeds too, concurrently.
			wk.mu.Lock()
			wk.seeds[string(s)] = m.ID
			wk.mu.Unlock()
			continue
		}
		wk.send(&request{kind: "seed", seed: string(s), url: wk.modelURL(string(s))})
	}
	wk.col.Wait()
	return context.Cause(wk.ctx)
}

func (wk *walk) onSeed(r *colly.Response, rq *request) error {
	m, err := DecodeModel(r.Body)
	if err != nil {
		return err
	}
	err = wk.commitPage(func(tx Tx) error {
		wk.delta.Pages++
		if _, err := wk.putModel(tx, m, ""); err != nil {
			return err
		}
		if string(m.ID) != rq.seed {
			if err := tx.PutAlias(rq.seed, m.ID); err != nil {
				return err
			}
		}
		return wk.queue(tx, m.ID, 0)
	})
	if err != nil {
		wk.fail(err) // the database's trouble, not the seed's
		return nil
	}
	wk.mu.Lock()
	wk.seeds[rq.seed] = m.ID
	wk.mu.Unlock()
	wk.pageDone()
	return nil
}

// putModel stores m with the parents its tags declare (parents not yet
// known become stubs) and counts its edges into the crawl's distinct edges.
// When m was listed as a child of listedUnder, that parent is guaranteed an
// edge even if m's tags name it in another letter case or not at all. again
// reports that this run had stored m before.
func (wk *walk) putModel(tx Tx, m graph.Model, listedUnder graph.ModelID) (again bool, err error) {
	parents := parentsOf(m, listedUnder)
	earlier, again, err := tx.PutCrawled(m, parents)
	wk.delta.Edges += int64(len(parents) - earlier) // the edges into m are its parents, as last written
	return again, err
}

// parentsOf returns the parents m declares in its tags, sorted, and
// listedUnder (when set) whatever the tags say.
func parentsOf(m graph.Model, listedUnder graph.ModelID) []graph.Parent {
	parents := graph.ParentsFromTags(m.Tags)
	found := false
	for i, p := range parents {
		if listedUnder != "" && p.ID != listedUnder && strings.EqualFold(string(p.ID), string(listedUnder)) {
			parents[i].ID = listedUnder
		}
		if parents[i].ID == listedUnder {
			found = true
		}
	}
	if listedUnder != "" && !found {
		parents = append(parents, graph.Parent{ID: listedUnder, Relation: graph.Finetune})
	}
	slices.SortFunc(parents, func(a, b graph.Parent) int {
		return strings.Compare(string(a.ID)+"\x00"+string(a.Relation), string(b.ID)+"\x00"+string(b.Relation))
	})
	return slices.Compact(parents)
}

// queue marks a family member found at depth as seen and, above the depth
// bound, queues it for expansion. Members already seen are left alone.
func (wk *walk) queue(tx Tx, id graph.ModelID, depth int) error {
	var isNew bool
	var err error
	if wk.opts.Depth >= 0 && depth >= wk.opts.Depth {
		isNew, err = tx.MarkSeen(id, depth)
	} else {
		isNew, err = tx.Enqueue(id, depth, wk.childrenURL(id))
		if isNew {
			wk.enqueued++
		}
	}
	if isNew {
		wk.delta.Models++
	}
	return err
}

// expandAll works through the queue level by level: a level is finished
// before the next starts, so each model is first met at its shortest depth.
func (wk *walk) expandAll() error {
	for {
		batch, err := wk.sink.NextPending(nil, 1)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		level := batch[0].Depth
		if err := wk.startLevel(level); err != nil {
			return err
		}
		var after *Pending
		for {
			batch, err := wk.sink.NextPending(after, 256)
			if err != nil {
				return err
			}
			n := 0
			for _, p := range batch {
				if p.Depth != level {
					break
				}
				n++
				select {
				case wk.slots <- struct{}{}:
				case <-wk.ctx.Done():
					wk.col.Wait()
					return context.Cause(wk.ctx)
				}
				wk.mu.Lock()
				wk.listings[p.ID] = map[string]bool{}
				wk.mu.Unlock()
				wk.send(&request{kind: "list", id: p.ID, depth: p.Depth, url: p.Next})
			}
			if n < len(batch) || len(batch) < 256 {
				break
			}
			last := batch[len(batch)-1]
			after = &last
		}
		wk.col.Wait()
		if err := context.Cause(wk.ctx); err != nil {
			return err
		}
	}
}

func (wk *walk) onListing(r *colly.Response, rq *request) error {
	next, err := wk.checkedNext(r, rq)
	if err != nil {
		return err
	}
	children, skipped, err := DecodeModelPage(r.Body)
	if err != nil {
		return err
	}
	wk.skipUnsafe("listed as a child of "+string(rq.id), skipped)
	var found int64
	err = wk.commitPage(func(tx Tx) error {
		wk.delta.Pages++
		for _, m := range children {
			if _, err := wk.putModel(tx, m, rq.id); err != nil {
				return err
			}
			if err := wk.queue(tx, m.ID, rq.depth+1); err != nil {
				return err
			}
		}
		found = wk.enqueued
		if next != "" {
			return tx.SetNext(rq.id, rq.depth, next)
		}
		if err := tx.Done(rq.id, rq.depth); err != nil {
			return err
		}
		wk.enqueued-- // no longer queued
		return nil
	})
	if err != nil {
		wk.fail(err)
		wk.release(rq)
		return nil
	}
	wk.listed(rq.depth, found, next == "")
	wk.pageDone()
	if next != "" {
		wk.send(&request{kind: "list", id: rq.id, depth: rq.depth, url: next})
		return nil
	}
	wk.release(rq)
	return nil
}

// pageDone reports progress after a page (counted in its commit with
// wk.delta.Pages).
func (wk *walk) pageDone() {
	if wk.opts.Progress != nil {
		wk.opts.Progress(wk.snapshot())
	}
}
