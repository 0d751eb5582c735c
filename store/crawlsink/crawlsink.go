// Package crawlsink lets a crawler.Walker write to a store.Store:
//
//	w, err := crawler.NewWalker(cfg, crawlsink.New(st))
//
// crawler declares the Sink it needs and store implements it with its own
// types; this package, which alone imports both, converts between the two.
// The crawl's records have the same fields on both sides, so the
// conversions are Go conversions: a field added on one side only is a
// build error here, not a value lost.
package crawlsink

import (
	"context"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// New returns st as a crawler.Sink.
func New(st *store.Store) crawler.Sink { return sink{st} }

type sink struct{ st *store.Store }

func (s sink) CrawlJob() (crawler.Job, bool, error) {
	job, ok, err := s.st.CrawlJob()
	return crawler.Job(job), ok, err
}

func (s sink) CrawlTally() (crawler.Tally, error) {
	t, _, err := s.st.CrawlTally()
	return crawler.Tally(t), err
}

func (s sink) CrawlProgress() (bool, error) { return s.st.CrawlProgress() }
func (s sink) ClearCrawl() error            { return s.st.ClearCrawl() }

func (s sink) NewRun(mode string, full bool, seeds []string) (*crawler.Run, error) {
	r, err := s.st.NewRun(mode, full, seeds)
	return (*crawler.Run)(r), err
}

func (s sink) GetRun(id uint64) (*crawler.Run, error) {
	r, err := s.st.GetRun(id)
	return (*crawler.Run)(r), err
}

func (s sink) Commit(run *crawler.Run, fn func(crawler.Tx) error) error {
	return s.st.UpdateRun((*store.Run)(run), func(t *store.Tx) error { return fn(tx{t}) })
}

func (s sink) NextPending(after *crawler.Pending, n int) ([]crawler.Pending, error) {
	ps, err := s.st.NextPending((*store.Pending)(after), n)
	out := make([]crawler.Pending, len(ps))
	for i, p := range ps {
		out[i] = crawler.Pending(p)
	}
	return out, err
}

func (s sink) Lookup(name string) (graph.Model, error) { return s.st.Lookup(name) }

func (s sink) FamilyCount(ctx context.Context, root graph.ModelID) (graph.FamilyCount, error) {
	return s.st.FamilyCount(ctx, root)
}

func (s sink) UnseenMembers(ctx context.Context, roots []graph.ModelID, maxDepth int) ([]graph.ModelID, error) {
	return s.st.UnseenMembers(ctx, roots, maxDepth)
}

func (s sink) Graph(ctx context.Context) (*graph.Graph, error) { return s.st.ScanGraph(ctx) }

func (s sink) LastScan() (crawler.LastScan, bool, error) {
	last, ok, err := s.st.LastScan()
	return crawler.LastScan(last), ok, err
}

func (s sink) MaxPageSize() (int, error) { return s.st.MaxPageSize() }

func (s sink) RemoveUnseen(ctx context.Context, run *crawler.Run) error {
	return s.st.RemoveUnseen(ctx, (*store.Run)(run))
}

func (s sink) Tidy(ctx context.Context, withGraph bool) error { return s.st.Tidy(ctx, withGraph) }

// tx is a store transaction as a crawler.Tx: the methods on graph types
// are store.Tx's own.
type tx struct{ *store.Tx }

func (t tx) SetCrawlJob(job crawler.Job) error    { return t.Tx.SetCrawlJob(store.CrawlJob(job)) }
func (t tx) SetCrawlTally(c crawler.Tally) error  { return t.Tx.SetCrawlTally(store.CrawlTally(c)) }
func (t tx) SetLastScan(l crawler.LastScan) error { return t.Tx.SetLastScan(store.LastScan(l)) }
func (t tx) Run() *crawler.Run                    { return (*crawler.Run)(t.Tx.Run()) }

// A store transaction records the Hub's 401 and 404 answers (its own
// MarkMissing, promoted), for stats.
var _ crawler.MissingRecorder = tx{}
