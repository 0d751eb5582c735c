package crawler

import (
	"context"

	"github.com/hflineage/hflineage/graph"
)

// Sink is where a Walker keeps what it crawls and its place in the crawl,
// and what it reads back to plan, resume and finish one. The store
// package's crawlsink adapts a *store.Store (store.OpenInMemory for tests).
//
// Reads that may walk the whole graph take a context; the commit and the
// point reads do not (a walk that was cancelled still saves its place).
type Sink interface {
	// CrawlJob returns the unfinished crawl; ok is false when there is none.
	CrawlJob() (job Job, ok bool, err error)
	// CrawlTally returns the unfinished crawl's totals as last committed
	// (zero when none were saved).
	CrawlTally() (Tally, error)
	// CrawlProgress reports whether the unfinished crawl committed a page.
	CrawlProgress() (bool, error)
	// ClearCrawl forgets any crawl's place (job, tally, queue, seen set),
	// the job first: a crash part way leaves no crawl. What it stored
	// stays. A finished crawl has already ended in its last commit
	// (Tx.ClearCrawl); this drops what that commit may have left of its
	// queue and seen set, which no crawl reads, and is a no-op otherwise.
	ClearCrawl() error
	// NewRun records the start of a run and returns it with its id.
	NewRun(mode string, full bool, seeds []string) (*Run, error)
	// GetRun returns run id.
	GetRun(id uint64) (*Run, error)
	// Commit runs fn in one atomic transaction counted into run: the page's
	// models and edges, the crawl's place and the run record are written
	// together or not at all. fn may be called more than once (a conflict
	// retried); run changes only when the commit succeeds.
	Commit(run *Run, fn func(Tx) error) error
	// NextPending returns up to n queued models, shallowest first and in id
	// order within a depth, after the given one (nil: from the start).
	NextPending(after *Pending, n int) ([]Pending, error)

	// Lookup resolves name (an id, a renamed id, another letter case) to a
	// stored model; the error wraps a not-found sentinel when there is none.
	Lookup(name string) (graph.Model, error)
	// FamilyCount sizes root's stored family.
	FamilyCount(ctx context.Context, root graph.ModelID) (graph.FamilyCount, error)
	// UnseenMembers returns, sorted, the members of the roots' stored
	// families (to maxDepth; < 0: no bound), roots and stubs excepted, that
	// the crawl has not marked seen.
	UnseenMembers(ctx context.Context, roots []graph.ModelID, maxDepth int) ([]graph.ModelID, error)
	// Graph returns every stored model id and edge (no model attributes).
	Graph(ctx context.Context) (*graph.Graph, error)
	// LastScan returns the latest complete scan; ok is false when none.
	LastScan() (last LastScan, ok bool, err error)
	// MaxPageSize returns the listing page size the Hub made a scan fall
	// back to, or 0.
	MaxPageSize() (int, error)
	// RemoveUnseen removes, counted into run, every model the run (a
	// complete full scan) did not store; one still named as a parent stays
	// as a stub.
	RemoveUnseen(ctx context.Context, run *Run) error
	// Tidy is the upkeep after a crawl (garbage, caches; the whole-graph
	// cache too withGraph). It is best effort.
	Tidy(ctx context.Context, withGraph bool) error
}

// Tx is one Sink commit. Each method's bool says whether what it stored
// was new; errors end the commit (nothing of it is written).
type Tx interface {
	// PutCrawled stores m with its parents (parents not stored become
	// stubs). again reports that this run had stored m before, then with
	// earlier parents: so a crawl counts each model and its edges once.
	PutCrawled(m graph.Model, parents []graph.Parent) (earlier int, again bool, err error)
	// PutAlias makes name (a former id, another letter case) lead to canonical.
	PutAlias(name string, canonical graph.ModelID) error
	// Enqueue marks id seen at depth and, when new, queues it for expansion
	// from firstURL.
	Enqueue(id graph.ModelID, depth int, firstURL string) (isNew bool, err error)
	// MarkSeen marks id seen at depth without queueing it.
	MarkSeen(id graph.ModelID, depth int) (isNew bool, err error)
	// SetNext records the URL of queued id's next listing page.
	SetNext(id graph.ModelID, depth int, next string) error
	// Done removes id from the queue: it is fully expanded.
	Done(id graph.ModelID, depth int) error
	// RemoveGone removes a model the Hub no longer has (a stub while other
	// models name it); DropOrphanStub then deletes a stub no model names.
	RemoveGone(id graph.ModelID) error
	DropOrphanStub(id graph.ModelID) error
	// PutSnapshot records the size of id's family after run.
	PutSnapshot(id graph.ModelID, run uint64, c graph.RelationCounts) error
	// SetCrawlJob, SetCrawlTally, SetLastScan and SetMaxPageSize record
	// what the matching Sink methods return.
	SetCrawlJob(Job) error
	SetCrawlTally(Tally) error
	SetLastScan(LastScan) error
	SetMaxPageSize(n int) error
	// ClearCrawl ends the crawl in progress with the commit: its job and
	// tally go (CrawlJob then reports none), and its queue and seen set
	// with them or, when too large for one commit, at the sink's next
	// ClearCrawl (a queue and seen set without a job are of no crawl).
	ClearCrawl() error
	// Run is the run the commit counts into: changes to it are saved with
	// the commit.
	Run() *Run
}

// RunDiscarder is a Tx that can drop the record of the run it counts into,
// when that run is the latest and changed nothing; it reports whether it
// did. A walk none of whose seeds could be fetched ends so: no run is
// recorded for a crawl that fetched nothing.
type RunDiscarder interface {
	DiscardRun() (bool, error)
}

// MissingRecorder is a Tx that can also record that the Hub answered 401
// or 404 to a lookup of name (a seed, a member that left): so that stats
// can tell a parent the Hub does not have from one never asked for. A walk
// records through it when its Tx has it; a Tx without it records nothing.
type MissingRecorder interface {
	MarkMissing(name string, status int) error
}

// The records the Sink keeps are graph's, which the store persists: one
// definition on both sides of the Sink.
type (
	Run      = graph.Run        // one crawl as recorded
	Job      = graph.CrawlJob   // the crawl in progress: its parameters and a scan's position
	Tally    = graph.CrawlTally // what the crawl in progress has counted so far
	Pending  = graph.Pending    // a queued model with the URL of its next listing page
	LastScan = graph.LastScan   // the latest complete scan
)
