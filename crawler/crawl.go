package crawler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hflineage/hflineage/graph"
)

// Request is one crawl as `hflineage crawl`, `schedule` and the server's
// queue ask for it.
type Request struct {
	Seeds []graph.ModelID
	// Patterns, if set, name the seeds as written: model ids and globs of
	// an organisation's models ("meta-llama/*", "Qwen/Qwen2.5-*"), which
	// the crawl lists from the Hub (ExpandPatterns) and takes as seeds
	// after Seeds. An unfinished walk of the same patterns resumes with the
	// seeds they matched when it began, without listing them again.
	Patterns []graph.Pattern
	// All scans the whole Hub (Seeds are then only snapshotted).
	All bool
	// Full lists everything and removes what the Hub no longer has (scans).
	Full bool
	// Mode is "walk", "scan" or "auto" (""): the planner picks the cheaper,
	// or finishes the unfinished crawl's kind.
	Mode string
	// Depth bounds a walk (-1: no bound).
	Depth int
	// Restart abandons an unfinished crawl.
	Restart bool
	// SnapshotMin: after a scan, families with at least this many
	// descendants are snapshotted (default 100).
	SnapshotMin int

	// Planned, if set, is told the planner's choice (auto mode only): at
	// the start, and again if the walk switches to a scan part way.
	Planned func(Plan)
	// Progress, if set, is called after every page with the running totals.
	Progress func(Stats)
	// Warn, if set, is told what was skipped or worked around (one line each).
	Warn func(string)
}

// Crawl runs one crawl: a walk of the seeds' families or a scan of the
// Hub, as the request and the planner say, then tidies the database (value
// log GC, caches) when it completed. In auto mode a walk that finds its
// families would cost more than a scan switches to one, in the same run
// (Planned is told). Requests made to list patterns' models and to plan
// count in the stats. Errors are those of Walk and Scan; a scan also
// returns a *SeedError for seeds it did not list, a walk whose every seed
// failed returns ErrNothingCrawled wrapping its *SeedError, and patterns
// matching nothing ErrNoMatch (before anything is recorded or stored). A
// Hub that could not be reached before it ever answered is an
// *UnreachableError (ErrUnreachable), returned as it is (one line, without
// the request it stopped) after a few quick attempts; such a crawl records
// no run.
func (w *Walker) Crawl(ctx context.Context, req Request) (Stats, error) {
	stats, err := w.crawl(ctx, req)
	return stats, bareUnreachable(err)
}

// bareUnreachable returns the *UnreachableError that err wraps, else err:
// what wraps it (the request, the seed, the listing) says nothing more.
// An error joined with others is kept whole.
func bareUnreachable(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if u, ok := e.(*UnreachableError); ok {
			return u
		}
	}
	return err
}

func (w *Walker) crawl(ctx context.Context, req Request) (Stats, error) {
	since := w.crawlStart()
	mode := req.Mode
	if mode == "" {
		mode = "auto"
	}
	if req.All {
		mode = "scan"
	}
	job, unfinished, err := w.sink.CrawlJob()
	if err != nil {
		return Stats{}, err
	}
	unfinished = unfinished && !req.Restart
	var patterns []string
	if len(req.Patterns) > 0 {
		for _, p := range req.Patterns {
			patterns = append(patterns, p.String())
		}
		seeds, err := w.patternSeeds(ctx, req, job, unfinished, patterns)
		if err != nil {
			return w.since(since), err
		}
		req.Seeds = seeds
	}
	scanCost := 0 // a walk the planner chose may switch to a scan
	var plan *Plan
	if mode == "auto" {
		if unfinished {
			mode = job.Kind // finish what was started
			if mode == "walk" {
				if scanCost, _, _, _, err = w.scanCost(); err != nil {
					return w.since(since), err
				}
			}
		} else {
			p, err := w.PlanCrawl(ctx, req.Seeds)
			if err != nil {
				return w.since(since), err
			}
			plan = &p
			mode, scanCost = p.Mode, p.ScanCost
			if req.Planned != nil {
				req.Planned(p)
			}
		}
	}
	var stats Stats
	if mode == "walk" {
		stats, err = w.Walk(ctx, req.Seeds, Options{Depth: req.Depth, Restart: req.Restart, Progress: req.Progress, Warn: req.Warn,
			patterns: patterns, since: since, scanCost: scanCost})
		var ho *handOverError
		switch {
		case errors.As(err, &ho):
			page, _, _ := w.pageForm()
			plan = &Plan{Mode: "scan", Switched: true, WalkCost: int(stats.Requests), ScanCost: scanCost, PageSize: page, Reason: ho.reason}
			if req.Planned != nil {
				req.Planned(*plan)
			}
			resumed := stats.Resumed
			mode = "scan"
			req.Restart = false // the scan goes on with the walk's run
			stats, err = w.scan(ctx, req, since, true)
			stats.Resumed = resumed
		case isSeedError(err) && stats.Models == 0:
			// No seed could be fetched: the walk stored nothing, and its
			// last commit dropped its run (or, a sink that cannot, marked
			// it not complete).
			stats.Plan = plan
			return stats, fmt.Errorf("%w: %w", ErrNothingCrawled, err)
		}
	} else {
		stats, err = w.scan(ctx, req, since, false)
	}
	stats.Plan = plan
	if err == nil || isSeedError(err) {
		w.sink.Tidy(ctx, mode == "scan") // best effort: count and stats read the caches
	}
	return stats, err
}

// scan is Crawl's scan: the Hub whole, the seeds' families snapshotted and
// those it did not list named.
func (w *Walker) scan(ctx context.Context, req Request, since *crawlStart, continued bool) (Stats, error) {
	stats, err := w.Scan(ctx, ScanOptions{Full: req.Full, Restart: req.Restart, Progress: req.Progress,
		SnapshotMin: req.SnapshotMin, Snapshot: req.Seeds, Warn: req.Warn, since: since, continued: continued})
	if err == nil {
		err = w.seedsListed(req.Seeds)
	}
	return stats, err
}

// since returns the stats of a crawl that stopped before walking or
// scanning: the requests it made since it began.
func (w *Walker) since(s *crawlStart) Stats {
	return Stats{Requests: w.hub.requests.Load() - s.requests, TooMany: w.hub.tooMany.Load() - s.tooMany,
		Retries: w.hub.retries.Load() - s.retries, Elapsed: time.Since(s.at), Pace: w.hub.pace.state()}
}

// patternSeeds returns the seeds req.Patterns name: those of the
// unfinished walk of the same patterns, else the Hub's listing's, after
// req.Seeds.
func (w *Walker) patternSeeds(ctx context.Context, req Request, job Job, unfinished bool, patterns []string) ([]graph.ModelID, error) {
	if unfinished && job.Kind == "walk" && slices.Equal(job.Patterns, patterns) {
		seeds := make([]graph.ModelID, len(job.Seeds))
		for i, s := range job.Seeds {
			seeds[i] = graph.ModelID(s)
		}
		return seeds, nil
	}
	listed, err := w.ExpandPatterns(ctx, req.Patterns)
	if err != nil {
		return nil, err
	}
	seeds := slices.Clone(req.Seeds)
	have := map[string]bool{}
	for _, s := range seeds {
		have[strings.ToLower(string(s))] = true
	}
	for _, s := range listed {
		if !have[strings.ToLower(string(s))] {
			seeds = append(seeds, s)
		}
	}
	return seeds, nil
}

// ErrNothingCrawled wraps the *SeedError of a walk none of whose seeds
// could be fetched (unknown to the Hub, gated, failing): nothing was
// stored, and its run is recorded as not complete.
var ErrNothingCrawled = errors.New("nothing crawled")

func isSeedError(err error) bool {
	var se *SeedError
	return errors.As(err, &se)
}

// seedsListed reports seeds a scan did not find on the Hub.
func (w *Walker) seedsListed(seeds []graph.ModelID) error {
	errs := map[string]error{}
	for _, s := range seeds {
		m, err := w.sink.Lookup(string(s))
		if err == nil && m.Stub {
			err = ErrNotFound
		}
		if err != nil {
			errs[string(s)] = fmt.Errorf("seed %s: %w (the scan did not list it)", s, ErrNotFound)
		}
	}
	if len(errs) > 0 {
		return &SeedError{Errs: errs}
	}
	return nil
}
