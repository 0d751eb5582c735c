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
}

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
		opts.SnapshotMin = 100
	}
	if opts.Overlap <= 0 {
		opts.Overlap = time.Hour
	}
	wk := &walk{Walker: w, ctx: ctx, cancel: cancel, opts: Options{Depth: -1, Progress: opts.Progress, Warn: opts.Warn}, start: time.Now(),
		requests0: w.hub.requests.Load(), tooMany0: w.hub.tooMany.Load(), retries0: w.hub.retries.Load(),
		scanSeen: map[string]bool{}}
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

// startScan chooses between a full and an incremental listing.
func (wk *walk) startScan(opts ScanOptions) error {
	pageSize := wk.cfg.PageSize
	remembered, err := wk.sink.MaxPageSize() // a page size the Hub made us fall back to
	if err != nil {
		return err
	}
	if remembered > 0 && remembered < pageSize {
		pageSize = remembered
	}
	q := url.Values{"limit": {strconv.Itoa(pageSize)}, "expand[]": expandFields}
	last, ok, err := wk.sink.LastScan()
	if err != nil {
		return err
	}
	if ok && !opts.Full {
		q.Set("sort", "lastModified")
		wk.job.ScanSince = last.Watermark.Add(-opts.Overlap)
	}
	wk.job.ScanNext = wk.cfg.Endpoint + "/api/models?" + q.Encode()
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

func (wk *walk) onScanPage(r *colly.Response, rq *request) error {
	next, err := wk.checkedNext(r, rq)
	if err != nil {
		return err
	}
	models, skipped, err := DecodeModelPage(r.Body)
	if err != nil {
		return err
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
		return "", fmt.Errorf("the Hub's next-page link repeats a page already fetched (%s): pagination loop", redact(next))
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
	Mode     string // "walk" or "scan"
	WalkCost int    // estimated requests to walk the seeds' families
	ScanCost int    // estimated requests to scan (incremental when possible)
	Reason   string
}

// PublishedHubSize is the number of models on the Hub as last published
// (HuggingGraph, 2026), used until a scan has counted them.
const PublishedHubSize = 3_029_377

// descendantsPerChild turns a count of direct children into an estimate of
// a family's size (the recorded Llama-2-7b tree: 173 descendants for 44
// children).
const descendantsPerChild = 4

// PlanCrawl estimates the cost of walking the seeds' families (what the
// database knows of them, else the Hub's childrenModelCount, one request
// per seed) against a scan (the Hub's size over the page size, or an
// incremental scan after a complete one) and picks the cheaper. A seed the
// Hub does not answer for (gated, forbidden, failing) counts as a small
// family and Reason says how many were not estimated: the Hub's trouble
// never fails the plan. It fails only when ctx ends or the database
// cannot be read.
func (w *Walker) PlanCrawl(ctx context.Context, seeds []graph.ModelID) (Plan, error) {
	var p Plan
	last, hasScan, err := w.sink.LastScan()
	if err != nil {
		return p, err
	}
	hub := PublishedHubSize
	if hasScan {
		hub = last.Models
	}
	page := w.cfg.PageSize
	if n, _ := w.sink.MaxPageSize(); n > 0 && n < page {
		page = n
	}
	p.ScanCost = int(math.Ceil(float64(hub) / float64(page)))
	if hasScan {
		p.ScanCost = max(2, p.ScanCost/50) // incremental: a few pages of changes
	}
	unknown := 0 // seeds whose family could not be estimated
	for _, s := range seeds {
		size := 0
		if m, err := w.sink.Lookup(string(s)); err == nil {
			if c, err := w.sink.FamilyCount(ctx, m.ID); err == nil {
				size = c.Descendants.Total + 1
			}
		}
		if size <= 1 {
			children, err := w.ChildrenCount(ctx, s)
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return p, context.Cause(ctx)
			case errors.Is(err, ErrNotFound):
				children = 0 // an unknown seed costs nothing; the crawl will name it
			default:
				// Gated, forbidden, failing: the estimate is no reason to
				// stop the crawl, which will try the seed itself.
				children = 0
				unknown++
			}
			size = 1 + children*descendantsPerChild
		}
		p.WalkCost += size + size/page + 1
	}
	p.Mode = "walk"
	if p.ScanCost < p.WalkCost {
		p.Mode = "scan"
	}
	// Say where the Hub's size comes from: a fake Hub or a mirror is far
	// smaller than the published figure used until a scan has counted.
	kind, source := "a full scan", "as last published"
	if hasScan {
		kind, source = "an incremental scan", "at the last scan"
	}
	p.Reason = fmt.Sprintf("walking the families costs about %d requests, %s about %d (Hub of %d models %s, %d per page)",
		p.WalkCost, kind, p.ScanCost, hub, source, page)
	switch unknown {
	case 0:
	case 1:
		p.Reason += " (1 seed not estimated)"
	default:
		p.Reason += fmt.Sprintf(" (%d seeds not estimated)", unknown)
	}
	return p, nil
}
