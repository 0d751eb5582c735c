package crawler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocolly/colly/v2"

	"github.com/hflineage/hflineage/graph"
)

// ScanOptions are the parameters of a whole-Hub scan.
type ScanOptions struct {
	// Full lists every model even when an earlier complete scan allows an
	// incremental one, and then removes what the Hub no longer lists.
	Full bool
	// Restart forgets an unfinished crawl in the database and starts over.
	Restart bool
	// Progress, if set, is called after every page with the running totals.
	Progress func(Stats)
	// Warn, if set, is told of what the scan skipped or worked around, as
	// Options.Warn is. nil discards the warnings.
	Warn func(string)
	// SnapshotMin: after the scan, every family with at least this many
	// descendants is snapshotted for `history` (default 100).
	SnapshotMin int
	// Snapshot lists families to snapshot whatever their size (seeds).
	Snapshot []graph.ModelID
	// Overlap is how far before the previous scan's watermark an
	// incremental scan reads (default 1 h), against clock skew.
	Overlap time.Duration

	since     *crawlStart // set by Crawl: where the crawl's counts start
	continued bool        // set by Crawl: the scan goes on with the run of a walk it handed over
}

// DefaultSnapshotMin is ScanOptions.SnapshotMin when 0: after a scan, the
// size of every family of at least this many descendants is recorded.
const DefaultSnapshotMin = 100

// Scan lists every model on the Hub (GET /api/models, following Link to the
// end) and stores every lineage edge their tags declare. After one complete
// scan, a later one is incremental: it reads models by lastModified, newest
// first, down to the previous watermark (less Overlap). A Full scan lists
// everything and removes models and edges the Hub no longer has (a parent
// still named by a child stays, as a dangling stub). The scan resumes from
// its last committed page after a crash.
func (w *Walker) Scan(ctx context.Context, opts ScanOptions) (Stats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if opts.SnapshotMin <= 0 {
		opts.SnapshotMin = DefaultSnapshotMin
	}
	if opts.Overlap <= 0 {
		opts.Overlap = time.Hour
	}
	wk := &walk{Walker: w, ctx: ctx, cancel: cancel, opts: Options{Depth: -1, Progress: opts.Progress, Warn: opts.Warn},
		scanSeen: map[string]bool{}, continued: opts.continued}
	wk.begin(opts.since)
	if err := wk.prepare(Job{Kind: "scan", Full: opts.Full, Depth: -1, Endpoint: w.cfg.Endpoint}, opts.Restart); err != nil {
		return wk.snapshot(), err
	}
	if wk.job.ScanNext == "" {
		if err := wk.startScan(opts); err != nil {
			return wk.finish(err, nil)
		}
	}
	wk.col = wk.newCollector()
	if wk.job.ScanNext != "-" {
		wk.scanPages = newPageOrder(wk.job.ScanNext, wk.job.ScanSince)
		wk.send(&request{kind: "scan", url: wk.job.ScanNext})
		wk.col.Wait()
	}
	return wk.finish(context.Cause(ctx), func() (func(Tx) error, error) { return wk.completeScan(opts) })
}

// startScan chooses between a full and an incremental listing, asked for
// in the form learnt from the Hub's answers (pageForm).
func (wk *walk) startScan(opts ScanOptions) error {
	pageSize, full, err := wk.pageForm()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(pageSize)}, "expand[]": expandFields}
	if full {
		q = url.Values{"limit": {strconv.Itoa(pageSize)}, "full": {"true"}}
	}
	last, ok, err := wk.sink.LastScan()
	if err != nil {
		return err
	}
	if ok && !opts.Full {
		q.Set("sort", "lastModified")
		wk.job.ScanSince = last.Watermark.Add(-opts.Overlap)
	}
	wk.job.ScanNext = wk.cfg.Endpoint + "/api/models?" + q.Encode()
	if !full {
		wk.probeURL = wk.job.ScanNext // short pages here make the scan try full=true once
	}
	return wk.commitPage(func(tx Tx) error {
		if ok && !opts.Full {
			tx.Run().Watermark = last.Watermark
		}
		return tx.SetCrawlJob(wk.job)
	})
}

// smallerPages handles a 400 to limit=1000 (a Hub that refuses that page
// size): the scan goes on with 500, and the database remembers it.
func (wk *walk) smallerPages(err error, rq *request) bool {
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		return false
	}
	u, perr := url.Parse(rq.url)
	if perr != nil {
		return false
	}
	q := u.Query()
	if n, _ := strconv.Atoi(q.Get("limit")); n <= 500 {
		return false
	}
	q.Set("limit", "500")
	u.RawQuery = q.Encode()
	if cerr := wk.commitPage(func(tx Tx) error { return tx.SetMaxPageSize(500) }); cerr != nil {
		wk.fail(cerr)
		return true
	}
	wk.scanPages.same(u.String(), rq.url)
	wk.send(&request{kind: "scan", url: u.String()})
	return true
}

// tryFullPages looks at a scan's first page, asked for with expand[]:
// when the Hub gave far fewer models than asked (one report: 100 per page
// without full=true, 1000 with), it asks for the same page once with
// full=true instead (which cannot go with expand[] and answers every
// model whole) and keeps the form that gives more models per page. It
// returns the page to commit (the full one, whose next link the scan
// then follows, or the one it was given) and the page size to remember:
// negative for full=true, 0 when the page was not short. A switch to
// full=true is told through Warn; a probe that fails leaves the scan as it
// was.
func (wk *walk) tryFullPages(first string, models []graph.Model, skipped []error, next string) ([]graph.Model, []error, string, int) {
	u, err := url.Parse(first)
	if err != nil {
		return models, skipped, next, 0
	}
	q := u.Query()
	asked, _ := strconv.Atoi(q.Get("limit"))
	got := len(models) + len(skipped)
	if asked != wk.cfg.PageSize || got*2 > asked {
		// Only a page asked for at the configured size is measured: a size
		// learnt before (or the 400 fallback's) is asked as it is, so that
		// pages a Hub filters after choosing them cannot ratchet it down.
		return models, skipped, next, 0
	}
	q.Del("expand[]")
	q.Del("expand")
	q.Set("full", "true")
	u.RawQuery = q.Encode()
	var fullModels []graph.Model
	var fullSkipped []error
	header, err := wk.getPage(wk.ctx, u.String(), func(body []byte) (err error) {
		fullModels, fullSkipped, err = DecodeModelPage(body)
		return err
	})
	if err != nil {
		wk.warn("full pages", fmt.Sprintf("the Hub gave %d models for a page of %d; asking with full=true failed (%v): the scan goes on with pages of %d",
			got, asked, err, got))
		return models, skipped, next, got
	}
	fullGot := len(fullModels) + len(fullSkipped)
	fullNext, err := NextLink(header.Get("Link"), u)
	if err != nil || fullGot <= got || (fullNext == "" && fullGot < asked) {
		// Not cheaper (or not a page that goes on): keep asking as before,
		// for as many as the Hub gives.
		return models, skipped, next, got
	}
	if nu, err := url.Parse(fullNext); err == nil && fullNext != "" && !sameOrigin(nu, wk.endpoint) {
		fullNext = onEndpoint(nu, wk.endpoint)
	}
	wk.warn("full pages", fmt.Sprintf("the Hub gives %d models per page (%d asked), with full=true %d: the scan lists with full=true",
		got, asked, fullGot))
	return fullModels, fullSkipped, fullNext, -fullGot
}

func (wk *walk) onScanPage(r *colly.Response, rq *request) error {
	next, err := wk.checkedNext(r, rq)
	if err != nil {
		return err
	}
	models, skipped, err := DecodeModelPage(r.Body)
	if err != nil {
		return err
	}
	var learnt int // a page size to remember (negative: with full=true)
	if rq.url == wk.probeURL && next != "" {
		models, skipped, next, learnt = wk.tryFullPages(rq.url, models, skipped, next)
	}
	wk.skipUnsafe("of the Hub's listing", skipped)
	order := wk.scanPages
	if !order.since.IsZero() { // incremental
		// Newest first: once one model is older than the last scan's
		// watermark (less the overlap), so is everything after it.
		for _, m := range models {
			if m.LastModified.Before(order.since) {
				next = ""
				break
			}
		}
	}
	// The next page is fetched and decoded while this one commits (one
	// page ahead, no more: it is asked for once the page before this one
	// has committed); pages commit in listing order, each with the
	// position after it, so a crash resumes after the last page committed.
	seq := order.seq(rq.url)
	if !order.wait(seq) {
		return nil // a page before this one failed: the scan stops there
	}
	committed := false
	defer func() { order.done(committed) }()
	if next != "" {
		order.after(next, seq)
		wk.send(&request{kind: "scan", url: next})
	}
	// An empty page is not the end while it carries a next link: the Hub
	// may filter a page's models after selecting them.
	job := wk.job
	job.ScanNext = next
	if next == "" {
		job.ScanNext = "-" // listing complete
	}
	err = wk.commitPage(func(tx Tx) error {
		wk.delta.Pages++
		if learnt != 0 {
			if err := tx.SetMaxPageSize(learnt); err != nil {
				return err
			}
		}
		for _, m := range models {
			again, err := wk.putModel(tx, m, "")
			if err != nil {
				return err
			}
			if !again {
				wk.delta.Models++
			}
			if run := tx.Run(); m.LastModified.After(run.Watermark) {
				run.Watermark = m.LastModified
			}
		}
		return tx.SetCrawlJob(job)
	})
	if err != nil {
		wk.fail(err)
		return nil
	}
	committed = true
	wk.job = job
	wk.pageDone()
	return nil
}

// pageOrder numbers a scan's pages in listing order, by URL, and lets page
// n commit only after page n-1 did, so that the next page can be fetched
// while one commits. A page that does not commit stops the ones after it.
type pageOrder struct {
	since  time.Time // an incremental scan's end (zero for a full one)
	mu     sync.Mutex
	turn   sync.Cond
	seqs   map[string]int // URL → page number
	next   int            // the page whose turn it is to commit
	failed bool           // a page failed to commit
}

func newPageOrder(first string, since time.Time) *pageOrder {
	o := &pageOrder{since: since, seqs: map[string]int{first: 0}}
	o.turn.L = &o.mu
	return o
}

// seq returns the number of the page at url.
func (o *pageOrder) seq(url string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seqs[url]
}

// after numbers url as the page after page n.
func (o *pageOrder) after(url string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seqs[url] = n + 1
}

// same numbers url as the page at old (the same page asked for again).
func (o *pageOrder) same(url, old string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seqs[url] = o.seqs[old]
}

// wait blocks until page n may commit; false when a page before it failed.
func (o *pageOrder) wait(n int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.next < n && !o.failed {
		o.turn.Wait()
	}
	return !o.failed
}

// done ends the turn of the page that waited last, committed or not.
func (o *pageOrder) done(committed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if committed {
		o.next++
	} else {
		o.failed = true
	}
	o.turn.Broadcast()
}

// checkedNext reads a response's next-page link and refuses links back to
// pages already fetched. A link to another host (a mirror passing the Hub's
// own links through) is followed on the endpoint: its path and query on
// the endpoint's origin, noted once per crawl; the token never leaves the
// endpoint.
func (wk *walk) checkedNext(r *colly.Response, rq *request) (string, error) {
	next, err := NextLink(r.Headers.Get("Link"), r.Request.URL)
	if err != nil || next == "" {
		return "", err
	}
	nu, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("%w: next link: %v", ErrBadResponse, err)
	}
	if !sameOrigin(nu, wk.endpoint) {
		wk.warn("link host", fmt.Sprintf("the Hub's next-page links point to %s; following their path and query on %s instead",
			shorten(nu.Host, 100), wk.cfg.Endpoint))
		next = onEndpoint(nu, wk.endpoint)
	}
	wk.mu.Lock()
	defer wk.mu.Unlock()
	seen := wk.scanSeen
	if rq.kind == "list" {
		seen = wk.listings[rq.id]
	}
	loop := seen[next] || next == rq.url
	seen[rq.url] = true
	if loop {
		return "", fmt.Errorf("the Hub's next-page link repeats a page already fetched (%s): pagination loop", bareURL(next))
	}
	return next, nil
}

// onEndpoint moves u onto the endpoint's origin, keeping its path (under
// the endpoint's own path, if it has one and u's path lacks it) and query.
func onEndpoint(u, endpoint *url.URL) string {
	v := *u
	v.Scheme, v.Host, v.User, v.Opaque = endpoint.Scheme, endpoint.Host, nil, ""
	if base := strings.TrimRight(endpoint.Path, "/"); base != "" && v.Path != base && !strings.HasPrefix(v.Path, base+"/") {
		v.Path = base + v.Path
		v.RawPath = ""
	}
	return v.String()
}

// completeScan reconciles (full scans: removals that a crash may
// interrupt, to be finished on resume) and sizes the families; it returns
// what snapshots them and remembers the scan in the crawl's last commit.
func (wk *walk) completeScan(opts ScanOptions) (func(Tx) error, error) {
	if wk.job.Full {
		wk.commit.Lock()
		err := wk.sink.RemoveUnseen(wk.ctx, wk.run)
		wk.commit.Unlock()
		if err != nil {
			return nil, err
		}
	}
	g, err := wk.sink.Graph(wk.ctx)
	if err != nil {
		return nil, err
	}
	prev, _, err := wk.sink.LastScan()
	if err != nil {
		return nil, err
	}
	wm := wk.run.Watermark
	if prev.Watermark.After(wm) {
		wm = prev.Watermark
	}
	families, err := g.Families(wk.ctx, opts.SnapshotMin)
	if err != nil {
		return nil, err
	}
	w := g.NewWalker()
	for _, id := range opts.Snapshot {
		if m, err := wk.sink.Lookup(string(id)); err == nil {
			if i, ok := g.Index(m.ID); ok {
				families = append(families, w.Count(i, nil))
			}
		}
	}
	return func(tx Tx) error {
		for _, f := range families {
			if err := tx.PutSnapshot(f.Model, tx.Run().ID, f.Descendants); err != nil {
				return err
			}
		}
		return tx.SetLastScan(LastScan{Run: tx.Run().ID, Watermark: wm, Models: g.Len(), Finished: time.Now().UTC()})
	}, nil
}

// Plan is the choice between walking families and scanning the Hub.
type Plan struct {
	Mode string // "walk" or "scan"
	// WalkCost is what walking the seeds' families costs at least, in
	// requests: their members the database holds, else each seed, its
	// direct children (the Hub's childrenModelCount) and their listing
	// pages. A walk is planned while it stays under ScanCost, and switches
	// to a scan once what it has queued says it would not.
	WalkCost int
	ScanCost int // estimated requests to scan (incremental when possible)
	PageSize int // models per listing page the scan's cost rests on (learnt from the Hub's answers)
	// Switched: a walk switched to a scan part way (Reason says why,
	// WalkCost is what the walk had spent).
	Switched bool
	Reason   string
}

// PublishedHubSize is the number of models on the Hub as last published
// (HuggingGraph, 2026), used until a scan has counted them.
const PublishedHubSize = 3_029_377

// scanCost estimates a scan's requests: the Hub's size (the last scan's
// count, else Config.HubSize) over the page size learnt from the Hub's
// answers, or a few pages of changes when an incremental scan is possible.
func (w *Walker) scanCost() (cost, hub, page int, incremental bool, err error) {
	last, hasScan, err := w.sink.LastScan()
	if err != nil {
		return 0, 0, 0, false, err
	}
	hub = w.cfg.HubSize
	if hasScan {
		hub = last.Models
	}
	page, _, err = w.pageForm()
	if err != nil {
		return 0, 0, 0, false, err
	}
	cost = int(math.Ceil(float64(hub) / float64(page)))
	if hasScan {
		cost = max(2, cost/50) // incremental: a few pages of changes
	}
	return cost, hub, page, hasScan, nil
}

// PlanCrawl weighs walking the seeds' families against a scan and picks
// the cheaper. A walk's cost is counted from what is known, not guessed: a
// family the database holds by its size, else the seed, its direct
// children (the Hub's childrenModelCount, one request per seed, each child
// costing at least one request to list) and their pages; it stops asking
// once that reaches a scan's cost. A seed the Hub does not answer for
// (gated, forbidden, failing) counts as a small family and Reason says how
// many were not estimated: the Hub's trouble never fails the plan. It
// fails only when ctx ends or the database cannot be read.
func (w *Walker) PlanCrawl(ctx context.Context, seeds []graph.ModelID) (Plan, error) {
	var p Plan
	scan, hub, page, incremental, err := w.scanCost()
	if err != nil {
		return p, err
	}
	p.ScanCost, p.PageSize = scan, page
	unknown, known, unasked := 0, 0, 0 // seeds whose family could not be estimated; members known; seeds not asked about
	for i, s := range seeds {
		if p.WalkCost >= p.ScanCost {
			unasked = len(seeds) - i // a scan wins whatever the rest costs
			break
		}
		size := 0
		if m, err := w.sink.Lookup(string(s)); err == nil {
			if c, err := w.sink.FamilyCount(ctx, m.ID); err == nil {
				size = c.Descendants.Total + 1
			}
		}
		if size > 1 {
			known += size
			p.WalkCost += size + size/page + 1
			continue
		}
		children, err := w.ChildrenCount(ctx, s)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return p, context.Cause(ctx)
		case errors.Is(err, ErrUnreachable):
			return p, err // the crawl would fail alike: say so now
		case errors.Is(err, ErrNotFound):
			children = 0 // an unknown seed costs its one request; the crawl will name it
		default:
			// Gated, forbidden, failing: the estimate is no reason to
			// stop the crawl, which will try the seed itself.
			children = 0
			unknown++
		}
		known += 1 + children
		p.WalkCost += 1 + max(1, (children+page-1)/page) + children
	}
	p.Mode = "walk"
	if p.WalkCost >= p.ScanCost {
		p.Mode = "scan"
	}
	// Say where the Hub's size comes from: a fake Hub or a mirror is far
	// smaller than the published figure used until a scan has counted.
	kind, source := "a full scan", "as last published"
	if incremental {
		kind, source = "an incremental scan", "at the last scan"
	} else if hub != PublishedHubSize {
		source = "as configured"
	}
	p.Reason = fmt.Sprintf("walking the families costs at least %d requests (%d members known), %s about %d (Hub of %d models %s, %d per page)",
		p.WalkCost, known, kind, p.ScanCost, hub, source, page)
	if p.Mode == "walk" {
		p.Reason += "; the walk switches to a scan if what it finds would cost more"
	}
	if unasked > 0 {
		p.Reason += fmt.Sprintf(" (%s not asked about: a scan costs less already)", plural(unasked, "seed"))
	}
	switch unknown {
	case 0:
	case 1:
		p.Reason += " (1 seed not estimated)"
	default:
		p.Reason += fmt.Sprintf(" (%d seeds not estimated)", unknown)
	}
	return p, nil
}
