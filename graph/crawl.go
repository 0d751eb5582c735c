package graph

import (
	"fmt"
	"time"
)

// The records a crawl keeps beside the graph, shared by the crawler, which
// writes them through its Sink, and the store, which persists them (as
// JSON, with these keys: databases already written read back with them,
// and the runs the CLI and the HTTP API print are Run's JSON). The crawler
// and the store name them crawler.Run, crawler.Job, store.Run,
// store.CrawlJob and so on, aliases of these.

// Run is one crawl as recorded.
type Run struct {
	ID       uint64    `json:"run"`
	Mode     string    `json:"mode"` // "walk" or "scan"
	Full     bool      `json:"full,omitempty"`
	Seeds    []string  `json:"seeds,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Complete bool      `json:"complete"`
	Requests int64     `json:"requests"` // HTTP requests, retries included, over every attempt

	ModelsAdded   int64 `json:"models_added"`
	ModelsRemoved int64 `json:"models_removed"`
	EdgesAdded    int64 `json:"edges_added"`
	EdgesRemoved  int64 `json:"edges_removed"`

	// LogChanges records every change for `diff`; off for a run that
	// starts from an empty database (everything would be "added").
	LogChanges bool `json:"log_changes"`
	// Watermark is the latest lastModified a scan has seen.
	Watermark time.Time `json:"watermark,omitzero"`
	// Bulk: a scan into an empty database (no models, no earlier run),
	// which the store writes without reading first.
	Bulk bool `json:"bulk,omitempty"`
	// Stopped says why the run's last attempt ended before it finished:
	// "canceled" (interrupted: its place is saved to resume) or "failed";
	// "" while it runs, once it finished, and in records written before
	// the field (an attempt that resumes clears it).
	Stopped string `json:"stopped,omitempty"`
}

// Run statuses, as Status reports them.
const (
	RunFinished   = "finished"   // ended, every seed crawled
	RunFailed     = "failed"     // ended without completing, or its last attempt failed
	RunCanceled   = "canceled"   // its last attempt was interrupted; resumable
	RunUnfinished = "unfinished" // running, or stopped with no word (killed, or recorded before Stopped)
)

// Status says how the run ended: RunFinished, RunFailed, RunCanceled or
// RunUnfinished.
func (r *Run) Status() string {
	switch {
	case !r.Finished.IsZero() && r.Complete:
		return RunFinished
	case !r.Finished.IsZero():
		return RunFailed
	case r.Stopped == RunCanceled || r.Stopped == RunFailed:
		return r.Stopped
	}
	return RunUnfinished
}

// Ended returns when the run finished, or when it started if it did not
// finish: the time a run's data is dated by.
func (r *Run) Ended() time.Time {
	if r.Finished.IsZero() {
		return r.Started
	}
	return r.Finished
}

// Changed reports whether the run added or removed any model or edge. An
// unfinished run that changed nothing (one that never got a page, or
// re-read an unchanged family) left the data as the runs before it did.
func (r *Run) Changed() bool {
	return r.ModelsAdded != 0 || r.ModelsRemoved != 0 || r.EdgesAdded != 0 || r.EdgesRemoved != 0
}

// CrawlJob is the crawl in progress: its parameters and a scan's position.
type CrawlJob struct {
	Kind  string   `json:"kind"` // "walk" or "scan"
	Seeds []string `json:"seeds,omitempty"`
	// Patterns are the seeds as the user wrote them when some had
	// wildcards ("meta-llama/*"); Seeds are then the models they matched
	// on the Hub when the crawl began, which a resume crawls again.
	Patterns []string `json:"patterns,omitempty"`
	Depth    int      `json:"depth"`
	Full     bool     `json:"full,omitempty"`
	Endpoint string   `json:"endpoint"`
	Started  string   `json:"started"`
	RunID    uint64   `json:"run"`
	// A scan's position: the URL of the next listing page ("" before the
	// first, "-" after the last), and for an incremental scan the time it
	// stops at.
	ScanNext  string    `json:"scan_next,omitempty"`
	ScanSince time.Time `json:"scan_since,omitzero"`
}

// CrawlTally is what the crawl in progress has counted so far, committed
// with each page so that a resumed crawl's totals span the whole run.
type CrawlTally struct {
	Models int64 `json:"models"` // distinct models stored
	Edges  int64 `json:"edges"`  // distinct edges into them
	Pages  int64 `json:"pages"`  // pages committed
}

// Pending is a model in a crawl's queue with the URL of its next listing
// page.
type Pending struct {
	ID    ModelID
	Depth int
	Next  string
}

// LastScan is what is remembered of the latest complete scan.
type LastScan struct {
	Run       uint64    `json:"run"`
	Watermark time.Time `json:"watermark"` // the latest lastModified seen
	Models    int       `json:"models"`    // models stored after it
	Finished  time.Time `json:"finished"`
}

// Incomplete describes a crawl that did not complete and so leaves what the
// database says partial.
type Incomplete struct {
	Model   ModelID `json:"model,omitempty"` // the family's root; "" for the whole database
	Run     uint64  `json:"run"`             // the unfinished crawl's run
	Command string  `json:"command"`         // the command line that finishes it
}

// Warning is the one line a user is told: what may be partial, and how to
// finish the crawl.
func (in *Incomplete) Warning(what string) string {
	subject := "the last crawl"
	if in.Model != "" {
		subject += " of " + string(in.Model)
	}
	hint := "rerun the crawl to finish it"
	if in.Command != "" {
		hint += " (" + in.Command + ")"
	}
	return fmt.Sprintf("warning: %s did not complete (run %d); %s may be partial — %s", subject, in.Run, what, hint)
}
