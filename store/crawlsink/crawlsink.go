// Package crawlsink lets a crawler.Walker write to a store.Store:
//
//	w, err := crawler.NewWalker(cfg, crawlsink.New(st))
//
// crawler declares the Sink it needs and store implements it: the records
// they pass are graph's on both sides, and a *store.Tx is a crawler.Tx.
// What this package, which alone imports both, adds is the few methods
// whose shapes differ.
package crawlsink

import (
	"context"

	"github.com/hflineage/hflineage/crawler"
	"github.com/hflineage/hflineage/graph"
	"github.com/hflineage/hflineage/store"
)

// New returns st as a crawler.Sink.
func New(st *store.Store) crawler.Sink { return sink{st} }

// sink is a store whose methods are the Sink's, but for these three.
type sink struct{ *store.Store }

// A store transaction is a crawler transaction, and records the Hub's 401
// and 404 answers (MarkMissing), for stats.
var (
	_ crawler.Tx              = (*store.Tx)(nil)
	_ crawler.MissingRecorder = (*store.Tx)(nil)
)

func (s sink) CrawlTally() (crawler.Tally, error) {
	t, _, err := s.Store.CrawlTally()
	return t, err
}

func (s sink) Commit(run *crawler.Run, fn func(crawler.Tx) error) error {
	return s.UpdateRun(run, func(tx *store.Tx) error { return fn(tx) })
}

func (s sink) Graph(ctx context.Context) (*graph.Graph, error) { return s.ScanGraph(ctx) }
