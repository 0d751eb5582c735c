package crawler

import (
	"context"
	"errors"
	"fmt"

	"github.com/hflineage/hflineage/graph"
)

// Request is one crawl as `hflineage crawl`, `schedule` and the server's
// queue ask for it.
type Request struct {
	Seeds []graph.ModelID
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

	// Planned, if set, is told the planner's choice (auto mode only).
	Planned func(Plan)
	// Progress, if set, is called after every page with the running totals.
	Progress func(Stats)
	// Warn, if set, is told what was skipped or worked around (one line each).
	Warn func(string)
}

// Crawl runs one crawl: a walk of the seeds' families or a scan of the
// Hub, as the request and the planner say, then tidies the database (value
// log GC, caches) when it completed. Errors are those of Walk and Scan; a
// scan also returns a *SeedError for seeds it did not list, and a walk whose
// every seed failed returns ErrNothingCrawled wrapping its *SeedError.
func (w *Walker) Crawl(ctx context.Context, req Request) (Stats, error) {
	mode := req.Mode
	if mode == "" {
		mode = "auto"
	}
	if req.All {
		mode = "scan"
	}
	if mode == "auto" {
		if job, ok, _ := w.sink.CrawlJob(); ok && !req.Restart {
			mode = job.Kind // finish what was started
		} else {
			plan, err := w.PlanCrawl(ctx, req.Seeds)
			if err != nil {
				return Stats{}, err
			}
			mode = plan.Mode
			if req.Planned != nil {
				req.Planned(plan)
			}
		}
	}
	var stats Stats
	var err error
	if mode == "scan" {
		stats, err = w.Scan(ctx, ScanOptions{Full: req.Full, Restart: req.Restart, Progress: req.Progress,
			SnapshotMin: req.SnapshotMin, Snapshot: req.Seeds, Warn: req.Warn})
		if err == nil {
			err = w.seedsListed(req.Seeds)
		}
	} else {
		stats, err = w.Walk(ctx, req.Seeds, Options{Depth: req.Depth, Restart: req.Restart, Progress: req.Progress, Warn: req.Warn})
		if isSeedError(err) && stats.Models == 0 {
			// No seed could be fetched: the walk stored nothing. Its run
			// stays on record (the requests were made) but not as complete
			// (the walk's last commit said so).
			return stats, fmt.Errorf("%w: %w", ErrNothingCrawled, err)
		}
	}
	if err == nil || isSeedError(err) {
		w.sink.Tidy(ctx, mode == "scan") // best effort: count and stats read the caches
	}
	return stats, err
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
